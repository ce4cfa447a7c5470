"""Last-agent lookup: the pure parts on rows as Asterisk writes them, and
the guard that keeps a hung database from holding up a request."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from typing import Any

from vidline.config import AgentConfig, RoutingConfig
from vidline.context.model import InteractionContext
from vidline.interactions.model import RouteDecision
from vidline.routing.last_agent import (
    Contact,
    LastAgentRouter,
    channel_interface,
    contacts_from_cdr,
    contacts_from_queue_log,
    newest_known,
    reason_text,
)

NOW = datetime(2026, 11, 27, 10, 0, 0)
BOB = AgentConfig("bob", "x", "PJSIP/1002", "Agent Bob", ("support",))
ALICE = AgentConfig("alice", "x", "PJSIP/1001", "Agent Alice", ("support",))


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%d %H:%M:%S.%f")


QUEUE_LOG = [
    # a phone call from 15551234 answered by Bob 5 minutes ago
    (at(6), "100.1", "support", "NONE", "ENTERQUEUE", "", "15551234", "1"),
    (at(6), "100.1", "support", "Agent Bob", "CONNECT", "2", "100.2", "0"),
    (at(5), "100.1", "support", "Agent Bob", "COMPLETEAGENT", "2", "60", "1"),
    # a video chat of customer c-9 (no phone) answered by Alice 2 minutes ago
    (at(3), "uuid-1", "support", "NONE", "VIDEOCHAT", "uuid-1", "billing", "c-9"),
    (at(3), "uuid-1", "support", "NONE", "ENTERQUEUE", "", "", "1"),
    (at(3), "uuid-1", "support", "Agent Alice", "CONNECT", "1", "x", "0"),
    (at(2), "uuid-1", "support", "Agent Alice", "COMPLETECALLER", "1", "60", "1"),
    # someone else's call
    (at(1), "100.9", "support", "NONE", "ENTERQUEUE", "", "15559999", "1"),
    (at(1), "100.9", "support", "Agent Alice", "CONNECT", "1", "x", "0"),
]


def test_phone_calls_match_by_digits_and_take_their_last_agent_row() -> None:
    contacts = contacts_from_queue_log(QUEUE_LOG, "+1 555 1234", None)
    assert contacts == [Contact("Agent Bob", NOW - timedelta(minutes=5), "phone call")]


def test_video_chats_match_by_customer_id() -> None:
    contacts = contacts_from_queue_log(QUEUE_LOG, None, "c-9")
    assert contacts == [Contact("Agent Alice", NOW - timedelta(minutes=2), "video chat")]


def test_the_newest_known_contact_within_the_window_wins() -> None:
    contacts = contacts_from_queue_log(QUEUE_LOG, "15551234", "c-9")
    resolve = {"Agent Bob": BOB, "Agent Alice": ALICE}.get
    found = newest_known(contacts, resolve, NOW - timedelta(minutes=15))
    assert found is not None and found[1] is ALICE
    # outside a 4-minute window Bob's call is too old, Alice's chat still in
    assert newest_known(contacts, {"Agent Bob": BOB}.get, NOW - timedelta(minutes=4)) is None
    # an agent vidline does not know cannot be preferred
    assert newest_known(contacts, lambda name: None, NOW - timedelta(hours=1)) is None


def test_cdr_rows_name_the_agent_by_the_answered_channel() -> None:
    rows = [
        (at(3), "15551234", "PJSIP/1002-0000002a", "ANSWERED", None, None),
        (at(2), "15551234", "PJSIP/1001-0000002b", "NO ANSWER", None, None),
        (at(1), "", "Local/1001@agents-00000004;1", "ANSWERED", "c-9", "+15550000"),
    ]
    assert contacts_from_cdr(rows, "+15551234", None) == [
        Contact("PJSIP/1002", NOW - timedelta(minutes=3), "phone call")]
    assert contacts_from_cdr(rows, None, "c-9") == [
        Contact("Local/1001@agents", NOW - timedelta(minutes=1), "video chat")]
    assert channel_interface("PJSIP/1002") == "PJSIP/1002"


def test_reason_says_who_what_and_when() -> None:
    contact = Contact("Agent Bob", NOW - timedelta(minutes=4, seconds=30), "phone call")
    assert reason_text("1002", contact, NOW) == "last-agent:1002 (phone call 4 min ago)"


async def test_a_hung_database_times_out_into_normal_routing() -> None:
    # a server that accepts the TCP connection and never says a word
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        router = LastAgentRouter(RoutingConfig(), f"mysql://root@127.0.0.1:{port}/x", [BOB],
                                 timeout=0.3)
        route = RouteDecision("support", 0, "default")
        decided = await router.prefer(InteractionContext(phone="+15551234"), route)
        assert decided == RouteDecision("support", 0, "default (last-agent lookup timed out)")
        # anonymous requests and a switched-off feature never touch the database
        assert await router.prefer(InteractionContext(), route) is route
        off = LastAgentRouter(RoutingConfig(last_agent=False), "mysql://root@127.0.0.1:1/x",
                              [BOB])
        assert await off.prefer(InteractionContext(phone="+15551234"), route) is route
    finally:
        listener.close()


def test_dialplan_has_the_agent_queues_the_decision_names() -> None:
    from vidline.config import parse_config
    from vidline.dialplan_render import render_asterisk

    config = parse_config({
        "routing": {"last_agent_timeout": 7},
        "agents": [{"username": "bob", "password_hash": "scrypt$16384$8$1$"
                    "LleaUqNGFuVinRLCONpHwQ==$jFSB6kaSEo8WgLCFNGEii1otMKRCkNxAx0YGPHtKtVU=",
                    "interface": "PJSIP/1002", "member_name": "Agent Bob",
                    "queues": ["support"]}],
    })
    files = render_asterisk(config)
    queues = files["queues_vidline.conf"]
    # the queue the inbound context tries is agent-<what the router sends>
    assert "[agent-1002](vidline-agent-template)" in queues
    assert "member => PJSIP/1002,0,Agent Bob,PJSIP/1002" in queues
    extensions = files["extensions_vidline.conf"]
    assert "Queue(agent-${VIDLINE_PREFERRED_AGENT}" in extensions
    assert '${VIDLINE_PREF_TIMEOUT}" = ""]?7:' in extensions


async def test_sqlite_and_a_legacy_cdr_table_name_the_agent(tmp_path: Any) -> None:
    # a centre whose cdr still has the legacy calldate layout and no vidline
    # columns, and whose queue_log has nothing on this caller: the CDR decides
    from vidline.reporting.db import Database

    url = f"sqlite:///{tmp_path}/cdr.db"
    db = Database(url)
    db.execute("CREATE TABLE cdr (calldate text, src varchar(80), dst varchar(80), "
               "dstchannel varchar(80), disposition varchar(45), uniqueid varchar(150))")
    db.execute("CREATE TABLE queue_log (id INTEGER PRIMARY KEY, `time` text, callid text, "
               "queuename text, agent text, event text, data1 text, data2 text, data3 text, "
               "data4 text, data5 text)")
    now = datetime.now()
    db.execute("INSERT INTO cdr VALUES (?, '5551234', '1002', 'PJSIP/1002-0000002a', "
               "'ANSWERED', '1795.1')",
               ((now - timedelta(minutes=3)).strftime("%Y-%m-%d %H:%M:%S"),))
    db.close()
    router = LastAgentRouter(RoutingConfig(), url, [ALICE, BOB])
    try:
        decided = await router.prefer(InteractionContext(phone="+5551234"),
                                      RouteDecision("billing", 5, "category:billing"))
    finally:
        router.close()
    assert decided == RouteDecision(
        "billing", 5, "last-agent:1002 (phone call 3 min ago), then category:billing",
        preferred_agent="1002", preferred_timeout=12)
