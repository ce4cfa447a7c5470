"""vidline's own reporting tables and `vidline db init|upgrade` as a whole:
on an empty database, on one that already has Asterisk's tables (the real
Asterisk 22 DDL and the legacy calldate layout), on an older vidline table
that lacks columns, and twice in a row; MariaDB and SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.test_cli import vidline, write
from tests.unit.test_reporting_schema import LEGACY_CDR, SHARED
from vidline.reporting.db import Database
from vidline.reporting.schema import VIDLINE_CDR_COLUMNS, VIDLINE_CDR_LATE_COLUMNS
from vidline.reporting.tables import INTERACTION_COLUMNS, ensure_reporting_schema

INTERACTIONS = [name for name, _, _ in INTERACTION_COLUMNS]
EVENTS = ["id", "interaction_id", "seq", "time", "kind", "data"]
CDR_VIDLINE = [n for n, _ in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS]


@pytest.fixture(params=["mariadb", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "mariadb":
        request.applymarker(pytest.mark.mariadb)
        return str(request.getfixturevalue("mariadb_url"))
    return f"sqlite:///{tmp_path}/report.db"


@pytest.fixture
def db(url: str) -> Iterator[Database]:
    handle = Database(url)
    yield handle
    handle.close()


def db_init(tmp_path: Path, url: str, action: str = "init") -> None:
    config = write(tmp_path, f'[database]\nurl = "{url}"\n')
    result = vidline("db", action, "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "vidline_interactions: 29 columns" in result.stdout


def check_vidline_tables(db: Database) -> None:
    assert db.columns("vidline_interactions") == INTERACTIONS
    assert db.columns("vidline_interaction_events") == EVENTS
    # the keys hold: one row per interaction, one per (interaction, seq)
    db.execute("INSERT INTO vidline_interactions (id, outcome) VALUES (?, ?)", ("i-1", "x"))
    db.execute("INSERT INTO vidline_interaction_events (interaction_id, seq, `time`, kind) "
               "VALUES (?, ?, ?, ?)", ("i-1", 1, "2026-11-27 00:00:00.123456", "created"))
    for sql, params in (
        ("INSERT INTO vidline_interactions (id) VALUES (?)", ("i-1",)),
        ("INSERT INTO vidline_interaction_events (interaction_id, seq, `time`, kind) "
         "VALUES (?, ?, ?, ?)", ("i-1", 1, "2026-11-27 00:00:01", "again")),
    ):
        with pytest.raises(Exception, match=r"(?i)duplicate|unique"):
            db.execute(sql, params)
    when = db.query("SELECT `time` FROM vidline_interaction_events")[0][0]
    assert "123456" in str(when)


def test_empty_database_twice(tmp_path: Path, url: str, db: Database) -> None:
    db_init(tmp_path, url)
    db_init(tmp_path, url, "upgrade")
    check_vidline_tables(db)
    assert db.columns("cdr")[-len(CDR_VIDLINE):] == CDR_VIDLINE


@pytest.mark.mariadb
def test_on_the_real_asterisk_tables(tmp_path: Path, mariadb_url: str) -> None:
    db = Database(mariadb_url)
    try:
        for ddl in re.findall(r"Create Table: (CREATE TABLE .*?\) ENGINE=[^\n]*)",
                              SHARED.read_text(), re.S):
            db.execute(ddl)
        db.execute("INSERT INTO queue_log (time, callid, event) VALUES (?, ?, ?)",
                   ("2026-11-27 00:00:00", "old.1", "ENTERQUEUE"))
        db_init(tmp_path, mariadb_url)
        db_init(tmp_path, mariadb_url)
        check_vidline_tables(db)
        assert set(CDR_VIDLINE) <= set(db.columns("cdr"))
        assert db.query("SELECT callid FROM queue_log") == [("old.1",)]
    finally:
        db.close()


def test_on_the_legacy_cdr_layout(tmp_path: Path, url: str, db: Database) -> None:
    db.execute(LEGACY_CDR)
    db_init(tmp_path, url)
    db_init(tmp_path, url)
    cols = db.columns("cdr")
    assert "calldate" in cols and cols[-len(CDR_VIDLINE):] == CDR_VIDLINE
    check_vidline_tables(db)


def test_an_older_vidline_table_gets_the_new_columns(db: Database) -> None:
    db.execute("CREATE TABLE vidline_interactions (id varchar(64) NOT NULL PRIMARY KEY, "
               "created_at varchar(40), outcome varchar(32))")
    db.execute("INSERT INTO vidline_interactions (id, outcome) VALUES (?, ?)", ("old", "x"))
    ensure_reporting_schema(db)
    ensure_reporting_schema(db)
    assert sorted(db.columns("vidline_interactions")) == sorted(INTERACTIONS)
    assert db.query("SELECT id, outcome, snips FROM vidline_interactions") == [("old", "x", 0)]
