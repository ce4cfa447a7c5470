"""Queue reports from queue_log rows: pure functions, rows in, figures out.

Theory of operation. Asterisk (or vidline, where the PBX writes none) logs
each queue call as rows under one callid:

    ENTERQUEUE   data2 = caller id number
    CONNECT      data1 = seconds waited (holdtime)
    COMPLETECALLER / COMPLETEAGENT   data1 = holdtime, data2 = talk seconds
    TRANSFER / BLINDTRANSFER         data3 = holdtime, data4 = talk seconds
    ABANDON / EXITWITHTIMEOUT / EXITEMPTY     data3 = seconds waited
    EXITWITHKEY                      data4 = seconds waited
    VIDEOCHAT    vidline's line: the callid is a video chat; data2 = category

A *segment* is one stay of one callid in one queue (from its ENTERQUEUE to
the row that ends it). Last-agent routing gives a video chat two segments
(``agent-1002`` then the skill queue), so:

- ``by="queue"`` counts segments: each queue sees what it was offered;
- ``by="category"`` and ``by="hour"`` count *calls*: a callid's segments
  merged as the customer lived them (offered once, at its first ENTERQUEUE;
  its wait is the sum of the segments' waits; its outcome the last one's).

Figures per group and kind (``phone``, ``video``, ``total``):

- offered: calls (or segments) that entered; answered: those with a CONNECT;
  abandoned: those that ended with ABANDON (the caller hung up waiting);
- service level: answered within the queue's service level seconds, as a
  percentage of offered (calls still waiting count as offered and not
  answered; the percentage is None for a group that was offered nothing);
- wait: seconds waited by every call that left the queue (answered or not);
  talk: talk seconds of answered calls whose end is logged;
- average (rounded to 0.1 s) and 90th percentile by the nearest-rank method
  (the value at position ceil(0.9 * n) of the sorted list), None when empty.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

KINDS = ("phone", "video", "total")
GROUPINGS = ("queue", "category", "hour")
NO_CATEGORY = "-"  # phone calls carry no category
_ENDS_WAITING = {"ABANDON": 2, "EXITWITHTIMEOUT": 2, "EXITEMPTY": 2, "EXITWITHKEY": 3}
_COMPLETES = {"COMPLETECALLER": (0, 1), "COMPLETEAGENT": (0, 1),
              "TRANSFER": (2, 3), "BLINDTRANSFER": (2, 3)}


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    time: datetime
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, ...] = ()

    @classmethod
    def from_db(cls, row: Sequence[Any]) -> QueueLogRow:
        """(time, callid, queuename, agent, event, data1..data5) as selected."""
        when = row[0] if isinstance(row[0], datetime) else _parse(str(row[0]))
        return cls(when, str(row[1] or ""), str(row[2] or ""), str(row[3] or ""),
                   str(row[4] or ""), tuple(str(d or "") for d in row[5:10]))

    def field(self, index: int) -> str:
        return self.data[index] if index < len(self.data) else ""


def _parse(text: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a queue_log time: {text!r}")


def _seconds(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


@dataclass(slots=True)
class Segment:
    callid: str
    queue: str
    entered: datetime
    video: bool = False
    category: str = NO_CATEGORY
    answered: bool = False
    outcome: str = "waiting"  # answered | ABANDON | EXITWITHTIMEOUT | ... | waiting
    wait: float | None = None
    talk: float | None = None


def segments(rows: Iterable[QueueLogRow]) -> list[Segment]:
    """Each callid's stays in queues, in the order they began."""
    ordered = sorted(rows, key=lambda r: r.time)
    video: dict[str, str] = {}
    for row in ordered:
        if row.event == "VIDEOCHAT":
            video[row.callid] = row.field(1) or NO_CATEGORY
    open_: dict[tuple[str, str], Segment] = {}
    result: list[Segment] = []
    for row in ordered:
        key = (row.callid, row.queuename)
        if row.event == "ENTERQUEUE":
            entered = Segment(row.callid, row.queuename, row.time, row.callid in video,
                              video.get(row.callid, NO_CATEGORY))
            open_[key] = entered
            result.append(entered)
            continue
        seg = open_.get(key)
        if seg is None:
            continue  # rows of a stay that began before the rows we have
        if row.event == "CONNECT":
            seg.answered, seg.outcome = True, "answered"
            seg.wait = _seconds(row.field(0))
        elif row.event in _COMPLETES:
            hold, talk = _COMPLETES[row.event]
            if seg.wait is None:
                seg.wait = _seconds(row.field(hold))
            seg.talk = _seconds(row.field(talk))
            del open_[key]
        elif row.event in _ENDS_WAITING and not seg.answered:
            seg.outcome = row.event
            seg.wait = _seconds(row.field(_ENDS_WAITING[row.event]))
            del open_[key]
    return result


