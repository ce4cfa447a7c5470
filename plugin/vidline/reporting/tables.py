"""vidline's own reporting tables, next to Asterisk's ``cdr`` and ``queue_log``.

``vidline_interactions``: one row per interaction (the interaction id is the
primary key and the same value as the queue_log callid and the CDR uniqueid on
Asterisk), with its context, the routing decision, the queue and agent, the
time each state was entered, the outcome and the counts of what was shared.

``vidline_interaction_events``: every domain event of an interaction in order
(``seq`` counts from 1 per interaction); ``(interaction_id, seq)`` is unique,
which makes a replayed write a no-op.

``vidline_queue_log_keys``: the idempotency keys of the queue_log rows vidline
writes itself (FreeSWITCH). Asterisk's queue_log has only an auto-increment id,
and adding a unique index to a centre's queue_log is not ours to do; so each
row vidline writes gets a deterministic key here, inserted in the same
transaction as the queue_log row (see :mod:`vidline.reporting.writer`).

Times are local server time with microseconds, as Asterisk writes queue_log,
so the three tables line up hour by hour in reports. Every statement here is
safe to repeat; columns missing from an older table are added.
"""

from __future__ import annotations

from vidline.reporting.db import Database

# (name, MariaDB type, SQLite type)
Column = tuple[str, str, str]

