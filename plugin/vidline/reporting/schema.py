"""Asterisk's reporting tables, laid out as Asterisk writes them, plus the
vidline CDR columns.

``cdr`` follows the current realtime layout (``start``/``answer``/``end``,
datetime(6)) captured from a real Asterisk 22 install
(``shared/asterisk/conf/mariadb_schema_show_create_table.txt``); ``queue_log``
is the realtime queue_log table. A centre that already has a ``cdr`` table -
either layout, including the legacy one with a single ``calldate`` column -
keeps it: we only add the vidline columns that are missing, because replacing
a CDR table would throw away the centre's call history.

Every statement is safe to repeat, so ``vidline db init`` and ``db upgrade``
can run on every deploy.
"""

from __future__ import annotations

from vidline.reporting.db import Database

# (name, MariaDB type, SQLite type). SQLite has no sized varchar semantics,
# but keeping the declared type readable helps anyone inspecting the file.
_CDR_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("accountcode", "varchar(80)", "varchar(80)"),
    ("src", "varchar(80)", "varchar(80)"),
    ("dst", "varchar(80)", "varchar(80)"),
    ("dcontext", "varchar(80)", "varchar(80)"),
    ("clid", "varchar(80)", "varchar(80)"),
    ("channel", "varchar(80)", "varchar(80)"),
    ("dstchannel", "varchar(80)", "varchar(80)"),
    ("lastapp", "varchar(80)", "varchar(80)"),
    ("lastdata", "varchar(80)", "varchar(80)"),
    ("start", "datetime(6)", "text"),
    ("answer", "datetime(6)", "text"),
    ("end", "datetime(6)", "text"),
    ("duration", "int(11)", "integer"),
    ("billsec", "int(11)", "integer"),
    ("disposition", "varchar(45)", "varchar(45)"),
    ("amaflags", "varchar(45)", "varchar(45)"),
    ("userfield", "varchar(256)", "varchar(256)"),
    ("uniqueid", "varchar(150)", "varchar(150)"),
    ("linkedid", "varchar(150)", "varchar(150)"),
    ("peeraccount", "varchar(80)", "varchar(80)"),
    ("sequence", "int(11)", "integer"),
)

# The columns cdr_adaptive_odbc fills from the channel variables of the
# contract (VIDLINE_* without the leading "__").
VIDLINE_CDR_COLUMNS: tuple[tuple[str, int], ...] = (
    ("vidline_session", 80),
    ("vidline_customer_id", 80),
    ("vidline_phone", 80),
    ("vidline_category", 80),
    ("vidline_page_url", 512),
    ("vidline_kiosk", 80),
    ("vidline_queue", 80),
)

# Columns vidline fills itself, not the dialplan: the recording reference and
# the media used are known only once the call runs (AMI Setvar CDR(...) while
# the leg is up, or vidline's writer on FreeSWITCH). They are added the same
# way, but stay out of the Originate/dialplan contract above.
VIDLINE_CDR_LATE_COLUMNS: tuple[tuple[str, int], ...] = (
    ("vidline_recording", 255),
    ("vidline_media", 64),
)

_QUEUE_LOG_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("time", "datetime(6)", "text"),
    ("callid", "varchar(80)", "varchar(80)"),
    ("queuename", "varchar(256)", "varchar(256)"),
    ("agent", "varchar(80)", "varchar(80)"),
    ("event", "varchar(32)", "varchar(32)"),
    ("data1", "varchar(100)", "varchar(100)"),
    ("data2", "varchar(100)", "varchar(100)"),
    ("data3", "varchar(100)", "varchar(100)"),
    ("data4", "varchar(100)", "varchar(100)"),
    ("data5", "varchar(100)", "varchar(100)"),
)


def _create_sql(db: Database, table: str, columns: tuple[tuple[str, str, str], ...]) -> str:
    mysql = db.dialect == "mysql"
    # Backticks quote identifiers on both dialects; `end` and `time` are
    # keywords and Asterisk's own schema quotes them the same way.
    if mysql:
        lines = ["`id` bigint(20) NOT NULL AUTO_INCREMENT"]
    else:
        lines = ["`id` INTEGER PRIMARY KEY AUTOINCREMENT"]
    lines += [f"`{name}` {my if mysql else lite} DEFAULT NULL" for name, my, lite in columns]
    if table == "cdr":
        lines += [f"`{name}` varchar({size}) DEFAULT NULL"
                  for name, size in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS]
    if mysql:
        lines.append("PRIMARY KEY (`id`)")
    body = ",\n  ".join(lines)
    tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" if mysql else ""
    return f"CREATE TABLE IF NOT EXISTS `{table}` (\n  {body}\n){tail}"


def ensure_asterisk_tables(db: Database) -> None:
    """Create ``cdr`` and ``queue_log`` when absent and add the vidline CDR
    columns that an existing ``cdr`` table lacks. Idempotent."""
    if not db.columns("cdr"):
        db.execute(_create_sql(db, "cdr", _CDR_COLUMNS))
    if not db.columns("queue_log"):
        db.execute(_create_sql(db, "queue_log", _QUEUE_LOG_COLUMNS))
    present = {name.lower() for name in db.columns("cdr")}
    for name, size in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS:
        if name not in present:
            # ALTER TABLE ... ADD COLUMN has the same syntax on both dialects;
            # names come from the constant above, never from input.
            db.execute(f"ALTER TABLE `cdr` ADD COLUMN `{name}` varchar({size}) DEFAULT NULL")
