"""Presence from the real panel: the agent's Pause button reaches the sandbox
PBX as an AMI QueuePause (seen by an independent AMI client and in the
sandbox's queue members), a paused agent is not rung and gets no pop while a
customer waits, and Resume brings the pop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.ami_observer import AmiObserver
from tests.browser.test_control_plane_e2e import (
    ALICE,
    TIMEOUT_MS,
    open_agent,
    open_customer,
    wait_text,
)
from tests.conftest import make_config

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]


async def test_pause_reaches_the_pbx_and_a_paused_agent_gets_no_pop(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(make_config(mariadb_url, auto_answer=0.2))
    observer = AmiObserver()
    await observer.connect("127.0.0.1", runtime.sandbox.ami_port, "vidline", "s3cret")
    agent = await open_agent(browser, runtime)

    await agent.select_option("#pause-reason", "Lunch")
    await agent.click("#pause-button")
    async with asyncio.timeout(5):
        for queue in ("support", "sales"):
            await observer.wait_for(lambda m, q=queue: m.event == "QueueMemberPause"
                                    and m.get("Queue") == q and m.get("Interface") == ALICE
                                    and m.get("Paused") == "1")
    pauses = [m for m in observer.events("QueueMemberPause") if m.get("Interface") == ALICE]
    assert {m.get("Queue") for m in pauses} >= {"support", "sales"}
    assert all(m.get("PausedReason") == "Lunch" for m in pauses)
    members = [m for q in runtime.sandbox.queues.values() for m in q.members
               if m.interface == ALICE]
    assert members and all(m.paused and m.paused_reason == "Lunch" for m in members)
    await agent.wait_for_selector("#presence-state[data-paused=true]", timeout=TIMEOUT_MS)
    await wait_text(agent, "#presence-state", "Lunch")

    customer = await open_customer(browser, runtime, "cust-p", "+15550300")
    await wait_text(customer, "#vl-position", "1 of 1 in line")
    # the queue has its caller and polls its members: alice, paused, is not rung
    interaction = next(iter(runtime.service.store))
    await observer.wait_for(lambda m: m.event == "QueueCallerJoin"
                            and m.get("Uniqueid") == interaction.id)
    assert not ctl_ringing(runtime)
    assert await agent.locator("#pop-list li").count() == 0
    assert await agent.get_attribute("#pop", "data-phase") == "none"

    await agent.click("#resume-button")
    unpaused = await observer.wait_for(lambda m: m.event == "QueueMemberPause"
                                       and m.get("Interface") == ALICE
                                       and m.get("Paused") == "0")
    await agent.wait_for_selector("#pop[data-phase=ringing], #pop[data-phase=connected]",
                                  timeout=TIMEOUT_MS)
    # the first ring came only after the unpause, in the PBX's own event order
    called = [i for i, m in enumerate(observer.messages)
              if m.event == "AgentCalled" and m.get("Uniqueid") == interaction.id]
    assert called and called[0] > observer.messages.index(unpaused)
    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    await observer.close()


def ctl_ringing(runtime: Any) -> bool:
    return bool(runtime.sandbox.control.ringing(ALICE))
