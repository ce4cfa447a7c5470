"""The FINDINGS injection table, row by row, against the sandbox's parser of
originate strings (the values the real FreeSWITCH stored, C_injection and
C2_nested_export: uuid_getvar answers and BACKGROUND_JOB bodies)."""

from __future__ import annotations

import pytest

from vidline.pbx.sandbox.esl.originate import (
    USAGE,
    OriginateError,
    parse_originate,
    split_blank,
    split_char,
)
from vidline.pbx.sandbox.esl.protocol import CommandReader

DEST = "loopback/customer_device/default &park()"


def stored(vars_text: str) -> dict[str, str]:
    return dict(parse_originate("{" + vars_text + "}" + DEST).variables)


@pytest.mark.parametrize(("value", "expected"), [
    ("a,b", "a"),                  # C1: b silently dropped
    ("a\\,b", "a,b"),              # C2
    ("'a,b'", "a"),                # C3: the quotes go at the blank split
    ("'hello world'", "hello world"),  # C5b
    ("line1\\nline2", "line1\nline2"),  # C6: two characters become a newline
])
def test_comma_delimited_values(value: str, expected: str) -> None:
    got = stored(f"origination_uuid=u1,vidline_session=s,vidline_note={value},"
                 "vidline_customer_id=42")
    assert got["vidline_note"] == expected
    assert got["vidline_session"] == "s"
    assert got["vidline_customer_id"] == "42"


def test_caret_delimiter_keeps_commas() -> None:  # C4
    got = stored("^^:origination_uuid=u:vidline_session=sessC4:vidline_note=a,b:"
                 "vidline_customer_id=42")
    assert got == {"origination_uuid": "u", "vidline_session": "sessC4",
                   "vidline_note": "a,b", "vidline_customer_id": "42"}


def test_unquoted_space_fails_the_call() -> None:  # C5a
    with pytest.raises(OriginateError) as err:
        parse_originate("{origination_uuid=u,vidline_note=hello world,vidline_customer_id=42}"
                        + DEST)
    assert err.value.text == "-ERR DESTINATION_OUT_OF_ORDER\n"


def test_dollar_brace_values_are_dropped() -> None:  # C7
    request = parse_originate(
        "{origination_uuid=u,vidline_session=sessC7,vidline_expr=${expr(6*7)},"
        "vidline_api=${status()},vidline_ref=${vidline_session},vidline_gvar=$${domain}}" + DEST)
    assert dict(request.variables) == {"origination_uuid": "u", "vidline_session": "sessC7"}
    assert request.dropped == ["vidline_expr", "vidline_api", "vidline_ref", "vidline_gvar"]


def test_nested_vars_flag_is_a_substring_search() -> None:  # C10
    request = parse_originate(
        "{origination_uuid=u,origination_nested_vars=true,vidline_session=sessC10,"
        "vidline_note=${expr(6*7)},vidline_ref=${vidline_session}}" + DEST)
    assert dict(request.variables)["vidline_note"] == "${expr(6*7)}"
    # a value that merely contains the text switches the check off too
    sneaky = parse_originate("{vidline_a=origination_nested_vars=true,vidline_b=${x}}" + DEST)
    assert dict(sneaky.variables)["vidline_b"] == "${x}"


def test_raw_lf_cuts_the_command_and_two_inject_a_command() -> None:  # C8, C9
    reader = CommandReader()
    cmds = reader.feed(b"bgapi originate {origination_uuid=u,vidline_note=line1\nline2}"
                       b"loopback/customer_device/default &park()\n\n")
    assert [c.line for c in cmds] == ["bgapi originate {origination_uuid=u,vidline_note=line1"]
    with pytest.raises(OriginateError) as err:
        parse_originate(cmds[0].arg.split(" ", 1)[1])
    assert err.value.text == USAGE
    cmds = reader.feed(b"bgapi originate {origination_uuid=u,vidline_note=x\n\napi status\n\n"
                       b"}loopback/customer_device/default &park()\n\n")
    assert [c.line for c in cmds] == ["bgapi originate {origination_uuid=u,vidline_note=x",
                                      "api status",
                                      "}loopback/customer_device/default &park()"]


def test_extension_form_and_caller_id_arguments() -> None:  # CID2, CID5
    request = parse_originate("{vidline_session=s}loopback/customer_device/default "
                              "vidline_queue XML default VidlineCustomer 5551234")
    assert (request.exten, request.dialplan, request.context) == \
        ("vidline_queue", "XML", "default")
    assert (request.cid_name, request.cid_num) == ("VidlineCustomer", "5551234")
    app = parse_originate("{a=1}loopback/x/default &callcenter(support@default)")
    assert (app.app, app.app_args) == ("callcenter", "support@default")


def test_separators() -> None:
    assert split_blank("  a 'b c'  d\\se ") == ["a", "b c", "d e"]
    assert split_char("k=v=w", "=", 2) == ["k", "v=w"]
    assert split_char("a\\,b,c", ",") == ["a,b", "c"]