def merge_calls(segs: Iterable[Segment]) -> list[Segment]:
    """One record per callid: the customer's whole stay (see the module doc)."""
    calls: dict[str, Segment] = {}
    for seg in segs:
        call = calls.get(seg.callid)
        if call is None:
            calls[seg.callid] = Segment(seg.callid, seg.queue, seg.entered, seg.video,
                                        seg.category, seg.answered, seg.outcome, seg.wait,
                                        seg.talk)
            continue
        call.queue, call.outcome = seg.queue, seg.outcome
        call.answered = call.answered or seg.answered
        if seg.wait is not None:
            call.wait = (call.wait or 0.0) + seg.wait
        if seg.talk is not None:
            call.talk = seg.talk
    return list(calls.values())


def percentile90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


def average(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass(frozen=True, slots=True)
class Figures:
    group: str
    kind: str
    offered: int
    answered: int
    abandoned: int
    answered_in_sl: int
    service_level: float | None  # percent of offered
    wait_avg: float | None
    wait_p90: float | None
    talk_avg: float | None
    talk_p90: float | None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


COLUMNS = tuple(Figures.__slots__)


def figures(group: str, kind: str, calls: Sequence[Segment],
            service_level_of: Callable[[str], int]) -> Figures:
    answered = [c for c in calls if c.answered]
    in_sl = sum(1 for c in answered
                if c.wait is not None and c.wait <= service_level_of(c.queue))
    waits = [c.wait for c in calls if c.wait is not None]
    talks = [c.talk for c in answered if c.talk is not None]
    return Figures(
        group, kind, len(calls), len(answered),
        sum(1 for c in calls if c.outcome == "ABANDON"), in_sl,
        round(100.0 * in_sl / len(calls), 1) if calls else None,
        average(waits), percentile90(waits), average(talks), percentile90(talks),
    )


def _group_key(by: str) -> Callable[[Segment], str]:
    if by == "queue":
        return lambda s: s.queue
    if by == "category":
        return lambda s: s.category
    if by == "hour":
        return lambda s: s.entered.strftime("%Y-%m-%d %H:00")
    raise ValueError(f"by must be one of {', '.join(GROUPINGS)}, not {by!r}")


def report(rows: Iterable[QueueLogRow], by: str = "queue",
           service_level_of: Callable[[str], int] = lambda queue: 20,
           start: datetime | None = None, end: datetime | None = None) -> list[Figures]:
    """Figures per group (sorted) and kind, for calls that entered a queue in
    [start, end). Rows may include more than the range: calls are kept by when
    they (first) entered."""
    segs = segments(rows)
    units = segs if by == "queue" else merge_calls(segs)
    units = [u for u in units
             if (start is None or u.entered >= start) and (end is None or u.entered < end)]
    key = _group_key(by)
    groups: dict[str, list[Segment]] = {}
    for unit in units:
        groups.setdefault(key(unit), []).append(unit)
    result: list[Figures] = []
    for name in sorted(groups):
        members = groups[name]
        result.append(figures(name, "phone", [m for m in members if not m.video],
                              service_level_of))
        result.append(figures(name, "video", [m for m in members if m.video],
                              service_level_of))
        result.append(figures(name, "total", members, service_level_of))
    return result
