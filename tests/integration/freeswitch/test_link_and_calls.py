"""vidline with pbx = "freeswitch" against the sandbox's ESL face: the ESL link
dropped while customers wait (they stay queued, vidline reconnects and
resyncs, nothing is originated twice), a bridge that happens while the link is
down, the unicast audio both ways, and the Asterisk-format queue_log rows
vidline writes for FreeSWITCH calls (MariaDB), field by field against what
Asterisk wrote for the same scenarios (shared/asterisk A and C)."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest

from tests.conftest import mariadb_rows
from tests.integration.freeswitch.harness import fs_config, start_with_proxy
from vidline.context.model import InteractionContext
from vidline.pbx import events as ev

pytestmark = pytest.mark.mariadb

AGENT = "1001@default"


def context(n: int) -> InteractionContext:
    # a phone of its own: last-agent routing matches customers by phone too
    return InteractionContext(customer_id=f"cust-{n}", phone=f"555{n:04d}", category="billing")


async def _place(runtime: Any, n: int) -> list[str]:
    ids = []
    for i in range(n):
        interaction, _ = await runtime.service.create(context(1042 + i), "127.0.0.1")
        ids.append(interaction.id)
    return ids


async def test_link_drop_while_customers_wait(runtime_factory: Any, mariadb_url: str) -> None:
    runtime, sandbox, proxy = await start_with_proxy(fs_config(mariadb_url), runtime_factory)
    seen: list[Any] = []
    runtime.pbx.subscribe(seen.append)
    ctl, service = sandbox.control, runtime.service
    try:
        ctl.fs.set_agent_status(AGENT, "On Break")
        ids = await _place(runtime, 3)
        await ctl.wait_for(lambda: all(service.get(i).state.value == "queued" for i in ids))
        assert [service.get(i).position for i in ids] == [1, 2, 3]
        before = proxy.commands()

        proxy.drop()
        await ctl.wait_for(lambda: any(isinstance(e, ev.LinkDown) for e in seen))
        await ctl.wait_for(lambda: sum(isinstance(e, ev.QueueEntry) for e in seen) >= 3)
        assert proxy.connections == 2
        assert [service.get(i).state.value for i in ids] == ["queued"] * 3
        assert ctl.fs.members("support@default") == ids
        entries = {e.interaction_id: e.position for e in seen if isinstance(e, ev.QueueEntry)}
        assert entries == {ids[0]: 1, ids[1]: 2, ids[2]: 3}
        after = proxy.commands()[len(before):]
        assert not any(c.startswith("bgapi") for c in after)
        assert sum(c.startswith("bgapi originate") for c in proxy.commands()) == 3

        # the link works again: the agent comes back and takes the first in
        # line, the others wait; the audio of the calls whose unicast was cut
        # by the drop is set up again
        assert ctl.fs.api(f"callcenter_config agent set wrap_up_time {AGENT} 0") == "+OK\n"
        ctl.fs.set_agent_status(AGENT, "Available")
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(ids[0]).state.value == "connected")
        assert [service.get(i).state.value for i in ids[1:]] == ["queued"] * 2
        await ctl.wait_for(lambda: set(runtime.pbx.audio.legs) == set(ids))
        await ctl.wait_for(lambda: [service.get(i).position for i in ids[1:]] == [1, 2])
        # the agent is free again: the second connects, the third still waits
        await ctl.agent_hangup(AGENT)
        await ctl.wait_for(lambda: service.get(ids[0]).state.value == "ended")
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(ids[1]).state.value == "connected")
        assert service.get(ids[2]).state.value == "queued"
        assert sum(c.startswith("bgapi originate") for c in proxy.commands()) == 3
    finally:
        await proxy.close()
        await sandbox.close()


async def test_bridge_while_the_link_is_down(runtime_factory: Any, mariadb_url: str) -> None:
    runtime, sandbox, proxy = await start_with_proxy(fs_config(mariadb_url), runtime_factory)
    ctl, service = sandbox.control, runtime.service
    try:
        ctl.fs.set_agent_status(AGENT, "On Break")
        [iid] = await _place(runtime, 1)
        await ctl.wait_for(lambda: service.get(iid).state.value == "queued")
        # cut the link for longer than the answer takes: the proxy refuses to
        # reconnect until the agent is in the call
        proxy.target_port, real = 1, proxy.target_port
        proxy.drop()
        ctl.fs.set_agent_status(AGENT, "Available")
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: ctl.fs.agent_state(AGENT) == "In a queue call")
        assert service.get(iid).state.value == "queued"  # vidline saw nothing
        proxy.target_port = real
        await ctl.wait_for(lambda: service.get(iid).state.value == "connected")
        assert service.get(iid).agent.username == "alice"
    finally:
        await proxy.close()
        # the call is still bridged: close() ends it and returns promptly
        await asyncio.wait_for(sandbox.close(), 10)


async def test_answered_call_audio_and_queue_log(runtime_factory: Any, mariadb_url: str) -> None:
    runtime, sandbox, proxy = await start_with_proxy(fs_config(mariadb_url), runtime_factory)
    ctl, service = sandbox.control, runtime.service
    try:
        [iid] = await _place(runtime, 1)
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        leg = runtime.pbx.audio.legs[iid]
        await ctl.wait_for(lambda: leg.stats.frames_received >= 10)  # music on hold
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(iid).state.value == "connected")
        received = leg.stats.frames_received
        await ctl.wait_for(lambda: leg.stats.frames_received >= received + 25)  # the agent
        assert leg.stats.audio_bytes_received == 320 * leg.stats.frames_received
        assert leg.stats.foreign_datagrams == 0
        sent = ctl.fs.audio_in(iid)  # what vidline sent: what the agent hears
        assert len(sent) >= 320 * 25 and len(sent) % 320 == 0
        assert runtime.audio.legs[iid].bytes_received > 0  # the bridge's AudioLegs got it
        await ctl.agent_hangup(AGENT)
        await ctl.wait_for(lambda: service.get(iid).state.value == "ended")
        assert service.get(iid).end_reason.value == "agent_left"

        [gone] = await _place(runtime, 1)
        ctl.fs.set_agent_status(AGENT, "On Break")
        await ctl.wait_for(lambda: service.get(gone).state.value == "queued")
        await service.leave(gone)
        await ctl.wait_for(lambda: service.get(gone).state.value == "ended")
        assert service.get(gone).end_reason.value == "abandoned"

        await runtime.reporting.flush() if hasattr(runtime.reporting, "flush") else None
        sql = ("SELECT queuename, agent, event, data1, data2, data3 FROM queue_log "
               "WHERE callid = %s ORDER BY id")

        def rows(callid: str) -> list[str]:
            return ["|".join(str(r[k] or "") for k in ("queuename", "agent", "event", "data1",
                                                       "data2", "data3"))
                    for r in mariadb_rows(mariadb_url, sql, (callid,))]

        await ctl.wait_for(lambda: len(rows(iid)) == 4 and len(rows(gone)) == 3, timeout=15)
        answered = rows(iid)
        agent_uuid = answered[2].split("|")[4]
        # shared/asterisk A: VIDEOCHAT, ENTERQUEUE||5551234|1, CONNECT|0|<agent leg>|0,
        # COMPLETEAGENT|0|<talk>|1 (the preferred agent's queue first: last-agent routing
        # found no earlier call of cust-1042, so the skill queue)
        assert answered[0] == f"support|NONE|VIDEOCHAT|{iid}|billing|cust-1042"
        assert answered[1].startswith("support|NONE|ENTERQUEUE|") and \
            answered[1].endswith("|5551042|1")
        # whole seconds from mod_callcenter's epochs, as app_queue counts them; a
        # second boundary may fall between join, offer and answer
        assert re.fullmatch(rf"support\|Agent Alice\|CONNECT\|[01]\|{agent_uuid}\|[01]",
                            answered[2]), answered[2]
        assert agent_uuid and agent_uuid != iid
        assert re.fullmatch(r"support\|Agent Alice\|COMPLETEAGENT\|[01]\|\d+\|1",
                            answered[3]), answered[3]
        abandoned = rows(gone)
        # the same customer again: last-agent routing puts it in Alice's own queue
        # first (shared/asterisk D); the line has Asterisk C's shape
        assert re.fullmatch(r"agent-1001\|NONE\|ENTERQUEUE\|.*\|5551042\|1", abandoned[1])
        assert re.fullmatch(r"agent-1001\|NONE\|ABANDON\|1\|1\|\d+", abandoned[2])
    finally:
        await proxy.close()
        await sandbox.close()


async def test_agent_rejects_then_answers(runtime_factory: Any, mariadb_url: str) -> None:
    runtime, sandbox, proxy = await start_with_proxy(fs_config(mariadb_url), runtime_factory)
    ctl, service = sandbox.control, runtime.service
    seen: list[Any] = []
    runtime.pbx.subscribe(seen.append)
    try:
        [iid] = await _place(runtime, 1)
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        await ctl.reject(AGENT)  # bridge-agent-fail
        await ctl.wait_for(lambda: any(isinstance(e, ev.AgentNoAnswer) for e in seen))
        await ctl.wait_for(lambda: ctl.ringing(AGENT), timeout=20)  # offered again
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(iid).state.value == "connected")
        await service.leave(iid)
        await ctl.wait_for(lambda: service.get(iid).state.value == "ended")
        assert service.get(iid).end_reason.value == "customer_left"
        assert await runtime.reporting.flush()
        events = [r["event"] for r in mariadb_rows(
            mariadb_url, "SELECT event FROM queue_log WHERE callid = %s ORDER BY id", (iid,))]
        assert events == ["VIDEOCHAT", "ENTERQUEUE", "RINGNOANSWER", "CONNECT",
                          "COMPLETECALLER"]
        fail = next(e for e in seen if isinstance(e, ev.AgentNoAnswer))
        assert (fail.interface, fail.member_name) == ("PJSIP/1001", "Agent Alice")
        assert 0 <= fail.ring_time_ms < 10_000
    finally:
        await proxy.close()
        await sandbox.close()


async def test_last_agent_first_then_the_skill_queue(runtime_factory: Any,
                                                     mariadb_url: str) -> None:
    config = fs_config(mariadb_url)
    config = dataclasses.replace(config, routing=dataclasses.replace(
        config.routing, last_agent_timeout=2))
    runtime, sandbox, proxy = await start_with_proxy(config, runtime_factory)
    ctl, service = sandbox.control, runtime.service
    try:
        [first] = await _place(runtime, 1)
        await ctl.wait_for(lambda: ctl.ringing(AGENT))
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(first).state.value == "connected")
        await service.leave(first)
        await ctl.wait_for(lambda: service.get(first).state.value == "ended")
        assert await runtime.reporting.flush()

        # the same customer again while Alice is away: her own queue first
        # (vidline_preferred), then, its max-wait-time over, the skill queue
        # through the dialplan's transfer on cc_cause=cancel (pass2 J)
        ctl.fs.set_agent_status(AGENT, "On Break")
        [again] = await _place(runtime, 1)
        assert service.get(again).route.preferred_agent == "1001"
        await ctl.wait_for(lambda: service.get(again).queue == "agent-1001")
        await ctl.wait_for(lambda: service.get(again).queue == "support", timeout=15)
        assert service.get(again).state.value == "queued"
        ctl.fs.set_agent_status(AGENT, "Available")
        await ctl.wait_for(lambda: ctl.ringing(AGENT), timeout=20)  # after her wrap-up
        await ctl.answer(AGENT)
        await ctl.wait_for(lambda: service.get(again).state.value == "connected")
        await service.leave(again)
        await ctl.wait_for(lambda: service.get(again).state.value == "ended")
        assert await runtime.reporting.flush()
        rows = [(r["queuename"], r["event"]) for r in mariadb_rows(
            mariadb_url, "SELECT queuename, event FROM queue_log WHERE callid = %s "
            "ORDER BY id", (again,))]
        # Asterisk's per-agent queue recipe writes VIDEOCHAT with the skill queue
        # and ENTERQUEUE with the agent's (shared/asterisk D), then app_queue's
        # EXITWITHTIMEOUT when that queue's timeout ends the wait
        assert rows == [("support", "VIDEOCHAT"), ("agent-1001", "ENTERQUEUE"),
                        ("agent-1001", "EXITWITHTIMEOUT"), ("support", "ENTERQUEUE"),
                        ("support", "CONNECT"), ("support", "COMPLETECALLER")]
    finally:
        await proxy.close()
        await sandbox.close()
