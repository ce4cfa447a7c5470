"""The sans-IO ESL codec on the real FreeSWITCH transcripts' bytes."""

from __future__ import annotations

import pytest

from tests.unit.freeswitch.transcripts import events, messages, raw, summary
from vidline.pbx.freeswitch.codec import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_PLAIN,
    EslEncodeError,
    EslParser,
    EslProtocolError,
    decode_event,
    encode_command,
)

TRANSCRIPTS = ["A_answered.esl.txt", "B_abandon.esl.txt", "C11_cc_export.esl.txt",
               "D_while_waiting.esl.txt", "failed_first_try_A.esl.txt",
               "F_esl_drop_conn2.esl.txt", "G_restart.esl.txt"]


@pytest.mark.parametrize("name", TRANSCRIPTS)
def test_whole_transcript_frames_exactly(name: str) -> None:
    data = raw(name)
    parser = EslParser()
    out = parser.feed(data)
    assert parser.pending == 0
    assert out[0].content_type == AUTH_REQUEST
    # every byte is accounted for: re-encoding headers + body gives the input back
    rebuilt = b"".join(
        "".join(f"{k}: {v}\n" for k, v in m.headers).encode() + b"\n" + m.body for m in out)
    assert rebuilt == data


def test_events_match_the_digest_of_the_real_run() -> None:
    got = events("A_answered.esl.txt")
    digest = summary("A_answered.summary.json")
    assert len(got) == len(digest) == 31
    for event, want in zip(got, digest, strict=True):
        assert event.name == want["ev"]
        assert (event.cc_action or None) == want["cc"]
        assert (event.get("Unique-ID") or None) == want["uuid"]
        assert {k: v for k, v in event.headers if k.startswith("variable_vidline_")} \
            == want["vidline"]
        for key in ("CC-Queue", "CC-Member-Session-UUID", "CC-Agent", "CC-Cause"):
            if key in want:
                assert event.get(key) == want[key]


def test_background_job_body_and_url_decoding() -> None:
    job = next(e for e in events("A_answered.esl.txt") if e.name == "BACKGROUND_JOB")
    assert job.body == "+OK b312bfb7-2e55-41c0-82ce-f4539a644f89\n"
    assert job.get("Job-Command-Arg").startswith("{origination_uuid=b312bfb7")
    custom = next(e for e in events("A_answered.esl.txt") if e.name == "CUSTOM")
    assert custom.subclass == "callcenter::info"
    assert custom.get("CC-Queue") == "support@default"


def test_a_newline_inside_a_variable_stays_inside_it() -> None:
    # C11: vidline_note "a,b<LF>line2" arrives as a,b%0Aline2; decoding must
    # not turn it into a header line (greenswitch's flaw)
    note = [e.get("variable_vidline_note") for e in events("C11_cc_export.esl.txt")
            if e.get("variable_vidline_note")]
    assert note and all(n == "a,b\nline2" for n in note)
    forged = (b"Event-Name: CUSTOM\nCC-Action: member-queue-start\n"
              b"variable_vidline_note: x%0ACC-Action%3A%20bridge-agent-start\n\n")
    event = decode_event(forged)
    assert event.cc_action == "member-queue-start"
    assert event.get("variable_vidline_note") == "x\nCC-Action: bridge-agent-start"


def test_replies_api_responses_and_disconnect_notice() -> None:
    msgs = messages("D_while_waiting.esl.txt")
    kinds = [m.content_type for m in msgs]
    assert kinds[:3] == [AUTH_REQUEST, COMMAND_REPLY, API_RESPONSE]
    assert msgs[1].reply_text == "+OK accepted"
    assert msgs[2].text.splitlines()[0].startswith("queue|instance_id|uuid|session_uuid")
    assert msgs[2].text.endswith("+OK\n")
    assert kinds[-1] == DISCONNECT_NOTICE
    assert msgs[-1].text.startswith("Disconnected, goodbye.")


@pytest.mark.parametrize("name", ["A_answered.esl.txt", "D_while_waiting.esl.txt"])
def test_split_at_every_byte_boundary(name: str) -> None:
    data = raw(name)[:9000]  # auth, replies, a BACKGROUND_JOB and events
    whole = EslParser().feed(data)
    for cut in range(1, len(data)):
        parser = EslParser()
        assert parser.feed(data[:cut]) + parser.feed(data[cut:]) == whole


def test_byte_by_byte_over_a_whole_transcript() -> None:
    data = raw("B_abandon.esl.txt")
    parser = EslParser()
    out = []
    for i in range(len(data)):
        out += parser.feed(data[i:i + 1])
    assert out == EslParser().feed(data)


def test_utf8_split_anywhere_survives() -> None:
    inner = b"Event-Name: CUSTOM\nvariable_vidline_kiosk: Z%C3%BCrich%20%E2%82%AC\n\n"
    body = "Straße → ok ✓".encode()
    wire = (b"Content-Type: api/response\nContent-Length: %d\n\n" % len(body) + body
            + b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner)
    for cut in range(1, len(wire)):
        parser = EslParser()
        got = parser.feed(wire[:cut]) + parser.feed(wire[cut:])
        assert got[0].text == "Straße → ok ✓"
        assert decode_event(got[1].body).get("variable_vidline_kiosk") == "Zürich €"
    assert got[1].content_type == EVENT_PLAIN


def test_message_size_is_capped() -> None:
    parser = EslParser(max_message_bytes=1000)
    with pytest.raises(EslProtocolError):
        parser.feed(b"Content-Type: api/response\nContent-Length: 5000\n\n")
    with pytest.raises(EslProtocolError):
        EslParser().feed(b"X: " + b"a" * 70000)
    with pytest.raises(EslProtocolError):
        EslParser().feed(b"Content-Length: 12x\n\n")


def test_encode_refuses_line_breaks() -> None:
    assert encode_command("api status") == b"api status\n\n"
    assert encode_command("sendmsg u", [("call-command", "unicast")]) == \
        b"sendmsg u\ncall-command: unicast\n\n"
    for bad in ("api status\n\napi fsctl shutdown", "a\rb", "a\0", ""):
        with pytest.raises(EslEncodeError):
            encode_command(bad)
    with pytest.raises(EslEncodeError):
        encode_command("sendmsg u", [("remote-ip", "1.2.3.4\nexecute-app-name: x")])
