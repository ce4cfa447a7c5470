"""The rows the reporting writer stores, as plain values.

Three kinds, each with its own idempotent key so that writing one twice (a
replay from the spool after a crash, say) changes nothing:

- :class:`InteractionRow`: the whole ``vidline_interactions`` row, upserted by
  interaction id (the last snapshot wins, so replaying in order is harmless);
- :class:`EventRow`: one ``vidline_interaction_events`` row, unique by
  ``(interaction_id, seq)``;
- :class:`QueueLogRecord`: an Asterisk-format ``queue_log`` row with a
  deterministic ``key`` (``<interaction id>:q<n>``, the n-th row vidline wrote
  for that interaction), checked in ``vidline_queue_log_keys``.

Each converts to and from a JSON-able dict: that is the spool's format.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


def db_time(epoch: float) -> str:
    """Local server time with microseconds, the way Asterisk fills queue_log."""
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M:%S.%f")


@dataclass(frozen=True, slots=True)
class InteractionRow:
    values: tuple[tuple[str, Any], ...]  # (column, value), "id" first

    @property
    def id(self) -> str:
        return str(self.values[0][1])

    def to_json(self) -> dict[str, Any]:
        return {"t": "i", "v": dict(self.values)}


@dataclass(frozen=True, slots=True)
class EventRow:
    interaction_id: str
    seq: int
    time: str
    kind: str
    data: str  # JSON text

    def to_json(self) -> dict[str, Any]:
        return {"t": "e", "i": self.interaction_id, "s": self.seq, "w": self.time,
                "k": self.kind, "d": self.data}


@dataclass(frozen=True, slots=True)
class QueueLogRecord:
    key: str
    time: str
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, ...]

    def values(self) -> tuple[Any, ...]:
        data = [*self.data, "", "", "", "", ""][:5]
        return (self.time, self.callid, self.queuename, self.agent, self.event, *data)

    def file_line(self) -> str:
        """The queue_log file form, for comparing with Asterisk's file."""
        epoch = int(datetime.strptime(self.time, "%Y-%m-%d %H:%M:%S.%f").timestamp())
        return "|".join([str(epoch), self.callid, self.queuename, self.agent, self.event,
                         *self.data])

    def to_json(self) -> dict[str, Any]:
        return {"t": "q", "key": self.key, "w": self.time, "c": self.callid,
                "q": self.queuename, "a": self.agent, "e": self.event, "d": list(self.data)}


Record = InteractionRow | EventRow | QueueLogRecord


def from_json(item: dict[str, Any]) -> Record:
    """The inverse of ``to_json``; ValueError for anything else."""
    kind = item.get("t")
    if kind == "i":
        values = item["v"]
        if not isinstance(values, dict) or "id" not in values:
            raise ValueError("interaction row without id")
        ordered = [("id", values["id"])] + [(k, v) for k, v in values.items() if k != "id"]
        return InteractionRow(tuple(ordered))
    if kind == "e":
        return EventRow(str(item["i"]), int(item["s"]), str(item["w"]), str(item["k"]),
                        str(item["d"]))
    if kind == "q":
        return QueueLogRecord(str(item["key"]), str(item["w"]), str(item["c"]), str(item["q"]),
                              str(item["a"]), str(item["e"]), tuple(str(d) for d in item["d"]))
    raise ValueError(f"unknown record kind {kind!r}")
