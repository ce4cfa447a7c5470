"""The customer WebSocket: token auth, status stream, hangup, grace period,
the dispatcher's answer to unknown messages."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.integration.web.conftest import AGENT_REF, Web, WebFactory, wait_for
from vidline.interactions.state import State


def ws_path(created: dict[str, str], token: str | None = None) -> str:
    return f"/api/v1/interactions/{created['id']}/ws?token={token or created['token']}"


@pytest.mark.parametrize("variant", ["wrong", "empty", "other", "long", "bad_id"])
async def test_the_token_is_the_only_key(web: Web, variant: str) -> None:
    mine = await web.create()
    other = await web.create()
    path = {
        # one character changed (never to itself: a token may start with "x")
        "wrong": ws_path(mine, ("y" if mine["token"][0] == "x" else "x") + mine["token"][1:]),
        "empty": f"/api/v1/interactions/{mine['id']}/ws",
        "other": ws_path(mine, other["token"]),
        "long": ws_path(mine, mine["token"] + "A" * 300),
        "bad_id": f"/api/v1/interactions/{mine['id'].upper()}/ws?token={mine['token']}",
    }[variant]
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await web.client.ws_connect(path)
    assert err.value.status == 403
    assert web.fake.subscribers(mine["id"]) == 0


async def test_status_stream_queued_ringing_connected_then_hangup(web: Web) -> None:
    created = await web.create()
    iid = created["id"]
    ws = await web.client.ws_connect(ws_path(created))
    first = await ws.receive_json(timeout=3)
    assert first == {"type": "status", "state": "queued", "position": 1, "count": 1,
                     "expected_wait": 30}
    web.fake.update(iid, position=2, count=2, expected_wait=60)
    assert (await ws.receive_json(timeout=3))["position"] == 2
    web.fake.update(iid, state=State.RINGING)
    assert (await ws.receive_json(timeout=3)) == {"type": "status", "state": "ringing"}
    web.fake.update(iid, state=State.CONNECTED, agent=AGENT_REF)
    assert (await ws.receive_json(timeout=3)) == {"type": "status", "state": "connected",
                                                  "agent": "Agent Alice"}
    # the chat opens with its history (vidline.web.chat)
    assert (await ws.receive_json(timeout=3))["type"] == "chat-history"
    await ws.send_json({"type": "hangup"})
    assert (await ws.receive_json(timeout=3)) == {"type": "status", "state": "ended",
                                                  "reason": "customer_left"}
    closing = await ws.receive(timeout=3)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert web.fake.left == [iid]
    await asyncio.sleep(0.8)  # past the grace period: no second leave
    assert web.fake.left == [iid]


async def test_unknown_and_malformed_messages_get_an_error_answer(web: Web) -> None:
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    await ws.send_str('{"type": "offer\\r\\nAction: Originate", "sdp": "x"}')
    assert await ws.receive_json(timeout=3) == {"type": "error",
                                                "message": "unknown message type"}
    await ws.send_str("not json")
    assert await ws.receive_json(timeout=3) == {"type": "error", "message": "not JSON"}
    await ws.send_bytes(b"\x00\x01")
    assert await ws.receive_json(timeout=3) == {"type": "error", "message": "text frames only"}
    await ws.send_str("[1]")
    assert (await ws.receive_json(timeout=3))["type"] == "error"
    assert web.fake.left == []
    await ws.close()


async def test_oversized_message_closes_the_socket(web: Web) -> None:
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    await ws.send_str("x" * 70_000)
    msg = await ws.receive(timeout=3)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG


async def test_closing_while_queued_leaves_after_the_grace_period(web: Web) -> None:
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    await ws.close()
    await asyncio.sleep(0.1)
    assert web.fake.left == []  # still inside the grace period (0.5 s here)
    await wait_for(lambda: web.fake.left == [created["id"]])
    assert web.fake.items[created["id"]].end_reason is not None


async def test_a_customer_who_never_opens_the_socket_leaves_the_line(
    web_factory: WebFactory,
) -> None:
    web = await web_factory(first_attach=0.3)
    never = await web.create()
    opened = await web.create()
    ws = await web.client.ws_connect(ws_path(opened))
    await ws.receive_json(timeout=3)
    await wait_for(lambda: web.fake.left == [never["id"]])
    await asyncio.sleep(0.2)
    assert web.fake.left == [never["id"]]  # the one with a socket keeps its place
    await ws.close()


async def test_a_reload_inside_the_grace_period_keeps_the_place(web: Web) -> None:
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    await ws.close()
    await asyncio.sleep(0.1)
    again = await web.client.ws_connect(ws_path(created))
    assert (await again.receive_json(timeout=3))["state"] == "queued"
    await asyncio.sleep(0.8)
    assert web.fake.left == []
    await again.close()
    await wait_for(lambda: web.fake.left == [created["id"]])


async def test_two_tabs_one_closes_nobody_leaves(web: Web) -> None:
    created = await web.create()
    a = await web.client.ws_connect(ws_path(created))
    b = await web.client.ws_connect(ws_path(created))
    await a.receive_json(timeout=3)
    await b.receive_json(timeout=3)
    await a.close()
    await asyncio.sleep(0.8)
    assert web.fake.left == []
    web.fake.update(created["id"], state=State.RINGING)
    assert (await b.receive_json(timeout=3))["state"] == "ringing"
    await b.close()


async def test_closing_after_the_end_does_not_leave_again(web_factory: WebFactory) -> None:
    web = await web_factory(grace=0.05)
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    from vidline.interactions.state import EndReason
    web.fake.update(created["id"], state=State.ENDED, end_reason=EndReason.QUEUE_TIMEOUT)
    assert (await ws.receive_json(timeout=3))["reason"] == "queue_timeout"
    await ws.close()
    await asyncio.sleep(0.2)
    assert web.fake.left == []


async def test_sockets_per_interaction_are_capped(web: Web) -> None:
    created = await web.create()
    sockets = [await web.client.ws_connect(ws_path(created)) for _ in range(4)]
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await web.client.ws_connect(ws_path(created))
    assert err.value.status == 429
    await sockets[0].close()
    await asyncio.sleep(0.05)
    again = await web.client.ws_connect(ws_path(created))
    assert (await again.receive_json(timeout=3))["state"] == "queued"
    for ws in [*sockets[1:], again]:
        await ws.close()


async def test_shutdown_closes_open_sockets_at_once(web: Web) -> None:
    created = await web.create()
    ws = await web.client.ws_connect(ws_path(created))
    await ws.receive_json(timeout=3)
    started = asyncio.get_running_loop().time()
    # the app's shutdown, as vidline's runtime does, while the client reads
    closing = asyncio.create_task(web.client.server.close())
    msg = await ws.receive(timeout=3)
    await closing
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
    assert asyncio.get_running_loop().time() - started < 2.0
