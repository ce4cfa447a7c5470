"""CDR and queue_log rows of scenario A in a real database (SQLite and
MariaDB), compared column by column with the rows Asterisk wrote."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pymysql
import pytest

from tests.integration.sandbox.harness import AmiClient, AudioSocketServer, lab_config
from tests.integration.sandbox.transcripts import (
    cdr_view,
    lab_channelvars,
    real_cdr_rows,
    retarget,
    sent_actions,
)
from vidline.pbx.sandbox.pbx import SandboxPbx
from vidline.reporting.db import Database


@pytest.fixture
async def mariadb_url() -> AsyncIterator[str]:
    name = f"vl_sandbox_{uuid.uuid4().hex[:10]}"
    try:
        conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    except pymysql.err.OperationalError as exc:
        pytest.skip(f"MariaDB not reachable: {exc}")
    conn.cursor().execute(f"CREATE DATABASE `{name}`")
    yield f"mysql://root@127.0.0.1:3306/{name}"
    conn.cursor().execute(f"DROP DATABASE `{name}`")
    conn.close()


async def run_scenario_a(url: str) -> Database:
    pbx = SandboxPbx(lab_config(url), auth_fail_delay=0.05, channelvars=lab_channelvars())
    await pbx.start()
    audio = AudioSocketServer()
    port = await audio.start()
    ami = AmiClient()
    await ami.connect(pbx.ami_port)
    await ami.login()
    action = next(a for a in sent_actions("A_answered_completeagent.sent.txt")
                  if a.get("Action") == "Originate")
    ami.send(retarget(action, port))
    ctl = pbx.control
    await ctl.wait_for(lambda: ctl.ringing("Local/1001@agents"))
    await ctl.answer("Local/1001@agents")
    await ctl.wait_for(lambda: ctl.in_call("Local/1001@agents"))
    await asyncio.sleep(1.1)
    await ctl.agent_hangup("Local/1001@agents")
    await ami.wait(lambda m: m.event == "Hangup" and m.get("Channel").startswith("AudioSocket/"))
    await ctl.wait_for(lambda: len(ctl.cdrs()) == 2)
    await ctl.flush_db()
    await ami.close()
    await pbx.close()
    await audio.close()
    return Database(url)


async def check_rows(db: Database) -> None:
    def read() -> tuple[list[str], list[tuple[object, ...]], list[tuple[object, ...]]]:
        cols = db.columns("cdr")
        cdr = db.query("SELECT * FROM cdr ORDER BY id")
        qlog = db.query("SELECT `time`, callid, queuename, agent, event, data1, data2, data3 "
                        "FROM queue_log ORDER BY id")
        return cols, cdr, qlog

    cols, cdr, qlog = await asyncio.to_thread(read)
    ours = [dict(zip(cols, row, strict=True)) for row in cdr]
    # A: the agent's Local ";2" row first, then the customer's row
    assert [cdr_view(r) for r in ours] == [
        cdr_view(r) for r in real_cdr_rows("A_answered_completeagent.db.txt")]
    customer = {k: None if v is None else str(v) for k, v in ours[1].items()}
    agent = {k: None if v is None else str(v) for k, v in ours[0].items()}
    assert customer["uniqueid"] == customer["linkedid"] == agent["linkedid"]
    assert customer["channel"] is not None and customer["channel"].startswith("AudioSocket/")
    assert customer["vidline_phone"] == "5551234" and customer["vidline_kiosk"] == "k07"
    assert int(str(customer["billsec"])) >= 1
    events = [(r[2], r[3], r[4], r[5] or "", r[6] or "", r[7] or "") for r in qlog]
    assert [e[:3] for e in events] == [("support", "NONE", "VIDEOCHAT"),
                                       ("support", "NONE", "ENTERQUEUE"),
                                       ("support", "Agent Alice", "CONNECT"),
                                       ("support", "Agent Alice", "COMPLETEAGENT")]
    assert events[0][3:] == ("vs-A-48066c0a", "billing", "cust-1042")
    assert events[1][3:] == ("", "5551234", "1")
    # time keeps microseconds, as datetime(6)
    assert re.search(r"\.\d{6}$", str(qlog[0][0])) and not str(qlog[0][0]).endswith(".000000")


async def test_rows_in_sqlite(tmp_path: Path) -> None:
    db = await run_scenario_a(f"sqlite:///{tmp_path}/center.db")
    await check_rows(db)
    db.close()


@pytest.mark.mariadb
async def test_rows_in_mariadb(mariadb_url: str) -> None:
    db = await run_scenario_a(mariadb_url)
    await check_rows(db)
    db.close()
