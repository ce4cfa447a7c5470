"""AMI framing on real bytes: any TCP chunking gives the same messages."""

from __future__ import annotations

import random

import pytest

from tests.unit.asterisk.transcripts import raw
from vidline.pbx.asterisk.codec import (
    AmiBanner,
    AmiEncodeError,
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    encode_message,
)


@pytest.mark.parametrize("name", ["E_two_callers_single_paused_agent.ami.txt",
                                  "F_ami_drop_resync.ami.txt", "H_audiosocket_refused.ami.txt"])
def test_any_chunking_gives_the_same_messages(name: str) -> None:
    data = raw(name)
    whole = AmiParser().feed(data)
    assert isinstance(whole[0], AmiBanner) and whole[0].text == "Asterisk Call Manager/11.0.0"
    assert len(whole) - 1 == data.count(b"\r\n\r\n")
    rng = random.Random(7)
    for _ in range(3):
        parser, got, i = AmiParser(), [], 0
        while i < len(data):
            step = rng.choice([1, 2, 3, 7, 64, 1500, 65536])
            got += parser.feed(data[i : i + step])
            i += step
        assert got == whole


def test_utf8_split_between_reads_survives() -> None:
    event = "Event: QueueMemberPause\r\nMemberName: Zoë Ærø 東京\r\nPausedReason: café ☕\r\n\r\n"
    data = event.encode()
    for cut in range(1, len(data)):
        parser = AmiParser(expect_banner=False)
        messages = parser.feed(data[:cut]) + parser.feed(data[cut:])
        assert messages == [AmiMessage((("Event", "QueueMemberPause"),
                                        ("MemberName", "Zoë Ærø 東京"),
                                        ("PausedReason", "café ☕")))], cut


def test_bare_lf_frames_like_asterisk_does() -> None:
    # Asterisk ends a client's action at a blank line of bare LFs too (G3)
    parser = AmiParser(expect_banner=False)
    got = parser.feed(b"Action: Originate\nVariable: x\n\nAction: Ping\r\nActionID: 2\r\n\r\n")
    assert [m.get("Action") for m in got if isinstance(m, AmiMessage)] == ["Originate", "Ping"]


def test_values_keep_colons_and_empty_values() -> None:
    [msg] = AmiParser(expect_banner=False).feed(
        b"Event: X\r\nAccountCode: \r\nChannel: AudioSocket/127.0.0.1:9093-u\r\nEmpty:\r\n\r\n")
    assert isinstance(msg, AmiMessage)
    assert msg.headers == (("Event", "X"), ("AccountCode", ""),
                           ("Channel", "AudioSocket/127.0.0.1:9093-u"), ("Empty", ""))


def test_command_output_lines_are_kept() -> None:
    [msg] = AmiParser(expect_banner=False).feed(
        b"Response: Follows\r\nPrivilege: Command\r\nfree text without colon\r\n\r\n")
    assert isinstance(msg, AmiMessage)
    assert msg.headers[-1] == ("", "free text without colon")


def test_oversized_message_is_refused() -> None:
    parser = AmiParser(expect_banner=False, max_message_bytes=1000)
    with pytest.raises(AmiProtocolError):
        parser.feed(b"Event: X\r\nValue: " + b"a" * 2000)


def test_no_banner_is_a_protocol_error() -> None:
    with pytest.raises(AmiProtocolError):
        AmiParser().feed(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("value", ["a\r\nAction: Ping", "a\nb", "a\rb", "a\x00b", "x" * 1020])
def test_encode_refuses_what_could_end_a_header(value: str) -> None:
    with pytest.raises(AmiEncodeError):
        encode_message([("Action", "Originate"), ("Variable", value)])


def test_encode_refuses_bad_header_names() -> None:
    with pytest.raises(AmiEncodeError):
        encode_message([("Action\r\nX", "Ping")])
    assert encode_message([("Action", "Ping"), ("ActionID", "1")]) == \
        b"Action: Ping\r\nActionID: 1\r\n\r\n"


def test_lone_cr_inside_a_value_is_kept() -> None:
    # only a CRLF-only buffer takes the fast path; a lone CR goes the general way
    [msg] = AmiParser(expect_banner=False).feed(b"Event: X\r\nKey: a\rb\r\n\r\n")
    assert isinstance(msg, AmiMessage) and msg.get("Key") == "a\rb"
