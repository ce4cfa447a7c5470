"""ESL events -> vidline's typed PBX events, without I/O.

mod_callcenter's events (CUSTOM ``callcenter::info``, shared/freeswitch
FINDINGS) name the member by ``CC-Member-Session-UUID``, the member's
channel: for a vidline leg that is the loopback a-leg, whose uuid vidline
sets (``origination_uuid``) to the interaction id. So, as on Asterisk, one
key joins ESL, queue_log and CDR.

What the events lack is kept here, in a :class:`Tracker`: positions
(``members-count`` only gives a count, nothing tells a member it moved up),
the original position, when each agent was offered the call (ring time in
ms from the events' microsecond timestamps) and whether vidline itself hung
the leg up (so that the end of an answered call says ``caller`` or
``agent``, and a ``Cancel``/``BREAK_OUT`` is the customer's abandon).

Mapping (Asterisk's names on the right):
member-queue-start -> CallerJoined; agent-offering -> AgentRinging;
bridge-agent-fail -> AgentNoAnswer; bridge-agent-start -> CallerLeft +
AgentConnected; bridge-agent-end -> AgentCompleted; member-queue-end
Cancel/BREAK_OUT -> CallerAbandoned + CallerLeft, other Cancel (TIMEOUT,
NO_AGENT_TIMEOUT) -> CallerLeft; agent-status-change -> MemberPaused;
CHANNEL_CREATE of a vidline a-leg -> LegOriginated; its
CHANNEL_HANGUP_COMPLETE -> LegHungUp.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from vidline.pbx import events as ev
from vidline.pbx.freeswitch.codec import EslEvent
from vidline.pbx.freeswitch.variables import vidline_queue

# agent name (1001@default) -> (interface, member name) as vidline knows them
AgentRef = Callable[[str], tuple[str, str]]

_KEPT = 10_000

# statuses in which mod_callcenter offers calls to an agent
AVAILABLE = ("Available", "Available (On Demand)")


@dataclass(frozen=True, slots=True)
class ParkedHalf:
    """Internal (not a PbxEvent): the loopback b-leg of a vidline call, the
    half that parks and carries the audio (``unicast``)."""

    interaction_id: str
    uuid: str
    answered: bool


@dataclass(slots=True)
class _Member:
    queue: str
    joined_us: int
    original: int
    offered: dict[str, int] = field(default_factory=dict)  # agent -> offer time (us)
    answered_us: int = 0


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


class Tracker:
    """Feed :class:`EslEvent` objects, get PBX events (and ParkedHalf) back."""

    def __init__(self, agent_ref: AgentRef) -> None:
        self._agent_ref = agent_ref
        self.waiting: dict[str, dict[str, None]] = {}  # queue -> ordered session uuids
        self.members: dict[str, _Member] = {}
        # vidline hung these up (the customer left); kept until their
        # member-queue-end, which comes after the channel's hangup
        self.hangups_requested: OrderedDict[str, None] = OrderedDict()

    def position(self, queue: str, session: str) -> int:
        order = list(self.waiting.get(queue, {}))
        return order.index(session) + 1 if session in order else 0

    def count(self, queue: str) -> int:
        return len(self.waiting.get(queue, {}))

    def hangup_requested(self, session: str) -> None:
        self.hangups_requested[session] = None
        while len(self.hangups_requested) > _KEPT:
            self.hangups_requested.popitem(last=False)

    def forget(self, session: str) -> None:
        """The leg is gone. A member keeps its place until its
        member-queue-end (which follows the hangup and says abandon or not)."""
        if session not in self.members:
            self.forget_waiting(session)

    def prune(self, keep: set[str]) -> None:
        """After a resync: drop what events lost in the gap left behind."""
        for session in [s for s in self.members if s not in keep]:
            del self.members[session]
            self.forget_waiting(session)

    def reset_queue(self, queue: str, sessions: list[tuple[str, int]]) -> None:
        """After a resync: ``sessions`` (uuid, joined epoch s) waiting in
        ``queue`` in serving order, as ``queue list members`` said."""
        self.waiting[queue] = dict.fromkeys(s for s, _ in sessions)
        for session, joined in sessions:
            member = self.members.get(session)
            if member is None or member.queue != queue:
                self.members[session] = _Member(queue, joined * 1_000_000,
                                                self.position(queue, session))

    def feed(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        name = event.name
        if name == "CUSTOM" and event.subclass == "callcenter::info":
            handler = _CC.get(event.cc_action)
            return handler(self, event) if handler else []
        if name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE"):
            return self._channel(event)
        return []

    # -- channels --------------------------------------------------------

    def _channel(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        uuid = event.get("Unique-ID")
        session = event.get("variable_vidline_session")
        if not session or not uuid:
            return []  # not a vidline leg (agents, phone calls)
        channel = event.get("Channel-Name")
        name = event.name
        if uuid != session:
            # the other half; on the agent's legs (cc_export_vars) it is not ours
            if event.get("variable_other_loopback_leg_uuid") == session and \
                    name != "CHANNEL_HANGUP_COMPLETE":
                return [ParkedHalf(session, uuid, name == "CHANNEL_ANSWER")]
            return []
        if name == "CHANNEL_CREATE":
            return [ev.LegOriginated(session, channel)]
        if name == "CHANNEL_HANGUP_COMPLETE":
            cause = _int(event.get("variable_hangup_cause_q850"))
            text = event.get("Hangup-Cause") or event.get("variable_hangup_cause")
            return [ev.LegHungUp(session, channel, cause, text)]
        return []

    # -- callcenter ------------------------------------------------------

    def _agent(self, event: EslEvent) -> tuple[str, str, str]:
        agent = event.get("CC-Agent")
        interface, member = self._agent_ref(agent)
        return agent, interface, member

    def _queue_start(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        queue = vidline_queue(event.get("CC-Queue"))
        if not session:
            return []
        self.forget_waiting(session)
        waiting = self.waiting.setdefault(queue, {})
        waiting[session] = None
        position = len(waiting)
        self.members[session] = _Member(queue, event.timestamp_us, position)
        return [ev.CallerJoined(session, queue, position, position)]

    def forget_waiting(self, session: str) -> None:
        for waiting in self.waiting.values():
            waiting.pop(session, None)

    def _leave(self, session: str, queue: str) -> tuple[int, int] | None:
        """Remove a waiting member; (position it had, count left) or None."""
        waiting = self.waiting.get(queue, {})
        if session not in waiting:
            return None
        position = self.position(queue, session)
        del waiting[session]
        return position, len(waiting)

    def _offering(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        agent, interface, member = self._agent(event)
        state = self.members.get(session)
        if state is not None:
            state.offered[agent] = event.timestamp_us
        return [ev.AgentRinging(session, vidline_queue(event.get("CC-Queue")),
                                interface, member, "")]

    def _fail(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        agent, interface, member = self._agent(event)
        state = self.members.get(session)
        offered = state.offered.pop(agent, 0) if state else 0
        if offered and event.timestamp_us:
            ring_ms = (event.timestamp_us - offered) // 1000
        else:  # whole seconds only
            ring_ms = 1000 * max(0, _int(event.get("CC-Agent-Aborted-Time"))
                                 - _int(event.get("CC-Agent-Called-Time")))
        return [ev.AgentNoAnswer(session, vidline_queue(event.get("CC-Queue")),
                                 interface, member, ring_ms)]

    def _bridge_start(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        queue = vidline_queue(event.get("CC-Queue"))
        _, interface, member = self._agent(event)
        answered = _int(event.get("CC-Agent-Answered-Time"))
        hold = max(0, answered - _int(event.get("CC-Member-Joined-Time")))
        ring = max(0, answered - _int(event.get("CC-Agent-Called-Time")))
        state = self.members.get(session)
        if state is not None:
            state.answered_us = event.timestamp_us
            state.offered.clear()
        out: list[ev.PbxEvent | ParkedHalf] = []
        left = self._leave(session, queue)
        if left is not None:
            out.append(ev.CallerLeft(session, queue, left[0], left[1]))
        agent_uuid = event.get("CC-Agent-UUID")
        out.append(ev.AgentConnected(session, queue, interface, member,
                                     event.get("Channel-Name") if event.get("Unique-ID")
                                     == agent_uuid else "", hold, ring, agent_uuid))
        return out

    def _bridge_end(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        _, interface, member = self._agent(event)
        answered = _int(event.get("CC-Agent-Answered-Time"))
        hold = max(0, answered - _int(event.get("CC-Member-Joined-Time")))
        talk = max(0, _int(event.get("CC-Bridge-Terminated-Time")) - answered)
        reason = "caller" if session in self.hangups_requested else "agent"
        return [ev.AgentCompleted(session, vidline_queue(event.get("CC-Queue")), interface,
                                  member, hold, talk, reason)]

    def _queue_end(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        session = event.get("CC-Member-Session-UUID")
        queue = vidline_queue(event.get("CC-Queue"))
        state = self.members.pop(session, None)
        self.hangups_requested.pop(session, None)
        left = self._leave(session, queue)
        if left is None or event.get("CC-Cause") != "Cancel":
            return []
        position, count = left
        out: list[ev.PbxEvent | ParkedHalf] = []
        reason = event.get("CC-Cancel-Reason")
        shutdown = event.get("CC-Hangup-Cause") == "SYSTEM_SHUTDOWN"
        if reason == "BREAK_OUT" and not shutdown:
            joined = _int(event.get("CC-Member-Joined-Time"))
            wait = max(0, _int(event.get("CC-Member-Leaving-Time")) - joined)
            original = state.original if state is not None else position
            out.append(ev.CallerAbandoned(session, queue, position, original, wait))
        out.append(ev.CallerLeft(session, queue, position, count))
        return out

    def _status(self, event: EslEvent) -> list[ev.PbxEvent | ParkedHalf]:
        _, interface, member = self._agent(event)
        status = event.get("CC-Agent-Status")
        paused = status not in AVAILABLE
        return [ev.MemberPaused("", interface, member, paused, status if paused else "")]


_CC: dict[str, Callable[[Tracker, EslEvent], list[ev.PbxEvent | ParkedHalf]]] = {
    "member-queue-start": Tracker._queue_start,
    "agent-offering": Tracker._offering,
    "bridge-agent-fail": Tracker._fail,
    "bridge-agent-start": Tracker._bridge_start,
    "bridge-agent-end": Tracker._bridge_end,
    "member-queue-end": Tracker._queue_end,
    "agent-status-change": Tracker._status,
}
