"""The recording's reference reaches the PBX's own CDR row: the journal's
``recording`` entry becomes an AMI ``Setvar CDR(vidline_recording)`` on the
customer's live leg (the sandbox applies it as Asterisk does), and the CDR
row written at hangup carries it. A reference that is not vidline's own
shape never reaches the AMI socket."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import make_config, mariadb_rows

pytestmark = pytest.mark.mariadb


async def _queued_call(runtime: Any) -> str:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{runtime.base_url}/api/v1/interactions",
                             json={"customer_id": "cust-7", "category": "billing"}) as resp:
            assert resp.status == 201, await resp.text()
            iid = str((await resp.json())["id"])
    # alice is free but answers only through the control API: it rings
    await runtime.sandbox.control.wait_for(
        lambda: runtime.service.get(iid).state.value in ("queued", "ringing"))
    return iid


async def test_the_recording_reference_lands_in_the_cdr_row(runtime_factory: Any,
                                                             mariadb_url: str) -> None:
    runtime = await runtime_factory(make_config(mariadb_url))
    iid = await _queued_call(runtime)
    calls = runtime.sandbox.calls
    ref = f"2026/11/27/{iid}"

    runtime.journal.note(iid, "recording", {"ref": "x\r\nAction: Originate"})
    runtime.journal.note(iid, "recording", {"ref": ref})
    await runtime.sandbox.control.wait_for(
        lambda: calls[iid].cdr.get("vidline_recording") == ref)
    await runtime.service.leave(iid)
    await runtime.sandbox.control.wait_for(
        lambda: runtime.service.get(iid).state.value == "ended")
    await runtime.sandbox.control.flush_db()
    rows = mariadb_rows(mariadb_url, "SELECT vidline_session, vidline_recording FROM cdr "
                        "WHERE uniqueid = %s", (iid,))
    assert rows == [{"vidline_session": iid, "vidline_recording": ref}]


async def test_on_freeswitch_the_reference_reaches_the_cdr_csv_line(
        runtime_factory: Any, mariadb_url: str) -> None:
    import csv

    from tests.integration.freeswitch.harness import fs_config
    from vidline.reporting.schema import VIDLINE_CDR_COLUMNS, VIDLINE_CDR_LATE_COLUMNS

    runtime = await runtime_factory(fs_config(mariadb_url))
    iid = await _queued_call(runtime)
    ref = f"2026/11/27/{iid}"
    runtime.journal.note(iid, "recording", {"ref": ref})
    await runtime.late_cdr.drain()
    await runtime.service.leave(iid)
    ctl = runtime.sandbox.control
    await ctl.wait_for(lambda: runtime.service.get(iid).state.value == "ended")
    # the lab template's columns, then vidline's (dialplan/freeswitch/cdr_csv_vidline...)
    names = ["uuid", "call_uuid", "channel_name", "caller_id_name", "caller_id_number",
             "destination_number", "start_stamp", "answer_stamp", "end_stamp", "duration",
             "billsec", "hangup_cause", "cc_queue", "cc_cause", "cc_cancel_reason", "cc_agent",
             *(name for name, _ in VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS)]
    await ctl.wait_for(lambda: any(line.startswith(f'"{iid}"') for line in ctl.fs.cdr_lines()))
    rows = [dict(zip(names, row, strict=True))
            for row in csv.reader(line.rstrip("\n") for line in ctl.fs.cdr_lines())]
    [member] = [r for r in rows if r["uuid"] == iid]
    assert (member["vidline_session"], member["vidline_recording"]) == (iid, ref)
