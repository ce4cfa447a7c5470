"""Wrap-up over HTTP and the CRM card over the panel socket, against an
in-process app; the CRM is a real local aiohttp server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.integration.web.conftest import AGENT_REF, Web, make_config
from tests.integration.web.test_agent_http import panel_csrf
from tests.integration.web.test_chat import agent, make_web, until
from vidline.config import parse_config
from vidline.interactions.journal import Entry
from vidline.interactions.state import State


@pytest.fixture
async def wrapup_web() -> AsyncIterator[tuple[Web, list[Entry]]]:
    web_ = await make_web(make_config())
    yield web_, web_.entries
    await web_.client.close()


async def test_wrapup_draft_then_save_then_locked(wrapup_web: tuple[Web, list[Entry]]) -> None:
    web_, entries = wrapup_web
    created = await web_.create()
    iid = created["id"]
    path = f"/agent/api/interactions/{iid}/wrapup"
    assert (await web_.client.get(path)).status == 401
    await agent(web_)  # logs in
    token = await panel_csrf(web_.client)
    # not this agent's call yet (queued): nothing to see, nothing to write
    assert (await (await web_.client.get(path)).json()) == {"interaction": None,
                                                             "available": False}
    assert (await web_.client.put(path, json={}, headers={"X-CSRF-Token": token})).status == 404
    web_.fake.update(iid, state=State.CONNECTED, agent=AGENT_REF)
    body = await (await web_.client.get(path)).json()
    assert body["dispositions"][0] == "Resolved" and body["wrapup"] is None

    headers = {"X-CSRF-Token": token}
    refused = await web_.client.put(path, json={"disposition": "Resolved"})
    assert refused.status == 403
    bad = await web_.client.put(path, json={"disposition": "<script>", "notes": ""},
                                headers=headers)
    assert bad.status == 400 and (await bad.json())["field"] == "disposition"
    no_choice = await web_.client.put(path, json={"notes": "x", "final": True}, headers=headers)
    assert (await no_choice.json())["field"] == "disposition"
    long = await web_.client.put(path, json={"notes": "x" * 4001}, headers=headers)
    assert long.status == 400 and (await long.json())["field"] == "notes"

    draft = await web_.client.put(path, json={"disposition": "Escalated", "notes": "call back"},
                                  headers=headers)
    assert draft.status == 200 and (await draft.json())["wrapup"]["saved"] is False
    assert entries == []  # a draft is not the record
    web_.fake.update(iid, state=State.ENDED)
    saved = await web_.client.put(path, json={"disposition": "Resolved",
                                              "notes": "Refund\x07 sent\r\n", "final": True},
                                  headers=headers)
    assert saved.status == 200
    assert (await saved.json())["wrapup"]["notes"] == "Refund sent"
    assert [(e.kind, e.data) for e in entries] == [
        ("wrapup", {"disposition": "Resolved", "notes": "Refund sent", "agent": "alice"})]
    again = await web_.client.put(path, json={"disposition": "Other", "final": True},
                                  headers=headers)
    assert again.status == 409
    after = await (await web_.client.get(path)).json()
    assert after["wrapup"]["disposition"] == "Resolved" and after["wrapup"]["saved"]


# -- CRM card -------------------------------------------------------------------

class FakeCrm:
    """A CRM's REST API on loopback: answers, sleeps or fails per phone."""

    def __init__(self) -> None:
        self.requests: list[web.Request] = []
        self.release = asyncio.Event()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        phone = request.query.get("phone", "")
        if phone == "+15550003":
            await self.release.wait()
        if phone == "+15550002":
            return web.Response(status=500, text="boom")
        if phone == "+15550001":
            return web.json_response({"total": 0, "list": []})
        return web.json_response({"total": 1, "list": [{
            "id": "c-77", "name": "Ada <Lovelace>", "emailAddress": "ada@example.com",
            "accountName": "Analytical Engines", "vip": True,
            "link": "https://crm.example.com/#Contact/view/c-77"}]})


