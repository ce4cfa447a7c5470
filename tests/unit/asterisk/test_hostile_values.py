"""Customer text can never add a header, an action or a variable to an Originate.

What Asterisk would do with each of these is in shared/asterisk G: CR/LF
adds headers or actions, a comma adds a variable, a line of 1024+ bytes
drops the action. The bytes below are what vidline would write to AMI.
"""

from __future__ import annotations

import pytest

from vidline.context.model import InteractionContext
from vidline.pbx.asterisk.codec import AmiMessage, AmiParser, encode_message
from vidline.pbx.asterisk.variables import (
    TEXT_LIMITS,
    VARIABLE_NAMES,
    decode_value,
    encode_value,
    originate_headers,
)
from vidline.pbx.base import PlaceCall

IID = "5f0e8a4c-3f7e-4a59-9c0b-2f3d9e1a7b64"

HOSTILE = [
    "a\r\nAction: Originate\r\nChannel: Local/evil@default",
    "x\r\n\r\nAction: Ping",
    "x\n\nAction: Ping",  # Asterisk accepts a bare LF as a line end (G3)
    "x\rAction: Ping",
    "https://shop.example.com/p?a=1,VIDLINE_KIOSK=injected",
    '"quoted" \'single\' `back`',
    "${SHELL(id)}",
    "$(rm -rf /)",
    "$[1+1] ${VIDLINE_SESSION:0:3}",
    "a|b;c\\d",
    "<script>alert(document.cookie)</script><img src=x onerror=alert(1)>",
    "Zoë 東京 🚀 \u202e\u200b",
    "nul\x00byte\x07bell",
    "100% %0D%0AAction: Ping",
    "x" * 10_000,
    "é" * 5_000,
    "🚀" * 3_000,
]

ALLOWED_HEADERS = {"Action", "ActionID", "Channel", "ChannelId", "Context", "Exten",
                   "Priority", "CallerID", "Timeout", "Async", "Variable"}
FORBIDDEN = set(",\"'\\$ {}();|\r\n\x00`<>[]^")


def _call(value: str) -> PlaceCall:
    context = InteractionContext(customer_id=value, phone=value, page_url=value,
                                 category=value, kiosk_location=value, extra={"k": value})
    return PlaceCall(IID, "support", 5, 120, context, value, None, 12)


def _wire(value: str) -> bytes:
    headers = originate_headers(
        _call(value), audiosocket_host="127.0.0.1", audiosocket_port=9093,
        sample_rate=8000, context="vidline-inbound", exten="s", timeout_ms=30000,
        action_id="vidline-7")
    return encode_message(headers)


@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: repr(v[:24]))
def test_hostile_value_stays_inside_its_variable(value: str) -> None:
    data = _wire(value)

    # Framed the way Asterisk frames it (CRLF or bare LF): exactly one action.
    parsed = AmiParser(expect_banner=False).feed(data)
    assert len(parsed) == 1 and isinstance(parsed[0], AmiMessage)
    message = parsed[0]
    lines = data.split(b"\r\n")
    assert [line for line in lines if line.startswith(b"Action:")] == [b"Action: Originate"]
    assert data.count(b"\n") == data.count(b"\r\n") and data.count(b"\r") == data.count(b"\r\n")
    assert all(len(line) < 1024 for line in lines)

    names = [name for name, _ in message.headers]
    assert set(names) <= ALLOWED_HEADERS
    assert names.count("Action") == 1
    # an invalid phone never reaches the CallerID header
    assert "CallerID" not in names

    variables = message.get_all("Variable")
    assert [v.split("=", 1)[0] for v in variables] == [f"__{n}" for n in VARIABLE_NAMES]
    decoded = {}
    for item in variables:
        name, _, encoded = item.partition("=")
        # What Asterisk would split on or strip, or the dialplan expand: none of it.
        assert not FORBIDDEN & set(encoded), (name, encoded)
        assert encoded.isascii()
        decoded[name[2:]] = decode_value(encoded, escaped=False)

    for name in ("VIDLINE_CUSTOMER_ID", "VIDLINE_PHONE", "VIDLINE_CATEGORY",
                 "VIDLINE_PAGE_URL", "VIDLINE_KIOSK", "VIDLINE_PANEL_URL"):
        if len(encode_value(value, 10**6)) <= TEXT_LIMITS[name]:
            assert decoded[name] == value
        else:
            # cut on a character boundary: a prefix of the original, never garbage
            assert value.startswith(decoded[name]) and decoded[name]
            assert len(encode_value(decoded[name], 10**6)) <= TEXT_LIMITS[name]
    assert decoded["VIDLINE_SESSION"] == IID
    # extra{} is shown to the agent, never sent to the PBX
    assert b"extra" not in data and b"'k'" not in data


@pytest.mark.parametrize("field", ["queue", "preferred_agent", "interaction_id"])
@pytest.mark.parametrize("value", [*HOSTILE[:6], "support\n", IID + "\n", "a" * 65],
                         ids=lambda v: repr(v[:24]))
def test_hostile_identifier_is_refused_not_cut(field: str, value: str) -> None:
    call = _call("ok")
    kwargs = {"interaction_id": call.interaction_id, "queue": call.queue,
              "preferred_agent": call.preferred_agent, field: value}
    bad = PlaceCall(kwargs["interaction_id"] or IID, kwargs["queue"] or "support", 0, 120,
                    call.context, "", kwargs["preferred_agent"], 12)
    with pytest.raises(ValueError):
        originate_headers(bad, audiosocket_host="127.0.0.1", audiosocket_port=9093,
                          sample_rate=8000, context="vidline-inbound", exten="s",
                          timeout_ms=30000, action_id="vidline-8")
