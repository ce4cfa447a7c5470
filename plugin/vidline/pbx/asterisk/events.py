"""AMI messages -> vidline's typed PBX events: pure functions, no I/O.

Which leg is the customer's: vidline originates with ChannelId = the
interaction id (a uuid4), which Asterisk makes the leg's Uniqueid
(shared/asterisk I). Older transcripts and callers originated without it
still name the channel ``AudioSocket/<host>:<port>-<uuid>`` with the same
uuid, so :func:`leg_id` accepts either. Agent legs have numeric Uniqueids and
their channels are not AudioSocket ones, so their Hangup never looks like
the customer's; callers that are not vidline's (phone calls in the same
queue) map to no event.

Quirks this follows (shared/asterisk FINDINGS): RingTime is milliseconds in
AgentRingNoAnswer and seconds in AgentConnect; AgentComplete can come without
Channel/Uniqueid (its DestLinkedid, when present, is still the customer's
Linkedid = the interaction id); a failed OriginateResponse has Uniqueid
``<unknown>`` and is matched by its ActionID.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.asterisk.variables import chan_variables
from vidline.pbx.events import (
    AgentCompleted,
    AgentConnected,
    AgentNoAnswer,
    AgentRinging,
    CallerAbandoned,
    CallerJoined,
    CallerLeft,
    LegFailed,
    LegHungUp,
    LegOriginated,
    MemberPaused,
    PbxEvent,
    QueueEntry,
    QueueSummary,
)

IdResolver = Callable[[Mapping[str, str]], str | None]
AsteriskEvent = PbxEvent | QueueSummary

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_UUID_RE = re.compile(f"^{_UUID}$")
# "-<uuid>" once the channel exists; "/<uuid>[/c(...)]" in a failed
# OriginateResponse, which echoes the dial string.
_AUDIOSOCKET_RE = re.compile(f"^AudioSocket/[^/]+?[-/]({_UUID})(?:/.*)?$")
_EMPTY: Mapping[str, str] = {}


def is_uuid(value: str) -> bool:
    return _UUID_RE.fullmatch(value) is not None


def uuid_from_channel(channel: str) -> str | None:
    match = _AUDIOSOCKET_RE.fullmatch(channel)
    return match.group(1) if match else None


def leg_id(headers: Mapping[str, str]) -> str | None:
    """The interaction id of the customer leg an AMI message is about, or None."""
    uniqueid = headers.get("Uniqueid", "")
    if _UUID_RE.fullmatch(uniqueid):
        return uniqueid
    return uuid_from_channel(headers.get("Channel", ""))


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def _caller_joined(h: Mapping[str, str], iid: str) -> CallerJoined:
    return CallerJoined(iid, h.get("Queue", ""), _int(h.get("Position")), _int(h.get("Count")))


def _caller_left(h: Mapping[str, str], iid: str) -> CallerLeft:
    return CallerLeft(iid, h.get("Queue", ""), _int(h.get("Position")), _int(h.get("Count")))


def _caller_abandoned(h: Mapping[str, str], iid: str) -> CallerAbandoned:
    return CallerAbandoned(iid, h.get("Queue", ""), _int(h.get("Position")),
                           _int(h.get("OriginalPosition")), _int(h.get("HoldTime")))


def _agent_called(h: Mapping[str, str], iid: str) -> AgentRinging:
    return AgentRinging(iid, h.get("Queue", ""), h.get("Interface", ""),
                        h.get("MemberName", ""), h.get("DestChannel", ""))


def _agent_no_answer(h: Mapping[str, str], iid: str) -> AgentNoAnswer:
    # milliseconds here, unlike AgentConnect
    return AgentNoAnswer(iid, h.get("Queue", ""), h.get("Interface", ""),
                         h.get("MemberName", ""), _int(h.get("RingTime")))


def _agent_connect(h: Mapping[str, str], iid: str) -> AgentConnected:
    return AgentConnected(iid, h.get("Queue", ""), h.get("Interface", ""),
                          h.get("MemberName", ""), h.get("DestChannel", ""),
                          _int(h.get("HoldTime")), _int(h.get("RingTime")),
                          h.get("DestUniqueid", ""))


def _hangup(h: Mapping[str, str], iid: str) -> LegHungUp:
    return LegHungUp(iid, h.get("Channel", ""), _int(h.get("Cause")), h.get("Cause-txt", ""))


def _queue_entry(h: Mapping[str, str], iid: str) -> QueueEntry:
    return QueueEntry(iid, h.get("Queue", ""), _int(h.get("Position")), _int(h.get("Wait")))


_PER_LEG: dict[str, Callable[[Mapping[str, str], str], AsteriskEvent]] = {
    "QueueCallerJoin": _caller_joined,
    "QueueCallerLeave": _caller_left,
    "QueueCallerAbandon": _caller_abandoned,
    "AgentCalled": _agent_called,
    "AgentRingNoAnswer": _agent_no_answer,
    "AgentConnect": _agent_connect,
    "Hangup": _hangup,
    "QueueEntry": _queue_entry,
}


def agent_completed(h: Mapping[str, str], resolve: IdResolver = leg_id) -> AgentCompleted:
    iid = resolve(h)
    if iid is None:
        # No Channel/Uniqueid (2 of 7 in shared/asterisk); the agent leg's
        # Linkedid is the customer's, i.e. the interaction id, when present.
        dest_linked = h.get("DestLinkedid", "")
        iid = dest_linked if _UUID_RE.fullmatch(dest_linked) else None
    return AgentCompleted(iid, h.get("Queue", ""), h.get("Interface", ""),
                          h.get("MemberName", ""), _int(h.get("HoldTime")),
                          _int(h.get("TalkTime")), h.get("Reason", ""))


def originate_result(
    h: Mapping[str, str], originates: Mapping[str, str] = _EMPTY
) -> LegOriginated | LegFailed | None:
    """OriginateResponse -> LegOriginated / LegFailed.

    ``originates`` maps the ActionID of each Originate sent to its
    interaction id: the only key a failure carries reliably.
    """
    iid = originates.get(h.get("ActionID", "")) or leg_id(h)
    if iid is None:
        return None
    if h.get("Response") == "Success":
        return LegOriginated(iid, h.get("Channel", ""))
    return LegFailed(iid, h.get("Reason", ""))


def queue_summary(h: Mapping[str, str]) -> QueueSummary:
    return QueueSummary(h.get("Queue", ""), _int(h.get("LoggedIn")), _int(h.get("Available")),
                        _int(h.get("Callers")), _int(h.get("HoldTime")),
                        _int(h.get("TalkTime")), _int(h.get("LongestHoldTime")))


def member_paused(h: Mapping[str, str]) -> MemberPaused:
    return MemberPaused(h.get("Queue", ""), h.get("Interface", ""), h.get("MemberName", ""),
                        h.get("Paused") == "1", h.get("PausedReason", ""))


def to_event(
    msg: AmiMessage,
    *,
    resolve: IdResolver = leg_id,
    originates: Mapping[str, str] = _EMPTY,
) -> AsteriskEvent | None:
    """The typed event for one AMI message, or None when vidline has no use
    for it (most of the stream: VarSet, Newexten, other callers' legs...).

    ``resolve`` finds the interaction id (default :func:`leg_id`);
    ``originates`` maps Originate ActionIDs to interaction ids.
    """
    name = msg.event
    per_leg = _PER_LEG.get(name)
    if per_leg is not None:
        # dict(): one C-level pass; repeated headers (ChanVariable) are not needed here
        headers = dict(msg.headers)
        iid = resolve(headers)
        return None if iid is None else per_leg(headers, iid)
    if name == "AgentComplete":
        return agent_completed(dict(msg.headers), resolve)
    if name == "OriginateResponse":
        return originate_result(dict(msg.headers), originates)
    if name == "QueueSummary":
        return queue_summary(dict(msg.headers))
    if name == "QueueMemberPause":
        return member_paused(dict(msg.headers))
    return None


@dataclass(frozen=True, slots=True)
class LegChannel:
    """A customer leg as CoreShowChannels reports it (resync after a drop:
    QueueStatus entries lack the VIDLINE variables, CoreShowChannel has them,
    shared/asterisk F)."""

    interaction_id: str
    channel: str
    variables: Mapping[str, str]


def leg_channel(msg: AmiMessage) -> LegChannel | None:
    """CoreShowChannel (or Newchannel) -> LegChannel for a customer leg."""
    headers = dict(msg.headers)
    iid = leg_id(headers)
    if iid is None:
        return None
    return LegChannel(iid, headers.get("Channel", ""),
                      chan_variables(msg.get_all("ChanVariable"), escaped=True))
