"""The foundation end to end: real Chromium pages, the sandbox PBX over real
AMI and AudioSocket sockets, and the rows in a real MariaDB."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.ami_observer import AmiObserver
from tests.conftest import make_config, mariadb_rows

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 10_000


async def open_customer(browser: Any, runtime: Any, customer_id: str, phone: str) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.goto(runtime.customer_url)
    await page.fill("#vl-customer-id", customer_id)
    await page.fill("#vl-phone", phone)
    await page.select_option("#vl-category", "billing")
    await page.click("#vl-submit")
    return page


async def open_agent(browser: Any, runtime: Any) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.goto(runtime.agent_url)
    await page.fill("#username", "alice")
    await page.fill("#password", "alice-pass")
    await page.click("#login-submit")
    await page.wait_for_selector("#conn-state[data-state=online]", timeout=TIMEOUT_MS)
    return page


async def wait_text(page: Any, selector: str, text: str) -> None:
    await page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.textContent || '').includes(t)",
        arg=[selector, text], timeout=TIMEOUT_MS,
    )


async def test_customer_queues_agent_pops_and_rows_land_in_mariadb(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    await runtime.service.set_paused("alice", True, "briefing")  # stay queued first
    # the pause went to the PBX and came back as its event: the panel mirrors it
    await agent.wait_for_selector("#presence-state[data-paused=true]", timeout=TIMEOUT_MS)
    await wait_text(agent, "#presence-state", "briefing")

    customer = await open_customer(browser, runtime, "cust-1042", "+15551234")
    await wait_text(customer, "#vl-position", "1 of 1 in line")

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    await agent.wait_for_selector("#pop[data-phase=ringing]", timeout=TIMEOUT_MS)
    assert await agent.text_content("#pop-context dd[data-field=customer_id]") == "cust-1042"
    assert await agent.text_content("#pop-context dd[data-field=phone]") == "+15551234"
    assert await agent.text_content("#pop-context dd[data-field=category]") == "billing"
    crm = await agent.get_attribute("#crm-link", "href")
    assert crm == "https://crm.example.com/customers?id=cust-1042&phone=%2B15551234"
    interaction_id = (await agent.text_content("#pop-id") or "").strip()
    assert runtime.service.get(interaction_id) is not None

    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#pop[data-phase=connected]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT_MS)
    await wait_text(customer, "#vl-status", "Agent Alice")

    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#pop[data-phase=ended]", timeout=TIMEOUT_MS)
    await ctl.flush_db()

    rows = mariadb_rows(mariadb_url, "SELECT * FROM queue_log WHERE callid = %s ORDER BY id",
                        (interaction_id,))
    events = [r["event"] for r in rows]
    assert events[:2] == ["VIDEOCHAT", "ENTERQUEUE"]
    assert events[-2:] == ["CONNECT", "COMPLETECALLER"]
    videochat = rows[0]
    assert (videochat["queuename"], videochat["agent"]) == ("support", "NONE")
    assert (videochat["data1"], videochat["data2"], videochat["data3"]) == (
        interaction_id, "billing", "cust-1042")
    assert rows[-1]["agent"] == "Agent Alice"

    cdr = mariadb_rows(mariadb_url, "SELECT * FROM cdr WHERE uniqueid = %s", (interaction_id,))
    assert len(cdr) == 1
    assert cdr[0]["linkedid"] == interaction_id
    assert cdr[0]["vidline_session"] == interaction_id
    assert cdr[0]["vidline_customer_id"] == "cust-1042"
    assert cdr[0]["vidline_phone"] == "+15551234"
    assert cdr[0]["vidline_category"] == "billing"
    assert cdr[0]["vidline_queue"] == "support"
    assert cdr[0]["vidline_page_url"].startswith(runtime.base_url)
    assert cdr[0]["disposition"] == "ANSWERED"


async def test_two_customers_one_agent_positions(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))
    ctl = runtime.sandbox.control
    await runtime.service.set_paused("alice", True, "briefing")
    first = await open_customer(browser, runtime, "cust-1", "+15550001")
    await wait_text(first, "#vl-position", "1 of 1 in line")
    second = await open_customer(browser, runtime, "cust-2", "+15550002")
    await wait_text(second, "#vl-position", "2 of 2 in line")
    await wait_text(first, "#vl-position", "1 of 2 in line")

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await first.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT_MS)
    await wait_text(second, "#vl-position", "1 of 1 in line")
    await first.click("#vl-hangup")
    await second.click("#vl-hangup")
    await second.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)


async def test_abandon_while_queued(browser: Any, runtime_factory: Any, mariadb_url: str) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))
    ctl = runtime.sandbox.control
    await runtime.service.set_paused("alice", True, "lunch")
    customer = await open_customer(browser, runtime, "cust-9", "+15550009")
    await wait_text(customer, "#vl-position", "1 of 1 in line")
    [interaction] = [i for i in runtime.service.store]
    assert any(c.uniqueid == interaction.id for c in ctl.channels())
    observer = AmiObserver()
    await observer.connect("127.0.0.1", runtime.sandbox.ami_port, "vidline", "s3cret")

    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    assert interaction.end_reason.value == "abandoned"
    async with asyncio.timeout(5):
        hangup = await observer.wait_for(
            lambda m: m.event == "Hangup" and m.get("Uniqueid") == interaction.id)
    assert hangup.get("Channel").endswith(interaction.id)
    abandon = observer.events("QueueCallerAbandon")
    assert [m.get("Uniqueid") for m in abandon] == [interaction.id]
    await observer.close()
    await ctl.wait_for(lambda: not ctl.channels())
    await ctl.flush_db()
    rows = mariadb_rows(mariadb_url, "SELECT event FROM queue_log WHERE callid = %s ORDER BY id",
                        (interaction.id,))
    assert [r["event"] for r in rows] == ["VIDEOCHAT", "ENTERQUEUE", "ABANDON"]
