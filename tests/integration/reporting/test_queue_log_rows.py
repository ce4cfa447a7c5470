"""vidline's own queue_log rows (what it writes where the PBX writes none)
against the sandbox's Asterisk-format rows for the same real run: both land
in one queue_log table, vidline's marked by their key, and they must be the
same rows field by field (times aside: written moments apart)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_config
from tests.integration.reporting.customer import Customer
from vidline.reporting.db import Database

FIELDS = ("callid", "queuename", "agent", "event", "data1", "data2", "data3", "data4", "data5")


@pytest.fixture
async def runtime(runtime_factory: Any, tmp_path: Path) -> Any:
    config = make_config(f"sqlite:///{tmp_path}/report.db")
    config = dataclasses.replace(
        config, reporting=dataclasses.replace(config.reporting, write_queue_log="true"),
        routing=dataclasses.replace(config.routing, queue_timeout=3))
    return await runtime_factory(config)


async def rows_of(runtime: Any, iid: str) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    await runtime.sandbox.control.flush_db()
    assert await runtime.reporting.flush()
    db = Database(runtime.config.database.url)
    try:
        cols = ", ".join(f"q.{f}" for f in FIELDS)
        ours = db.query(f"SELECT {cols} FROM queue_log q JOIN vidline_queue_log_keys k "
                        "ON k.queue_log_id = q.id WHERE q.callid = ? ORDER BY q.id", (iid,))
    finally:
        db.close()
    theirs = [r.db_values()[1:] for r in runtime.sandbox.control.queue_log() if r.callid == iid]
    return [tuple(str(v) for v in r) for r in ours], [tuple(str(v) for v in r) for r in theirs]


CONTEXT = {"customer_id": "cust-1042", "phone": "+15551234", "category": "billing"}


async def test_answered_then_agent_hangs_up(runtime: Any) -> None:
    ctl = runtime.sandbox.control
    customer = await Customer.start(runtime, **CONTEXT)
    try:
        await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))
        await ctl.answer("PJSIP/1001")
        await customer.wait_state("connected")
        await ctl.agent_hangup("PJSIP/1001")
        await customer.wait_state("ended")
    finally:
        await customer.close()
    ours, theirs = await rows_of(runtime, customer.id)
    assert [r[3] for r in theirs] == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT", "COMPLETEAGENT"]
    assert ours == theirs


async def test_answered_then_customer_hangs_up(runtime: Any) -> None:
    ctl = runtime.sandbox.control
    customer = await Customer.start(runtime, customer_id="c-7")  # no phone, no category
    try:
        await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))
        await ctl.answer("PJSIP/1001")
        await customer.wait_state("connected")
        await customer.hang_up()
        await customer.wait_state("ended")
    finally:
        await customer.close()
    ours, theirs = await rows_of(runtime, customer.id)
    assert [r[3] for r in theirs] == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT", "COMPLETECALLER"]
    assert ours == theirs


async def test_rejected_then_abandoned_while_ringing_again(runtime: Any) -> None:
    ctl = runtime.sandbox.control
    customer = await Customer.start(runtime, **CONTEXT)
    try:
        await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))
        await ctl.reject("PJSIP/1001")
        await ctl.wait_for(lambda: not ctl.ringing("PJSIP/1001"))
        await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))  # the next round
        await customer.hang_up()
        await customer.wait_state("ended")
    finally:
        await customer.close()
    ours, theirs = await rows_of(runtime, customer.id)
    events = [r[3] for r in theirs]
    assert events == ["VIDEOCHAT", "ENTERQUEUE", "RINGNOANSWER", "RINGCANCELED", "ABANDON"]
    cancel = events.index("RINGCANCELED")
    # RINGCANCELED's ring time is measured by each side when the caller goes
    assert abs(int(ours[cancel][4]) - int(theirs[cancel][4])) < 1000
    assert [r for i, r in enumerate(ours) if i != cancel] == [
        r for i, r in enumerate(theirs) if i != cancel]


async def test_queue_timeout(runtime: Any) -> None:
    await runtime.pbx.pause_member("PJSIP/1001", True, "away")
    customer = await Customer.start(runtime, **CONTEXT)
    try:
        await customer.wait_state("ended")
    finally:
        await customer.close()
    ours, theirs = await rows_of(runtime, customer.id)
    assert [r[3] for r in theirs] == ["VIDEOCHAT", "ENTERQUEUE", "EXITWITHTIMEOUT"]
    assert ours == theirs
