"""The FINDINGS injection table through the whole product: customer API ->
interaction service -> FreeSWITCH adapter -> every byte on the ESL socket ->
the sandbox's FreeSWITCH (its originate parser follows the real one) -> the
channel variables and mod_cdr_csv lines.

Each hostile value is either refused with a 4xx naming its field, or reaches
FreeSWITCH whole (it decodes back exactly: nothing dropped silently) and
inert (no command injection, no ``${``, no ``origination_nested_vars``)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.integration.freeswitch.harness import fs_config, start_with_proxy
from vidline.pbx.freeswitch.variables import decode_value
from vidline.pbx.sandbox.esl.originate import parse_originate

pytestmark = pytest.mark.mariadb

# shared/freeswitch FINDINGS "Injection (C)", as a customer would type them
HOSTILE = [
    "a,b", "a\\,b", "'a,b'", "{^^:k=v:k2=a,b}", "hello world", "'hello world'",
    "x\\ny", "${expr(6*7)}", "origination_nested_vars=true", "${uuid} origination_nested_vars",
    "line1\nline2", "x\n\napi status", "a\r\n\r\nbgapi originate loopback/x &park()",
    "}loopback/evil &park() {", "[leg_timeout=1]", "100% Zürich ₿",
]
FIELDS = {"kiosk_location": "vidline_kiosk", "page_url": "vidline_page_url",
          "customer_id": "vidline_customer_id", "phone": "vidline_phone"}
COMMANDS = {"auth", "event", "api", "bgapi", "sendmsg", "exit"}
APIS = {"status", "callcenter_config", "show", "uuid_kill", "uuid_getvar"}


def body_for(field: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = {"customer_id": "cust-1", "phone": "+15551234",
                            "category": "billing", "page_url": "https://shop.example/p"}
    body[field] = ("https://shop.example/p?q=" + value) if field == "page_url" else value
    return body


async def test_injection_table_through_vidline(runtime_factory: Any, mariadb_url: str) -> None:
    runtime, sandbox, proxy = await start_with_proxy(fs_config(mariadb_url), runtime_factory)
    try:
        accepted: dict[str, tuple[str, str]] = {}
        refused = 0
        async with aiohttp.ClientSession() as http:
            url = f"{runtime.base_url}/api/v1/interactions"
            for field in FIELDS:
                for value in HOSTILE:
                    async with http.post(url, json=body_for(field, value)) as resp:
                        answer = await resp.json()
                        if resp.status == 201:
                            accepted[answer["id"]] = (field, body_for(field, value)[field])
                        else:
                            assert 400 <= resp.status < 500, (field, value, resp.status)
                            assert answer["field"] in (field, "body"), (field, value, answer)
                            refused += 1
        assert refused and accepted, "the table must exercise both outcomes"
        service, ctl = runtime.service, sandbox.control
        await ctl.wait_for(lambda: all(
            service.get(i).state.value in ("queued", "ringing") for i in accepted), timeout=20)
        channels = ctl.fs.channels()

        wire = bytes(proxy.sent)
        assert b"${" not in wire and b"origination_nested_vars" not in wire and b"\r" not in wire
        originates = []
        for command in proxy.commands():
            first, *headers = command.split("\n")
            verb = first.split(" ", 1)[0]
            assert verb in COMMANDS, command
            if verb == "api":
                assert first.split(" ")[1] in APIS, command
            if verb == "bgapi":
                assert first.startswith("bgapi originate {"), command
                originates.append(parse_originate(first.removeprefix("bgapi originate ")))
            if verb == "sendmsg":
                assert [h.split(":")[0] for h in headers] == [
                    "call-command", "local-ip", "local-port", "remote-ip", "remote-port",
                    "transport"], command
            else:
                assert headers == [], command  # one line per command: nothing smuggled
        assert sorted(o.var("origination_uuid") for o in originates) == sorted(accepted)
        for parsed in originates:
            assert parsed.dropped == [], parsed  # no variable dropped silently
            assert parsed.exten in ("vidline_queue", "vidline_preferred")
        for iid, (field, value) in accepted.items():
            stored = channels[iid]
            assert decode_value(stored[FIELDS[field]]) == value, (field, value)
            assert stored["vidline_session"] == iid
            assert service.get(iid).queue == "support"

        for iid in accepted:
            await service.leave(iid)
        await ctl.wait_for(lambda: all(service.get(i).state.value == "ended" for i in accepted),
                           timeout=20)
        lines = ctl.fs.cdr_lines()
        assert lines
        for line in lines:
            assert "\n" not in line.rstrip("\n") and "42" not in line.split('","')[-1]
    finally:
        await proxy.close()
        await sandbox.close()
