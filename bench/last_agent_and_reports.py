"""Last-agent lookup and report benchmark on a day of queue_log in MariaDB.

    .venv/bin/python bench/last_agent_and_reports.py [--calls 60000] [--runs 20]

Fills a throwaway MariaDB database (127.0.0.1:3306, root) with ``--calls``
answered phone calls spread over the last 24 hours (3 queue_log rows each,
as Asterisk writes them), then measures, side by side in this run:

- the last-agent lookup (vidline.routing.last_agent.fetch_contacts) against
  a full scan of the same table (``SELECT COUNT(*) ... WHERE data2 = ?``),
  first on the table as Asterisk creates it (no index but the id), then
  with an index on ``queue_log(time)``; the request waits at most
  LOOKUP_TIMEOUT for it;
- the report's pure computation (vidline.reporting.report.report) against
  sorting the same rows by time, the least any report must do.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))

import pymysql  # noqa: E402

from vidline.reporting.db import Database  # noqa: E402
from vidline.reporting.report import QueueLogRow, report  # noqa: E402
from vidline.reporting.schema import ensure_asterisk_tables  # noqa: E402
from vidline.routing.last_agent import LOOKUP_TIMEOUT, fetch_contacts  # noqa: E402

SERVER = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}


def timed(fn: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def fill(conn: pymysql.connections.Connection, calls: int) -> list[tuple[object, ...]]:
    now = datetime.now()
    rows: list[tuple[object, ...]] = []
    for i in range(calls):
        start = now - timedelta(seconds=86400 * (calls - i) / calls)
        callid, number, agent = f"{1795735766 + i}.{i}", f"1555{i:07d}", f"Agent {i % 40}"
        rows += [
            (start, callid, "support", "NONE", "ENTERQUEUE", "", number, "1"),
            (start + timedelta(seconds=9), callid, "support", agent, "CONNECT", "9", "x", "2"),
            (start + timedelta(seconds=200), callid, "support", agent, "COMPLETECALLER", "9",
             "191", "1"),
        ]
    with conn.cursor() as cur:
        for first in range(0, len(rows), 5000):
            cur.executemany(
                "INSERT INTO queue_log (`time`, callid, queuename, agent, event, data1, data2, "
                "data3, data4, data5) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', '')",
                rows[first:first + 5000])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=60000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    name = f"vidline_bench_{secrets.token_hex(4)}"
    admin = pymysql.connect(**SERVER, autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}`")
    try:
        url = f"mysql://root@127.0.0.1:3306/{name}"
        db = Database(url)
        ensure_asterisk_tables(db)
        conn = pymysql.connect(**SERVER, database=name, autocommit=True)
        rows = fill(conn, args.calls)
        recent = f"1555{args.calls - 10:07d}"  # a caller from a few seconds ago
        since = datetime.now() - timedelta(seconds=900)

        def lookup() -> object:
            return fetch_contacts(db, since, recent, None)

        def scan() -> object:
            return db.query("SELECT COUNT(*) FROM queue_log WHERE data2 = ?", (recent,))

        found = fetch_contacts(db, since, recent, None)
        assert found and found[0].agent == f"Agent {(args.calls - 10) % 40}", found
        bare_lookup, bare_scan = timed(lookup, args.runs), timed(scan, args.runs)
        db.execute("CREATE INDEX bench_time ON queue_log (`time`)")
        indexed = timed(lookup, args.runs)
        print(f"queue_log rows                     {len(rows)}")
        print(f"lookup, no index       median ms   {bare_lookup * 1000:9.2f}")
        print(f"full scan (baseline)   median ms   {bare_scan * 1000:9.2f}")
        print(f"  ratio lookup / full scan         {bare_lookup / bare_scan:9.2f}")
        print(f"lookup, index on time  median ms   {indexed * 1000:9.2f}")
        print(f"  ratio indexed / no index         {indexed / bare_lookup:9.3f}")
        print(f"  share of the request's budget    {bare_lookup / LOOKUP_TIMEOUT:9.3f}"
              f" (no index), {indexed / LOOKUP_TIMEOUT:.4f} (index)")

        parsed = [QueueLogRow.from_db((*r, "", "")) for r in rows]
        computed = timed(lambda: report(parsed, "hour"), 3)
        baseline = timed(lambda: sorted(parsed, key=lambda r: r.time), 3)
        print(f"report by hour         rows/s      {len(parsed) / computed:9.0f}")
        print(f"  ratio report / sort (baseline)   {computed / baseline:9.2f}")
        conn.close()
        db.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


if __name__ == "__main__":
    main()
