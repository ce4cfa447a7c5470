"""Agent login, CSRF, lockout, panel pages, the agent WebSocket with pops and
pause."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.integration.web.conftest import PASSWORD, Web, WebFactory, make_config

IID = "0b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d"


def csrf_in(html: str, attr: str = 'name="csrf_token" value="') -> str:
    match = re.search(re.escape(attr) + r'([^"]+)"', html)
    assert match, html
    return match.group(1)


async def login(client: TestClient, password: str = PASSWORD, username: str = "alice",
                **extra: str) -> aiohttp.ClientResponse:
    page = await client.get("/agent/login")
    token = csrf_in(await page.text())
    return await client.post("/agent/login", allow_redirects=False, data={
        "username": username, "password": password, "csrf_token": token, **extra})


async def panel_csrf(client: TestClient, path: str = "/agent/") -> str:
    page = await client.get(path)
    assert page.status == 200
    return csrf_in(await page.text(), 'data-csrf="')


def pop(iid: str, phase: str, **context: Any) -> dict[str, Any]:
    return {"type": "pop", "phase": phase, "interaction": {
        "id": iid, "context": context, "queue": "support", "route_reason": "default",
        "crm_url": "https://crm.example.com/c?id=c1"}}


async def test_panel_redirects_to_login_then_login_sets_a_strict_cookie(web: Web) -> None:
    response = await web.client.get(f"/agent/i/{IID}", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == f"/agent/login?next=/agent/i/{IID}"
    page = await web.client.get(f"/agent/login?next=/agent/i/{IID}")
    html = await page.text()
    assert f'name="next" value="/agent/i/{IID}"' in html
    logged = await web.client.post("/agent/login", allow_redirects=False, data={
        "username": "alice", "password": PASSWORD, "csrf_token": csrf_in(html),
        "next": f"/agent/i/{IID}"})
    assert logged.status == 303 and logged.headers["Location"] == f"/agent/i/{IID}"
    cookie = next(v for v in logged.headers.getall("Set-Cookie")
                  if v.startswith("vidline_session="))
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/agent" in cookie
    panel = await web.client.get(f"/agent/i/{IID}")
    html = await panel.text()
    assert panel.status == 200 and f'data-focus-id="{IID}"' in html
    assert 'id="pop-state"' in html and 'id="crm-link"' in html and "Agent Alice" in html
    assert panel.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/",
                                      "/\\evil.example", "/agent/../x"])
async def test_next_cannot_leave_the_panel(web: Web, next_url: str) -> None:
    response = await login(web.client, next=next_url)
    assert response.status == 303 and response.headers["Location"] == "/agent/"


async def test_login_without_or_with_wrong_csrf_is_refused(web: Web) -> None:
    await web.client.get("/agent/login")  # sets the login cookie
    no_token = await web.client.post("/agent/login", allow_redirects=False,
                                     data={"username": "alice", "password": PASSWORD})
    wrong = await web.client.post("/agent/login", allow_redirects=False, data={
        "username": "alice", "password": PASSWORD, "csrf_token": "forged"})
    assert no_token.status == 403 and wrong.status == 403
    assert "expired" in await wrong.text()
    assert (await web.client.get("/agent/", allow_redirects=False)).status == 303


async def test_cross_origin_login_is_refused(web: Web) -> None:
    page = await web.client.get("/agent/login")
    response = await web.client.post("/agent/login", allow_redirects=False, data={
        "username": "alice", "password": PASSWORD, "csrf_token": csrf_in(await page.text())},
        headers={"Origin": "https://evil.example"})
    assert response.status == 403


async def test_json_login_with_header_token(web: Web) -> None:
    page = await web.client.get("/agent/login")
    token = csrf_in(await page.text())
    response = await web.client.post("/agent/login", json={
        "username": "alice", "password": PASSWORD}, headers={"X-CSRF-Token": token})
    assert response.status == 200
    body = await response.json()
    assert body["username"] == "alice" and body["csrf_token"] == await panel_csrf(web.client)


async def test_wrong_password_then_lockout_with_a_clear_message(web: Web) -> None:
    for _ in range(4):
        response = await login(web.client, "wrong")
        assert response.status == 401
        assert "Wrong username or password." in await response.text()
    fifth = await login(web.client, "wrong")
    assert fifth.status == 401
    locked = await login(web.client)  # the right password, but locked
    assert locked.status == 429
    assert "Too many failed logins. Try again in about 5 minutes." in await locked.text()
    assert int(locked.headers["Retry-After"]) in range(295, 302)
    assert (await web.client.get("/agent/", allow_redirects=False)).status == 303


async def test_unknown_user_fails_like_a_wrong_password(web: Web) -> None:
    response = await login(web.client, username="mallory")
    assert response.status == 401
    assert "Wrong username or password." in await response.text()


async def test_logout_needs_csrf_and_ends_the_session(web: Web) -> None:
    await login(web.client)
    token = await panel_csrf(web.client)
    refused = await web.client.post("/agent/logout", allow_redirects=False,
                                    data={"csrf_token": "nope"})
    assert refused.status == 403
    assert (await web.client.get("/agent/", allow_redirects=False)).status == 200
    ws = await web.client.ws_connect(f"/agent/ws?csrf={token}")
    assert (await ws.receive_json(timeout=3))["type"] == "hello"
    done = await web.client.post("/agent/logout", allow_redirects=False,
                                 data={"csrf_token": token})
    assert done.status == 303 and done.headers["Location"] == "/agent/login"
    assert (await web.client.get("/agent/", allow_redirects=False)).status == 303
    closing = await ws.receive(timeout=3)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert ws.close_code == 4401


async def test_agent_ws_needs_a_session_and_the_csrf_token(web: Web) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await web.client.ws_connect("/agent/ws")
    assert err.value.status == 401
    await login(web.client)
    token = await panel_csrf(web.client)
    ws = await web.client.ws_connect("/agent/ws")
    await ws.send_json({"type": "hello", "csrf": "forged"})
    assert (await ws.receive_json(timeout=3))["type"] == "error"
    await ws.receive(timeout=3)
    assert ws.close_code == 4403
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await web.client.ws_connect(f"/agent/ws?csrf={token}",
                                    headers={"Origin": "https://evil.example"})
    assert err.value.status == 403
    ok = await web.client.ws_connect("/agent/ws")
    await ok.send_json({"type": "hello", "csrf": token})
    assert await ok.receive_json(timeout=3) == {"type": "hello", "username": "alice",
                                                "member_name": "Agent Alice"}
    await ok.close()


async def test_pops_live_and_held_for_an_absent_agent(web: Web) -> None:
    web.hub.pop("alice", pop(IID, "ringing", customer_id="c1"))
    web.hub.pop("alice", pop(IID, "connected", customer_id="c1"))  # supersedes ringing
    await login(web.client)
    token = await panel_csrf(web.client, f"/agent/i/{IID}")
    ws = await web.client.ws_connect("/agent/ws")
    await ws.send_json({"type": "hello", "csrf": token})
    assert (await ws.receive_json(timeout=3))["type"] == "hello"
    held = await ws.receive_json(timeout=3)
    assert held == pop(IID, "connected", customer_id="c1")
    other = "1b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d"
    web.hub.pop("alice", pop(other, "ringing", kiosk_location="<b>Lobby</b>"))
    live = await ws.receive_json(timeout=3)
    assert live["interaction"]["context"] == {"kiosk_location": "<b>Lobby</b>"}
    web.hub.pop("bob", pop(other, "ringing"))
    web.hub.pop("alice", pop(IID, "ended"))
    assert (await ws.receive_json(timeout=3))["phase"] == "ended"  # not bob's pop
    await ws.close()


async def test_pause_and_resume_reach_the_service_and_all_panels(web: Web) -> None:
    await login(web.client)
    token = await panel_csrf(web.client)
    a = await web.client.ws_connect(f"/agent/ws?csrf={token}")
    b = await web.client.ws_connect(f"/agent/ws?csrf={token}")
    for ws in (a, b):
        assert (await ws.receive_json(timeout=3))["type"] == "hello"
    await a.send_json({"type": "pause", "paused": True, "reason": "Lunch"})
    expected = {"type": "presence", "paused": True, "reason": "Lunch"}
    assert await a.receive_json(timeout=3) == expected
    assert await b.receive_json(timeout=3) == expected
    await a.send_json({"type": "pause", "paused": False, "reason": "Lunch"})
    assert (await a.receive_json(timeout=3)) == {"type": "presence", "paused": False,
                                                 "reason": ""}
    assert web.fake.paused == [("alice", True, "Lunch"), ("alice", False, "")]
    for bad in ({"type": "pause", "paused": "yes", "reason": ""},
                {"type": "pause", "paused": True, "reason": "x\r\nAction: Logoff"},
                {"type": "pause", "paused": True, "reason": "r" * 33},
                {"type": "dance"}):
        await a.send_json(bad)
        assert (await a.receive_json(timeout=3))["type"] == "error"
    web.fake.fail_pause = True
    await a.send_json({"type": "pause", "paused": True, "reason": "Break"})
    assert await a.receive_json(timeout=3) == {
        "type": "error", "message": "the PBX did not accept the change"}
    assert len(web.fake.paused) == 2
    # a panel opened later learns the presence it should show
    await b.close()
    c = await web.client.ws_connect(f"/agent/ws?csrf={token}")
    await c.receive_json(timeout=3)
    assert (await c.receive_json(timeout=3))["paused"] is False
    await asyncio.gather(a.close(), c.close())


async def test_panel_static_files(web: Web) -> None:
    js = await web.client.get("/agent/static/panel.js")
    assert js.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert "#pop-state" in await js.text()
    css = await web.client.get("/agent/static/panel.css")
    assert css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert (await web.client.get("/agent/static/..%2fpanel.html")).status == 404
    assert (await web.client.get("/agent/static/login.html")).status == 404


async def test_a_hostile_username_is_echoed_escaped(web: Web) -> None:
    response = await login(web.client, username='"><script>alert(1)</script>')
    html = await response.text()
    assert response.status == 401
    assert "<script>alert(1)" not in html
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_crm_iframe_mode_allows_exactly_the_crm_origin(web_factory: WebFactory) -> None:
    config = make_config()
    config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, open_in="iframe"))
    web = await web_factory(config)
    await login(web.client)
    panel = await web.client.get("/agent/")
    assert 'data-crm-open-in="iframe"' in await panel.text()
    assert "frame-src https://crm.example.com;" in panel.headers["Content-Security-Policy"]
    customer = await web.client.get("/")
    assert "frame-src 'none';" in customer.headers["Content-Security-Policy"]


async def test_open_panels_per_agent_are_capped(web: Web) -> None:
    await login(web.client)
    token = await panel_csrf(web.client)
    panels = [await web.client.ws_connect(f"/agent/ws?csrf={token}") for _ in range(10)]
    for ws in panels:
        assert (await ws.receive_json(timeout=3))["type"] == "hello"
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await web.client.ws_connect(f"/agent/ws?csrf={token}")
    assert err.value.status == 429
    await asyncio.gather(*(ws.close() for ws in panels))


@pytest.mark.parametrize("enabled", [True, False])
async def test_the_panel_links_to_recordings_only_when_recording_is_on(
        web_factory: WebFactory, enabled: bool) -> None:
    config = make_config()
    config = dataclasses.replace(config, recording=dataclasses.replace(
        config.recording, enabled=enabled))
    web = await web_factory(config)
    await login(web.client)
    html = await (await web.client.get("/agent/")).text()
    assert ('id="recordings-link" href="/agent/recordings"' in html) is enabled
