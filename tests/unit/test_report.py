"""The report's figures against the fixture in reporting_fixture.py, each
worked out by hand below. Columns: group, kind, offered, answered, abandoned,
answered within the service level, service level %, wait avg, wait p90,
talk avg, talk p90. p90 = the value at position ceil(0.9 n) of the sorted list."""

from __future__ import annotations

from tests.unit import reporting_fixture as fx
from vidline.reporting.report import Figures, percentile90, report


def table(by: str) -> dict[tuple[str, str], tuple[object, ...]]:
    result = report(fx.rows(), by, fx.service_level_of, fx.START, fx.END)
    return {(f.group, f.kind): tuple(f.as_dict().values())[2:] for f in result}


def test_by_queue() -> None:
    t = table("queue")
    # support, phone: P1 P2 P3 P5 (P0 entered before the range) -> offered 4;
    # answered P1 P2 = 2; abandoned P3 = 1; within 20 s: P1 (10) = 1 -> 1/4 = 25.0 %;
    # waits 10 30 45 (P5 still waits: no wait yet) -> avg 85/3 = 28.3, p90 pos 3 -> 45;
    # talks 100 200 -> avg 150.0, p90 pos ceil(1.8) = 2 -> 200
    assert t["support", "phone"] == (4, 2, 1, 1, 25.0, 28.3, 45, 150.0, 200)
    # support, video: V1, V2's second stay, V3 -> 3; answered V1 V2 = 2; within 20 s:
    # 5 and 8 -> 2/3 = 66.7 %; waits 5 8 120 -> 133/3 = 44.3, p90 120;
    # talks 300 120 -> 210.0, p90 300
    assert t["support", "video"] == (3, 2, 0, 2, 66.7, 44.3, 120, 210.0, 300)
    # support, both: 7 offered, 4 answered, 1 abandoned, 3 in SL -> 3/7 = 42.9 %;
    # waits 5 8 10 30 45 120 -> 218/6 = 36.3, p90 pos ceil(5.4) = 6 -> 120;
    # talks 100 120 200 300 -> 180.0, p90 pos 4 -> 300
    assert t["support", "total"] == (7, 4, 1, 3, 42.9, 36.3, 120, 180.0, 300)
    # agent-1002: V2's first stay, timed out after 12 s: offered, not answered
    assert t["agent-1002", "video"] == (1, 0, 0, 0, 0.0, 12.0, 12, None, None)
    assert t["agent-1002", "phone"] == (0, 0, 0, 0, None, None, None, None, None)
    # sales (service level 30 s): P4 waited 25 -> in; V4 waited 40 -> out
    assert t["sales", "phone"] == (1, 1, 0, 1, 100.0, 25.0, 25, 60.0, 60)
    assert t["sales", "video"] == (1, 1, 0, 0, 0.0, 40.0, 40, 50.0, 50)
    # both: waits 25 40 -> 32.5, p90 pos 2 -> 40; talks 60 50 -> 55.0, p90 60
    assert t["sales", "total"] == (2, 2, 0, 1, 50.0, 32.5, 40, 55.0, 60)
    assert sorted({g for g, _ in t}) == ["agent-1002", "sales", "support"]


def test_by_category_counts_each_customer_once() -> None:
    t = table("category")
    # billing: V1, and V2 merged: 12 s at agent-1002 + 8 s in support = 20 s, which
    # is within support's 20 s -> 2/2 = 100.0 %; waits 5 20 -> 12.5, p90 20;
    # talks 300 120 -> 210.0, p90 300
    assert t["billing", "video"] == (2, 2, 0, 2, 100.0, 12.5, 20, 210.0, 300)
    # phone calls have no category ("-"): P1 P2 P3 P4 P5 -> 5 offered, 3 answered,
    # 1 abandoned; in SL: P1 (10 <= 20), P4 (25 <= 30) -> 2/5 = 40.0 %;
    # waits 10 25 30 45 -> 27.5, p90 pos 4 -> 45; talks 60 100 200 -> 120.0, p90 200
    assert t["-", "phone"] == (5, 3, 1, 2, 40.0, 27.5, 45, 120.0, 200)
    assert t["technical", "video"] == (1, 0, 0, 0, 0.0, 120.0, 120, None, None)
    assert t["sales", "video"] == (1, 1, 0, 0, 0.0, 40.0, 40, 50.0, 50)


def test_by_hour() -> None:
    t = table("hour")
    # 09:00: P1 P2 P3 by phone -> 3 offered, 2 answered, 1 abandoned, 1 in SL
    # -> 33.3 %; V1 by video -> 100 %
    assert t["2026-11-27 09:00", "phone"] == (3, 2, 1, 1, 33.3, 28.3, 45, 150.0, 200)
    assert t["2026-11-27 09:00", "video"] == (1, 1, 0, 1, 100.0, 5.0, 5, 300.0, 300)
    # 10:00 video: V2 (20 s, support: in), V3 (timed out), V4 (40 s, sales: out)
    # -> 3 offered, 2 answered, 1 in SL -> 33.3 %; waits 20 120 40 -> 60.0, p90 120;
    # talks 120 50 -> 85.0, p90 pos 2 -> 120
    assert t["2026-11-27 10:00", "video"] == (3, 2, 0, 1, 33.3, 60.0, 120, 85.0, 120)
    # 10:00 phone: P4 (in SL), P5 waiting -> 1 of 2 = 50.0 %
    assert t["2026-11-27 10:00", "phone"] == (2, 1, 0, 1, 50.0, 25.0, 25, 60.0, 60)
    assert not any(g.startswith("2026-11-26") for g, _ in t)


def test_without_a_range_everything_counts() -> None:
    everything = report(fx.rows(), "queue", fx.service_level_of)
    support = next(f for f in everything if f.group == "support" and f.kind == "phone")
    assert isinstance(support, Figures) and support.offered == 5  # P0 too


def test_percentile_is_nearest_rank() -> None:
    assert percentile90([]) is None
    assert percentile90([7.0]) == 7.0
    assert percentile90([float(v) for v in range(1, 11)]) == 9.0
    assert percentile90([float(v) for v in range(1, 12)]) == 10.0
