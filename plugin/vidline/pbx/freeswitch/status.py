"""The outputs of ``callcenter_config ... list`` and ``show channels as json``
(shared/freeswitch D, pass2 F) as typed values: pure functions, text in.

``list`` outputs are a ``|``-separated table with a header row and a last
line ``+OK``. Member states: ``Waiting`` and ``Trying`` are in line,
``Answered`` is with an agent, ``Abandoned`` rows linger (with an empty
session uuid) for ``discard-abandoned-after``. mod_callcenter serves the
highest ``score`` first (base score + seconds waited), so that is the order
of the line.
"""

from __future__ import annotations

import json

from vidline.pbx.events import QueueEntry, QueueSummary
from vidline.pbx.freeswitch.events import AVAILABLE, AgentRef
from vidline.pbx.freeswitch.variables import vidline_queue
from vidline.pbx.status import MemberState, QueueStatus, WaitingCaller

IN_LINE = ("Waiting", "Trying")

# agent state -> app_queue device status (vidline.pbx.status)
_DEVICE = {"Waiting": 1, "Idle": 1, "Receiving": 6, "In a queue call": 2}


def table(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line and not line.startswith(("+OK", "-ERR"))]
    if not lines:
        return []
    names = lines[0].split("|")
    return [dict(zip(names, line.split("|"), strict=False)) for line in lines[1:]]


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def in_line(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The rows of members still waiting, in serving order."""
    waiting = [r for r in rows if r.get("state") in IN_LINE and r.get("session_uuid")]
    return sorted(waiting, key=lambda r: (-_int(r.get("score")), _int(r.get("joined_epoch"))))


def queue_entries(rows: list[dict[str, str]], now: float) -> list[QueueEntry]:
    out: list[QueueEntry] = []
    positions: dict[str, int] = {}
    for row in in_line(rows):
        queue = vidline_queue(row.get("queue", ""))
        positions[queue] = positions.get(queue, 0) + 1
        out.append(QueueEntry(row["session_uuid"], queue, positions[queue],
                              max(0, int(now) - _int(row.get("joined_epoch")))))
    return out


def channel_uuids(text: str) -> set[str]:
    """The uuids of ``show channels as json`` (``{"row_count":0}`` when none)."""
    try:
        data = json.loads(text)
    except ValueError:
        return set()
    rows = data.get("rows") if isinstance(data, dict) else None
    return {r["uuid"] for r in rows or () if isinstance(r, dict) and "uuid" in r}


def queue_status(members: list[dict[str, str]], agents: list[dict[str, str]],
                 tiers: list[dict[str, str]], agent_ref: AgentRef, now: float,
                 vidline_ids: set[str]) -> QueueStatus:
    callers = tuple(
        WaitingCaller(e.queue, e.position, e.wait, e.interaction_id,
                      _cid(members, e.interaction_id),
                      e.interaction_id if e.interaction_id in vidline_ids else None)
        for e in queue_entries(members, now))
    by_name = {a.get("name", ""): a for a in agents}
    states: list[MemberState] = []
    for tier in tiers:
        agent = by_name.get(tier.get("agent", ""))
        if agent is None:
            continue
        interface, member = agent_ref(agent.get("name", ""))
        status, state = agent.get("status", ""), agent.get("state", "")
        device = 5 if status == "Logged Out" else _DEVICE.get(state, 0)
        paused = status not in AVAILABLE and status != "Logged Out"
        states.append(MemberState(vidline_queue(tier.get("queue", "")), member, interface,
                                  device, paused, status if paused else "",
                                  state == "In a queue call"))
    return QueueStatus(callers, tuple(states))


def _cid(rows: list[dict[str, str]], session: str) -> str:
    for row in rows:
        if row.get("session_uuid") == session:
            number = row.get("cid_number", "")
            return "" if number == "default" else number
    return ""


def queue_summaries(status: QueueStatus, queues: list[str]) -> list[QueueSummary]:
    out: list[QueueSummary] = []
    for queue in queues:
        members = [m for m in status.members if m.queue == queue]
        callers = [c for c in status.callers if c.queue == queue]
        out.append(QueueSummary(
            queue, sum(1 for m in members if m.device_status != 5),
            sum(1 for m in members if m.state == "available"), len(callers), 0, 0,
            max((c.wait for c in callers), default=0)))
    return out
