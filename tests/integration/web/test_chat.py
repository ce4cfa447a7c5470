"""Text chat over the real customer and agent WebSockets of an in-process app:
relay both ways, history on (re)connect and on connect of the call,
validation, flood limits, typing throttle, who may read and send, and the
journal entries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.integration.web.conftest import AGENT_REF, FakeInteractions, Web, make_config
from tests.integration.web.test_agent_http import login, panel_csrf
from vidline.agents.directory import AgentDirectory
from vidline.agents.hub import AgentHub
from vidline.config import Config
from vidline.interactions.journal import Entry, Journal
from vidline.interactions.state import State
from vidline.web.app import build_web_app


class Recorded(Web):
    entries: list[Entry]
    last: dict[str, Any]


async def make_web(config: Config) -> Recorded:
    """The app with a journal whose entries the test reads (``web.entries``)."""
    fake, hub = FakeInteractions(), AgentHub()
    journal = Journal(fake.get)
    entries: list[Entry] = []
    journal.subscribe(lambda _interaction, entry: entries.append(entry))
    app = build_web_app(config, fake, hub, AgentDirectory(config.agents), journal=journal)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    web = Recorded(client, fake, hub, config)
    web.entries = entries
    return web


@pytest.fixture
async def chat_web() -> AsyncIterator[Recorded]:
    web = await make_web(make_config(requests_per_minute=1000))
    yield web
    await web.client.close()


async def until(ws: aiohttp.ClientWebSocketResponse, kind: str,
                **match: Any) -> dict[str, Any]:
    """The next message of ``kind`` (others skipped), within 3 s."""
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=3)
        if message.get("type") == kind and all(message.get(k) == v for k, v in match.items()):
            return message


async def customer(web: Web, created: dict[str, str]) -> aiohttp.ClientWebSocketResponse:
    return await web.client.ws_connect(
        f"/api/v1/interactions/{created['id']}/ws?token={created['token']}")


async def agent(web: Web) -> aiohttp.ClientWebSocketResponse:
    await login(web.client)
    token = await panel_csrf(web.client)
    ws = await web.client.ws_connect("/agent/ws")
    await ws.send_json({"type": "hello", "csrf": token})
    await until(ws, "hello")
    return ws


async def connected_call(web: Recorded) -> tuple[str, Any, Any]:
    created = web.last = await web.create()
    iid = created["id"]
    cws = await customer(web, created)
    await until(cws, "status")  # queued: no history yet, the chat opens on connect
    aws = await agent(web)
    web.fake.update(iid, state=State.CONNECTED, agent=AGENT_REF)
    # the call connected: both sides get the (empty) history
    assert await until(cws, "chat-history") == {"type": "chat-history", "interaction": iid,
                                                "messages": []}
    await until(aws, "chat-history", interaction=iid)
    return iid, cws, aws


async def test_round_trip_both_ways_with_history_after_reconnect(chat_web: Recorded) -> None:
    iid, cws, aws = await connected_call(chat_web)
    await cws.send_json({"type": "chat", "text": "  Hello, my <b>invoice</b> is wrong \n"})
    got = await until(aws, "chat")
    assert got["interaction"] == iid and got["id"] == 1 and got["from"] == "customer"
    assert got["text"] == "Hello, my <b>invoice</b> is wrong"  # plain text, never markup
    assert got["name"] is None and isinstance(got["at"], int)
    assert (await until(cws, "chat"))["id"] == 1  # the echo carries the id

    await aws.send_json({"type": "chat", "interaction": iid, "text": "Let me check."})
    answer = await until(cws, "chat")
    assert (answer["id"], answer["from"], answer["name"], answer["text"]) == (
        2, "agent", "Agent Alice", "Let me check.")

    await cws.close()
    again = await customer(chat_web, chat_web.last)
    history = await until(again, "chat-history")
    assert [(m["id"], m["from"], m["text"]) for m in history["messages"]] == [
        (1, "customer", "Hello, my <b>invoice</b> is wrong"), (2, "agent", "Let me check.")]
    await aws.send_json({"type": "chat-history", "interaction": iid})
    assert len((await until(aws, "chat-history"))["messages"]) == 2

    assert [(e.kind, e.data) for e in chat_web.entries] == [
        ("chat_message", {"from": "customer", "text": "Hello, my <b>invoice</b> is wrong",
                          "id": 1}),
        ("chat_message", {"from": "agent", "text": "Let me check.", "id": 2})]

    # after the end: readable, not writable
    chat_web.fake.update(iid, state=State.ENDED)
    await aws.send_json({"type": "chat", "interaction": iid, "text": "one more"})
    assert "no connected call" in (await until(aws, "chat-error"))["message"]
    await aws.send_json({"type": "chat-history", "interaction": iid})
    assert len((await until(aws, "chat-history"))["messages"]) == 2


@pytest.mark.parametrize("text, problem", [
    ("", "empty"), ("   \n\t ", "empty"), ("\x00\x07\u202e", "empty"),
    ("x" * 2001, "at most 2000"), (42, "must be a string"), (None, "must be a string"),
])
async def test_invalid_messages_are_refused_with_a_reason(chat_web: Recorded, text: Any,
                                                         problem: str) -> None:
    iid, cws, _aws = await connected_call(chat_web)
    await cws.send_json({"type": "chat", "text": text})
    error = await until(cws, "chat-error")
    assert error["interaction"] == iid and problem in error["message"]
    assert chat_web.entries == []


async def test_control_and_bidi_characters_are_stripped(chat_web: Recorded) -> None:
    _iid, cws, aws = await connected_call(chat_web)
    await cws.send_json({"type": "chat", "text": "a\x1b[31mb\u202ec\r\nd\ud800"})
    assert (await until(aws, "chat"))["text"] == "a[31mbc\nd"


async def test_chat_waits_for_the_agent(chat_web: Recorded) -> None:
    created = await chat_web.create()
    cws = await customer(chat_web, created)
    await cws.send_json({"type": "chat", "text": "anyone?"})
    assert "opens when an agent answers" in (await until(cws, "chat-error"))["message"]


async def test_a_flood_is_limited_per_side(chat_web: Recorded) -> None:
    iid, cws, aws = await connected_call(chat_web)
    for i in range(12):
        await cws.send_json({"type": "chat", "text": f"spam {i}"})
    assert "too fast" in (await until(cws, "chat-error"))["message"]
    # the agent can still answer: the customer's flood used the customer's bucket
    await aws.send_json({"type": "chat", "interaction": iid, "text": "Please wait."})
    assert (await until(cws, "chat", **{"from": "agent"}))["text"] == "Please wait."
    assert sum(1 for e in chat_web.entries if e.data["from"] == "customer") == 8


async def test_typing_is_relayed_and_throttled(chat_web: Recorded) -> None:
    iid, cws, aws = await connected_call(chat_web)
    for _ in range(5):
        await cws.send_json({"type": "typing"})
    await aws.send_json({"type": "typing", "interaction": iid})
    assert await until(cws, "typing") == {"type": "typing", "interaction": iid,
                                          "from": "agent"}
    await cws.send_json({"type": "chat", "text": "done"})
    assert await until(aws, "typing") == {"type": "typing", "interaction": iid,
                                          "from": "customer"}
    # the four typing notices after the first were dropped: the chat comes next
    assert (await aws.receive_json(timeout=3))["type"] == "chat"


async def test_an_agent_only_reaches_calls_connected_to_them(chat_web: Recorded) -> None:
    created = await chat_web.create()
    iid = created["id"]
    aws = await agent(chat_web)
    for message in ({"type": "chat", "interaction": iid, "text": "hi"},
                    {"type": "chat-history", "interaction": iid},
                    {"type": "chat", "interaction": "not-an-id", "text": "hi"},
                    {"type": "chat", "text": "no id"}):
        await aws.send_json(message)
        assert "no " in (await until(aws, "chat-error"))["message"]
    other = AGENT_REF.__class__("bob", "PJSIP/1002", "Agent Bob")
    chat_web.fake.update(iid, state=State.CONNECTED, agent=other)
    await aws.send_json({"type": "chat", "interaction": iid, "text": "hi"})
    assert "no connected call of yours" in (await until(aws, "chat-error"))["message"]


def test_history_is_bounded_by_count_bytes_and_age() -> None:
    from vidline.interactions import chat as core

    now = [1000.0]
    rooms = core.ChatRooms(clock=lambda: now[0])
    for i in range(core.MAX_MESSAGES + 5):
        now[0] += 1.0  # one a second: under the flood limit
        rooms.post("a", core.CUSTOMER, None, f"m{i}")
    room = rooms.room("a")
    assert len(room.messages) == core.MAX_MESSAGES
    assert room.messages[0].id == 6 and room.last_id == core.MAX_MESSAGES + 5
    big = "é" * core.MAX_TEXT  # 4000 bytes each
    for _ in range(core.MAX_BYTES // 4000 + 3):
        now[0] += 1.0
        rooms.post("b", core.AGENT, "Alice", big)
    assert rooms.room("b").size <= core.MAX_BYTES
    assert rooms.room("b").size == sum(len(m.text.encode()) for m in rooms.room("b").messages)
    now[0] += core.RETENTION + 1
    rooms.room("c")  # any use expires rooms idle for longer than the retention
    assert rooms.get("a") is None and rooms.get("b") is None and len(rooms) == 1
