"""Signalling over the real WebSockets of a whole vidline (sandbox PBX): the
ICE config the pages get, a hostile offer refused with an error while the
interaction goes on, a real offer answered, and the agent side closed to
anyone but the connected agent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aiohttp
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy

from tests.conftest import make_config


async def customer_socket(session: aiohttp.ClientSession, base: str) -> tuple[str, Any]:
    created = await session.post(f"{base}/api/v1/interactions",
                                 json={"customer_id": "c-1", "category": "billing"})
    body = await created.json()
    ws = await session.ws_connect(f"{body['ws_url']}?token={body['token']}")
    return body["id"], ws


async def next_of(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = await ws.receive_json(timeout=10)
        if message["type"] == kind:
            return message


async def test_customer_signalling(runtime_factory: Any, tmp_path: Path) -> None:
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/v.db"))
    await runtime.service.set_paused("alice", True, "x")
    async with aiohttp.ClientSession() as session:
        interaction_id, ws = await customer_socket(session, runtime.base_url)
        await ws.send_json({"type": "media-hello"})
        config = await next_of(ws, "media-config")
        assert config["rtc"] == {"iceServers": [], "iceTransportPolicy": "all"}

        for hostile in ("v=0\r\nm=video 0 RTP/AVP 96\r\na=" + "x" * 61500, "garbage", 42):
            await ws.send_json({"type": "offer", "sdp": hostile})
            error = await next_of(ws, "media-error")
            assert error["message"]
        await ws.send_json({"type": "offer", "sdp": "v=0\r\no=- 0 0 IN IP4 0\r\nm=x\r\n"})
        assert "refused" in (await next_of(ws, "media-error"))["message"]
        assert runtime.service.get(interaction_id).state.value == "queued"

        pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        pc.addTransceiver("audio", direction="sendrecv")
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        await ws.send_json({"type": "offer", "sdp": pc.localDescription.sdp})
        answer = await next_of(ws, "answer")
        await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
        assert "a=sendrecv" in answer["sdp"]  # the PBX audio comes back on the mic's line
        await pc.close()
        await ws.close()


async def test_agent_signalling_only_for_the_connected_agent(
    runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/v.db"))
    await runtime.service.set_paused("alice", True, "x")
    async with aiohttp.ClientSession() as customer, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as agent:
        interaction_id, _ = await customer_socket(customer, runtime.base_url)
        page = await (await agent.get(f"{runtime.base_url}/agent/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        await agent.post(f"{runtime.base_url}/agent/login", data={
            "username": "alice", "password": "alice-pass", "csrf_token": token})
        panel = await (await agent.get(f"{runtime.base_url}/agent/")).text()
        csrf = re.search(r'data-csrf="([^"]+)"', panel).group(1)  # type: ignore[union-attr]
        ws = await agent.ws_connect(f"{runtime.base_url.replace('http', 'ws')}/agent/ws"
                                    f"?csrf={csrf}", origin=runtime.base_url)
        for message in ({"type": "media-hello", "interaction": interaction_id},
                        {"type": "offer", "interaction": interaction_id, "sdp": "v=0"},
                        {"type": "offer", "interaction": 7, "sdp": "v=0"}):
            await ws.send_json(message)
            error = await next_of(ws, "media-error")
            assert error["message"] == "no connected call of yours with that id"
        await ws.close()
