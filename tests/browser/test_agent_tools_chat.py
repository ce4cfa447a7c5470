"""Chat and wrap-up end to end: the real widget page and the real agent panel
in Chromium, the sandbox PBX over real AMI/AudioSocket, rows in MariaDB."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.browser.test_control_plane_e2e import (
    ALICE,
    TIMEOUT_MS,
    open_agent,
    open_customer,
    wait_text,
)
from tests.conftest import make_config, mariadb_rows

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]


async def chat_items(page: Any, log: str) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = await page.eval_on_selector_all(
        f"{log} > li", "items => items.map(li => [li.dataset.from, li.textContent])")
    return result


async def wait_items(page: Any, log: str, count: int) -> list[tuple[str, str]]:
    await page.wait_for_function("([s, n]) => document.querySelectorAll(s + ' > li').length >= n",
                                 arg=[log, count], timeout=TIMEOUT_MS)
    return await chat_items(page, log)


async def wait_rows(url: str, sql: str, params: tuple[Any, ...],
                    ready: Any) -> list[dict[str, Any]]:
    """Rows once ``ready(rows)``: the reporting writer is a thread of its own."""
    async with asyncio.timeout(10):
        while True:
            rows = await asyncio.to_thread(mariadb_rows, url, sql, params)
            if ready(rows):
                return rows
            await asyncio.sleep(0.1)


async def test_chat_both_ways_history_after_reloads_then_wrapup_saved(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    customer = await open_customer(browser, runtime, "cust-7", "+15550007")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#pop[data-phase=connected]", timeout=TIMEOUT_MS)
    iid = (await agent.text_content("#pop-id") or "").strip()
    await agent.wait_for_selector("#tool-chat:not([hidden]) #chat-input:not([disabled])",
                                  timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-chat:not([hidden])", timeout=TIMEOUT_MS)

    # customer -> agent, with the typing indicator first
    await customer.type("#vl-chat-input", "My invoice <b>is</b> wrong")
    await agent.wait_for_selector("#chat-typing:not([hidden])", timeout=TIMEOUT_MS)
    await customer.click("#vl-chat-send")
    [(side, text)] = await wait_items(agent, "#chat-log", 1)
    assert side == "customer" and "My invoice <b>is</b> wrong" in text
    assert await agent.locator("#chat-log b").count() == 0  # text, never markup

    # agent -> customer, sent with Enter
    await agent.fill("#chat-input", "Let me check that for you.")
    await agent.press("#chat-input", "Enter")
    items = await wait_items(customer, "#vl-chat-log", 2)
    assert [f for f, _ in items] == ["customer", "agent"]
    assert "Let me check that for you." in items[1][1]
    assert await agent.input_value("#chat-input") == ""

    # both pages reload: the history comes back from the server
    await agent.reload()
    assert agent.url.endswith(f"/agent/i/{iid}")
    items = await wait_items(agent, "#chat-log", 2)
    assert [f for f, _ in items] == ["customer", "agent"]
    await customer.reload()
    items = await wait_items(customer, "#vl-chat-log", 2)
    assert "Let me check that for you." in items[1][1]
    ids = await agent.eval_on_selector_all("#chat-log > li", "l => l.map(li => li.dataset.id)")
    assert ids == ["1", "2"]

    # wrap-up: during the call a draft, after it the saved record
    await agent.wait_for_selector("#tool-wrapup:not([hidden]) "
                                  "#wrapup-disposition option[value=Escalated]",
                                  state="attached", timeout=TIMEOUT_MS)
    await agent.select_option("#wrapup-disposition", "Escalated")
    await agent.fill("#wrapup-notes", "Invoice 12 wrong; refund <pending>")
    await agent.wait_for_selector("#wrapup-state[data-state=draft]", timeout=TIMEOUT_MS)
    await customer.click("#vl-hangup")
    await agent.wait_for_selector("#pop[data-phase=ended]", timeout=TIMEOUT_MS)
    assert await agent.is_disabled("#chat-input")  # read-only after the call
    await agent.click("#wrapup-save")
    await agent.wait_for_selector("#wrapup-state[data-state=saved]", timeout=TIMEOUT_MS)
    assert await agent.is_disabled("#wrapup-save")

    await agent.reload()  # the ended call is no longer a pop: the URL brings it back
    await agent.wait_for_selector("#wrapup-state[data-state=saved]", timeout=TIMEOUT_MS)
    assert await agent.input_value("#wrapup-disposition") == "Escalated"
    assert await agent.input_value("#wrapup-notes") == "Invoice 12 wrong; refund <pending>"
    assert len(await wait_items(agent, "#chat-log", 2)) == 2

    events = await wait_rows(
        mariadb_url, "SELECT kind, data FROM vidline_interaction_events "
        "WHERE interaction_id = %s AND kind IN ('chat_message', 'wrapup') ORDER BY seq",
        (iid,), lambda rows: len(rows) == 3)
    assert [r["kind"] for r in events] == ["chat_message", "chat_message", "wrapup"]
    assert json.loads(events[0]["data"]) == {"from": "customer", "id": 1,
                                             "text": "My invoice <b>is</b> wrong"}
    assert json.loads(events[2]["data"]) == {"agent": "alice", "disposition": "Escalated",
                                             "notes": "Invoice 12 wrong; refund <pending>"}
    row = await wait_rows(mariadb_url, "SELECT chat_messages FROM vidline_interactions "
                          "WHERE id = %s", (iid,), lambda rows: rows and
                          rows[0]["chat_messages"] == 2)
    assert row[0]["chat_messages"] == 2
    await wait_text(agent, "#chat-for", "read-only")
