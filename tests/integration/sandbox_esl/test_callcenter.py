"""mod_callcenter behaviours of the sandbox beyond the A..E replays: the
subscription trap and agent-max-no-answer (failed_first_try), cc_base_score
(pass2 J1), agent status commands (pass2 H), resync commands (pass2 F) and
the ESL login, each against what the real FreeSWITCH showed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.sandbox_esl.harness import (
    SUBSCRIBE,
    EslClient,
    lab_config,
    load_transcript,
)
from tests.integration.sandbox_esl.replay import replay
from vidline.pbx.sandbox.pbx import SandboxPbx

ORIGINATE = ("bgapi originate {{origination_uuid={uuid},vidline_session={session},"
             "origination_caller_id_number=5551234{extra}}}loopback/customer_device/default "
             "&callcenter({queue})")


async def started(**sandbox: Any) -> tuple[SandboxPbx, EslClient]:
    pbx = SandboxPbx(lab_config(**sandbox), use_db=False)
    await pbx.start()
    client = EslClient()
    await client.connect(pbx.esl_port)
    await client.wait(lambda m: m.content_type == "auth/request")
    return pbx, client


@pytest.fixture
async def lab() -> AsyncIterator[tuple[SandboxPbx, EslClient]]:
    pbx, client = await started()
    await client.command("auth vidline")
    await client.command(SUBSCRIBE)
    try:
        yield pbx, client
    finally:
        await client.close()
        await pbx.close()


def cc_view(messages: list[Any]) -> list[tuple[str, ...]]:
    return [(m.name, m.get("CC-Agent"), m.get("CC-Agent-State"), m.get("CC-Agent-Status"))
            for m in messages if m.content_type == "text/event-plain"]


async def test_trap_and_max_no_answer_like_failed_first_try() -> None:
    queues = [{"name": "support", "strategy": "longest-idle-agent", "ring_timeout": 1},
              {"name": "sales", "strategy": "longest-idle-agent"}]
    pbx, client = await started(queues=queues)
    try:
        # nobody answers: each offer ends with the ring timeout (the lab's
        # loopback agents failed the same way, by a bridge timeout)
        await replay(client, "failed_first_try/A_answered", settle=15)
        real = load_transcript("failed_first_try/A_answered.esl.txt")
        assert cc_view(client.messages) == cc_view(real)
        assert not [m for m in client.events() if not m.get("Event-Subclass")]
        fs = pbx.control.fs
        assert fs.agent_status("1001@default") == fs.agent_status("1002@default") == "On Break"
    finally:
        await client.close()
        await pbx.close()


async def test_base_score_overtakes_like_j1(lab: tuple[SandboxPbx, EslClient]) -> None:
    pbx, client = lab
    ctl = pbx.control
    for agent in ("1001@default", "1002@default"):
        await client.command(f"api callcenter_config agent set status {agent} 'On Break'")
    first, second = "11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"
    await client.command(ORIGINATE.format(uuid=first, session="low", extra="",
                                          queue="support@default"))
    await client.wait(lambda m: m.name == "member-queue-start")
    await asyncio.sleep(1.1)  # the first one has waited a second longer
    await client.command(ORIGINATE.format(uuid=second, session="high",
                                          extra=",cc_base_score=1000", queue="support@default"))
    await client.wait(lambda m: m.name == "members-count" and m.get("CC-Count") == "2")
    listing = (await client.command(
        "api callcenter_config queue list members support@default")).body.decode()
    scores = {row.split("|")[3]: int(row.split("|")[-1])
              for row in listing.splitlines()[1:-1]}
    assert scores[second] >= 1000 > scores[first] >= 1
    await client.command("api callcenter_config agent set status 1001@default 'Available'")
    offer = await client.wait(lambda m: m.name == "agent-offering")
    assert offer.get("CC-Member-Session-UUID") == second
    assert ctl.ringing("1001@default")


async def test_agent_status_commands_like_h(lab: tuple[SandboxPbx, EslClient]) -> None:
    _, client = lab
    reply = await client.command("api callcenter_config agent set status 1001 'On Break'")
    assert reply.body == b"-ERR Agent not found!\n"
    reply = await client.command("api callcenter_config agent set status 1001@default 'On Break'")
    assert reply.body == b"+OK\n"
    change = await client.wait(lambda m: m.name == "agent-status-change")
    assert change.get("CC-Agent-Status") == "On Break"
    assert [k for k, _ in change.event if k.startswith("variable_")] == []
    agents = (await client.command("api callcenter_config agent list 1001@default")).body
    assert agents.decode().splitlines()[1].split("|")[5] == "On Break"


async def test_resync_commands_like_f(lab: tuple[SandboxPbx, EslClient]) -> None:
    pbx, client = lab
    uuid = "22222222-0000-4000-8000-000000000001"
    for agent in ("1001@default", "1002@default"):
        await client.command(f"api callcenter_config agent set status {agent} 'On Break'")
    await client.command(ORIGINATE.format(uuid=uuid, session="sessF", extra="",
                                          queue="support@default"))
    await client.wait(lambda m: m.name == "member-queue-start")
    pbx.control.fs.drop_esl()  # the link drops; the call goes on (pass2 F)
    await asyncio.wait_for(client.eof.wait(), 5)
    again = EslClient()
    await again.login(pbx.esl_port)
    try:
        assert (await again.command(f"api uuid_exists {uuid}")).body == b"true"
        assert (await again.command(f"api uuid_getvar {uuid} vidline_session")).body == b"sessF"
        assert (await again.command(f"api uuid_getvar {uuid} cc_queue")).body == \
            b"support@default"
        b_leg = (await again.command(f"api uuid_getvar {uuid} other_loopback_leg_uuid")).body
        rows = json.loads((await again.command("api show channels as json")).body)
        assert rows["row_count"] == 2
        assert {r["uuid"] for r in rows["rows"]} == {uuid, b_leg.decode()}
        dump = json.loads((await again.command(f"api uuid_dump {uuid} json")).body)
        assert dump["Event-Name"] == "CHANNEL_DATA" and dump["variable_cc_side"] == "member"
        count = (await again.command("api callcenter_config queue count members support@default"))
        assert count.body == b"1\n"
    finally:
        await again.close()


async def test_bad_password_is_refused_and_closed() -> None:
    pbx, client = await started()
    try:
        reply = await client.command("auth wrong")
        assert reply.headers["Reply-Text"] == "-ERR invalid"
        await asyncio.wait_for(client.eof.wait(), 5)
    finally:
        await client.close()
        await pbx.close()


async def test_restart_like_g() -> None:
    pbx, client = await started()
    assert pbx.fs is not None
    pbx.fs.restart_close, pbx.fs.restart_down = 0.2, 0.6  # the lab: 1.1 s and 7.9 s
    try:
        await replay(client, "G_restart", settle=3)
        await asyncio.wait_for(client.eof.wait(), 5)
        real = load_transcript("G_restart.esl.txt")
        def view(events: list[Any]) -> list[tuple[str, ...]]:
            # BACKGROUND_JOB raced the b-leg's CHANNEL_ANSWER in the lab: order aside
            return [(m.name, m.get("Channel-Name"), m.get("Hangup-Cause"), m.get("CC-Cause"))
                    for m in events if m.name != "BACKGROUND_JOB"]
        assert view(client.events()) == \
            view([m for m in real if m.content_type == "text/event-plain"])
        assert client.messages[-1].body == b"The system is being shut down.\n"
        again = EslClient()
        with pytest.raises(OSError):  # refused while the switch is down
            await again.connect(pbx.esl_port)
        await pbx.control.wait_for(lambda: not pbx.fs.closing and pbx.fs.server._server
                                   is not None, timeout=5)
        await again.connect(pbx.esl_port)
        await again.wait(lambda m: m.content_type == "auth/request")
        try:
            await replay(again, "G_restart_reconnect", settle=1)
            lab = load_transcript("G_restart_reconnect.esl.txt")
            ours_r = [m.body.decode() for m in again.messages if m.content_type == "api/response"]
            lab_r = [m.body.decode() for m in lab if m.content_type == "api/response"]
            assert "0 session(s) since startup" in ours_r[0] and \
                "0 session(s) since startup" in lab_r[0]
            # the Abandoned member survived, the runtime On Break did not
            assert ours_r[1].splitlines()[1].split("|")[3] == ""
            assert ours_r[1].splitlines()[1].split("|")[15] == "Abandoned"
            assert [r.split("|")[5] for r in ours_r[2].splitlines()[1:-1]] == \
                ["Available", "Available"]
        finally:
            await again.close()
    finally:
        await client.close()
        await pbx.close()


async def test_ring_all_and_the_customer_leaving_a_bridge() -> None:
    queues = [{"name": "support", "strategy": "ringall"}, {"name": "sales"}]
    pbx, client = await started(queues=queues)
    ctl = pbx.control
    uuid = "55555555-0000-4000-8000-000000000001"
    try:
        await client.command("auth vidline")
        await client.command(SUBSCRIBE)
        await client.command(ORIGINATE.format(uuid=uuid, session="sessR", extra="",
                                              queue="support@default"))
        await ctl.wait_for(lambda: ctl.ringing("1001@default") and ctl.ringing("1002@default"))
        assert await ctl.answer("user/1002")  # the config's interface works too
        start = await client.wait(lambda m: m.name == "bridge-agent-start")
        assert start.get("CC-Agent") == "1002@default"
        lost = next(m for m in client.events() if m.name == "bridge-agent-fail")
        assert (lost.get("CC-Agent"), lost.get("CC-Hangup-Cause")) == \
            ("1001@default", "ORIGINATOR_CANCEL")
        assert ctl.fs.agent_state("1001@default") == "Waiting"
        await client.command(f"api uuid_kill {uuid}")  # vidline ends the call: the customer left
        end = await client.wait(lambda m: m.name == "member-queue-end")
        assert (end.get("CC-Cause"), end.get("CC-Agent")) == ("Terminated", "1002@default")
        names = [m.name for m in client.events()]
        assert names.index("bridge-agent-end") < names.index("member-queue-end")
        await client.wait(lambda m: m.name == "agent-state-change"
                          and m.get("CC-Agent-State") == "Waiting"
                          and m.get("CC-Agent") == "1002@default")
        assert not ctl.in_call("1002@default")
        assert ctl.fs.channels() == {}
    finally:
        await client.close()
        await pbx.close()
