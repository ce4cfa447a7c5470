"""ensure_asterisk_tables on real MariaDB and on SQLite: empty database,
existing Asterisk tables in the current and legacy (calldate) layouts, and
twice in a row."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidline.reporting.db import Database
from vidline.reporting.schema import (
    VIDLINE_CDR_COLUMNS,
    VIDLINE_CDR_LATE_COLUMNS,
    ensure_asterisk_tables,
)

SHARED = Path("/work/shared/asterisk/conf/mariadb_schema_show_create_table.txt")
VIDLINE = [name for name, _ in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS]
CURRENT_CDR = [
    "id", "accountcode", "src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
    "lastdata", "start", "answer", "end", "duration", "billsec", "disposition", "amaflags",
    "userfield", "uniqueid", "linkedid", "peeraccount", "sequence",
]
QUEUE_LOG = ["id", "time", "callid", "queuename", "agent", "event",
             "data1", "data2", "data3", "data4", "data5"]

# The cdr layout of Asterisk's old cdr_mysql / pre-realtime docs: one
# calldate column, no id.
LEGACY_CDR = """CREATE TABLE cdr (
  calldate datetime NOT NULL,
  clid varchar(80) NOT NULL default '',
  src varchar(80) NOT NULL default '',
  dst varchar(80) NOT NULL default '',
  dcontext varchar(80) NOT NULL default '',
  channel varchar(80) NOT NULL default '',
  dstchannel varchar(80) NOT NULL default '',
  lastapp varchar(80) NOT NULL default '',
  lastdata varchar(80) NOT NULL default '',
  duration int(11) NOT NULL default '0',
  billsec int(11) NOT NULL default '0',
  disposition varchar(45) NOT NULL default '',
  amaflags int(11) NOT NULL default '0',
  accountcode varchar(20) NOT NULL default '',
  uniqueid varchar(32) NOT NULL default '',
  userfield varchar(255) NOT NULL default ''
)"""


@pytest.fixture
def mariadb(mariadb_url: str) -> Iterator[Database]:
    # mariadb_url (tests/conftest.py): a uniquely named database, dropped afterwards
    db = Database(mariadb_url)
    yield db
    db.close()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path}/schema.db")
    yield db
    db.close()


@pytest.fixture(params=["mariadb", "sqlite"])
def db(request: pytest.FixtureRequest) -> Database:
    if request.param == "mariadb":
        request.applymarker(pytest.mark.mariadb)
    return request.getfixturevalue(request.param)


def _insert_cdr(db: Database) -> None:
    cols = db.columns("cdr")
    when = "calldate" if "calldate" in cols else "start"
    db.execute(f"INSERT INTO cdr (`{when}`, src, dst, uniqueid, vidline_session, "
               "vidline_page_url) VALUES (?, ?, ?, ?, ?, ?)",
               ("2026-11-27 00:00:00", "+4930123", "s", "1764.1", "sess-1", "u" * 512))


def test_empty_database_gets_both_tables_twice_in_a_row(db: Database) -> None:
    ensure_asterisk_tables(db)
    ensure_asterisk_tables(db)
    assert db.columns("cdr") == CURRENT_CDR + VIDLINE
    assert db.columns("queue_log") == QUEUE_LOG
    _insert_cdr(db)
    db.execute("INSERT INTO queue_log (time, callid, queuename, agent, event, data1, data2, "
               "data3) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               ("2026-11-27 00:00:01.123456", "sess-1", "support", "NONE", "VIDEOCHAT",
                "sess-1", "billing", "cust-9"))
    rows = db.query("SELECT callid, event, data3, time FROM queue_log")
    assert [r[:3] for r in rows] == [("sess-1", "VIDEOCHAT", "cust-9")]
    assert "123456" in str(rows[0][3])  # microseconds kept: datetime(6)
    rows = db.query("SELECT vidline_session, vidline_page_url, src FROM cdr")
    assert rows == [("sess-1", "u" * 512, "+4930123")]


@pytest.mark.mariadb
def test_real_asterisk_tables_are_extended_not_replaced(mariadb: Database) -> None:
    # the exact DDL captured from the real Asterisk host: it already has five
    # of the seven vidline columns, and its own auto-increment state
    text = SHARED.read_text()
    for ddl in re.findall(r"Create Table: (CREATE TABLE .*?\) ENGINE=[^\n]*)", text, re.S):
        mariadb.execute(ddl)
    mariadb.execute("INSERT INTO cdr (start, src, vidline_session) VALUES (?, ?, ?)",
                    ("2026-11-27 00:00:00", "+49301", "kept"))
    before = mariadb.columns("cdr")
    assert "vidline_phone" not in before and "vidline_kiosk" not in before
    ensure_asterisk_tables(mariadb)
    ensure_asterisk_tables(mariadb)
    after = mariadb.columns("cdr")
    assert after[: len(before)] == before
    assert sorted(after[len(before):]) == [
        "vidline_kiosk", "vidline_media", "vidline_phone", "vidline_recording"]
    assert mariadb.query("SELECT src, vidline_session, vidline_phone FROM cdr") == [
        ("+49301", "kept", None)]
    assert mariadb.columns("queue_log") == QUEUE_LOG


def test_legacy_calldate_layout_is_extended(db: Database) -> None:
    db.execute(LEGACY_CDR)
    db.execute("INSERT INTO cdr (calldate, src, uniqueid) VALUES (?, ?, ?)",
               ("2020-01-02 03:04:05", "100", "old.1"))
    before = db.columns("cdr")
    ensure_asterisk_tables(db)
    ensure_asterisk_tables(db)
    after = db.columns("cdr")
    assert after == before + VIDLINE
    assert "start" not in after and "calldate" in after
    assert db.query("SELECT src, uniqueid, vidline_session FROM cdr") == [("100", "old.1", None)]
    _insert_cdr(db)
    assert db.query("SELECT COUNT(*) FROM cdr WHERE vidline_session = ?", ("sess-1",)) == [(1,)]
    assert db.columns("queue_log") == QUEUE_LOG


@pytest.mark.mariadb
def test_page_url_column_holds_512_chars_on_mariadb(mariadb: Database) -> None:
    ensure_asterisk_tables(mariadb)
    sizes = dict(mariadb.query(
        "SELECT column_name, character_maximum_length FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = 'cdr' AND column_name LIKE 'vidline%'"))
    assert sizes == {name: size for name, size in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS}
    kinds = dict(mariadb.query(
        "SELECT column_name, column_type FROM information_schema.columns "
        "WHERE table_schema = DATABASE() AND table_name = 'cdr' "
        "AND column_name IN ('start', 'answer', 'end')"))
    assert kinds == {"start": "datetime(6)", "answer": "datetime(6)", "end": "datetime(6)"}
