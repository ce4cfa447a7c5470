"""``start_sandbox`` runs the sandbox's FreeSWITCH face on what ``vidline
dialplan`` renders: vidline's own callcenter.conf (queue and agent params)
and its mod_cdr_csv template, not the sandbox's defaults."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from tests.integration.freeswitch.harness import fs_config
from vidline.pbx.freeswitch.render import render_freeswitch
from vidline.pbx.freeswitch.wiring import start_sandbox


async def test_start_sandbox_runs_vidlines_callcenter_conf_and_cdr_template(
        tmp_path: Path) -> None:
    config = fs_config(f"sqlite:///{tmp_path}/vidline.db")
    files = render_freeswitch(config)
    conf = ET.fromstring(files["callcenter_vidline.conf.xml"])
    [alice] = [a for a in conf.iter("agent") if a.get("name") == "1001@default"]
    template = next(ET.fromstring(files["cdr_csv_vidline.conf.xml"]).iter("template")).text
    sandbox, _ = await start_sandbox(config)
    try:
        ctl = sandbox.control
        head, row = ctl.fs.api("callcenter_config agent list 1001@default").splitlines()[:2]
        listed = dict(zip(head.split("|"), row.split("|"), strict=True))
        for key in ("wrap-up-time", "reject-delay-time", "busy-delay-time", "max-no-answer"):
            assert listed[key.replace("-", "_")] == alice.get(key), key
        assert listed["wrap_up_time"] != "0"  # the sandbox's own default is 0
        queues = ctl.fs.api("callcenter_config queue list").splitlines()
        columns = queues[0].split("|")
        support = dict(zip(columns, next(r for r in queues if r.startswith("support@")).split("|"),
                           strict=True))
        assert support["moh_sound"] == "local_stream://moh"
        assert sandbox.fs.cdr.template == (template or "").strip()
        assert "${vidline_session}" in sandbox.fs.cdr.template
    finally:
        await sandbox.close()
