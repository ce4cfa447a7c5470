"""The originate of a customer leg against the FINDINGS injection table (C):
each hostile value reaches FreeSWITCH's parser (the sandbox's model of it)
whole, decodes back exactly, and nothing in it can split, inject or expand."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from vidline.context.model import InteractionContext
from vidline.pbx.base import PlaceCall
from vidline.pbx.freeswitch.variables import (
    Dialplan,
    check_command,
    decode_value,
    originate_command,
)
from vidline.pbx.sandbox.esl.originate import parse_originate

IID = "0f4c3c1e-8a45-4bd2-9d0e-6b8a2f1c9e77"

# shared/freeswitch FINDINGS "Injection (C)", plus the ^^: delimiter trick
HOSTILE = [
    "a,b", "a\\,b", "'a,b'", "{^^:k=v:k2=a,b}", "hello world", "'hello world'",
    "x\\ny", "${expr(6*7)}", "${uuid}", "origination_nested_vars=true ${expr(6*7)}",
    "a}b{c", "q\"uote", "back\\\\slash", "semi;colon|pipe", "^^:a:b", "100% ₿ Zürich",
    "&callcenter(evil@default)", "x=y=z", "[leg_timeout=1]",
]


def _call(kiosk: str, **kw: Any) -> PlaceCall:
    ctx = InteractionContext(customer_id="c-42", phone="+15551234", category="billing",
                             page_url="https://shop.example/p?a=1&b=2", kiosk_location=kiosk)
    return dataclasses.replace(PlaceCall(IID, "support", 0, 120, ctx,
                                         "https://vidline.example/agent/i/x"), **kw)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_arrives_whole_and_inert(value: str) -> None:
    command = originate_command(_call(value), domain="default", dialplan=Dialplan())
    assert "\n" not in command and "\r" not in command and "${" not in command
    assert "origination_nested_vars" not in command
    parsed = parse_originate(command.removeprefix("originate "))
    assert parsed.dropped == []
    got = dict(parsed.variables)
    assert decode_value(got["vidline_kiosk"]) == value
    assert got["origination_uuid"] == IID
    assert got["vidline_session"] == IID
    assert got["vidline_queue"] == "support"
    assert got["vidline_cc_queue"] == "support@default"
    assert got["cc_export_vars"].split(",")[0] == "vidline_session"
    assert parsed.exten == "vidline_queue" and parsed.dialplan == "XML"


def test_every_field_round_trips() -> None:
    call = _call("Gare de Lyon, hall 2", priority=3)
    parsed = dict(parse_originate(originate_command(
        call, domain="default", dialplan=Dialplan()).removeprefix("originate ")).variables)
    assert decode_value(parsed["vidline_page_url"]) == "https://shop.example/p?a=1&b=2"
    assert decode_value(parsed["vidline_customer_id"]) == "c-42"
    assert parsed["vidline_cid_number"] == "+15551234"
    assert parsed["cc_base_score"] == "300000"
    assert decode_value(parsed["vidline_panel_url"]) == "https://vidline.example/agent/i/x"


def test_preferred_agent_and_inline_modes() -> None:
    pref = originate_command(_call("k", preferred_agent="1002"), domain="default",
                             dialplan=Dialplan())
    parsed = parse_originate(pref.removeprefix("originate "))
    assert parsed.exten == "vidline_preferred"
    assert parsed.var("vidline_pref_queue") == "agent-1002@default"
    inline = originate_command(_call("k"), domain="default", dialplan=Dialplan(inline=True))
    parsed = parse_originate(inline.removeprefix("originate "))
    assert (parsed.app, parsed.app_args) == ("callcenter", "support@default")


@pytest.mark.parametrize("field,value", [
    ("interaction_id", "not-a-uuid"), ("interaction_id", IID + " &park()"),
    ("queue", "support@default,x"), ("queue", "sup port"), ("preferred_agent", "1002}x"),
])
def test_identifiers_are_refused_not_encoded(field: str, value: str) -> None:
    with pytest.raises(ValueError):
        originate_command(_call("k", **{field: value}), domain="default", dialplan=Dialplan())


def test_last_wall() -> None:
    for bad in ("originate {a=${x}}loopback/x", "originate {a=b}x\n\napi status",
                "originate {origination_nested_vars=true}x y", "originate {a=b c}x y"):
        with pytest.raises(ValueError):
            check_command(bad)
