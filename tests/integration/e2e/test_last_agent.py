"""Last-agent routing through the whole product: customer API -> lookup in
MariaDB's queue_log/CDR -> Originate with VIDLINE_PREFERRED_AGENT -> the
sandbox's agent-<ext> queue -> AgentCalled as any AMI client sees it.

The earlier phone call is written into queue_log and cdr as rows, in the
exact shape a real Asterisk 22 wrote for a phone call answered from a queue
(shared/asterisk/first-pass/01: ENTERQUEUE||<caller id num>|1, CONNECT by the
member name, COMPLETEAGENT; the caller's CDR with dstchannel = the agent's
channel). The sandbox has no phone trunk: a "phone call" made through it
would be a vidline leg in disguise, with vidline's own VIDEOCHAT line and
CDR columns, i.e. not what a phone call leaves behind. The lookup only reads
these tables, so real-Asterisk-shaped rows are the honest input.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import pymysql
import pytest

from tests.ami_observer import AmiObserver
from tests.conftest import MARIADB, make_config
from vidline.agents.passwords import hash_password
from vidline.config import AgentConfig
from vidline.pbx.asterisk.codec import AmiMessage

pytestmark = pytest.mark.mariadb

PHONE_CALL_ID = "1795735766.7"


def insert_phone_call(url: str, caller: str, member: str, channel: str,
                      minutes_ago: float) -> None:
    """The rows Asterisk writes for a queue call from ``caller`` answered by
    ``member`` (queue_log realtime + cdr_adaptive_odbc), ``minutes_ago``."""
    start = datetime.now() - timedelta(minutes=minutes_ago + 1)
    end = datetime.now() - timedelta(minutes=minutes_ago)
    rows = [
        (start, "ENTERQUEUE", "NONE", "", caller, "1"),
        (start + timedelta(seconds=3), "CONNECT", member, "3", "1795735766.10", "0"),
        (end, "COMPLETEAGENT", member, "3", "57", "1"),
    ]
    conn = pymysql.connect(**MARIADB, database=url.rsplit("/", 1)[1], autocommit=True)
    try:
        with conn.cursor() as cur:
            for when, event, agent, d1, d2, d3 in rows:
                cur.execute(
                    "INSERT INTO queue_log (`time`, callid, queuename, agent, event, data1, "
                    "data2, data3, data4, data5) VALUES (%s,%s,'support',%s,%s,%s,%s,%s,'','')",
                    (when, PHONE_CALL_ID, agent, event, d1, d2, d3))
            cur.execute(
                "INSERT INTO cdr (src, dst, dcontext, clid, channel, dstchannel, lastapp, "
                "lastdata, start, answer, end, duration, billsec, disposition, amaflags, "
                "uniqueid, linkedid, sequence) VALUES (%s, 's', 'from-trunk', %s, "
                "'PJSIP/trunk-00000007', %s, 'Queue', 'support', %s, %s, %s, 60, 57, "
                "'ANSWERED', 'DOCUMENTATION', %s, %s, 7)",
                (caller, f'"" <{caller}>', channel, start, start + timedelta(seconds=3), end,
                 PHONE_CALL_ID, PHONE_CALL_ID))
    finally:
        conn.close()


def config_with_bob(url: str, **routing: Any) -> Any:
    config = make_config(url)  # agents answer through the control API only
    bob = AgentConfig(username="bob", password_hash=hash_password("bob-pass"),
                      interface="PJSIP/1002", member_name="Agent Bob", queues=("support",))
    return dataclasses.replace(
        config, agents=(*config.agents, bob),
        routing=dataclasses.replace(config.routing, last_agent_timeout=3, **routing),
        server=dataclasses.replace(config.server, requests_per_minute=100_000))


async def start(runtime_factory: Any, config: Any) -> tuple[Any, AmiObserver]:
    runtime = await runtime_factory(config)
    observer = AmiObserver()
    await observer.connect("127.0.0.1", runtime.sandbox.ami_port, "vidline", "s3cret")
    return runtime, observer


async def request_chat(runtime: Any, **body: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
            f"{runtime.base_url}/api/v1/interactions", json=body) as resp:
        assert resp.status == 201, await resp.text()
        return str((await resp.json())["id"])


def called(iid: str) -> Any:
    def match(m: AmiMessage) -> bool:
        return m.event == "AgentCalled" and m.get("Uniqueid") == iid
    return match


async def test_video_chat_after_a_phone_call_goes_to_that_agent_first(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime, observer = await start(runtime_factory, config_with_bob(mariadb_url))
    try:
        # Asterisk's caller id carries no "+": the numbers still match as digits
        insert_phone_call(mariadb_url, "15551234", "Agent Bob", "PJSIP/1002-0000000a", 4)
        iid = await request_chat(runtime, phone="+15551234", category="billing")
        async with asyncio.timeout(10):
            first = await observer.wait_for(called(iid))
        assert (first.get("Queue"), first.get("Interface")) == ("agent-1002", "PJSIP/1002")
        assert not runtime.sandbox.control.ringing("PJSIP/1001")
        assert await runtime.sandbox.control.answer("PJSIP/1002")
        async with asyncio.timeout(10):
            connect = await observer.wait_for(
                lambda m: m.event == "AgentConnect" and m.get("Uniqueid") == iid)
        assert connect.get("Interface") == "PJSIP/1002"
        route = runtime.service.get(iid).route
        assert route.preferred_agent == "1002"
        assert route.reason == "last-agent:1002 (phone call 4 min ago), then default"
    finally:
        await observer.close()


async def test_paused_last_agent_falls_through_to_the_queue_at_once(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime, observer = await start(runtime_factory, config_with_bob(mariadb_url))
    try:
        insert_phone_call(mariadb_url, "+15551234", "Agent Bob", "PJSIP/1002-0000000a", 2)
        await runtime.pbx.pause_member("PJSIP/1002", True, "Lunch")
        iid = await request_chat(runtime, phone="+15551234")
        async with asyncio.timeout(10):
            first = await observer.wait_for(called(iid))
        # app_queue's JOINEMPTY: no ring of the paused agent, straight to support
        assert (first.get("Queue"), first.get("Interface")) == ("support", "PJSIP/1001")
        assert runtime.service.get(iid).route.preferred_agent == "1002"
        joins = [m.get("Queue") for m in observer.events("QueueCallerJoin")
                 if m.get("Uniqueid") == iid]
        assert joins == ["support"]
    finally:
        await observer.close()


async def test_unanswered_last_agent_falls_through_after_the_timeout(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime, observer = await start(runtime_factory, config_with_bob(mariadb_url))
    try:
        insert_phone_call(mariadb_url, "15551234", "Agent Bob", "PJSIP/1002-0000000a", 1)
        iid = await request_chat(runtime, phone="15551234")
        async with asyncio.timeout(10):
            await observer.wait_for(called(iid))
            second = await observer.wait_for(
                lambda m: called(iid)(m) and m.get("Queue") == "support")
        calls = [(m.get("Queue"), m.get("Interface")) for m in observer.events("AgentCalled")
                 if m.get("Uniqueid") == iid]
        assert calls[0] == ("agent-1002", "PJSIP/1002")
        assert second.get("Queue") == "support"
        left = [m for m in observer.events("QueueCallerLeave") if m.get("Uniqueid") == iid]
        assert left and left[0].get("Queue") == "agent-1002"
    finally:
        await observer.close()


async def test_old_contacts_and_other_numbers_route_normally(
    runtime_factory: Any, mariadb_url: str
) -> None:
    runtime, observer = await start(runtime_factory, config_with_bob(mariadb_url))
    try:
        insert_phone_call(mariadb_url, "15551234", "Agent Bob", "PJSIP/1002-0000000a", 30)
        old = await request_chat(runtime, phone="+15551234")
        other = await request_chat(runtime, phone="+15559999")
        async with asyncio.timeout(10):
            first = await observer.wait_for(called(old))
        assert first.get("Queue") == "support"
        for iid in (old, other):
            route = runtime.service.get(iid).route
            assert (route.reason, route.preferred_agent) == ("default", None)
    finally:
        await observer.close()


async def test_a_lookup_that_fails_never_fails_the_request(
    runtime_factory: Any, mariadb_url: str
) -> None:
    config = config_with_bob(mariadb_url)
    runtime, observer = await start(runtime_factory, config)
    try:
        # the sandbox's writer thread creates Asterisk's tables when it starts:
        # let it finish, or it could create queue_log again after the drop
        await runtime.sandbox.control.flush_db()
        # the tables go away under the running vidline
        conn = pymysql.connect(**MARIADB, database=mariadb_url.rsplit("/", 1)[1],
                               autocommit=True)
        with conn.cursor() as cur:
            cur.execute("DROP TABLE queue_log")
        conn.close()
        iid = await request_chat(runtime, phone="+15551234")
        async with asyncio.timeout(10):
            first = await observer.wait_for(called(iid))
        assert first.get("Queue") == "support"
        assert runtime.service.get(iid).route.reason == (
            "default (last-agent lookup failed: ProgrammingError)")
    finally:
        await observer.close()
