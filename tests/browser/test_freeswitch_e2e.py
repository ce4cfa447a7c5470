"""The foundation's Chromium flow and the media issue's audio check with
``pbx = "freeswitch"``: real Chromium pages, the sandbox PBX's ESL face over a
real ESL socket and real unicast UDP audio, the queue_log rows vidline writes
for FreeSWITCH in a real MariaDB. Same customer-visible results as on Asterisk
(test_control_plane_e2e, test_media_e2e)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.browser.media_probe import spectrum, tone_share
from tests.browser.test_control_plane_e2e import open_agent, open_customer, wait_text
from tests.browser.test_media_e2e import AGENT_TONE, CUSTOMER_TONE, MOH_HZ, tone_browser
from tests.conftest import mariadb_rows
from tests.integration.freeswitch.harness import fs_config
from vidline.reporting.schema import VIDLINE_CDR_COLUMNS, VIDLINE_CDR_LATE_COLUMNS

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]

ALICE = "1001@default"  # the FreeSWITCH agent of PJSIP/1001's extension
TIMEOUT_MS = 15_000
__all__ = ["tone_browser"]  # the fixture, used by name below


async def test_freeswitch_customer_queues_agent_pops_and_rows_land(
    browser: Any, runtime_factory: Any, mariadb_url: str
) -> None:
    runtime = await runtime_factory(fs_config(mariadb_url))
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    await runtime.service.set_paused("alice", True, "briefing")  # stay queued first
    # callcenter_config agent set status -> agent-status-change -> the panel
    await agent.wait_for_selector("#presence-state[data-paused=true]", timeout=TIMEOUT_MS)
    assert ctl.fs.agent_status(ALICE) == "On Break"

    first = await open_customer(browser, runtime, "cust-1042", "+15551234")
    await wait_text(first, "#vl-position", "1 of 1 in line")
    second = await open_customer(browser, runtime, "cust-2", "+15550002")
    await wait_text(second, "#vl-position", "2 of 2 in line")
    await wait_text(first, "#vl-position", "1 of 2 in line")
    # vidline's callcenter.conf gives agents 10 s of wrap-up; not here
    assert ctl.fs.api(f"callcenter_config agent set wrap_up_time {ALICE} 0") == "+OK\n"

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    await agent.wait_for_selector("#pop[data-phase=ringing]", timeout=TIMEOUT_MS)
    assert await agent.text_content("#pop-context dd[data-field=customer_id]") == "cust-1042"
    assert await agent.text_content("#pop-context dd[data-field=phone]") == "+15551234"
    assert await agent.text_content("#pop-context dd[data-field=category]") == "billing"
    interaction_id = (await agent.text_content("#pop-id") or "").strip()
    assert runtime.service.get(interaction_id).context.customer_id == "cust-1042"

    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#pop[data-phase=connected]", timeout=TIMEOUT_MS)
    await first.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT_MS)
    await wait_text(first, "#vl-status", "Agent Alice")
    # the first in line got the agent; the second still waits, now first
    await wait_text(second, "#vl-position", "1 of 1 in line")
    assert not await second.is_visible("#vl-status[data-state=connected]")

    await first.click("#vl-hangup")
    await first.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    # the pop moves on to the next call at once; the list keeps the ended one
    await agent.wait_for_selector(f"#pop-list li[data-id='{interaction_id}'][data-phase=ended]",
                                  timeout=TIMEOUT_MS)
    # the agent is free again: the second one's turn
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await second.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT_MS)
    await second.click("#vl-hangup")
    await second.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    assert await runtime.reporting.flush()

    rows = mariadb_rows(mariadb_url, "SELECT * FROM queue_log WHERE callid = %s ORDER BY id",
                        (interaction_id,))
    assert [r["event"] for r in rows] == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT",
                                          "COMPLETECALLER"]
    assert (rows[0]["queuename"], rows[0]["agent"]) == ("support", "NONE")
    assert (rows[0]["data1"], rows[0]["data2"], rows[0]["data3"]) == (
        interaction_id, "billing", "cust-1042")
    assert (rows[1]["data2"], rows[1]["data3"]) == ("+15551234", "1")
    assert rows[-1]["agent"] == "Agent Alice" and rows[-1]["data3"] == "1"
    other = [r["event"] for r in mariadb_rows(
        mariadb_url, "SELECT event FROM queue_log WHERE callid <> %s AND callid <> 'NONE' "
        "ORDER BY id", (interaction_id,))]
    assert other == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    # mod_cdr_csv with the template `vidline dialplan` rendered: the member
    # leg's line (uuid = the interaction id) carries the context columns
    names = ["uuid", "call_uuid", "channel_name", "caller_id_name", "caller_id_number",
             "destination_number", "start", "answer", "end", "duration", "billsec",
             "hangup_cause", "cc_queue", "cc_cause", "cc_cancel_reason", "cc_agent",
             *(name for name, _ in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS)]
    records = [dict(zip(names, row, strict=True))
               for row in csv.reader(line.rstrip("\n") for line in ctl.fs.cdr_lines())]
    [member] = [r for r in records if r["uuid"] == interaction_id]
    assert (member["vidline_session"], member["vidline_customer_id"], member["vidline_phone"],
            member["vidline_category"], member["vidline_queue"]) == (
        interaction_id, "cust-1042", "+15551234", "billing", "support")
    assert member["caller_id_number"] == "+15551234"  # set_profile_var, FINDINGS
    assert member["cc_queue"] == "support@default" and member["cc_cause"] == "answered"


async def test_freeswitch_voice_both_ways(tone_browser: Any, runtime_factory: Any,
                                          tmp_path: Path) -> None:
    config = fs_config(f"sqlite:///{tmp_path}/vidline.db")
    runtime = await runtime_factory(dataclasses.replace(
        config, reporting=dataclasses.replace(config.reporting, enabled=False)))
    ctl = runtime.sandbox.control
    agent = await open_agent(tone_browser, runtime)
    await runtime.service.set_paused("alice", True, "briefing")  # queued first: MOH
    await agent.wait_for_selector("#presence-state[data-paused=true]", timeout=TIMEOUT_MS)

    customer = await open_customer(tone_browser, runtime, "cust-7", "+15550007")
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)
    await customer.wait_for_function(
        "() => { const a = document.getElementById('vl-remote-audio');"
        " return a && a.srcObject; }", timeout=TIMEOUT_MS)

    # queued: music on hold comes over unicast to the customer's page, and the
    # customer's 1 kHz microphone reaches FreeSWITCH's member leg
    moh = await spectrum(customer, "vl-remote-audio", [*MOH_HZ, AGENT_TONE, 1500])
    assert moh["at"]["392"] > moh["at"]["1500"] + 20, moh
    assert moh["at"]["494"] > moh["at"]["1500"] + 20, moh
    await ctl.wait_for(lambda: len(ctl.fs.audio_in(interaction.id)) >= 8000 * 2 * 2,
                       timeout=10)
    heard = ctl.fs.audio_in(interaction.id)[-8000 * 2:]  # the last second at the agent's end
    assert tone_share(heard, 8000, CUSTOMER_TONE) > 0.5
    assert tone_share(heard, 8000, 700.0) < 0.05

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    await asyncio.sleep(0.5)  # let the agent's tone replace the music in the analyser
    talk = await spectrum(customer, "vl-remote-audio", [*MOH_HZ, AGENT_TONE, 1500])
    assert talk["at"]["800"] > talk["at"]["1500"] + 20, talk
    assert talk["at"]["800"] > talk["at"]["392"] + 20, talk

    leg = runtime.pbx.audio.legs[interaction.id]
    assert leg.stats.foreign_datagrams == 0 and leg.stats.source_frames_sent > 50
    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    await ctl.wait_for(lambda: interaction.id not in runtime.pbx.audio.legs)
    assert leg.closed
