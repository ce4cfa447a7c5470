"""The reporting database goes away (connections killed, new ones refused,
through a proxy the test controls) while customers come and go, then comes
back: every interaction row, event row and vidline-written queue_log row is
there exactly once. The same across a vidline restart with a full spool."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import MARIADB, make_config, mariadb_rows
from tests.integration.reporting.customer import Customer
from tests.integration.reporting.proxy import BreakableProxy

pytestmark = pytest.mark.mariadb


@pytest.fixture
async def proxy() -> AsyncIterator[BreakableProxy]:
    p = BreakableProxy(str(MARIADB["host"]), int(str(MARIADB["port"])))
    await p.start()
    yield p
    await p.close()


def proxied_config(mariadb_url: str, proxy: BreakableProxy, spool_dir: str | None = None) -> Any:
    name = mariadb_url.rsplit("/", 1)[1]
    config = make_config(f"mysql://root@127.0.0.1:{proxy.port}/{name}")
    reporting = dataclasses.replace(
        config.reporting, write_queue_log="true", retry_min=0.05, retry_max=0.2,
        spool_dir=spool_dir or config.reporting.spool_dir)
    server = dataclasses.replace(config.server, requests_per_minute=100_000)
    return dataclasses.replace(config, reporting=reporting, server=server)


async def abandon_calls(runtime: Any, count: int) -> list[str]:
    """``count`` customers who wait in the queue (the agent is paused) and leave."""
    await runtime.pbx.pause_member("PJSIP/1001", True, "outage test")
    async def one(i: int) -> str:
        customer = await Customer.start(runtime, customer_id=f"c-{i}", category="billing")
        try:
            await customer.wait_state("queued")
            await customer.hang_up()
            await customer.wait_state("ended")
        finally:
            await customer.close()
        return customer.id

    ids: list[str] = []
    for start in range(0, count, 10):  # ten at a time
        ids += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 10))))
    return ids


async def drained(runtime: Any) -> None:
    async with asyncio.timeout(60):
        while not await runtime.reporting.flush():  # noqa: ASYNC110 - polls the writer
            await asyncio.sleep(0.1)


def assert_exactly_once(mariadb_url: str, ids: list[str]) -> None:
    rows = mariadb_rows(mariadb_url, "SELECT id, outcome FROM vidline_interactions")
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert {r["outcome"] for r in rows} == {"abandoned"}
    events = mariadb_rows(mariadb_url,
                          "SELECT interaction_id, seq, kind FROM vidline_interaction_events")
    by_id: dict[str, list[tuple[int, str]]] = {}
    for e in events:
        by_id.setdefault(e["interaction_id"], []).append((e["seq"], e["kind"]))
    assert sorted(by_id) == sorted(ids)
    for iid, seqs in by_id.items():
        numbers = sorted(s for s, _ in seqs)
        assert numbers == list(range(1, len(numbers) + 1)), iid  # no gap, no duplicate
        kinds = [k for _, k in sorted(seqs)]
        assert kinds[0] == "created" and kinds[-1] == "ended", (iid, kinds)
    # vidline's own queue_log rows are the ones with a key
    ours = mariadb_rows(mariadb_url, """
        SELECT q.callid, q.event FROM queue_log q
        JOIN vidline_queue_log_keys k ON k.queue_log_id = q.id""")
    assert Counter((r["callid"], r["event"]) for r in ours) == Counter(
        {(iid, event): 1 for iid in ids for event in ("VIDEOCHAT", "ENTERQUEUE", "ABANDON")})


async def test_fifty_interactions_through_an_outage(
    runtime_factory: Any, mariadb_url: str, proxy: BreakableProxy
) -> None:
    runtime = await runtime_factory(proxied_config(mariadb_url, proxy))
    ids = await abandon_calls(runtime, 15)
    await proxy.cut()
    ids += await abandon_calls(runtime, 20)
    await runtime.reporting.flush()
    assert runtime.reporting.writer.spool.pending  # held on disk, not lost
    await proxy.restore()
    ids += await abandon_calls(runtime, 15)
    await drained(runtime)
    assert len(ids) == 50
    assert_exactly_once(mariadb_url, ids)
    stats = runtime.reporting.writer.stats
    assert stats.spooled > 0 and stats.replayed >= stats.spooled
    assert (stats.rejected, stats.dropped) == (0, 0)


async def test_a_restart_replays_the_spool(
    runtime_factory: Any, mariadb_url: str, proxy: BreakableProxy, tmp_path: Any
) -> None:
    spool = str(tmp_path / "spool")
    first = await runtime_factory(proxied_config(mariadb_url, proxy, spool))
    ids = await abandon_calls(first, 5)
    await proxy.cut()
    ids += await abandon_calls(first, 20)
    await first.close()  # the database is still away: the rows stay spooled
    assert (tmp_path / "spool" / "reporting.spool").stat().st_size > 0
    assert len(mariadb_rows(mariadb_url, "SELECT id FROM vidline_interactions")) < 25

    await proxy.restore()
    second = await runtime_factory(proxied_config(mariadb_url, proxy, spool))
    ids += await abandon_calls(second, 5)
    await drained(second)
    assert_exactly_once(mariadb_url, ids)
    assert (tmp_path / "spool" / "reporting.spool").stat().st_size == 0
