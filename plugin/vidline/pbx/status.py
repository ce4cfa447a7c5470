"""A snapshot of the PBX's queues for the wallboard: who waits where (video
chats and phone calls alike) and what each agent is doing.

``device_status`` is the member's device state as app_queue reports it
(0 unknown, 1 not in use, 2 in use, 3 busy, 4 invalid, 5 unavailable,
6 ringing, 7 ringing while in use, 8 on hold); adapters of other PBXs map
theirs onto it.
"""

from __future__ import annotations

from dataclasses import dataclass

_IN_CALL = {2, 3, 7, 8}
_RINGING = {6}
_AWAY = {4, 5}


@dataclass(frozen=True, slots=True)
class WaitingCaller:
    queue: str
    position: int
    wait: int  # seconds, as the PBX counts them
    uniqueid: str
    caller_id: str
    interaction_id: str | None  # set for vidline's video chat legs

    @property
    def kind(self) -> str:
        return "video" if self.interaction_id else "phone"


@dataclass(frozen=True, slots=True)
class MemberState:
    queue: str
    name: str
    interface: str
    device_status: int
    paused: bool
    paused_reason: str
    in_call: bool

    @property
    def state(self) -> str:
        """available | paused | ringing | in call | unavailable (a paused agent
        who is still talking or ringing shows that first)."""
        if self.in_call or self.device_status in _IN_CALL:
            return "in call"
        if self.device_status in _RINGING:
            return "ringing"
        if self.paused:
            return "paused"
        if self.device_status in _AWAY:
            return "unavailable"
        return "available"


@dataclass(frozen=True, slots=True)
class QueueStatus:
    callers: tuple[WaitingCaller, ...]
    members: tuple[MemberState, ...]
