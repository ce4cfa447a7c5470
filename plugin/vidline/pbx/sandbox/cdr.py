"""queue_log and CDR rows as Asterisk writes them, and the thread that
stores them (pymysql and sqlite calls block: never on the event loop).

Rows are built by pure functions (values in, row out); :class:`DbWriter`
only executes them in order. Layout: shared/asterisk/conf/
mariadb_schema_show_create_table.txt plus the vidline CDR columns; like
cdr_adaptive_odbc, a CDR value whose column the table lacks is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vidline.reporting.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    time: datetime
    callid: str
    queuename: str
    agent: str
    event: str
    data: tuple[str, ...]

    def file_line(self) -> str:
        """The queue_log file form (``epoch|callid|queue|agent|event|data...``)."""
        return "|".join([str(int(self.time.timestamp())), self.callid, self.queuename,
                         self.agent, self.event, *self.data])

    def db_values(self) -> tuple[Any, ...]:
        data = [*self.data, "", "", "", "", ""][:5]
        return (_dt(self.time), self.callid, self.queuename, self.agent, self.event, *data)


def queue_log_row(callid: str, queuename: str, agent: str, event: str,
                  *data: str | int) -> QueueLogRow:
    return QueueLogRow(datetime.now(), callid, queuename, agent, event,
                       tuple(str(d) for d in data))


QUEUE_LOG_INSERT = ("INSERT INTO queue_log (`time`, callid, queuename, agent, event, "
                    "data1, data2, data3, data4, data5) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True, slots=True)
class CdrRow:
    src: str
    dst: str
    dcontext: str
    clid: str
    channel: str
    dstchannel: str | None
    lastapp: str
    lastdata: str | None
    start: float
    answer: float | None
    end: float
    disposition: str
    userfield: str | None
    uniqueid: str
    linkedid: str
    sequence: int
    vidline: tuple[tuple[str, str], ...] = ()

    def columns(self) -> dict[str, Any]:
        # Asterisk stores whole seconds in the datetime(6) columns
        duration = int(self.end - self.start)
        billsec = int(self.end - self.answer) if self.answer is not None else 0
        values: dict[str, Any] = {
            "accountcode": None, "src": self.src, "dst": self.dst, "dcontext": self.dcontext,
            "clid": self.clid, "channel": self.channel, "dstchannel": self.dstchannel,
            "lastapp": self.lastapp, "lastdata": self.lastdata or None,
            "start": _dt_seconds(self.start),
            "answer": _dt_seconds(self.answer) if self.answer is not None else None,
            "end": _dt_seconds(self.end), "duration": duration, "billsec": billsec,
            "disposition": self.disposition, "amaflags": "DOCUMENTATION",
            "userfield": self.userfield or None, "uniqueid": self.uniqueid,
            "linkedid": self.linkedid, "peeraccount": None, "sequence": self.sequence,
        }
        values.update(dict(self.vidline))
        return values


def _dt(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _dt_seconds(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch)).strftime("%Y-%m-%d %H:%M:%S.000000")


def cdr_insert(
    row: CdrRow, table_columns: Sequence[str], lengths: Mapping[str, int] | None = None
) -> tuple[str, tuple[Any, ...]]:
    """The INSERT that cdr_adaptive_odbc would run: only the columns the table
    has, and text cut to each column's declared length (cdr_adaptive_odbc.c
    truncates too-long fields rather than losing the row)."""
    known = {c.lower() for c in table_columns}
    lengths = lengths or {}
    items = [(k, _cut(v, lengths.get(k))) for k, v in row.columns().items() if k in known]
    names = ", ".join(f"`{k}`" for k, _ in items)
    marks = ", ".join("?" for _ in items)
    return f"INSERT INTO cdr ({names}) VALUES ({marks})", tuple(v for _, v in items)


def _cut(value: Any, length: int | None) -> Any:
    if length is not None and isinstance(value, str) and len(value) > length:
        return value[:length]
    return value


class DbWriter:
    """One thread, one queue: rows land in the order they were made."""

    def __init__(self, db: Database | None) -> None:
        self.db = db
        self.queue_log: list[QueueLogRow] = []  # everything written, for the control API
        self.cdrs: list[CdrRow] = []
        self._q: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._cdr_columns: list[str] | None = None
        self._cdr_lengths: dict[str, int] = {}

    def start(self) -> None:
        if self.db is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="sandbox-cdr", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.db is not None
        try:
            from vidline.reporting.schema import ensure_asterisk_tables
            ensure_asterisk_tables(self.db)
        except Exception:
            log.exception("sandbox: could not prepare the cdr/queue_log tables")
        while True:
            item = self._q.get()
            if item is None:
                return
            kind, payload = item
            try:
                if kind == "queue_log":
                    self.db.execute(QUEUE_LOG_INSERT, payload.db_values())
                elif kind == "cdr":
                    if self._cdr_columns is None:
                        self._cdr_columns = self.db.columns("cdr")
                        self._cdr_lengths = self.db.column_lengths("cdr")
                    sql, params = cdr_insert(payload, self._cdr_columns, self._cdr_lengths)
                    self.db.execute(sql, params)
                elif kind == "flush":
                    payload()
            except Exception:
                log.exception("sandbox: writing %s failed", kind)

    def write_queue_log(self, row: QueueLogRow) -> None:
        self.queue_log.append(row)
        if self._thread is not None:
            self._q.put(("queue_log", row))

    def write_cdr(self, row: CdrRow) -> None:
        self.cdrs.append(row)
        if self._thread is not None:
            self._q.put(("cdr", row))

    async def flush(self) -> None:
        """Wait until every row queued so far is in the database."""
        if self._thread is None:
            return
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def settle() -> None:
            if not done.done():
                done.set_result(None)

        def mark() -> None:
            loop.call_soon_threadsafe(settle)

        self._q.put(("flush", mark))
        await done

    async def close(self) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(TimeoutError):  # a database that hangs: close anyway
            await asyncio.wait_for(self.flush(), 10)
        self._q.put(None)
        await asyncio.to_thread(self._thread.join, 5)
        self._thread = None
        if self.db is not None:
            await asyncio.to_thread(self.db.close)
