"""Reporting writer throughput into real MariaDB, next to a plain baseline.

    python bench/reporting.py [--interactions 2000] [--queue-log]

Each interaction is a whole answered call as the interaction service reports
it (create, originated, joined, queued, ringing, connected, completed, hangup,
ended: 12 domain events, 9 event rows and 6 snapshots of the interaction
row; with --queue-log also 4 Asterisk-format queue_log rows, as on
FreeSWITCH). Measured in one run, on fresh databases:

- writer:   the rows of every event submitted as the event loop would, until
            the writer thread has them all in MariaDB;
- replay:   the same rows first written to the durable spool (as during an
            outage), then replayed by a new writer when the database is back;
- baseline: the same rows as plain single-row pymysql INSERTs (autocommit),
            one statement per row, the obvious way to write them.

Prints domain events per second for each and the ratios to the baseline.
The target is at least 2,000 interaction events per second.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import pymysql

from vidline.context.model import InteractionContext
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import EndReason, Event, State
from vidline.pbx import events as ev
from vidline.reporting.db import Database
from vidline.reporting.ledger import Ledger
from vidline.reporting.records import EventRow, InteractionRow, Record
from vidline.reporting.spool import Spool
from vidline.reporting.tables import ensure_reporting_schema
from vidline.reporting.writer import ReportWriter

HOST, PORT = "127.0.0.1", 3306


def one_call(i: int, queue_log: bool, now: float) -> list[list[Record]]:
    """The records of each domain event of one answered call."""
    out: list[list[Record]] = []
    iid = f"{secrets.token_hex(4)}-0000-4000-8000-{i:012d}"
    ctx = InteractionContext(customer_id=f"c{i}", phone="+15551234", category="billing",
                             page_url="https://shop.example.com/checkout")
    it = Interaction(iid, ctx, RouteDecision("support", 0, "category:billing"), b"")
    ledger = Ledger(iid, queue_log, "https://vid.example.com/agent/i/" + iid)

    def step(change: Event | ev.PbxEvent, state: State | None = None) -> None:
        nonlocal now
        now += 0.001
        if state is not None:
            it.state = state
            it.times.setdefault(state.value, now)
        out.append(ledger.feed(it, change, now))

    it.times["created"] = now
    step(Event.PLACE, State.ORIGINATING)
    step(ev.LegOriginated(iid, "AudioSocket/x-" + iid))
    step(ev.CallerJoined(iid, "support", 1, 1))
    it.queue, it.position = "support", 1
    step(Event.JOINED, State.QUEUED)
    step(ev.AgentRinging(iid, "support", "PJSIP/1001", "Agent Alice", "PJSIP/1001-1"))
    it.agent = AgentRef("alice", "PJSIP/1001", "Agent Alice")
    step(Event.RING, State.RINGING)
    step(ev.AgentConnected(iid, "support", "PJSIP/1001", "Agent Alice", "PJSIP/1001-1",
                           3, 1, "1795736256.1"))
    step(Event.CONNECT, State.CONNECTED)
    step(ev.AgentCompleted(iid, "support", "PJSIP/1001", "Agent Alice", 3, 60, "caller"))
    step(ev.LegHungUp(iid, "AudioSocket/x-" + iid, 16, "Normal Clearing"))
    it.end_reason = EndReason.CUSTOMER_LEFT
    step(Event.END, State.ENDED)
    step(ev.QueueEntry(iid, "support", 1, 0))  # a late poll: no row
    return out


def call_records(n: int, queue_log: bool) -> tuple[list[list[Record]], int]:
    """Per domain event, the records it produces; and the number of events."""
    out: list[list[Record]] = []
    for i in range(n):
        out += one_call(i, queue_log, time.time())
    return out, len(out)


class Fresh:
    """A uniquely named database with the reporting schema, dropped after."""

    def __init__(self) -> None:
        self.name = f"vidline_bench_{secrets.token_hex(5)}"
        self.root = pymysql.connect(host=HOST, port=PORT, user="root", autocommit=True)
        with self.root.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4")
        self.url = f"mysql://root@{HOST}:{PORT}/{self.name}"
        db = Database(self.url)
        ensure_reporting_schema(db)
        db.close()

    def count(self, table: str) -> int:
        with self.root.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{self.name}`.`{table}`")
            return int(cur.fetchone()[0])

    def drop(self) -> None:
        with self.root.cursor() as cur:
            cur.execute(f"DROP DATABASE `{self.name}`")
        self.root.close()


def baseline(per_event: list[list[Record]]) -> float:
    """Plain single-row inserts, one autocommit statement per row."""
    fresh = Fresh()
    conn = pymysql.connect(host=HOST, port=PORT, user="root", database=fresh.name,
                           autocommit=True)
    started = time.perf_counter()
    with conn.cursor() as cur:
        for records in per_event:
            for r in records:
                if isinstance(r, EventRow):
                    cur.execute("INSERT INTO vidline_interaction_events (interaction_id, seq, "
                                "`time`, kind, data) VALUES (%s, %s, %s, %s, %s)",
                                (r.interaction_id, r.seq, r.time, r.kind, r.data))
                elif isinstance(r, InteractionRow):
                    cols = [c for c, _ in r.values]
                    cur.execute(
                        f"REPLACE INTO vidline_interactions ({', '.join(f'`{c}`' for c in cols)})"
                        f" VALUES ({', '.join(['%s'] * len(cols))})", [v for _, v in r.values])
                else:
                    cur.execute("INSERT INTO queue_log (`time`, callid, queuename, agent, event,"
                                " data1, data2, data3, data4, data5) VALUES "
                                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", r.values())
    elapsed = time.perf_counter() - started
    conn.close()
    fresh.drop()
    return elapsed


async def through_writer(per_event: list[list[Record]], total: int) -> tuple[float, int]:
    fresh = Fresh()
    with tempfile.TemporaryDirectory() as spool:
        writer = ReportWriter(Database(fresh.url), Path(spool), queue_size=total + 10)
        writer.start()
        started = time.perf_counter()
        for records in per_event:
            writer.submit(records)  # what the observer does on the event loop
        assert await writer.flush()
        elapsed = time.perf_counter() - started
        await writer.close()
    rows = fresh.count("vidline_interaction_events")
    fresh.drop()
    return elapsed, rows


async def replay(per_event: list[list[Record]]) -> tuple[float, int]:
    fresh = Fresh()
    with tempfile.TemporaryDirectory() as spool:
        outage = Spool(Path(spool))  # what the writer spooled while the database was away
        for start in range(0, len(per_event), 100):
            outage.append([r.to_json() for records in per_event[start:start + 100]
                           for r in records])
        outage.close()
        writer = ReportWriter(Database(fresh.url), Path(spool))
        started = time.perf_counter()
        writer.start()  # a restart: the spool is replayed at once
        while not await writer.flush():  # noqa: ASYNC110 - flush is the writer's own signal
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        await writer.close()
    rows = fresh.count("vidline_interaction_events")
    fresh.drop()
    return elapsed, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interactions", type=int, default=2000)
    parser.add_argument("--baseline-interactions", type=int, default=300,
                        help="the baseline is slow: measured on fewer calls")
    parser.add_argument("--queue-log", action="store_true",
                        help="also write Asterisk-format queue_log rows (FreeSWITCH)")
    args = parser.parse_args()
    per_event, events = call_records(args.interactions, args.queue_log)
    base_events, base_count = call_records(args.baseline_interactions, args.queue_log)
    rows = sum(len(r) for r in per_event)
    print(f"{args.interactions} interactions, {events} domain events, {rows} rows"
          f"{' (with queue_log)' if args.queue_log else ''}")
    base = base_count / baseline(base_events)
    print(f"baseline (single-row pymysql, autocommit): {base:10.0f} events/s")
    elapsed, stored = asyncio.run(through_writer(per_event, rows))
    direct = events / elapsed
    print(f"writer thread into MariaDB:               {direct:10.0f} events/s  "
          f"x{direct / base:.1f} baseline  ({stored} event rows)")
    elapsed, stored = asyncio.run(replay(per_event))
    replayed = events / elapsed
    print(f"spool replay into MariaDB:                {replayed:10.0f} events/s  "
          f"x{replayed / base:.1f} baseline  ({stored} event rows)")
    verdict = "meets" if min(direct, replayed) >= 2000 else "MISSES"
    print(f"target 2,000 events/s: {verdict}")


if __name__ == "__main__":
    main()
