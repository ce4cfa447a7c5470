"""The CRM customer card in the real panel (Chromium), from a local CRM HTTP
server: the pop is on screen while a slow CRM still sleeps, the card follows;
a failing CRM shows a clear message and the call goes on."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.browser.test_control_plane_e2e import ALICE, TIMEOUT_MS, open_agent, open_customer
from tests.conftest import make_config
from vidline.config import parse_config

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]


class Crm:
    """An EspoCRM-shaped REST endpoint: ``GET /api/v1/Contact?phone=...``."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()
        self.keys: list[str | None] = []

    async def contact(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("X-Api-Key"))
        phone = request.query.get("phone")
        if phone == "+15550500":
            return web.Response(status=500, text="database down")
        self.asked.set()
        await self.release.wait()  # slow: answers only when the test says so
        return web.json_response({"total": 1, "list": [{
            "name": "Grace Hopper", "emailAddress": "grace@example.com",
            "accountName": "COBOL Inc."}]})


@pytest.fixture
async def crm() -> AsyncIterator[tuple[Crm, int]]:
    crm = Crm()
    app = web.Application()
    app.router.add_get("/api/v1/Contact", crm.contact)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield crm, server.port
    crm.release.set()
    await server.close()


async def test_card_follows_the_pop_and_failures_are_explained(
    browser: Any, runtime_factory: Any, mariadb_url: str, crm: tuple[Crm, int]
) -> None:
    fake, port = crm
    config = make_config(mariadb_url)
    lookup = parse_config({"crm": {"lookup": {
        "connector": "http", "timeout": 20.0,
        "url_template": f"http://127.0.0.1:{port}/api/v1/Contact?phone={{{{ phone }}}}",
        "headers": {"X-Api-Key": "test-key"}, "title": "list.0.name",
        "fields": {"E-mail": "list.0.emailAddress", "Account": "list.0.accountName"},
    }}}).crm.lookup
    config = dataclasses.replace(config, crm=dataclasses.replace(config.crm, lookup=lookup))
    runtime = await runtime_factory(config)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)

    slow = await open_customer(browser, runtime, "cust-slow", "+15550400")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    await agent.wait_for_selector("#pop[data-phase=ringing]", timeout=TIMEOUT_MS)
    async with asyncio.timeout(10):
        await fake.asked.wait()
    # the CRM has the request and has not answered: the pop is already there
    assert not fake.release.is_set()
    assert await agent.text_content("#pop-context dd[data-field=phone]") == "+15550400"
    await agent.wait_for_selector("#crm-card[data-state=loading]", timeout=TIMEOUT_MS)
    assert await agent.is_visible("#tool-crm")
    fake.release.set()
    await agent.wait_for_selector("#crm-card[data-state=ok]", timeout=TIMEOUT_MS)
    assert await agent.text_content("#crm-card-title") == "Grace Hopper"
    assert await agent.text_content("#crm-card-fields dd[data-label=E-mail]") \
        == "grace@example.com"
    assert await agent.text_content("#crm-card-fields dd[data-label=Account]") == "COBOL Inc."
    assert fake.keys == ["test-key"]
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#pop[data-phase=connected]", timeout=TIMEOUT_MS)
    await slow.click("#vl-hangup")
    await agent.wait_for_selector("#pop[data-phase=ended]", timeout=TIMEOUT_MS)
    await ctl.wait_for(lambda: not ctl.in_call(ALICE))

    failing = await open_customer(browser, runtime, "cust-fail", "+15550500")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    await agent.wait_for_selector("#pop[data-phase=ringing]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#crm-card[data-state=error]", timeout=TIMEOUT_MS)
    message = await agent.text_content("#crm-card-message") or ""
    assert "CRM lookup failed" in message and "HTTP 500" in message
    assert await agent.text_content("#crm-card-fields") == ""
    assert await ctl.answer(ALICE)  # the call goes on regardless
    await agent.wait_for_selector("#pop[data-phase=connected]", timeout=TIMEOUT_MS)
    await failing.click("#vl-hangup")
    await agent.wait_for_selector("#pop[data-phase=ended]", timeout=TIMEOUT_MS)
