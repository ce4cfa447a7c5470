"""Typed PBX events: what the rest of vidline sees of Asterisk or FreeSWITCH.

Each adapter turns its wire protocol (AMI ``Key: value`` blocks, ESL event
bodies) into these once, at the boundary. ``interaction_id`` is vidline's id
of the customer leg: on Asterisk it is the ChannelId given to Originate, which
Asterisk makes the Uniqueid and Linkedid of the leg (shared/asterisk I), so
one key joins AMI, AudioSocket, queue_log and CDR.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LegOriginated:
    """The PBX created the customer's leg (Originate succeeded)."""

    interaction_id: str
    channel: str


@dataclass(frozen=True, slots=True)
class LegFailed:
    """The PBX could not create the customer's leg (OriginateResponse Failure).

    ``reason`` is the PBX's code: for Asterisk, OriginateResponse ``Reason``
    (8 when nothing listens on the AudioSocket port, shared/asterisk H).
    """

    interaction_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class CallerJoined:
    interaction_id: str
    queue: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class CallerLeft:
    """The caller left the queue: answered, abandoned, withdrawn or timed out.

    Asterisk sends QueueCallerLeave after QueueCallerAbandon for an abandon.
    ``count`` is the number of callers left in the queue.
    """

    interaction_id: str
    queue: str
    position: int
    count: int


@dataclass(frozen=True, slots=True)
class CallerAbandoned:
    interaction_id: str
    queue: str
    position: int
    original_position: int
    hold_time: int


@dataclass(frozen=True, slots=True)
class AgentRinging:
    """An agent's device is being rung for this caller (AgentCalled)."""

    interaction_id: str
    queue: str
    interface: str
    member_name: str
    agent_channel: str


@dataclass(frozen=True, slots=True)
class AgentNoAnswer:
    """The agent did not answer in time. ``ring_time_ms`` is milliseconds
    (AgentRingNoAnswer's RingTime is ms, AgentConnect's is seconds)."""

    interaction_id: str
    queue: str
    interface: str
    member_name: str
    ring_time_ms: int


@dataclass(frozen=True, slots=True)
class AgentConnected:
    interaction_id: str
    queue: str
    interface: str
    member_name: str
    agent_channel: str
    hold_time: int
    ring_time: int
    # the agent leg's own id (AMI DestUniqueid): queue_log CONNECT's data2
    agent_uniqueid: str = ""


@dataclass(frozen=True, slots=True)
class AgentCompleted:
    """The queue call ended after it was answered.

    ``interaction_id`` is ``None`` when the PBX did not say which caller it
    was: Asterisk sometimes sends AgentComplete without Channel/Uniqueid
    (2 of 7 in shared/asterisk); consumers then rely on :class:`LegHungUp`.
    ``reason`` is ``caller``, ``agent`` or ``transfer``.
    """

    interaction_id: str | None
    queue: str
    interface: str
    member_name: str
    hold_time: int
    talk_time: int
    reason: str


@dataclass(frozen=True, slots=True)
class LegHungUp:
    """The customer's leg is gone. ``cause`` is the Q.850 cause code."""

    interaction_id: str
    channel: str
    cause: int
    cause_text: str


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """One waiting caller, as QueueStatus reports it (used for resync and for
    position updates: Asterisk sends no event when a caller moves up)."""

    interaction_id: str
    queue: str
    position: int
    wait: int


@dataclass(frozen=True, slots=True)
class QueueSummary:
    queue: str
    logged_in: int
    available: int
    callers: int
    hold_time: int
    talk_time: int
    longest_hold_time: int


@dataclass(frozen=True, slots=True)
class MemberPaused:
    queue: str
    interface: str
    member_name: str
    paused: bool
    reason: str


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The control link (AMI/ESL) is logged in; ``resynced`` entries follow
    as QueueEntry events."""

    banner: str


@dataclass(frozen=True, slots=True)
class LinkDown:
    reason: str


PbxEvent = (
    LegOriginated
    | LegFailed
    | CallerJoined
    | CallerLeft
    | CallerAbandoned
    | AgentRinging
    | AgentNoAnswer
    | AgentConnected
    | AgentCompleted
    | LegHungUp
    | QueueEntry
    | MemberPaused
    | LinkUp
    | LinkDown
)
