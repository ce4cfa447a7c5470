"""The customer widget during a call, against the real agent panel: chat both
ways with the typing indicator and the history after a reload, call controls,
and the co-browsing consent (decline, accept, stop)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 10_000


async def connected_call(browser: Any, runtime_factory: Any, tmp_path: Path) -> tuple[Any, ...]:
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/vidline.db"))
    ctl = runtime.sandbox.control
    agent = await (await browser.new_context()).new_page()
    await agent.goto(runtime.agent_url)
    await agent.fill("#username", "alice")
    await agent.fill("#password", "alice-pass")
    await agent.click("#login-submit")
    await agent.wait_for_selector("#conn-state[data-state=online]", timeout=TIMEOUT_MS)
    customer = await (await browser.new_context()).new_page()
    await customer.goto(runtime.customer_url)
    await customer.fill("#vl-customer-id", "cust-5")
    await customer.click("#vl-submit")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    # the chat is not there before the call is
    assert not await customer.is_visible("#vl-chat")
    assert await ctl.answer(ALICE)
    await customer.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    return runtime, agent, customer


async def texts(page: Any, selector: str) -> list[list[str]]:
    result: list[list[str]] = await page.eval_on_selector_all(
        selector, "(items) => items.map((li) => [li.dataset.from, li.lastChild.textContent])")
    return result


async def test_chat_both_ways_typing_and_history_after_reload(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    _, agent, customer = await connected_call(browser, runtime_factory, tmp_path)
    await customer.wait_for_selector("#vl-chat", state="visible", timeout=TIMEOUT_MS)
    # markup in a message stays text
    await customer.fill("#vl-chat-input", "<b>my router</b> blinks red")
    await customer.press("#vl-chat-input", "Enter")
    await agent.wait_for_selector("#chat-log li[data-from=customer]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-chat-log li[data-from=customer][data-id='1']",
                                     timeout=TIMEOUT_MS)
    assert await customer.input_value("#vl-chat-input") == ""
    assert await customer.eval_on_selector("#vl-chat-log", "(n) => n.querySelector('b')") is None

    # the agent types: the customer sees it, then the answer
    await agent.type("#chat-input", "Let me check")
    await customer.wait_for_selector("#vl-chat-typing", state="visible", timeout=TIMEOUT_MS)
    await agent.click("#chat-send")
    await customer.wait_for_selector("#vl-chat-log li[data-from=agent]", timeout=TIMEOUT_MS)
    assert await customer.is_hidden("#vl-chat-typing")
    expected = [["customer", "<b>my router</b> blinks red"], ["agent", "Let me check"]]
    assert await texts(customer, "#vl-chat-log li") == expected
    assert "Agent Alice" in (await customer.text_content("#vl-chat-log li[data-from=agent]")
                             or "")

    # a reload mid-call: the history comes back from the server
    await customer.reload()
    await customer.wait_for_selector("#vl-chat-log li[data-id='2']", timeout=TIMEOUT_MS)
    assert await texts(customer, "#vl-chat-log li") == expected

    # the call controls act on the tracks the agent gets
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await customer.click("#vl-camera")
    assert await customer.get_attribute("#vl-camera", "aria-pressed") == "true"
    assert await customer.evaluate(
        "() => window.vidlineMedia.pc.getSenders().find((s) => s.track?.kind === 'video')"
        ".track.enabled") is False

    # after the call the log stays readable, the input is closed
    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    assert await customer.is_visible("#vl-chat-log li[data-id='2']")
    assert await customer.is_disabled("#vl-chat-input")


LISTEN = """() => { window.got = []; window.vidlinePanelMedia.channel.addEventListener(
  "message", (e) => {
    if (e.data.includes('cobrowse-state')) window.got.push(JSON.parse(e.data)); }); }"""


async def test_cobrowse_consent_decline_accept_and_stop(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    _, agent, customer = await connected_call(browser, runtime_factory, tmp_path)
    await agent.wait_for_function(
        "() => window.vidlinePanelMedia?.channel.readyState === 'open'", timeout=TIMEOUT_MS)
    await agent.evaluate(LISTEN)
    assert await customer.is_hidden("#vl-cobrowse-consent")

    # the agent asks; the customer says no: nothing is recorded
    await agent.click("#cobrowse-request")
    await customer.wait_for_selector("#vl-cobrowse-consent", state="visible", timeout=TIMEOUT_MS)
    assert await customer.evaluate("() => document.activeElement.id") == "vl-cobrowse-accept"
    await customer.click("#vl-cobrowse-decline")
    await agent.wait_for_selector("#cobrowse-state[data-state=declined]", timeout=TIMEOUT_MS)
    assert await customer.is_hidden("#vl-cobrowse-consent")
    assert await customer.is_hidden("#vl-cobrowse-on")
    assert await agent.evaluate("() => window.got") == [{"t": "cobrowse-state", "on": False}]

    # asked again: yes. The customer sees that it is on; the agent sees the page
    await agent.click("#cobrowse-request")
    await customer.wait_for_selector("#vl-cobrowse-consent", state="visible", timeout=TIMEOUT_MS)
    await customer.click("#vl-cobrowse-accept")
    await customer.wait_for_selector("#vl-cobrowse-on", state="visible", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#cobrowse-state[data-state=on]", timeout=TIMEOUT_MS)
    await agent.wait_for_function("() => window.vidlineCobrowse.received > 0",
                                  timeout=TIMEOUT_MS)
    assert await customer.is_hidden("#vl-cobrowse-consent")

    # the customer stops it at any time
    await customer.click("#vl-cobrowse-stop")
    await customer.wait_for_selector("#vl-cobrowse-on", state="hidden", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#cobrowse-state[data-state=stopped]", timeout=TIMEOUT_MS)
    got = await agent.evaluate("() => window.got.map((m) => m.on)")
    assert got == [False, True, False], got