@pytest.fixture
async def crm_web() -> AsyncIterator[tuple[Web, FakeCrm]]:
    crm = FakeCrm()
    app = web.Application()
    app.router.add_get("/api/v1/Contact", crm.handle)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = make_config()
    config = parse_config({
        "categories": list(base.categories), "server": {"requests_per_minute": 1000},
        "agents": [{"username": "alice", "password_hash": base.agents[0].password_hash,
                    "interface": "PJSIP/1001", "member_name": "Agent Alice"}],
        "crm": {"lookup": {
            "connector": "http", "timeout": 5.0,
            "url_template": f"http://127.0.0.1:{server.port}/api/v1/Contact"
                            "?phone={{ phone }}&id={{ customer_id }}",
            "headers": {"X-Api-Key": "k-123"}, "title": "list.0.name",
            "record_url": "list.0.link",
            "fields": {"E-mail": "list.0.emailAddress", "Account": "list.0.accountName",
                       "VIP": "list.0.vip", "Missing": "list.0.nothing"}}}})
    web_ = await make_web(config)
    yield web_, crm
    crm.release.set()
    await web_.client.close()
    await server.close()


async def test_crm_card_ok_missing_failing_and_slow(crm_web: tuple[Web, FakeCrm]) -> None:
    web_, crm = crm_web
    aws = await agent(web_)
    ids = {}
    for phone in ("+15551234", "+15550001", "+15550002", "+15550003"):
        created = await web_.create(phone=phone, customer_id="a+b@c")
        ids[phone] = created["id"]
        web_.fake.update(created["id"], state=State.CONNECTED, agent=AGENT_REF)
    await aws.send_json({"type": "crm-lookup", "interaction": ids["+15550003"]})
    for phone in ("+15551234", "+15550001", "+15550002"):
        await aws.send_json({"type": "crm-lookup", "interaction": ids[phone]})
    # the slow CRM holds nothing up: the other three answer first
    cards = {}
    for _ in range(3):
        card = await until(aws, "crm-card")
        cards[card["interaction"]] = card
    assert set(cards) == {ids["+15551234"], ids["+15550001"], ids["+15550002"]}
    ok = cards[ids["+15551234"]]
    assert ok["status"] == "ok" and ok["card"] == {
        "title": "Ada <Lovelace>", "url": "https://crm.example.com/#Contact/view/c-77",
        "fields": [{"label": "E-mail", "value": "ada@example.com"},
                   {"label": "Account", "value": "Analytical Engines"},
                   {"label": "VIP", "value": "yes"}]}
    assert cards[ids["+15550001"]]["status"] == "not_found"
    failed = cards[ids["+15550002"]]
    assert failed["status"] == "error" and "HTTP 500" in failed["message"]
    first = crm.requests[0]
    assert first.headers["X-Api-Key"] == "k-123"
    assert first.raw_path.endswith("?phone=%2B15550003&id=a%2Bb%40c")  # values URL-escaped
    # the same panel's chat still works while the CRM sleeps
    await aws.send_json({"type": "chat-history", "interaction": ids["+15551234"]})
    await until(aws, "chat-history")
    crm.release.set()
    slow = await until(aws, "crm-card")
    assert slow["interaction"] == ids["+15550003"] and slow["status"] == "ok"
    # asked again (a reload): answered from the one lookup made
    await aws.send_json({"type": "crm-lookup", "interaction": ids["+15551234"]})
    assert (await until(aws, "crm-card"))["status"] == "ok"
    assert len(crm.requests) == 4


async def test_crm_lookup_off_and_not_yours(wrapup_web: tuple[Web, list[Entry]]) -> None:
    web_, _ = wrapup_web
    aws = await agent(web_)
    created = await web_.create()
    await aws.send_json({"type": "crm-lookup", "interaction": created["id"]})
    assert (await until(aws, "crm-card"))["status"] == "error"
    web_.fake.update(created["id"], state=State.CONNECTED, agent=AGENT_REF)
    await aws.send_json({"type": "crm-lookup", "interaction": created["id"]})
    assert (await until(aws, "crm-card"))["status"] == "off"
