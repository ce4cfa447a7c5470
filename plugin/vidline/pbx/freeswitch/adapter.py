"""FreeswitchAdapter: vidline's PbxAdapter over ESL and mod_callcenter.

Theory of operation. As on Asterisk, one background task owns the link
(:class:`~vidline.pbx.freeswitch.link.EslLink`): it logs in and subscribes,
emits LinkUp, resyncs, and waits for the link to drop; then LinkDown and a
reconnect with exponential backoff (reconnect_min doubling to
reconnect_max). While up, ``api status`` every ping_interval must be answered
within command_timeout or the link is closed (a half-open TCP link looks
fine otherwise).

A customer leg is one ``bgapi originate`` of a loopback pair with
``origination_uuid`` = the interaction id (see variables.py). Each id is
written at most once for the adapter's life, never resent after a drop.
Calls are unaffected by a lost ESL link and events of the gap are never
replayed (pass2 F), so the resync after a reconnect reads
``callcenter_config queue list members`` (who is still in line, in which
order; QueueEntry events) and ``show channels as json`` (which legs still
exist): a leg that was up and is gone -> LegHungUp cause 0; a leg never
confirmed and not there -> LegFailed("lost"); a member now ``Answered`` whose
bridge we did not see -> AgentConnected from the row's epochs.

Audio: once the parked b-leg has answered, :class:`UnicastAudio` opens the
call's UDP socket and ``sendmsg <b-uuid>`` starts the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from vidline.config import AgentConfig, FreeswitchConfig
from vidline.pbx import events as ev
from vidline.pbx.base import EventHandler, PbxError, PlaceCall, check_cdr_field
from vidline.pbx.freeswitch import status as st
from vidline.pbx.freeswitch.codec import EslEncodeError, EslEvent
from vidline.pbx.freeswitch.events import ParkedHalf, Tracker
from vidline.pbx.freeswitch.link import CommandFailed, EslLink, LinkLost, close_quietly
from vidline.pbx.freeswitch.queries import CallcenterQueries, extension
from vidline.pbx.freeswitch.unicast import UnicastAudio
from vidline.pbx.freeswitch.variables import Dialplan, fs_queue, originate_command, uuid_arg
from vidline.pbx.reconnect import Backoff, LinkKeeper

log = logging.getLogger(__name__)

_FINISHED_KEPT = 10_000


@dataclass(slots=True)
class _Leg:
    link: EslLink
    channel: str = ""
    confirmed: bool = False  # CHANNEL_CREATE, +OK job or show channels seen
    connected: bool = False
    b_uuid: str = ""
    audio_started: bool = False


class FreeswitchAdapter(CallcenterQueries):
    """``FreeswitchAdapter(config.freeswitch, config.agents, queues, audio)``;
    ``queues`` are vidline's queue names resynced after a reconnect."""

    def __init__(self, cfg: FreeswitchConfig, agents: Iterable[AgentConfig] = (),
                 queues: Iterable[str] = (), audio: UnicastAudio | None = None,
                 panel_url: str = "") -> None:
        self._cfg = cfg
        self._agents = {extension(a.interface): a for a in agents}
        self._queues = list(dict.fromkeys(queues))
        self.audio = audio
        self._panel_url = panel_url
        self._dialplan = Dialplan(cfg.context, cfg.park_exten, cfg.queue_exten,
                                  cfg.preferred_exten, cfg.inline_callcenter)
        self._handlers: list[EventHandler] = []
        self._legs: dict[str, _Leg] = {}
        self._finished: OrderedDict[str, None] = OrderedDict()
        self.tracker = Tracker(self._agent_ref)
        self._tasks: set[asyncio.Task[None]] = set()
        self.originates_sent = 0
        self._keeper: LinkKeeper[EslLink] = LinkKeeper(
            "vidline-esl", self._open, self._companions, self._down,
            Backoff(cfg.reconnect_min, cfg.reconnect_max, cfg.ping_interval))

    # --- PbxAdapter -------------------------------------------------------

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def start(self) -> None:
        """Log in once (PbxError if that fails), then keep the link up in the
        background until :meth:`close`."""
        await self._keeper.start()

    async def close(self) -> None:
        await self._keeper.stop(lambda link: close_quietly(
            link, min(1.0, self._cfg.command_timeout)))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.audio is not None:
            await self.audio.close()

    async def place_call(self, call: PlaceCall) -> None:
        iid = call.interaction_id
        if iid in self._legs or iid in self._finished:
            return
        link = await self._wait_link()
        if iid in self._legs or iid in self._finished:
            return
        if call.panel_url == "" and self._panel_url:
            call = PlaceCall(iid, call.queue, call.priority, call.queue_timeout, call.context,
                             self._panel_url, call.preferred_agent, call.preferred_timeout)
        try:
            command = originate_command(call, domain=self._cfg.domain, dialplan=self._dialplan,
                                        score_per_priority=self._cfg.score_per_priority)
            reply, job = link.bgapi(command)  # written now, registered in the same tick
        except (ValueError, EslEncodeError) as exc:
            raise PbxError(f"cannot originate {iid!r}: {exc}") from exc
        self.originates_sent += 1
        self._legs[iid] = _Leg(link)
        self._spawn(self._watch_job(iid, job))
        try:
            msg = await asyncio.wait_for(asyncio.shield(reply), self._cfg.command_timeout)
        except (LinkLost, TimeoutError):
            return  # the resync after the reconnect decides
        if not msg.reply_text.startswith("+OK"):
            self._fail(iid, f"refused: {msg.reply_text}")

    async def hangup(self, interaction_id: str) -> None:
        try:
            iid = uuid_arg(interaction_id)
        except ValueError as exc:
            raise PbxError(str(exc)) from None
        self.tracker.hangup_requested(iid)
        try:
            await self._api(f"uuid_kill {iid} NORMAL_CLEARING")
        except PbxError as exc:
            if "no such channel" not in str(exc).lower():
                raise

    async def set_cdr_field(self, interaction_id: str, name: str, value: str) -> None:
        check_cdr_field(name, value)  # only [A-Za-z0-9/._:-]: nothing to encode
        try:
            iid = uuid_arg(interaction_id)
        except ValueError as exc:
            raise PbxError(str(exc)) from None
        # the member leg's uuid is the interaction id; mod_cdr_csv's template
        # reads ${vidline_recording} from it at hangup
        await self._api(f"uuid_setvar {iid} {name} {value}")

    # --- internals ---------------------------------------------------------

    async def _wait_link(self) -> EslLink:
        link = await self._keeper.wait(self._cfg.command_timeout)
        if link is None:
            raise PbxError("the ESL link is down")
        return link

    async def _api(self, command: str) -> str:
        link = await self._wait_link()
        try:
            return await link.api(command, within=self._cfg.command_timeout)
        except CommandFailed as exc:
            raise PbxError(f"{command.split(' ', 1)[0]}: {exc}") from None
        except (LinkLost, TimeoutError, EslEncodeError) as exc:
            raise PbxError(f"{command.split(' ', 1)[0]}: no answer from FreeSWITCH "
                           f"({exc or 'timeout'})") from exc

    async def _open(self) -> EslLink:
        cfg = self._cfg
        try:
            return await EslLink.open(cfg.host, cfg.port, password=cfg.password,
                                      within=max(cfg.command_timeout, 1.0),
                                      on_event=self._on_event)
        except (OSError, TimeoutError) as exc:
            raise PbxError(f"ESL login to {cfg.host}:{cfg.port} failed: "
                           f"{exc or type(exc).__name__}") from exc

    def _companions(self, link: EslLink) -> list[Coroutine[Any, Any, None]]:
        """While ``link`` is up: LinkUp now, then keepalive and resync."""
        self._emit(ev.LinkUp(f"FreeSWITCH ESL {self._cfg.host}:{self._cfg.port}"))
        return [self._keepalive(link), self._resync(link)]

    def _down(self, reason: str) -> None:
        self._emit(ev.LinkDown(reason))

    async def _keepalive(self, link: EslLink) -> None:
        cfg = self._cfg
        while link.is_open:
            await asyncio.sleep(cfg.ping_interval)
            try:
                await link.api("status", within=cfg.command_timeout)
            except TimeoutError:
                link.abort(f"no answer to 'api status' within {cfg.command_timeout:g} s")
                return
            except (LinkLost, CommandFailed):
                return

    async def _resync(self, link: EslLink) -> None:
        within = max(self._cfg.command_timeout, 1.0)
        lists: list[tuple[str, list[dict[str, str]]]] = []
        try:
            for queue in self._queues:
                try:
                    lists.append((queue, st.table(await link.api(
                        f"callcenter_config queue list members "
                        f"{fs_queue(queue, self._cfg.domain)}", within=within))))
                except (CommandFailed, ValueError) as exc:  # a queue FreeSWITCH lacks
                    log.warning("resync: queue %s not listed: %s", queue, exc)
            alive = st.channel_uuids(await link.api("show channels as json", within=within))
        except (LinkLost, TimeoutError, CommandFailed) as exc:
            log.warning("resync after login failed: %s", exc or "timeout")
            return
        rows = [row for _, r in lists for row in r]
        self._reconcile(link, alive, rows)
        now = time.time()
        for queue, queue_rows in lists:
            line = st.in_line(queue_rows)
            self.tracker.reset_queue(queue, [(r["session_uuid"], int(r.get("joined_epoch")
                                              or 0)) for r in line])
        self.tracker.prune({r.get("session_uuid", "") for r in rows} | set(self._legs))
        for entry in st.queue_entries(rows, now):
            self._emit(entry)

    def _reconcile(self, link: EslLink, alive: set[str], rows: list[dict[str, str]]) -> None:
        answered = {r["session_uuid"]: r for r in rows
                    if r.get("state") == "Answered" and r.get("session_uuid")}
        for iid, leg in list(self._legs.items()):
            if leg.link is link:
                continue  # sent on this link: its own events tell the story
            leg.link = link
            if iid in alive:
                if not leg.confirmed:
                    leg.confirmed = True
                    self._emit(ev.LegOriginated(iid, leg.channel))
                row = answered.get(iid)
                if row is not None and not leg.connected:
                    self._connected_while_away(iid, row)
                if not leg.audio_started:
                    self._spawn(self._find_parked_half(iid))
            elif leg.confirmed:
                self._finish(iid)
                self._emit(ev.LegHungUp(iid, leg.channel, 0, "gone while the ESL link was down"))
            else:
                self._fail(iid, "lost: the ESL link dropped before FreeSWITCH answered")

    def _connected_while_away(self, iid: str, row: dict[str, str]) -> None:
        queue = row.get("queue", "").partition("@")[0]
        interface, member = self._agent_ref(row.get("serving_agent", ""))
        joined, bridged = int(row.get("joined_epoch") or 0), int(row.get("bridge_epoch") or 0)
        self.tracker.forget_waiting(iid)
        self._on_pbx(ev.AgentConnected(iid, queue, interface, member, "",
                                       max(0, bridged - joined), 0, ""))

    async def _find_parked_half(self, iid: str) -> None:
        try:
            b_uuid = (await self._api(f"uuid_getvar {iid} other_loopback_leg_uuid")).strip()
            uuid_arg(b_uuid)
        except (PbxError, ValueError) as exc:
            log.info("interaction %s: no parked half found (%s)", iid, exc)
            return
        self._on_parked(ParkedHalf(iid, b_uuid, True))

    async def _watch_job(self, iid: str, job: asyncio.Future[str]) -> None:
        try:
            result = await asyncio.wait_for(asyncio.shield(job), self._cfg.originate_timeout)
        except (LinkLost, TimeoutError):
            return  # the resync (or the service's own watchdog) decides
        leg = self._legs.get(iid)
        if leg is None:
            return
        if result.startswith("+OK"):
            if not leg.confirmed:
                leg.confirmed = True
                self._emit(ev.LegOriginated(iid, leg.channel))
        else:
            self._fail(iid, result.strip()[:200] or "originate failed")

    def _on_event(self, event: EslEvent) -> None:
        for item in self.tracker.feed(event):
            if isinstance(item, ParkedHalf):
                self._on_parked(item)
            else:
                self._on_pbx(item)

    def _on_parked(self, half: ParkedHalf) -> None:
        leg = self._legs.get(half.interaction_id)
        if leg is None:
            return
        leg.b_uuid = half.uuid
        if half.answered and not leg.audio_started and self.audio is not None:
            leg.audio_started = True
            self._spawn(self._start_audio(half.interaction_id, half.uuid))

    async def _start_audio(self, iid: str, b_uuid: str) -> None:
        async def send(target: str, headers: list[tuple[str, str]]) -> None:
            link = await self._wait_link()
            reply = await link.command(f"sendmsg {uuid_arg(target)}", headers,
                                       within=self._cfg.command_timeout)
            if not reply.startswith("+OK"):
                raise PbxError(reply)

        assert self.audio is not None
        try:
            await self.audio.attach(iid, b_uuid, send)
        except Exception as exc:  # the call goes on without audio; say so loudly
            log.warning("interaction %s: unicast audio not started: %s", iid, exc)
            leg = self._legs.get(iid)
            if leg is not None and not (iid in self.audio.legs and self.audio.legs[iid].started):
                leg.audio_started = False  # the resync after a reconnect tries again

    def _on_pbx(self, event: ev.PbxEvent) -> None:
        iid = getattr(event, "interaction_id", None)
        leg = self._legs.get(iid) if isinstance(iid, str) else None
        if isinstance(event, ev.LegOriginated):
            if leg is None:
                return  # a leg of another vidline, or one that already ended
            leg.channel = event.channel
            if leg.confirmed:
                return
            leg.confirmed = True
        elif isinstance(event, ev.AgentConnected) and leg is not None:
            leg.connected = True
        elif isinstance(event, ev.LegHungUp):
            if iid not in self._legs:
                return
            self._finish(event.interaction_id)
        self._emit(event)

    def _fail(self, iid: str, reason: str) -> None:
        if iid in self._legs:
            self._finish(iid)
            self._emit(ev.LegFailed(iid, reason))

    def _finish(self, iid: str) -> None:
        self._legs.pop(iid, None)
        self.tracker.forget(iid)
        if self.audio is not None:
            self.audio.detach(iid, "hangup")
        self._finished[iid] = None
        while len(self._finished) > _FINISHED_KEPT:
            self._finished.popitem(last=False)

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _emit(self, event: ev.PbxEvent) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                log.exception("PBX event handler failed on %r", event)
