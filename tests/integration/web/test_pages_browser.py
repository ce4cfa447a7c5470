"""The widget and the agent panel in real Chromium against the in-process web
app (the fake InteractionsApi plays the service): what a customer and an
agent see, that hostile context stays text, and that the strict CSP blocks
nothing the pages need."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.web.conftest import AGENT_REF, PASSWORD, Web, wait_for
from vidline.interactions.state import State

playwright_api = pytest.importorskip("playwright.async_api")
CHROMIUM = os.environ.get("VIDLINE_CHROMIUM", "/usr/bin/chromium")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="no chromium")]


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


async def new_page(browser: Any) -> tuple[Any, list[str]]:
    page = await browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return page, problems


def base(web: Web) -> str:
    return f"http://127.0.0.1:{web.client.server.port}"


async def test_customer_widget_queue_ring_connect_hangup(web: Web, browser: Any) -> None:
    page, problems = await new_page(browser)
    expect = playwright_api.expect
    await page.goto(base(web) + "/?from=ad")
    await expect(page.locator("#vl-category option")).to_have_count(3)
    await page.fill("#vl-customer-id", "c-42")
    await page.fill("#vl-phone", "+49 30 123")
    await page.select_option("#vl-category", "technical")
    await page.click("#vl-submit")
    # this Chromium has no camera: the device check says so, the customer goes on
    await expect(page.locator("#vl-devices")).to_have_attribute("data-state", "problem")
    await page.click("#vl-devices-continue")
    await expect(page.locator("#vl-position")).to_have_text("1 of 1 in line")
    await expect(page.locator("#vl-wait")).to_have_text("Expected wait: under a minute")
    context, _ = web.fake.created[0]
    assert context.page_url == base(web) + "/?from=ad"
    assert (context.customer_id, context.phone, context.category) == \
        ("c-42", "+4930123", "technical")
    iid = next(iter(web.fake.items))
    web.fake.update(iid, position=1, count=2, expected_wait=150)
    await expect(page.locator("#vl-status")).to_contain_text("1 of 2 in line")
    await expect(page.locator("#vl-wait")).to_have_text("Expected wait: about 3 min")
    web.fake.update(iid, state=State.RINGING)
    await expect(page.locator("#vl-status")).to_have_text("An agent is being connected")
    web.fake.update(iid, state=State.CONNECTED, agent=AGENT_REF)
    await expect(page.locator("#vl-status")).to_have_text("Connected with Agent Alice")
    await page.click("#vl-hangup")
    await expect(page.locator("#vl-status")).to_have_attribute("data-state", "ended")
    await expect(page.locator("#vl-status")).to_have_text("You ended the call.")
    assert web.fake.left == [iid]
    await expect(page.locator("#vl-restart")).to_be_visible()
    assert problems == []


async def test_widget_shows_the_refused_field_and_reattaches_after_reload(
        web: Web, browser: Any) -> None:
    page, problems = await new_page(browser)
    expect = playwright_api.expect
    await page.goto(base(web) + "/")
    await page.fill("#vl-phone", "call me maybe")
    await page.click("#vl-submit")
    await page.click("#vl-devices-continue")  # no camera here (see above)
    await expect(page.locator("#vl-error")).to_have_attribute("data-field", "phone")
    await expect(page.locator("#vl-phone")).to_have_attribute("aria-invalid", "true")
    await page.fill("#vl-phone", "")
    await page.click("#vl-submit")
    await page.click("#vl-devices-continue")
    await expect(page.locator("#vl-position")).to_have_text("1 of 1 in line")
    await page.reload()  # inside the grace period the place in line is kept
    await expect(page.locator("#vl-position")).to_have_text("1 of 1 in line")
    await asyncio.sleep(0.8)
    assert web.fake.left == []
    # a saved request the server no longer accepts falls back to the form
    await page.evaluate("""sessionStorage.setItem("vidline.interaction", JSON.stringify({
        id: "0b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d", token: "stale",
        ws_url: location.origin.replace("http", "ws") +
                "/api/v1/interactions/0b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d/ws"}))""")
    await page.reload()
    await expect(page.locator("#vl-form")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('vidline.interaction')") is None
    # the refused request (400) and the refused socket (403) are logged by
    # the browser; nothing else may be
    unexpected = [p for p in problems if "400" not in p and "403" not in p
                  and "WebSocket" not in p]
    assert unexpected == []


async def test_agent_panel_login_pop_crm_link_and_pause(web: Web, browser: Any) -> None:
    page, problems = await new_page(browser)
    expect = playwright_api.expect
    iid = "0b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d"
    await page.goto(base(web) + f"/agent/i/{iid}")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#conn-state")).to_have_attribute("data-state", "online")
    assert page.url.endswith(f"/agent/i/{iid}")
    hostile = '<img src=x onerror="window.__pwned=1">"&\r\nAction: Originate'
    crm = "https://crm.example.com/c?id=a%26b%22%3C"
    web.hub.pop("alice", {"type": "pop", "phase": "ringing", "interaction": {
        "id": iid, "queue": "support", "route_reason": "category:billing", "crm_url": crm,
        "context": {"customer_id": "c-42", "kiosk_location": hostile,
                    "extra": {"note": hostile}}}})
    await expect(page.locator("#pop-state")).to_have_text("Ringing")
    await expect(page.locator('#pop-context dd[data-field="kiosk_location"]')).to_have_text(
        hostile.replace("\r\n", "\n"))
    await expect(page.locator('#pop-context dd[data-field="extra.note"]')).to_have_count(1)
    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("#pop-context img").count() == 0
    await expect(page.locator("#crm-link")).to_have_attribute("href", crm)
    await expect(page.locator("#crm-link")).to_have_attribute("target", "_blank")
    web.hub.pop("alice", {"type": "pop", "phase": "connected", "interaction": {
        "id": iid, "queue": "support", "route_reason": "", "context": {},
        "crm_url": "javascript:window.__pwned=1"}})
    await expect(page.locator("#pop-state")).to_have_text("Connected")
    await expect(page.locator("#crm-link")).to_be_hidden()
    web.hub.pop("alice", {"type": "pop", "phase": "ended", "reason": "customer_left",
                          "interaction": {"id": iid, "context": {}, "crm_url": None}})
    await expect(page.locator("#pop-state")).to_have_text("Ended")
    await expect(page.locator("#pop-reason")).to_have_text("(the customer hung up)")
    await page.select_option("#pause-reason", "Lunch")
    await page.click("#pause-button")
    await expect(page.locator("#presence-state")).to_have_text("Paused: Lunch")
    await page.keyboard.press("Tab")  # keyboard reaches the resume button
    await page.focus("#resume-button")
    await page.keyboard.press("Enter")
    await expect(page.locator("#presence-state")).to_have_text("Available")
    assert web.fake.paused == [("alice", True, "Lunch"), ("alice", False, "")]
    await wait_for(lambda: True)
    assert problems == []


async def test_a_pop_waits_for_the_agent_to_open_the_panel(web: Web, browser: Any) -> None:
    iid = "1b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d"
    web.hub.pop("alice", {"type": "pop", "phase": "ringing", "interaction": {
        "id": iid, "queue": "support", "route_reason": "default", "crm_url": None,
        "context": {"phone": "+4930123"}}})
    page, problems = await new_page(browser)
    expect = playwright_api.expect
    await page.goto(base(web) + f"/agent/i/{iid}")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await expect(page.locator("#pop-state")).to_have_text("Ringing")
    await expect(page.locator('#pop-context dd[data-field="phone"]')).to_have_text("+4930123")
    await expect(page.locator(f'#pop-list li[data-id="{iid}"]')).to_have_count(1)
    assert problems == []
