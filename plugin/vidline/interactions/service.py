"""The interaction service: customer requests in, PBX events in, status out.

It owns the interactions (through :class:`InteractionStore`), places each
customer's leg through the :class:`PbxAdapter`, follows the PBX's typed
events through the lifecycle in :mod:`vidline.interactions.state`, and tells
the customer (status messages) and the agent (pops) what happens. It never
sees the wire: adapters and the web layer sit on either side.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from typing import Protocol

from vidline.config import AgentConfig
from vidline.context.model import InteractionContext
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import EndReason, Event, State, TransitionError, next_state
from vidline.interactions.store import InteractionStore
from vidline.pbx import events as ev
from vidline.pbx.base import PbxAdapter, PbxError, PlaceCall

log = logging.getLogger(__name__)

POLL_INTERVAL = 2.0  # QueueStatus poll while callers wait: Asterisk sends no move-up event
# A join asks for a poll at once (the newcomer's expected wait), but a poll
# costs the PBX and vidline one QueueEntry per caller: 500 customers arriving
# together would otherwise poll back to back, O(n^2) messages in all.
POLL_MIN_GAP = 0.5


class AgentNotifier(Protocol):
    def pop(self, username: str, message: dict[str, object]) -> None: ...

    def set_presence(self, username: str, paused: bool, reason: str) -> None: ...


class AgentLookup(Protocol):
    def by_interface(self, interface: str) -> AgentConfig | None: ...

    def by_username(self, username: str) -> AgentConfig | None: ...


class CrmLinker(Protocol):
    def url_for(self, context: InteractionContext) -> str | None: ...


Router = Callable[[InteractionContext], RouteDecision]


class InteractionObserver(Protocol):
    """Told of everything that happens to an interaction (reporting, say).

    ``change`` is a PBX event about the interaction, passed before the service
    acts on it, or a lifecycle :class:`Event` after the transition it caused
    (``interaction.state`` is already the new state). Called on the event
    loop: an observer must not block, and its errors are logged, never raised
    into the service.
    """

    def interaction_changed(self, interaction: Interaction,
                            change: Event | ev.PbxEvent) -> None: ...


# refines a decision with what needs I/O (last-agent routing); never raises
Preferrer = Callable[[InteractionContext, RouteDecision], Awaitable[RouteDecision]]


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class InteractionService:
    def __init__(
        self,
        *,
        pbx: PbxAdapter,
        router: Router,
        agents: AgentLookup,
        notifier: AgentNotifier,
        crm: CrmLinker,
        panel_url: Callable[[str], str],
        queue_timeout: int,
        originate_timeout: float = 45.0,
        store: InteractionStore | None = None,
        prefer: Preferrer | None = None,
        observers: Sequence[InteractionObserver] = (),
    ) -> None:
        self.pbx = pbx
        self.store = store or InteractionStore()
        self._router = router
        self._prefer = prefer
        self._agents = agents
        self._notifier = notifier
        self._crm = crm
        self._panel_url = panel_url
        self._queue_timeout = queue_timeout
        self._originate_timeout = originate_timeout
        self._watchdogs: dict[str, asyncio.TimerHandle] = {}
        self._leaving: set[str] = set()
        self._channels: dict[str, str] = {}
        self._completed_reason: dict[str, str] = {}
        self._poll_task: asyncio.Task[None] | None = None
        self._poll_wakeup = asyncio.Event()
        self._closed = False
        self._background: set[asyncio.Task[None]] = set()
        self._observers = tuple(observers)
        pbx.subscribe(self.on_pbx_event)

    # -- customer side -------------------------------------------------

    async def create(self, context: InteractionContext, client: str) -> tuple[Interaction, str]:
        token = secrets.token_urlsafe(32)
        route = self._router(context)
        if self._prefer is not None:
            route = await self._prefer(context, route)
        interaction = Interaction(
            id=str(uuid.uuid4()), context=context, route=route, token_digest=_digest(token)
        )
        interaction.times[State.CREATED.value] = time.time()
        self.store.add(interaction)
        log.info("interaction %s from %s routed to %s (%s)",
                 interaction.id, client, route.queue, route.reason)
        self._advance(interaction, Event.PLACE)
        # The PBX may accept the Originate and then never answer it while the
        # link stays up: give up on the leg rather than leave the customer waiting.
        self._watchdogs[interaction.id] = asyncio.get_running_loop().call_later(
            self._originate_timeout, self._originate_expired, interaction.id)
        call = PlaceCall(
            interaction_id=interaction.id,
            queue=route.queue,
            priority=route.priority,
            queue_timeout=self._queue_timeout,
            context=context,
            panel_url=self._panel_url(interaction.id),
            preferred_agent=route.preferred_agent,
            preferred_timeout=route.preferred_timeout,
        )
        try:
            await self.pbx.place_call(call)
        except PbxError as exc:
            log.warning("interaction %s: placing the call failed: %s", interaction.id, exc)
            self._end(interaction, EndReason.FAILED)
        self._ensure_poller()
        return interaction, token

    def _originate_expired(self, interaction_id: str) -> None:
        self._watchdogs.pop(interaction_id, None)
        interaction = self.store.get(interaction_id)
        if interaction is not None and interaction.state is State.ORIGINATING:
            log.warning("interaction %s: no queue join within %.0f s, giving up",
                        interaction_id, self._originate_timeout)
            self._leaving.add(interaction_id)
            self._spawn(self._hangup_quietly(interaction_id))
            self._end(interaction, EndReason.FAILED)

    async def _hangup_quietly(self, interaction_id: str) -> None:
        try:
            await self.pbx.hangup(interaction_id)
        except PbxError as exc:
            log.debug("interaction %s: hangup after timeout failed: %s", interaction_id, exc)

    def authorise(self, interaction_id: str, token: str) -> Interaction | None:
        interaction = self.store.get(interaction_id)
        if interaction is None:
            # compare anyway so that timing does not tell which ids exist
            hmac.compare_digest(_digest(token), _digest(""))
            return None
        if not hmac.compare_digest(interaction.token_digest, _digest(token)):
            return None
        return interaction

    def get(self, interaction_id: str) -> Interaction | None:
        return self.store.get(interaction_id)

    def subscribe(self, interaction_id: str) -> AsyncIterator[dict[str, object]]:
        return self.store.subscribe(interaction_id)

    async def leave(self, interaction_id: str) -> None:
        """The customer hung up or went away: hang up the PBX leg."""
        interaction = self.store.get(interaction_id)
        if interaction is None or interaction.state is State.ENDED:
            return
        self._leaving.add(interaction_id)
        if interaction.state in (State.CREATED, State.ORIGINATING) and (
            interaction_id not in self._channels
        ):
            # no leg yet: the hangup is sent when LegOriginated arrives
            return
        try:
            await self.pbx.hangup(interaction_id)
        except PbxError as exc:
            log.warning("interaction %s: hangup failed: %s", interaction_id, exc)

    # -- agent side ----------------------------------------------------

    async def set_paused(self, username: str, paused: bool, reason: str) -> None:
        agent = self._agents.by_username(username)
        if agent is None:
            raise PbxError(f"unknown agent {username!r}")
        await self.pbx.pause_member(agent.interface, paused, reason)

    def _pop(self, interaction: Interaction, phase: str, agent: AgentRef | None) -> None:
        if agent is None or agent.username is None:
            return
        message: dict[str, object] = {
            "type": "pop",
            "phase": phase,
            "interaction": {
                "id": interaction.id,
                "context": interaction.context.as_dict(),
                "queue": interaction.queue or interaction.route.queue,
                "route_reason": interaction.route.reason,
                "crm_url": self._crm.url_for(interaction.context),
                "panel_url": self._panel_url(interaction.id),
            },
        }
        if interaction.end_reason is not None:
            message["reason"] = interaction.end_reason.value
        self._notifier.pop(agent.username, message)

    def _agent_ref(self, interface: str, member_name: str) -> AgentRef:
        agent = self._agents.by_interface(interface)
        return AgentRef(agent.username if agent else None, interface, member_name)

    # -- PBX events ----------------------------------------------------

    def on_pbx_event(self, event: ev.PbxEvent) -> None:
        if self._observers and (iid := getattr(event, "interaction_id", None)):
            if (known := self.store.get(iid)) is not None:
                self._notify(known, event)
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(self, event)

    def _on_originated(self, event: ev.LegOriginated) -> None:
        self._channels[event.interaction_id] = event.channel
        if event.interaction_id in self._leaving:
            self._spawn(self.leave(event.interaction_id))

    def _on_failed(self, event: ev.LegFailed) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is not None:
            log.warning("interaction %s: the PBX refused the leg (reason %s)",
                        interaction.id, event.reason)
            self._end(interaction, EndReason.FAILED)

    def _on_joined(self, event: ev.CallerJoined) -> None:
        for other in self.store.waiting_in(event.queue):
            if other.id != event.interaction_id and other.count != event.count:
                other.count = event.count
                self.store.publish_line_update(other)
        interaction = self.store.get(event.interaction_id)
        if interaction is None:
            return
        interaction.queue = event.queue
        interaction.position = event.position
        interaction.count = event.count
        self._advance(interaction, Event.JOINED)
        self._poll_wakeup.set()

    def _on_left(self, event: ev.CallerLeft) -> None:
        # Asterisk sends no event to the callers behind: move them up here,
        # the QueueStatus poll corrects anything this misses.
        for other in self.store.waiting_in(event.queue):
            if other.id == event.interaction_id:
                continue
            if other.position is not None and other.position > event.position:
                other.position -= 1
            other.count = event.count
            self.store.publish_line_update(other)

    def _on_abandoned(self, event: ev.CallerAbandoned) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is not None:
            self._completed_reason[interaction.id] = "abandon"

    def _on_ringing(self, event: ev.AgentRinging) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is None:
            return
        agent = self._agent_ref(event.interface, event.member_name)
        if self._advance(interaction, Event.RING):
            interaction.agent = agent
            self._pop(interaction, "ringing", agent)

    def _on_no_answer(self, event: ev.AgentNoAnswer) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is None:
            return
        agent = self._agent_ref(event.interface, event.member_name)
        self._pop(interaction, "missed", agent)
        if interaction.agent is not None and interaction.agent.interface == event.interface:
            interaction.agent = None
        self._advance(interaction, Event.NO_ANSWER)

    def _on_connected(self, event: ev.AgentConnected) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is None:
            return
        ringing = interaction.agent
        agent = self._agent_ref(event.interface, event.member_name)
        interaction.agent = agent
        interaction.position = None
        if self._advance(interaction, Event.CONNECT):
            if ringing is not None and ringing.interface != agent.interface:
                self._pop(interaction, "missed", ringing)
            self._pop(interaction, "connected", agent)

    def _on_completed(self, event: ev.AgentCompleted) -> None:
        if event.interaction_id is None:
            return  # the Hangup of the leg ends it (AgentComplete without a channel)
        self._completed_reason[event.interaction_id] = event.reason

    def _on_hangup(self, event: ev.LegHungUp) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is None:
            return
        customer_left = interaction.id in self._leaving
        if interaction.state is State.CONNECTED:
            reason = self._completed_reason.get(interaction.id)
            if reason == "agent" or (reason is None and not customer_left):
                self._end(interaction, EndReason.AGENT_LEFT)
            else:
                self._end(interaction, EndReason.CUSTOMER_LEFT)
        elif customer_left:
            self._end(interaction, EndReason.ABANDONED)
        elif interaction.state in (State.QUEUED, State.RINGING):
            self._end(interaction, EndReason.QUEUE_TIMEOUT)
        else:
            self._end(interaction, EndReason.PBX_LOST)

    def _on_paused(self, event: ev.MemberPaused) -> None:
        # the PBX is the truth for presence: a pause set from a phone, another
        # tool or this panel all arrive here and reach every open panel
        agent = self._agents.by_interface(event.interface)
        if agent is not None:
            self._notifier.set_presence(agent.username, event.paused, event.reason)

    def _on_entry(self, event: ev.QueueEntry) -> None:
        interaction = self.store.get(event.interaction_id)
        if interaction is None or interaction.state not in (State.QUEUED, State.RINGING):
            return
        changed = interaction.position != event.position or interaction.queue != event.queue
        interaction.position = event.position
        interaction.queue = event.queue
        if changed:
            self.store.publish_line_update(interaction)

    _handlers: dict[type, Callable[[InteractionService, ev.PbxEvent], None]] = {
        ev.LegOriginated: _on_originated,  # type: ignore[dict-item]
        ev.LegFailed: _on_failed,  # type: ignore[dict-item]
        ev.CallerJoined: _on_joined,  # type: ignore[dict-item]
        ev.CallerLeft: _on_left,  # type: ignore[dict-item]
        ev.CallerAbandoned: _on_abandoned,  # type: ignore[dict-item]
        ev.AgentRinging: _on_ringing,  # type: ignore[dict-item]
        ev.AgentNoAnswer: _on_no_answer,  # type: ignore[dict-item]
        ev.AgentConnected: _on_connected,  # type: ignore[dict-item]
        ev.AgentCompleted: _on_completed,  # type: ignore[dict-item]
        ev.LegHungUp: _on_hangup,  # type: ignore[dict-item]
        ev.QueueEntry: _on_entry,  # type: ignore[dict-item]
        ev.MemberPaused: _on_paused,  # type: ignore[dict-item]
    }

    # -- lifecycle helpers ----------------------------------------------

    def _advance(self, interaction: Interaction, event: Event) -> bool:
        try:
            state = next_state(interaction.state, event)
        except TransitionError as exc:
            log.debug("interaction %s: %s (ignored)", interaction.id, exc)
            return False
        interaction.state = state
        interaction.times.setdefault(state.value, time.time())
        if state is not State.ORIGINATING and (handle := self._watchdogs.pop(interaction.id, None)):
            handle.cancel()
        self.store.publish(interaction)
        if self._observers:
            self._notify(interaction, event)
        return True

    def _notify(self, interaction: Interaction, change: Event | ev.PbxEvent) -> None:
        for observer in self._observers:
            try:
                observer.interaction_changed(interaction, change)
            except Exception:
                log.exception("interaction %s: observer %r failed", interaction.id, observer)

    def _end(self, interaction: Interaction, reason: EndReason) -> None:
        if interaction.state is State.ENDED:
            return
        was_active = interaction.state in (State.RINGING, State.CONNECTED)
        interaction.end_reason = reason
        interaction.position = None
        self._advance(interaction, Event.END)
        if was_active:
            self._pop(interaction, "ended", interaction.agent)
        self._leaving.discard(interaction.id)
        self._channels.pop(interaction.id, None)
        self._completed_reason.pop(interaction.id, None)

    def _spawn(self, coro: Coroutine[object, object, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # -- queue position and expected wait -------------------------------

    def _ensure_poller(self) -> None:
        if self._poll_task is None and not self._closed:
            self._poll_task = asyncio.create_task(self._poll_loop(), name="vidline-queue-poll")

    async def _poll_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closed:
            started = loop.time()
            # cleared before polling: a join during the poll asks for another
            self._poll_wakeup.clear()
            waiting = [i for i in self.store if i.state in (State.QUEUED, State.RINGING)]
            if waiting:
                try:
                    await self._refresh({i.queue for i in waiting if i.queue})
                except PbxError as exc:
                    log.debug("queue poll failed: %s", exc)
            self.store.evict_expired()
            try:
                await asyncio.wait_for(self._poll_wakeup.wait(), POLL_INTERVAL)
            except TimeoutError:
                continue
            await asyncio.sleep(max(0.0, started + POLL_MIN_GAP - loop.time()))

    async def _refresh(self, queues: set[str]) -> None:
        for queue in sorted(queues):
            entries = await self.pbx.queue_entries(queue)
            summaries = await self.pbx.queue_summaries(queue)
            count = len(entries)
            for entry in entries:
                self._on_entry(entry)
            summary = next((s for s in summaries if s.queue == queue), None)
            for interaction in self.store.waiting_in(queue):
                wait = expected_wait(summary, interaction.position or 1)
                if interaction.count != count or interaction.expected_wait != wait:
                    interaction.count = count
                    interaction.expected_wait = wait
                    self.store.publish_line_update(interaction)

    async def close(self) -> None:
        self._closed = True
        self.store.close()
        for handle in self._watchdogs.values():
            handle.cancel()
        self._watchdogs.clear()
        if self._poll_task is not None:
            self._poll_task.cancel()
            await asyncio.gather(self._poll_task, return_exceptions=True)
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def expected_wait(summary: ev.QueueSummary | None, position: int) -> int | None:
    """Seconds a caller at ``position`` can expect to wait.

    app_queue's own estimate (QueueSummary HoldTime, a running average of
    answered callers' hold times) when it has one; otherwise the average talk
    time per agent ahead of the caller. ``None`` when the queue has no data.
    """
    if summary is None:
        return None
    if summary.available >= position:
        return 0
    if summary.hold_time > 0:
        return summary.hold_time * position
    if summary.talk_time > 0 and summary.logged_in > 0:
        return summary.talk_time * position // summary.logged_in
    return None
