"""AMI ``QueueStatus`` answers (``QueueParams``, ``QueueMember`` and
``QueueEntry`` items) as a typed :class:`~vidline.pbx.status.QueueStatus`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vidline.pbx.asterisk.events import leg_id
from vidline.pbx.status import MemberState, QueueStatus, WaitingCaller


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def queue_status_from(items: Iterable[Mapping[str, str]]) -> QueueStatus:
    callers: list[WaitingCaller] = []
    members: list[MemberState] = []
    for h in items:
        event = h.get("Event")
        if event == "QueueEntry":
            number = h.get("CallerIDNum", "")
            callers.append(WaitingCaller(
                h.get("Queue", ""), _int(h.get("Position")), _int(h.get("Wait")),
                h.get("Uniqueid", ""), "" if number == "<unknown>" else number, leg_id(h)))
        elif event == "QueueMember":
            members.append(MemberState(
                h.get("Queue", ""), h.get("Name", ""),
                h.get("Location") or h.get("StateInterface", ""), _int(h.get("Status")),
                h.get("Paused") == "1", h.get("PausedReason", ""), h.get("InCall") == "1"))
    return QueueStatus(tuple(callers), tuple(members))
