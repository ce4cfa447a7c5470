"""Every task of the sandbox has a stop path: close() ends calls that are
still bridged (also one bridged while vidline's ESL link was down) and
returns promptly even when a task shrugs off the first cancellation."""

from __future__ import annotations

import asyncio

from tests.integration.sandbox_esl.harness import lab_config, running
from vidline.pbx.sandbox.pbx import SandboxPbx

UUID = "77777777-0000-4000-8000-000000000001"
ORIGINATE = ("bgapi originate {origination_uuid=" + UUID + ",vidline_session=s1}"
             "loopback/customer_device/default &callcenter(support@default)")
AGENT = "1001@default"


async def test_close_ends_a_call_bridged_while_the_link_was_down() -> None:
    async with running() as (pbx, client):  # closes the sandbox within 10 s
        ctl = pbx.control
        ctl.fs.set_agent_status("1002@default", "On Break")
        await client.command(ORIGINATE)
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        ctl.fs.drop_esl()
        await asyncio.wait_for(client.eof.wait(), 5)
        assert await ctl.answer(AGENT)
        await ctl.wait_for(lambda: ctl.fs.agent_state(AGENT) == "In a queue call")
    assert ctl.fs.channels() == {}
    assert not ctl.in_call(AGENT)
    member = [line for line in ctl.fs.cdr_lines() if line.startswith(f'"{UUID}"')]
    assert len(member) == 1 and '"SYSTEM_SHUTDOWN"' in member[0]


async def test_close_does_not_wait_forever_for_a_task_that_ignores_a_cancel() -> None:
    pbx = SandboxPbx(lab_config(), use_db=False)
    await pbx.start()
    stuck, cancels = asyncio.Event(), []

    async def stubborn() -> None:
        # what a task suppressing CancelledError around an await looks like
        try:
            await stuck.wait()
        except asyncio.CancelledError:
            cancels.append(1)
        await stuck.wait()

    task = pbx.spawn(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(pbx.close(), 15)
    assert task.done() and len(cancels) == 1
