"""`vidline db init --lookup-indexes` on MariaDB: the indexes Asterisk's own
queue_log and cdr lack, and the last-agent query using them on a month of
rows."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import mariadb_rows
from vidline.reporting.db import Database
from vidline.reporting.tables import ensure_lookup_indexes, ensure_reporting_schema

pytestmark = pytest.mark.mariadb


def _index_names(url: str, table: str) -> set[str]:
    return {r["Key_name"] for r in mariadb_rows(url, f"SHOW INDEX FROM `{table}`")}


def test_cli_creates_the_indexes_once_and_again(tmp_path: Path, mariadb_url: str) -> None:
    config = tmp_path / "vidline.toml"
    config.write_text(f'[database]\nurl = "{mariadb_url}"\n')
    for _ in range(2):  # idempotent: the second run finds them present
        result = subprocess.run(
            [sys.executable, "-m", "vidline.cli", "db", "init", "--lookup-indexes",
             "--config", str(config)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "index vidline_queue_log_time: present" in result.stdout
        assert "index vidline_cdr_end: present" in result.stdout
    assert "vidline_queue_log_time" in _index_names(mariadb_url, "queue_log")
    assert "vidline_cdr_end" in _index_names(mariadb_url, "cdr")


def test_plain_init_leaves_the_centres_tables_alone(mariadb_url: str) -> None:
    db = Database(mariadb_url)
    try:
        ensure_reporting_schema(db)
    finally:
        db.close()
    assert _index_names(mariadb_url, "queue_log") == {"PRIMARY"}


def test_the_last_agent_range_uses_the_time_index(mariadb_url: str) -> None:
    db = Database(mariadb_url)
    try:
        ensure_reporting_schema(db)
        start = datetime(2026, 10, 27)
        rows = [((start + timedelta(minutes=15 * i)).strftime("%Y-%m-%d %H:%M:%S.000000"),
                 f"call-{i}", "support", "NONE", "ENTERQUEUE", "", f"+4930{i:07d}", "1")
                for i in range(4 * 24 * 30)]
        db.transaction(lambda tx: tx.executemany(
            "INSERT INTO queue_log (`time`, callid, queuename, agent, event, data1, data2, "
            "data3) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows))
        ensure_lookup_indexes(db)
        db.execute("ANALYZE TABLE queue_log")
    finally:
        db.close()
    since = (start + timedelta(days=29, hours=23)).strftime("%Y-%m-%d %H:%M:%S")
    plan = mariadb_rows(mariadb_url, "EXPLAIN SELECT callid FROM queue_log WHERE `time` >= %s "
                        "AND data2 = %s", (since, "+49300000001"))
    assert plan[0]["key"] == "vidline_queue_log_time"
    assert int(plan[0]["rows"]) < 100  # a range of the last hour, not the month's 2880 rows
