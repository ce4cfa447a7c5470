"""`vidline dialplan` with pbx = "freeswitch": well-formed XML that the sandbox's
dialplan reader (a model of FreeSWITCH's) routes vidline's legs through, and
values that could change a file's meaning refused."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from vidline.config import parse_config
from vidline.pbx.freeswitch.render import FILES, UnsafeXmlValue, render_freeswitch
from vidline.pbx.sandbox.esl.dialplan import Dialplan

HASH = ("scrypt$16384$8$1$c2FsdHNhbHRzYWx0$"
        "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=")


def config(**fs: Any) -> Any:
    return parse_config({
        "pbx": "freeswitch", "categories": ["billing"],
        "routing": {"default_queue": "support", "last_agent_timeout": 9},
        "agents": [{"username": "alice", "password_hash": HASH, "interface": "user/1001",
                    "member_name": "Agent <Alice> & Co", "queues": ["support", "sales"]}],
        "freeswitch": fs,
    })


def test_every_file_is_xml_and_carries_the_contract() -> None:
    files = render_freeswitch(config())
    assert tuple(files) == FILES
    for text in files.values():
        ET.fromstring(text)  # raises on malformed XML
    cc = ET.fromstring(files["callcenter_vidline.conf.xml"])
    queues = {q.get("name"): {p.get("name"): p.get("value") for p in q.iter("param")}
              for q in cc.iter("queue")}
    assert set(queues) == {"support@default", "sales@default", "agent-1001@default"}
    assert queues["agent-1001@default"]["max-wait-time"] == "9"
    tiers = {(t.get("agent"), t.get("queue")) for t in cc.iter("tier")}
    assert ("1001@default", "agent-1001@default") in tiers
    assert "Agent &lt;Alice&gt; &amp; Co" in files["callcenter_vidline.conf.xml"]
    template = ET.fromstring(files["cdr_csv_vidline.conf.xml"]).find(".//template")
    assert template is not None and '"${vidline_session}"' in (template.text or "")
    odbc = ET.fromstring(files["odbc_cdr_vidline.conf.xml"])
    fields = {f.get("name"): f.get("chan-var-name") for f in odbc.iter("field")}
    assert fields["uniqueid"] == "uuid" and fields["vidline_page_url"] == "vidline_page_url"


def test_the_dialplan_routes_both_halves() -> None:
    plan = Dialplan()
    plan.load_text(render_freeswitch(config())["vidline_dialplan.xml"])
    park = plan.find("vidline", "vidline_park")
    assert park is not None and [a for a, _ in park.actions] == ["answer", "park"]
    queue = plan.find("vidline", "vidline_queue")
    assert queue is not None and ("callcenter", "${vidline_cc_queue}") in queue.actions
    pref = plan.find("vidline", "vidline_preferred")
    assert pref is not None and pref.actions[-1] == (
        "transfer", "vidline_preferred_after_${cc_cause} XML vidline")
    after = plan.find("vidline", "vidline_preferred_after_cancel")
    assert after is not None and after.actions[0] == ("callcenter", "${vidline_cc_queue}")
    assert plan.find("vidline", "vidline_preferred_after_answered") is not None


def test_a_value_freeswitch_would_expand_is_refused() -> None:
    with pytest.raises(UnsafeXmlValue):
        render_freeswitch(config(password="pa${ss}"))


def test_cli_writes_the_freeswitch_files(tmp_path: Path) -> None:
    import subprocess
    import sys

    example = (Path(__file__).resolve().parents[3] / "vidline.example.toml").read_text()
    config = tmp_path / "fs.toml"
    config.write_text('pbx = "freeswitch"\n' + example.replace('\npbx = "asterisk"', "\n"))
    out = tmp_path / "fs"
    done = subprocess.run([sys.executable, "-m", "vidline.cli", "dialplan", "--config",
                           str(config), "--out", str(out)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    # the ESL password is not world-readable
    assert (out / "event_socket_vidline.conf.xml").stat().st_mode & 0o777 == 0o600
    assert 'value="change-me"' in (out / "event_socket_vidline.conf.xml").read_text()
