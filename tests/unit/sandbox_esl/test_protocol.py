"""mod_event_socket's framing and subscription rule, without sockets."""

from __future__ import annotations

from pathlib import Path

from vidline.pbx.sandbox.esl.cdr import LAB_TEMPLATE, render
from vidline.pbx.sandbox.esl.fschannels import FsChannel
from vidline.pbx.sandbox.esl.protocol import (
    CommandReader,
    Subscription,
    api_response,
    command_reply,
    plain_event,
    url_encode,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "freeswitch"


def test_custom_first_makes_every_later_word_a_subclass() -> None:
    # failed_first_try: no CHANNEL_* events reached that socket
    trap = Subscription()
    trap.add("CUSTOM callcenter::info CHANNEL_CREATE CHANNEL_ANSWER".split())
    assert trap.wants("CUSTOM", "callcenter::info")
    assert not trap.wants("CHANNEL_CREATE")
    right = Subscription()
    right.add("CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE "
              "BACKGROUND_JOB CUSTOM callcenter::info".split())
    assert right.wants("CHANNEL_CREATE") and right.wants("BACKGROUND_JOB")
    assert right.wants("CUSTOM", "callcenter::info")
    assert not right.wants("CUSTOM", "sofia::register")
    assert not right.wants("CHANNEL_STATE")
    every = Subscription()
    every.add(["ALL"])
    assert every.wants("CUSTOM", "anything") and every.wants("HEARTBEAT")


def test_url_encoding_matches_the_transcripts() -> None:
    assert url_encode("support@default") == "support%40default"
    assert url_encode("Thu, 26 Nov 2026 23:57:43 GMT") == \
        "Thu,%2026%20Nov%202026%2023%3A57%3A43%20GMT"
    assert url_encode("a,b\nline2") == "a,b%0Aline2"
    assert url_encode("loopback/customer_device-a") == "loopback/customer_device-a"
    assert url_encode("{x=1}a &b(c)") == "%7Bx%3D1%7Da%20%26b(c)"


def test_replies_are_byte_exact() -> None:
    raw = (FIXTURES / "A_answered.esl.txt").read_bytes()
    assert command_reply("+OK accepted") in raw
    job = "4ee30221-5206-4bbf-b711-9c79a2d32e5f"
    assert command_reply(f"+OK Job-UUID: {job}", ("Job-UUID", job)) in raw
    assert api_response("+OK\n") in (FIXTURES / "B_abandon.esl.txt").read_bytes()


def test_plain_event_with_a_body_frames_like_background_job() -> None:
    data = plain_event([("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j")], "+OK u\n")
    head, _, payload = data.partition(b"\n\n")
    assert head == b"Content-Length: %d\nContent-Type: text/event-plain" % len(payload)
    assert payload == b"Event-Name: BACKGROUND_JOB\nJob-UUID: j\nContent-Length: 6\n\n+OK u\n"
    assert plain_event([("A", "b")]).endswith(b"A: b\n\n")


def test_packets_split_anywhere() -> None:
    reader = CommandReader()
    data = b"sendmsg u\ncall-command: unicast\nlocal-port: 1\n\napi status\n\n"
    cmds = [c for i in range(len(data)) for c in reader.feed(data[i:i + 1])]
    assert [c.line for c in cmds] == ["sendmsg u", "api status"]
    assert cmds[0].header("Call-Command") == "unicast"
    assert cmds[0].header("local-port") == "1"


def test_cdr_line_like_mod_cdr_csv() -> None:
    ch = FsChannel("loopback/customer_device-a", "b312", "outbound", "customer_device",
                   cid_num="default")
    for k, v in (("uuid", "b312"), ("call_uuid", "b312"), ("start_stamp", "2026-11-26 23:57:43"),
                 ("answer_stamp", "2026-11-26 23:57:43"), ("end_stamp", "2026-11-26 23:57:48"),
                 ("billsec", "5"), ("hangup_cause", "NORMAL_CLEARING"),
                 ("cc_queue", "support@default"), ("cc_cause", "answered"),
                 ("cc_agent", "1001@default"), ("vidline_session", "sessA-0001"),
                 ("vidline_customer_id", "42"), ("vidline_category", "billing")):
        ch.setvar(k, v)
    line = render(LAB_TEMPLATE, ch)
    real = (FIXTURES / "cdr_csv_Master.csv").read_text().splitlines()
    assert line.replace("b312", "b312bfb7-2e55-41c0-82ce-f4539a644f89") in real
