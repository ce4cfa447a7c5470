"""The panel's chat in real Chromium against the in-process app (the fake
InteractionsApi plays the service, a Python WebSocket plays the customer):
the unread marker of a call that is not on screen, hostile text staying
text, and no console errors from the tools under the strict CSP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.web.conftest import AGENT_REF, PASSWORD, make_config
from tests.integration.web.test_chat import Recorded, customer, make_web, until
from tests.integration.web.test_pages_browser import base, browser, new_page
from vidline.interactions.state import State

pytestmark = [pytest.mark.browser]
__all__ = ["browser"]  # the Chromium fixture, shared with test_pages_browser


@pytest.fixture
async def chat_web() -> AsyncIterator[Recorded]:
    web = await make_web(make_config(requests_per_minute=1000))
    yield web
    await web.client.close()


def pop(iid: str, customer_id: str) -> dict[str, Any]:
    return {"type": "pop", "phase": "connected", "interaction": {
        "id": iid, "queue": "support", "route_reason": "default", "crm_url": None,
        "context": {"customer_id": customer_id}}}


async def test_unread_marker_and_hostile_text(chat_web: Recorded, browser: Any) -> None:
    first, second = await chat_web.create(), await chat_web.create()
    sockets = []
    for created in (first, second):
        chat_web.fake.update(created["id"], state=State.CONNECTED, agent=AGENT_REF)
        sockets.append(await customer(chat_web, created))
    page, problems = await new_page(browser)
    await page.goto(base(chat_web) + "/agent/")
    await page.fill("#username", "alice")
    await page.fill("#password", PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("#conn-state[data-state=online]")
    chat_web.hub.pop("alice", pop(first["id"], "c-first"))
    chat_web.hub.pop("alice", pop(second["id"], "c-second"))  # the newest is shown
    await page.wait_for_function("id => document.getElementById('pop-id').textContent === id",
                                 arg=second["id"])
    await page.wait_for_selector("#tool-chat:not([hidden]) #chat-input:not([disabled])")

    hostile = '<img src=x onerror="window.__pwned=1"> hi'
    await sockets[0].send_json({"type": "chat", "text": hostile})
    await until(sockets[0], "chat")
    item = f'#pop-list li[data-id="{first["id"]}"]'
    await page.wait_for_selector(f'{item}[data-unread="1"]')
    assert await page.locator("#chat-log > li").count() == 0  # not the shown call's log

    await page.click(f"{item} button")
    await page.wait_for_selector('#chat-log > li[data-from=customer][data-id="1"]')
    assert hostile in (await page.text_content("#chat-log > li .chat-text") or "")
    assert await page.locator("#chat-log img").count() == 0
    assert await page.evaluate("window.__pwned") is None
    assert await page.get_attribute(item, "data-unread") is None

    # the customer types: the indicator shows; the agent answers with Enter
    await sockets[0].send_json({"type": "typing"})
    await page.wait_for_selector("#chat-typing:not([hidden])")
    await page.fill("#chat-input", "Hello")
    await page.press("#chat-input", "Enter")
    assert (await until(sockets[0], "chat", **{"from": "agent"}))["text"] == "Hello"
    await page.wait_for_selector('#chat-log > li[data-from=agent][data-id="2"]')
    assert problems == []