INTERACTION_COLUMNS: tuple[Column, ...] = (
    ("id", "varchar(64) NOT NULL", "varchar(64) NOT NULL"),
    ("created_at", "datetime(6) DEFAULT NULL", "text DEFAULT NULL"),
    ("customer_id", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("phone", "varchar(40) DEFAULT NULL", "varchar(40) DEFAULT NULL"),
    ("page_url", "varchar(2048) DEFAULT NULL", "varchar(2048) DEFAULT NULL"),
    ("category", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("kiosk_location", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("extra_json", "text DEFAULT NULL", "text DEFAULT NULL"),
    ("route_queue", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("route_reason", "varchar(160) DEFAULT NULL", "varchar(160) DEFAULT NULL"),
    ("priority", "int(11) DEFAULT NULL", "integer DEFAULT NULL"),
    ("preferred_agent", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("queue", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("agent_interface", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("agent_member", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("agent_username", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
    ("queued_at", "datetime(6) DEFAULT NULL", "text DEFAULT NULL"),
    ("ringing_at", "datetime(6) DEFAULT NULL", "text DEFAULT NULL"),
    ("connected_at", "datetime(6) DEFAULT NULL", "text DEFAULT NULL"),
    ("ended_at", "datetime(6) DEFAULT NULL", "text DEFAULT NULL"),
    ("outcome", "varchar(32) DEFAULT NULL", "varchar(32) DEFAULT NULL"),
    ("wait_seconds", "double DEFAULT NULL", "real DEFAULT NULL"),
    ("talk_seconds", "double DEFAULT NULL", "real DEFAULT NULL"),
    ("chat_messages", "int(11) NOT NULL DEFAULT 0", "integer NOT NULL DEFAULT 0"),
    ("snips", "int(11) NOT NULL DEFAULT 0", "integer NOT NULL DEFAULT 0"),
    ("screen_shares", "int(11) NOT NULL DEFAULT 0", "integer NOT NULL DEFAULT 0"),
    ("cobrowse_used", "tinyint(1) NOT NULL DEFAULT 0", "integer NOT NULL DEFAULT 0"),
    ("recording_ref", "varchar(255) DEFAULT NULL", "varchar(255) DEFAULT NULL"),
    ("disposition", "varchar(80) DEFAULT NULL", "varchar(80) DEFAULT NULL"),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    ("interaction_id", "varchar(64) NOT NULL", "varchar(64) NOT NULL"),
    ("seq", "int(11) NOT NULL", "integer NOT NULL"),
    ("time", "datetime(6) NOT NULL", "text NOT NULL"),
    ("kind", "varchar(32) NOT NULL", "varchar(32) NOT NULL"),
    ("data", "text DEFAULT NULL", "text DEFAULT NULL"),
)

QUEUE_LOG_KEY_COLUMNS: tuple[Column, ...] = (
    ("row_key", "varchar(120) NOT NULL", "varchar(120) NOT NULL"),
    ("queue_log_id", "bigint(20) DEFAULT NULL", "integer DEFAULT NULL"),
)

# (index name, table, columns): what last-agent routing and reports look up
INDEXES: tuple[tuple[str, str, str], ...] = (
    ("vidline_interactions_phone", "vidline_interactions", "phone, ended_at"),
    ("vidline_interactions_customer", "vidline_interactions", "customer_id, ended_at"),
    ("vidline_interactions_created", "vidline_interactions", "created_at"),
)


def _create(db: Database, table: str, columns: tuple[Column, ...], keys: list[str]) -> str:
    mysql = db.dialect == "mysql"
    lines = [f"`{name}` {my if mysql else lite}" for name, my, lite in columns]
    if table != "vidline_interactions" and table != "vidline_queue_log_keys":
        auto = ("`id` bigint(20) NOT NULL AUTO_INCREMENT" if mysql
                else "`id` INTEGER PRIMARY KEY AUTOINCREMENT")
        lines.insert(0, auto)
        if mysql:
            keys = ["PRIMARY KEY (`id`)", *keys]
    body = ",\n  ".join(lines + keys)
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" if mysql else ""
    return f"CREATE TABLE IF NOT EXISTS `{table}` (\n  {body}\n){tail}"


def _ensure(db: Database, table: str, columns: tuple[Column, ...], keys: list[str]) -> None:
    present = {c.lower() for c in db.columns(table)}
    if not present:
        db.execute(_create(db, table, columns, keys))
        return
    for name, my, lite in columns:
        if name not in present:
            # an older vidline's table: add what this version writes. NOT NULL
            # columns all carry a default or are keys created with the table.
            db.execute(f"ALTER TABLE `{table}` ADD COLUMN `{name}` "
                       f"{my if db.dialect == 'mysql' else lite}")


def ensure_vidline_tables(db: Database) -> None:
    """Create or extend vidline_interactions, vidline_interaction_events and
    vidline_queue_log_keys. Idempotent."""
    _ensure(db, "vidline_interactions", INTERACTION_COLUMNS, ["PRIMARY KEY (`id`)"])
    _ensure(db, "vidline_interaction_events", EVENT_COLUMNS,
            ["UNIQUE (`interaction_id`, `seq`)"])
    _ensure(db, "vidline_queue_log_keys", QUEUE_LOG_KEY_COLUMNS, ["PRIMARY KEY (`row_key`)"])
    for name, table, cols in INDEXES:
        quoted = ", ".join(f"`{c.strip()}`" for c in cols.split(","))
        # same syntax on MariaDB 10.1.4+ and SQLite; short key parts only
        db.execute(f"CREATE INDEX IF NOT EXISTS `{name}` ON `{table}` ({quoted})")


def ensure_lookup_indexes(db: Database) -> list[str]:
    """Opt-in (``vidline db init --lookup-indexes``): indexes on the centre's
    own queue_log(time) and cdr(end), which Asterisk's schema lacks. Without
    them the last-agent lookup scans the whole table and, on a month of a
    busy centre's rows, runs into its time limit and falls back to the
    category route. Building an index locks or slows a big live table for a
    while, so the operator chooses when. Returns the index names."""
    wanted = [("vidline_queue_log_time", "queue_log", "time")]
    cdr = {c.lower() for c in db.columns("cdr")}
    if cdr:
        wanted.append(("vidline_cdr_end", "cdr", "end" if "end" in cdr else "calldate"))
    for name, table, column in wanted:
        db.execute(f"CREATE INDEX IF NOT EXISTS `{name}` ON `{table}` (`{column}`)")
    return [name for name, _table, _column in wanted]


def ensure_reporting_schema(db: Database) -> None:
    """Everything vidline reports into: Asterisk's cdr (extended) and
    queue_log, plus vidline's own tables. What ``vidline db init`` runs."""
    from vidline.reporting.schema import ensure_asterisk_tables

    ensure_asterisk_tables(db)
    ensure_vidline_tables(db)
