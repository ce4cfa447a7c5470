"""The supervisor side over HTTP and WebSocket against a whole vidline (the
sandbox PBX over real AMI, MariaDB): who gets in, the report endpoint, and
the wallboard built from QueueStatus."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import aiohttp
import pytest

from tests.conftest import make_config
from tests.unit import reporting_fixture as fx
from vidline.agents.passwords import hash_password
from vidline.config import AgentConfig
from vidline.reporting.db import Database

pytestmark = pytest.mark.mariadb

SAM_PASSWORD = "sam-pass"


def supervised_config(url: str) -> Any:
    config = make_config(url)  # alice, an agent; agents answer through the control API
    sam = AgentConfig(username="sam", password_hash=hash_password(SAM_PASSWORD, n=1024),
                      interface="PJSIP/1009", member_name="Sam Super", queues=(),
                      role="supervisor")
    return dataclasses.replace(config, agents=(*config.agents, sam))


def session() -> aiohttp.ClientSession:
    # cookies for an IP address host (127.0.0.1) need an "unsafe" jar
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def login(http: aiohttp.ClientSession, base: str, username: str, password: str) -> None:
    page = await (await http.get(f"{base}/agent/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    async with http.post(f"{base}/agent/login", data={
            "username": username, "password": password,
            "csrf_token": token.group(1)}) as resp:
        assert resp.status == 200  # followed the redirect to the panel


async def supervisor_csrf(http: aiohttp.ClientSession, base: str) -> str:
    async with http.get(f"{base}/agent/supervisor") as resp:
        assert resp.status == 200
        match = re.search(r'data-csrf="([^"]+)"', await resp.text())
        assert match
        return match.group(1)


async def test_agents_get_403_and_supervisors_the_page(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(supervised_config(mariadb_url))
    base = runtime.base_url
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{base}/agent/supervisor", allow_redirects=False) as resp:
            assert resp.status == 303
            assert resp.headers["Location"] == "/agent/login?next=/agent/supervisor"
        async with anonymous.get(f"{base}/agent/supervisor/report") as resp:
            assert resp.status == 401
    async with session() as alice:
        await login(alice, base, "alice", "alice-pass")
        panel = await (await alice.get(f"{base}/agent/")).text()
        assert "supervisor-link" not in panel
        for path in ("/agent/supervisor", "/agent/supervisor/report",
                     "/agent/supervisor/ws?csrf=x"):
            async with alice.get(f"{base}{path}") as resp:
                assert resp.status == 403, path
                assert (await resp.json())["error"] == "not_supervisor"
    async with session() as sam:
        await login(sam, base, "sam", SAM_PASSWORD)
        panel = await (await sam.get(f"{base}/agent/")).text()
        assert 'id="supervisor-link"' in panel
        await supervisor_csrf(sam, base)
        # the WebSocket wants the page's CSRF token
        async with sam.get(f"{base}/agent/supervisor/ws?csrf=wrong") as resp:
            assert resp.status == 403


async def test_report_endpoint_gives_the_cli_figures(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(supervised_config(mariadb_url))
    db = Database(mariadb_url)
    try:
        for row in fx.db_rows():
            db.execute("INSERT INTO queue_log (`time`, callid, queuename, agent, event, data1, "
                       "data2, data3, data4, data5) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    finally:
        db.close()
    base = runtime.base_url
    async with session() as sam:
        await login(sam, base, "sam", SAM_PASSWORD)
        query = "from=2026-11-27T00:00&to=2026-11-28T00:00"
        async with sam.get(f"{base}/agent/supervisor/report?by=category&{query}") as resp:
            assert resp.status == 200
            rows = {(r["group"], r["kind"]): r for r in (await resp.json())["rows"]}
        # tests/unit/test_report.py: billing video 2 offered, 100 %, waits 5 and 20
        billing = rows["billing", "video"]
        assert (billing["offered"], billing["service_level"], billing["wait_avg"]) == (
            2, 100.0, 12.5)
        async with sam.get(f"{base}/agent/supervisor/report?format=csv&{query}") as resp:
            assert resp.headers["Content-Type"].startswith("text/csv")
            assert (await resp.text()).startswith("group,kind,offered,answered,abandoned")
        async with sam.get(f"{base}/agent/supervisor/report?by=week") as resp:
            assert resp.status == 400


async def test_wallboard_shows_a_waiting_video_chat_and_a_paused_agent(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(supervised_config(mariadb_url))
    base = runtime.base_url
    await runtime.pbx.pause_member("PJSIP/1001", True, "Lunch")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/v1/interactions",
                             json={"phone": "+15557777", "category": "billing"}) as resp:
            iid = (await resp.json())["id"]
    async with session() as sam:
        await login(sam, base, "sam", SAM_PASSWORD)
        csrf = await supervisor_csrf(sam, base)
        async with sam.ws_connect(f"{base}/agent/supervisor/ws?csrf={csrf}") as ws:
            async with asyncio.timeout(10):
                while True:
                    board = await ws.receive_json()
                    queues = {q["name"]: q for q in board.get("queues", [])}
                    waiting = queues.get("support", {}).get("waiting", [])
                    if waiting:
                        break
            assert waiting[0]["kind"] == "video" and waiting[0]["id"] == iid
            assert waiting[0]["caller"] == "+15557777"
            assert queues["support"]["video"] == 1 and queues["support"]["phone"] == 0
            agents = {a["interface"]: a for a in board["agents"]}
            assert (agents["PJSIP/1001"]["state"], agents["PJSIP/1001"]["reason"]) == (
                "paused", "Lunch")
            assert agents["PJSIP/1001"]["name"] == "Agent Alice"
            # an unpause is an event: the board follows it
            await runtime.pbx.pause_member("PJSIP/1001", False)
            async with asyncio.timeout(10):
                while True:
                    board = await ws.receive_json()
                    states = {a["interface"]: a["state"] for a in board["agents"]}
                    if states["PJSIP/1001"] != "paused":
                        break
            assert states["PJSIP/1001"] in ("available", "ringing")
    # the board's sender ended with its socket: no Queue.get left pending
    await asyncio.sleep(0.1)
    assert not [t for t in asyncio.all_tasks()
                if "Queue.get" in repr(t.get_coro())]
