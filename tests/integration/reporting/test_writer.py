"""The writer thread against real databases: writing a record twice stores
it once, a record the database refuses is set aside without holding back
the others, and a spool left by an earlier run is replayed at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vidline.reporting import sql
from vidline.reporting.db import Database
from vidline.reporting.records import EventRow, InteractionRow, QueueLogRecord, Record
from vidline.reporting.spool import Spool
from vidline.reporting.tables import ensure_reporting_schema
from vidline.reporting.writer import ReportWriter


@pytest.fixture(params=["mariadb", "sqlite"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "mariadb":
        request.applymarker(pytest.mark.mariadb)
        return str(request.getfixturevalue("mariadb_url"))
    return f"sqlite:///{tmp_path}/report.db"


def records(iid: str, outcome: str | None) -> list[Record]:
    return [
        EventRow(iid, 1, "2026-11-27 01:00:00.000001", "created", "{}"),
        InteractionRow((("id", iid), ("queue", "support"), ("outcome", outcome))),
        QueueLogRecord(f"{iid}:q1", "2026-11-27 01:00:00.000002", iid, "support", "NONE",
                       "ENTERQUEUE", ("", "5551234", "1")),
    ]


def counts(db: Database) -> tuple[int, int, int]:
    return (db.query("SELECT COUNT(*) FROM vidline_interactions")[0][0],
            db.query("SELECT COUNT(*) FROM vidline_interaction_events")[0][0],
            db.query("SELECT COUNT(*) FROM queue_log")[0][0])


async def test_the_same_records_twice_are_stored_once(url: str, tmp_path: Path) -> None:
    writer = ReportWriter(Database(url), tmp_path / "spool", prepare=ensure_reporting_schema)
    writer.start()
    writer.submit(records("a", None))
    assert await writer.flush()
    writer.submit(records("a", "abandoned") + records("b", None))
    writer.submit(records("a", "abandoned"))
    assert await writer.flush()
    await writer.close()
    db = Database(url)
    try:
        assert counts(db) == (2, 2, 2)
        assert db.query("SELECT outcome FROM vidline_interactions WHERE id = 'a'") == [
            ("abandoned",)]
    finally:
        db.close()


@pytest.mark.mariadb
async def test_a_refused_record_is_set_aside(mariadb_url: str, tmp_path: Path) -> None:
    writer = ReportWriter(Database(mariadb_url), tmp_path / "spool",
                          prepare=ensure_reporting_schema)
    writer.start()
    bad = EventRow("a", 2, "2026-11-27 01:00:00", "k" * 100, "{}")  # kind is varchar(32)
    writer.submit([*records("a", None), bad, *records("b", None)])
    assert await writer.flush()
    await writer.close()
    db = Database(mariadb_url)
    try:
        assert counts(db) == (2, 2, 2)
    finally:
        db.close()
    lines = (tmp_path / "spool" / "rejected.jsonl").read_text().splitlines()
    assert [json.loads(line)["record"]["k"] for line in lines] == ["k" * 100]
    assert writer.stats.rejected == 1


async def test_a_spool_from_an_earlier_run_is_replayed_in_order(url: str,
                                                                tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.append([r.to_json() for r in records("a", None)])
    spool.append([r.to_json() for r in records("a", "customer_left")])
    spool.close()
    writer = ReportWriter(Database(url), tmp_path / "spool", prepare=ensure_reporting_schema)
    writer.start()
    writer.submit([InteractionRow((("id", "a"), ("queue", "sales"),
                                   ("outcome", "customer_left")))])
    assert await writer.flush()
    await writer.close()
    db = Database(url)
    try:
        assert counts(db) == (1, 1, 1)
        assert db.query("SELECT queue, outcome FROM vidline_interactions") == [
            ("sales", "customer_left")]  # the live row came after the spooled ones
    finally:
        db.close()
    assert (tmp_path / "spool" / "reporting.spool").stat().st_size == 0


async def test_a_spool_partly_stored_before_a_crash_is_stored_once(url: str,
                                                                    tmp_path: Path) -> None:
    # a replay stores batches one transaction at a time and forgets its place
    # on a crash: the next start replays rows that are already there
    spooled = [r for iid in ("a", "b", "c") for r in records(iid, "abandoned")]
    db = Database(url)
    try:
        ensure_reporting_schema(db)
        sql.store(db, spooled[:5])
    finally:
        db.close()
    spool = Spool(tmp_path / "spool")
    spool.append([r.to_json() for r in spooled])
    spool.close()
    writer = ReportWriter(Database(url), tmp_path / "spool", batch_size=2)
    writer.start()
    assert await writer.flush()
    await writer.close()
    assert (writer.stats.replayed, writer.stats.rejected) == (9, 0)
    db = Database(url)
    try:
        assert counts(db) == (3, 3, 3)
        assert db.query("SELECT callid, event FROM queue_log ORDER BY id") == [
            ("a", "ENTERQUEUE"), ("b", "ENTERQUEUE"), ("c", "ENTERQUEUE")]
    finally:
        db.close()


async def test_a_full_spool_counts_what_is_lost_and_keeps_the_rest(tmp_path: Path) -> None:
    # nothing listens on port 1: the database is away, so rows go to a spool
    # with room for one batch only
    away = Database("mysql://root@127.0.0.1:1/vidline", timeout=0.5)
    writer = ReportWriter(away, tmp_path / "spool", retry=60, spool_max_bytes=600)
    writer.start()
    writer.submit(records("a", None))
    assert not await writer.flush()
    writer.submit(records("b", None))
    writer.submit(records("c", None))
    assert not await writer.flush()
    await writer.close()
    assert (writer.stats.spooled, writer.stats.lost) == (3, 6)
    kept = Spool(tmp_path / "spool")
    got, _ = kept.read(100)
    assert got == [r.to_json() for r in records("a", None)]  # the first batch, whole
