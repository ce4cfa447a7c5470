"""The Originate vidline writes, byte for byte, and the variable encoding."""

from __future__ import annotations

from tests.unit.asterisk.transcripts import messages
from vidline.context.model import InteractionContext
from vidline.pbx.asterisk.codec import encode_message
from vidline.pbx.asterisk.variables import (
    chan_variables,
    decode_value,
    encode_value,
    originate_headers,
)
from vidline.pbx.base import PlaceCall

IID = "053c0f04-cbe8-4943-a9e0-db543c31983e"


def _headers(call: PlaceCall, rate: int = 8000) -> list[tuple[str, str]]:
    return originate_headers(call, audiosocket_host="127.0.0.1", audiosocket_port=9093,
                             sample_rate=rate, context="vidline-inbound", exten="s",
                             timeout_ms=30000, action_id="vidline-1")


def _call(**context: str | None) -> PlaceCall:
    return PlaceCall(IID, "support", 5, 120, InteractionContext(**context),  # type: ignore[arg-type]
                     "https://vid.example.com/panel/i/" + IID, "1002", 12)


def test_originate_bytes() -> None:
    call = _call(customer_id="cust-1042", phone="+4930123456", category="billing",
                 page_url="https://shop.example.com/checkout?step=2&kiosk=k07",
                 kiosk_location="Hall 2, desk 7")
    assert encode_message(_headers(call)).decode() == (
        "Action: Originate\r\n"
        "ActionID: vidline-1\r\n"
        f"Channel: AudioSocket/127.0.0.1:9093/{IID}\r\n"
        f"ChannelId: {IID}\r\n"
        "Context: vidline-inbound\r\n"
        "Exten: s\r\n"
        "Priority: 1\r\n"
        'CallerID: "+4930123456" <+4930123456>\r\n'
        "Timeout: 30000\r\n"
        "Async: true\r\n"
        f"Variable: __VIDLINE_SESSION={IID}\r\n"
        "Variable: __VIDLINE_QUEUE=support\r\n"
        "Variable: __VIDLINE_PRIO=5\r\n"
        "Variable: __VIDLINE_QUEUE_TIMEOUT=120\r\n"
        "Variable: __VIDLINE_CUSTOMER_ID=cust-1042\r\n"
        "Variable: __VIDLINE_PHONE=+4930123456\r\n"
        "Variable: __VIDLINE_CATEGORY=billing\r\n"
        "Variable: __VIDLINE_PAGE_URL=https://shop.example.com/checkout?step=2&kiosk=k07\r\n"
        "Variable: __VIDLINE_KIOSK=Hall%202%2C%20desk%207\r\n"
        f"Variable: __VIDLINE_PANEL_URL=https://vid.example.com/panel/i/{IID}\r\n"
        "Variable: __VIDLINE_PREFERRED_AGENT=1002\r\n"
        "Variable: __VIDLINE_PREF_TIMEOUT=12\r\n"
        "\r\n"
    )


def test_wideband_and_no_phone() -> None:
    headers = dict(_headers(_call(), rate=16000))
    assert headers["Channel"] == f"AudioSocket/127.0.0.1:9093/{IID}/c(slin16)"
    assert "CallerID" not in headers
    variables = [v for k, v in _headers(_call()) if k == "Variable"]
    assert "__VIDLINE_PHONE=" in variables and "__VIDLINE_PAGE_URL=" in variables


def test_page_url_is_cut_to_500_on_a_character_boundary() -> None:
    url = "https://shop.example.com/search?q=" + "ü" * 400
    value = dict(v.split("=", 1) for k, v in _headers(_call(page_url=url))
                 if k == "Variable")["__VIDLINE_PAGE_URL"]
    assert len(value) <= 500 and not value.endswith("%C3")  # never half a character
    assert url.startswith(decode_value(value, escaped=False))
    assert len(encode_value("a" * 600, 500)) == 500


def test_decode_c_escaped_values_from_the_transcripts() -> None:
    # VarSet and ChanVariable: C-escaped by Asterisk (shared/asterisk A)
    varset = next(m for m in messages("A_answered_completeagent.ami.txt")
                  if m.event == "VarSet" and m.get("Variable") == "VIDLINE_PAGE_URL")
    assert varset.get("Value") == "https://shop.example.com/checkout\\?step=2&kiosk=k07"
    assert decode_value(varset.get("Value")) == \
        "https://shop.example.com/checkout?step=2&kiosk=k07"
    # OriginateResponse ChanVariable(channel): not escaped
    assert decode_value("a\\b%5Cc", escaped=False) == "a\\b\\c"
    assert decode_value("Hall%202%2C%20desk%207") == "Hall 2, desk 7"
    assert decode_value("100%") == "100%"  # a stray % stays as it is
    assert chan_variables(["VIDLINE_KIOSK=k07", "__VIDLINE_PAGE_URL=a\\?b", "junk"]) == {
        "VIDLINE_KIOSK": "k07", "VIDLINE_PAGE_URL": "a?b"}


def test_round_trip_through_asterisk_escaping() -> None:
    # Asterisk shows our '?' as '\?': decoding the escaped form gives the original
    original = "https://x.example/p?q=Zoë & co, 100%"
    encoded = encode_value(original, 500)
    assert decode_value(encoded.replace("?", "\\?")) == original
