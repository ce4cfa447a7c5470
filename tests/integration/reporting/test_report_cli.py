"""`vidline report` on a real MariaDB and on SQLite, fed the hand-computed
fixture of tests/unit/reporting_fixture.py."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit import reporting_fixture as fx
from vidline.cli import main
from vidline.reporting.db import Database
from vidline.reporting.schema import ensure_asterisk_tables

INSERT = ("INSERT INTO queue_log (`time`, callid, queuename, agent, event, data1, data2, "
          "data3, data4, data5) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def load(url: str, tmp_path: Path) -> Path:
    db = Database(url)
    try:
        ensure_asterisk_tables(db)
        for row in fx.db_rows():
            db.execute(INSERT, row)
    finally:
        db.close()
    config = tmp_path / "vidline.toml"
    config.write_text(f'[database]\nurl = "{url}"\n\n[reports]\nservice_level = 20\n\n'
                      '[reports.service_levels]\nsales = 30\n')
    return config


def run(capsys: Any, *args: str) -> str:
    assert main(["report", *args]) == 0
    return str(capsys.readouterr().out)


def check(config: Path, capsys: Any) -> None:
    out = run(capsys, "--config", str(config), "--from", "2026-11-27", "--to", "2026-11-28",
              "--format", "json", "--by", "queue")
    body = json.loads(out)
    assert (body["by"], body["from"], body["to"]) == (
        "queue", "2026-11-27 00:00:00", "2026-11-28 00:00:00")
    rows = {(r["group"], r["kind"]): r for r in body["rows"]}
    # the hand-computed figures of tests/unit/test_report.py::test_by_queue
    support = rows["support", "total"]
    assert (support["offered"], support["answered"], support["abandoned"],
            support["service_level"], support["wait_avg"], support["wait_p90"],
            support["talk_avg"], support["talk_p90"]) == (7, 4, 1, 42.9, 36.3, 120, 180.0, 300)
    assert rows["sales", "video"]["service_level"] == 0.0  # 40 s > sales' 30 s
    assert rows["agent-1002", "video"]["offered"] == 1

    out = run(capsys, "--config", str(config), "--from", "2026-11-27", "--by", "category")
    table = list(csv.DictReader(io.StringIO(out)))
    billing = next(r for r in table if (r["group"], r["kind"]) == ("billing", "video"))
    assert (billing["offered"], billing["service_level"], billing["wait_avg"]) == (
        "2", "100.0", "12.5")
    assert next(r for r in table if r["kind"] == "phone" and r["group"] == "-")[
        "offered"] == "5"

    # without a range the call from the day before counts too
    everything = json.loads(run(capsys, "--config", str(config), "--format", "json"))
    assert {(r["group"], r["kind"]): r["offered"] for r in everything["rows"]}[
        "support", "phone"] == 5


@pytest.mark.mariadb
def test_report_on_mariadb(mariadb_url: str, tmp_path: Path, capsys: Any) -> None:
    check(load(mariadb_url, tmp_path), capsys)


def test_report_on_sqlite(tmp_path: Path, capsys: Any) -> None:
    check(load(f"sqlite:///{tmp_path}/reports.db", tmp_path), capsys)


def test_a_bad_date_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    config = load(f"sqlite:///{tmp_path}/reports.db", tmp_path)
    assert main(["report", "--config", str(config), "--from", "yesterday"]) == 2
    assert "not a date" in capsys.readouterr().err
