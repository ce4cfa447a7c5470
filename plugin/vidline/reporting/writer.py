"""The reporting writer: one thread, a bounded queue, the database or the spool.

The event loop hands records over with :meth:`ReportWriter.submit` (never
blocks). The thread takes whatever is queued, up to ``batch_size`` records,
and stores it in one transaction. When the database cannot be reached the
batch goes to the durable spool instead, and so does everything after it,
so rows keep their order; every ``retry`` seconds (doubling up to
``retry_max``) the thread replays the spool from its start, batch by batch,
and goes back to writing directly once the spool is empty. Keys make every
record idempotent (:mod:`vidline.reporting.sql`), so a batch that was
committed just before the link broke, or a spool replayed again after a
restart, is stored once.

A record the database refuses for what it is (not for being unreachable) is
set aside in ``rejected.jsonl`` next to the spool, so one bad row cannot hold
back the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pymysql

from vidline.reporting import sql
from vidline.reporting.db import CONNECTION_ERRORS, Database
from vidline.reporting.records import Record, from_json
from vidline.reporting.spool import Spool, SpoolFull

log = logging.getLogger(__name__)

# "table does not exist" (1146) and "unknown column" (1054) mean `vidline db
# upgrade` has not run yet: keep the rows until it has, rather than reject them
_RETRYABLE_CODES = {1146, 1054}
_STOP = object()
CLOSE_WAIT = 30.0  # seconds close() waits for the last batch (then it stays spooled)


@dataclass
class WriterStats:
    written: int = 0  # records stored straight away
    spooled: int = 0  # records that went to the spool
    replayed: int = 0  # records stored from the spool
    rejected: int = 0
    dropped: int = 0  # the queue was full (the thread could not keep up)
    lost: int = 0  # the database was away and the spool full (cap or disk)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, pymysql.err.ProgrammingError | pymysql.err.InternalError):
        return bool(exc.args) and exc.args[0] in _RETRYABLE_CODES
    if isinstance(exc, sqlite3.OperationalError):
        return True  # locked, missing table, disk I/O: all worth a later try
    return isinstance(exc, CONNECTION_ERRORS)


def _link_broken(exc: BaseException) -> bool:
    """Unreachable, as opposed to refused (client error codes are 2000+)."""
    if isinstance(exc, pymysql.err.InterfaceError | OSError):
        return True
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
    return isinstance(exc, pymysql.err.OperationalError) and code >= 2000


class ReportWriter:
    def __init__(self, db: Database, spool_dir: Path, *, queue_size: int = 10000,
                 batch_size: int = 500, retry: float = 0.5, retry_max: float = 30.0,
                 spool_max_bytes: int | None = None,
                 prepare: Callable[[Database], None] | None = None) -> None:
        """``prepare``: run once per successful connection before writing
        (creating missing tables); its failure is logged, not fatal."""
        self.db = db
        self.spool = Spool(spool_dir, spool_max_bytes)
        self.rejected_path = spool_dir / "rejected.jsonl"
        self.stats = WriterStats()
        self._queue: queue.Queue[object] = queue.Queue(queue_size)
        self._batch_size = batch_size
        self._retry_min = retry
        self._retry = retry
        self._retry_max = retry_max
        self._retry_at = 0.0  # replay a spool left by an earlier run at once
        self._prepare = prepare
        self._prepared = False
        self._thread: threading.Thread | None = None

    # -- the event loop's side ------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="vidline-reporting",
                                            daemon=True)
            self._thread.start()

    def submit(self, records: Sequence[Record]) -> None:
        if not records:
            return
        try:
            self._queue.put_nowait(list(records))
        except queue.Full:
            self.stats.dropped += len(records)
            log.error("reporting: queue full, %d records lost (database and spool too slow)",
                      len(records))

    async def flush(self) -> bool:
        """Wait until everything submitted so far is stored or spooled; True
        when nothing is left in the spool."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[bool] = loop.create_future()

        def settle(empty: bool) -> None:
            if not done.done():
                done.set_result(empty)

        self._queue.put(lambda empty: loop.call_soon_threadsafe(settle, empty))
        return await done

    async def close(self) -> None:
        """Store what is queued (or spool it) and stop the thread."""
        if self._thread is not None:
            await asyncio.to_thread(self._queue.put, _STOP)
            await asyncio.to_thread(self._thread.join, CLOSE_WAIT)
            self._thread = None
        await asyncio.to_thread(self.db.close)
        self.spool.close()

    # -- the thread -----------------------------------------------------

    def _run(self) -> None:
        while True:
            wait = max(0.0, self._retry_at - time.monotonic()) if self.spool.pending else None
            try:
                first = self._queue.get(timeout=wait)
            except queue.Empty:
                first = None
            records, controls, stop = self._take(first)
            if records:
                self._write_or_spool(records)
            if self.spool.pending and time.monotonic() >= self._retry_at:
                self._replay()
            for control in controls:
                control(not self.spool.pending)
            if stop:
                self._final_attempt()
                return

    def _take(self, first: object) -> tuple[list[Record], list[Callable[[bool], None]], bool]:
        records: list[Record] = []
        controls: list[Callable[[bool], None]] = []
        stop = False
        item = first
        while item is not None:
            if item is _STOP:
                stop = True
            elif callable(item):
                controls.append(item)
            elif isinstance(item, list):
                records += item
            if len(records) >= self._batch_size:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = None
        return records, controls, stop

    def _write_or_spool(self, records: list[Record]) -> None:
        if not self.spool.pending and self._store(records):
            self.stats.written += len(records)
            return
        self._spool(records)

    def _spool(self, records: Sequence[Record]) -> None:
        try:
            self.spool.append([r.to_json() for r in records])
        except SpoolFull as exc:
            # the one place rows are lost: say how many, each time, loudly
            self.stats.lost += len(records)
            log.error("reporting: %d records lost, the database is away and the spool "
                      "is full (%s); %d lost so far", len(records), exc, self.stats.lost)
            return
        self.stats.spooled += len(records)

    def _store(self, records: Sequence[Record]) -> bool:
        """True when stored (or set aside as rejected); False when the
        database is out of reach and the records must wait."""
        try:
            self._ensure_prepared()
            sql.store(self.db, records)
        except Exception as exc:
            if is_transient(exc):
                self._down(exc)
                return False
            return self._store_one_by_one(records, exc)
        self._retry = self._retry_min
        return True

    def _store_one_by_one(self, records: Sequence[Record], exc: BaseException) -> bool:
        log.warning("reporting: a batch of %d was refused (%s); storing one by one",
                    len(records), exc)
        for index, record in enumerate(records):
            try:
                sql.store(self.db, [record])
            except Exception as one:
                if is_transient(one):
                    # keep the order: this one and the rest go to the spool
                    self._spool(records[index:])
                    self._down(one)
                    return True
                self._reject(record, one)
        return True

    def _reject(self, record: Record, exc: BaseException) -> None:
        log.error("reporting: the database refused a record (%s): set aside in %s",
                  exc, self.rejected_path)
        with open(self.rejected_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps({"error": str(exc), "record": record.to_json()}) + "\n")
        self.stats.rejected += 1

    def _ensure_prepared(self) -> None:
        if self._prepared or self._prepare is None:
            return
        try:
            self._prepare(self.db)
        except Exception as exc:
            if _link_broken(exc):
                raise  # the batch waits in the spool; prepare again on the next try
            log.warning("reporting: could not create the reporting tables (%s); "
                        "run `vidline db upgrade`", exc)
        self._prepared = True

    def _down(self, exc: BaseException) -> None:
        if self._retry == self._retry_min:
            log.warning("reporting: database unreachable (%s); spooling to %s",
                        exc, self.spool.path)
        self._retry_at = time.monotonic() + self._retry
        self._retry = min(self._retry * 2, self._retry_max)

    def _replay(self) -> None:
        """Store the spool, oldest first, while new records queue up behind
        it; flush requests met on the way are answered once it is done."""
        deferred: list[Callable[[bool], None]] = []
        stop = False
        while self.spool.pending and not stop:
            items, offset = self.spool.read(self._batch_size)
            records: list[Record] = []
            for item in items:
                try:
                    records.append(from_json(item))
                except (KeyError, ValueError, TypeError) as exc:
                    log.warning("reporting spool: skipping an unreadable record: %s", exc)
            if records and not self._store(records):
                break
            self.stats.replayed += len(records)
            self.spool.advance(offset)
            # what arrived meanwhile goes behind the spooled rows, in order
            more, controls, stop = self._take(self._nowait())
            if more:
                self.spool.append([r.to_json() for r in more])
                self.stats.spooled += len(more)
            deferred += controls
        if not self.spool.pending:
            log.info("reporting: spool replayed, writing directly again")
        for control in deferred:
            control(not self.spool.pending)
        if stop:
            self._queue.put(_STOP)

    def _nowait(self) -> object:
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def _final_attempt(self) -> None:
        records, _, _ = self._take(self._nowait())
        if records:
            self._write_or_spool(records)
        if self.spool.pending:
            self._retry_at = 0.0
            self._replay()

