"""Storing a batch of reporting records in one transaction, idempotently.

- interaction rows: upsert by id (MySQL ``ON DUPLICATE KEY UPDATE``, SQLite
  ``ON CONFLICT DO UPDATE``); within a batch only the last snapshot of each
  interaction is sent;
- event rows: a no-op on a duplicate ``(interaction_id, seq)`` (MySQL ``ON
  DUPLICATE KEY UPDATE seq = seq``, SQLite ``INSERT OR IGNORE``);
- queue_log rows: only rows whose key is not yet in ``vidline_queue_log_keys``
  are inserted, and their keys with them, in the same transaction. So a
  replay writes nothing twice, without touching the centre's queue_log table
  (no index, no extra column). Needs a transactional queue_log (InnoDB, as
  Asterisk's schema creates it).
"""

from __future__ import annotations

from collections.abc import Sequence

from vidline.reporting.db import Database, Transaction
from vidline.reporting.records import EventRow, InteractionRow, QueueLogRecord, Record

EVENT_COLUMNS = "(interaction_id, seq, `time`, kind, data)"
QUEUE_LOG_INSERT = ("INSERT INTO queue_log (`time`, callid, queuename, agent, event, "
                    "data1, data2, data3, data4, data5) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _upsert_sql(dialect: str, columns: Sequence[str]) -> str:
    names = ", ".join(f"`{c}`" for c in columns)
    marks = ", ".join("?" for _ in columns)
    head = f"INSERT INTO vidline_interactions ({names}) VALUES ({marks})"
    rest = [c for c in columns if c != "id"]
    if dialect == "mysql":
        return head + " ON DUPLICATE KEY UPDATE " + ", ".join(
            f"`{c}` = VALUES(`{c}`)" for c in rest)
    return head + " ON CONFLICT(`id`) DO UPDATE SET " + ", ".join(
        f"`{c}` = excluded.`{c}`" for c in rest)


def _event_sql(dialect: str) -> str:
    head = f"INTO vidline_interaction_events {EVENT_COLUMNS} VALUES (?, ?, ?, ?, ?)"
    if dialect == "mysql":
        # not INSERT IGNORE: that would also turn a refused value (too long in
        # strict mode) into a silently truncated row
        return f"INSERT {head} ON DUPLICATE KEY UPDATE seq = seq"
    return f"INSERT OR IGNORE {head}"


def store(db: Database, records: Sequence[Record]) -> None:
    """Write ``records`` in one transaction (all or nothing)."""
    db.transaction(lambda tx: _store(tx, records))


def _store(tx: Transaction, records: Sequence[Record]) -> None:
    latest: dict[str, InteractionRow] = {}
    events: list[EventRow] = []
    queue_log: list[QueueLogRecord] = []
    for record in records:
        if isinstance(record, InteractionRow):
            latest.pop(record.id, None)  # keep first-seen order of the last snapshots
            latest[record.id] = record
        elif isinstance(record, EventRow):
            events.append(record)
        else:
            queue_log.append(record)
    by_shape: dict[tuple[str, ...], list[tuple[object, ...]]] = {}
    for row in latest.values():
        by_shape.setdefault(tuple(c for c, _ in row.values), []).append(
            tuple(v for _, v in row.values))
    for columns, rows in by_shape.items():
        tx.executemany(_upsert_sql(tx.dialect, columns), rows)
    if events:
        tx.executemany(_event_sql(tx.dialect),
                       [(e.interaction_id, e.seq, e.time, e.kind, e.data) for e in events])
    if queue_log:
        _store_queue_log(tx, queue_log)


def _store_queue_log(tx: Transaction, rows: list[QueueLogRecord]) -> None:
    # One writer per database: read which keys exist, insert the new rows,
    # then their keys in one statement. A second writer racing on the same key
    # makes that last insert fail on the primary key and the whole
    # transaction roll back (nothing is written twice).
    seen: set[str] = set()
    for start in range(0, len(rows), 500):
        keys = [r.key for r in rows[start:start + 500]]
        marks = ", ".join("?" for _ in keys)
        found = tx.query(f"SELECT row_key FROM vidline_queue_log_keys WHERE row_key IN ({marks})",
                         keys)
        seen.update(str(k) for (k,) in found)
    added: list[tuple[str, int]] = []
    for line in rows:
        if line.key in seen:
            continue
        seen.add(line.key)
        tx.execute(QUEUE_LOG_INSERT, line.values())
        added.append((line.key, tx.lastrowid))
    if added:
        tx.executemany("INSERT INTO vidline_queue_log_keys (row_key, queue_log_id) VALUES (?, ?)",
                       added)
