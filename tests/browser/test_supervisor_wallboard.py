"""The supervisor page in real Chromium: the live wallboard shows a waiting
video chat and a paused agent (sandbox PBX over real AMI, MariaDB), and the
report table shows that video chat as offered."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.integration.e2e.test_supervisor import SAM_PASSWORD, supervised_config

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]

TIMEOUT_MS = 10_000


async def test_wallboard_shows_a_waiting_video_chat_and_a_paused_agent(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(supervised_config(mariadb_url))
    await runtime.pbx.pause_member("PJSIP/1001", True, "Lunch")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{runtime.base_url}/api/v1/interactions",
                             json={"phone": "+15557777", "category": "billing"}) as resp:
            iid = (await resp.json())["id"]
    ctl = runtime.sandbox.control
    await ctl.wait_for(lambda: any(r.event == "ENTERQUEUE" and r.callid == iid
                                   for r in ctl.queue_log()))
    await ctl.flush_db()

    page = await (await browser.new_context()).new_page()
    await page.goto(f"{runtime.base_url}/agent/supervisor")
    await page.fill("#username", "sam")
    await page.fill("#password", SAM_PASSWORD)
    await page.click("#login-submit")
    await page.wait_for_selector("#sv-conn-state[data-state=online]", timeout=TIMEOUT_MS)

    caller = ".wb-queue[data-queue=support] .wb-caller[data-kind=video]"
    await page.wait_for_selector(caller, timeout=TIMEOUT_MS)
    assert await page.get_attribute(caller, "data-id") == iid
    text = await page.text_content(caller) or ""
    assert text.startswith("Video · +15557777 · 0:")
    count = ".wb-queue[data-queue=support] .wb-count[data-kind=video]"
    assert (await page.text_content(count) or "").strip() == "Video: 1"

    agent = ".wb-agent[data-interface='PJSIP/1001']"
    await page.wait_for_selector(f"{agent}[data-state=paused]", timeout=TIMEOUT_MS)
    assert await page.text_content(agent) == "Agent Alice · paused (Lunch)"

    offered = "#report-body tr[data-group=support][data-kind=video] td[data-column=offered]"
    await page.wait_for_selector(offered, timeout=TIMEOUT_MS)
    assert await page.text_content(offered) == "1"

    # the caller leaves: the board drops them without a reload
    await runtime.service.leave(iid)
    await page.wait_for_selector(caller, state="detached", timeout=TIMEOUT_MS)
