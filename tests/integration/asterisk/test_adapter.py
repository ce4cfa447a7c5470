"""AsteriskAdapter against an in-process AMI peer replaying real transcript bytes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tests.integration.asterisk.fake_ami import (
    Conn,
    FakeAmi,
    empty_list,
    eventually,
    with_action_id,
)
from tests.unit.asterisk.transcripts import after, answer_to
from vidline.config import AsteriskConfig, AudioSocketConfig
from vidline.context.model import InteractionContext
from vidline.pbx.asterisk.adapter import AsteriskAdapter
from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.base import PbxError, PlaceCall
from vidline.pbx.events import (
    AgentCompleted,
    AgentConnected,
    AgentRinging,
    CallerJoined,
    CallerLeft,
    LegFailed,
    LegHungUp,
    LegOriginated,
    LinkDown,
    LinkUp,
    MemberPaused,
    PbxEvent,
    QueueEntry,
    QueueSummary,
)

I_FILE, I_ID = "I_channelid_is_uniqueid.ami.txt", "053c0f04-cbe8-4943-a9e0-db543c31983e"
F_FILE, F_ID = "F_ami_drop_resync.ami.txt", "7d33b521-d76d-4561-b87b-a8b91994614a"
I_CHANNEL = f"AudioSocket/127.0.0.1:9094-{I_ID}"
BANNER = "Asterisk Call Manager/11.0.0"


class Harness:
    def __init__(self, ami: FakeAmi) -> None:
        self.ami = ami
        self.events: list[PbxEvent] = []
        self.adapters: list[AsteriskAdapter] = []

    def adapter(self, **overrides: Any) -> AsteriskAdapter:
        settings: dict[str, Any] = dict(host="127.0.0.1", port=self.ami.port, secret="s3cret",
                                        ping_interval=30.0, ping_timeout=1.0,
                                        reconnect_min=0.05, reconnect_max=0.4)
        settings.update(overrides)
        adapter = AsteriskAdapter(AsteriskConfig(**settings),
                                  AudioSocketConfig(connect_host="127.0.0.1", listen_port=9094),
                                  "https://vid.example.com/panel")
        adapter.subscribe(self.events.append)
        self.adapters.append(adapter)
        return adapter

    async def wait(self, predicate: Callable[[list[PbxEvent]], bool],
                   within: float = 5.0) -> list[PbxEvent]:
        await eventually(lambda: predicate(self.events), within)
        return self.events

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    ami = FakeAmi()
    await ami.start()
    h = Harness(ami)
    yield h
    for adapter in h.adapters:
        await adapter.close()
    await ami.close()


def call(iid: str, **context: Any) -> PlaceCall:
    ctx = InteractionContext(**({"customer_id": "cust-1042", "phone": "5551234",
                                 "category": "billing"} | context))
    return PlaceCall(iid, "support", 0, 120, ctx, "")


def replay(name: str, old_id: str, chunk: int = 997) -> Callable[[Conn, AmiMessage],
                                                                Awaitable[None]]:
    """An Originate handler answering with the transcript's own bytes."""
    async def handler(conn: Conn, msg: AmiMessage) -> None:
        response = [b for b in answer_to(name, old_id) if b.startswith(b"Response:")]
        data = with_action_id(response + after(name, old_id), old_id, msg.action_id)
        for i in range(0, len(data), chunk):  # many TCP reads on the other side
            conn.send(data[i : i + chunk])
            await conn.writer.drain()
    return handler


async def test_login_originate_once_and_transcript_I_events(harness: Harness) -> None:
    harness.ami.handlers["originate"] = replay(I_FILE, "vli-2")
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(I_ID))
    await adapter.place_call(call(I_ID))  # idempotent
    await harness.wait(lambda evs: any(isinstance(e, AgentCompleted) for e in evs))

    conn = harness.ami.conns[0]
    login = conn.actions[0]
    assert [(k, v) for k, v in login.headers if k != "ActionID"] == [
        ("Action", "Login"), ("Username", "vidline"), ("Secret", "s3cret"),
        ("Events", "call,agent")]
    assert conn.received.count(b"Action: Originate\r\n") == 1
    [originate] = conn.named("Originate")
    assert originate.get("Channel") == f"AudioSocket/127.0.0.1:9094/{I_ID}"
    assert originate.get("ChannelId") == I_ID and originate.get("Async") == "true"
    assert b"__VIDLINE_PANEL_URL=https://vid.example.com/panel" in conn.received
    assert harness.events == [
        LinkUp(BANNER),
        LegOriginated(I_ID, I_CHANNEL),
        CallerJoined(I_ID, "support", 1, 1),
        AgentRinging(I_ID, "support", "Local/1001@agents", "Agent Alice",
                     "Local/1001@agents-0000000a;1"),
        CallerLeft(I_ID, "support", 1, 0),
        AgentConnected(I_ID, "support", "Local/1001@agents", "Agent Alice",
                       "Local/1001@agents-0000000a;1", 0, 0, "1795736728.34"),
        LegHungUp(I_ID, I_CHANNEL, 16, "Normal Clearing"),
        AgentCompleted(None, "support", "Local/1001@agents", "Agent Alice", 0, 4, "caller"),
    ]


async def test_concurrent_place_calls_send_one_originate(harness: Harness) -> None:
    adapter = harness.adapter()
    await adapter.start()
    await asyncio.gather(*(adapter.place_call(call(I_ID)) for _ in range(5)))
    await harness.ami.action(harness.ami.conns[0], "Originate")
    await asyncio.sleep(0.05)
    assert harness.ami.conns[0].received.count(b"Action: Originate\r\n") == 1


async def test_refused_audiosocket_H_matched_by_action_id(harness: Harness) -> None:
    # H's bytes name another uuid in Channel and "<unknown>" as Uniqueid:
    # only the ActionID ties the failure to our interaction.
    ours = "11111111-2222-4333-8444-555555555555"
    harness.ami.handlers["originate"] = replay("H_audiosocket_refused.ami.txt", "vl-49")
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(ours))
    await harness.wait(lambda evs: bool(harness.of(LegFailed)))
    assert harness.of(LegFailed) == [LegFailed(ours, "8")]


async def test_originate_rejected_outright_is_leg_failed(harness: Harness) -> None:
    harness.ami.handlers["originate"] = lambda c, m: c.send(
        f"Response: Error\r\nActionID: {m.action_id}\r\nMessage: Permission denied\r\n\r\n"
        .encode())
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(I_ID))
    assert harness.of(LegFailed) == [LegFailed(I_ID, "refused: Permission denied")]


async def test_drop_before_answer_no_replay_and_resync_F(harness: Harness) -> None:
    ami = harness.ami
    ami.handlers["originate"] = lambda c, m: c.close()  # the link dies with the Originate

    def from_f(old_id: str, complete: str) -> Callable[[Conn, AmiMessage], None]:
        def handler(conn: Conn, msg: AmiMessage) -> None:
            # the first connection is idle; after the reconnect, F's real answer
            conn.send(empty_list(msg.action_id, complete) if conn is ami.conns[0] else
                      with_action_id(answer_to(F_FILE, old_id), old_id, msg.action_id))
        return handler

    ami.handlers["queuestatus"] = from_f("vl-41", "QueueStatusComplete")
    ami.handlers["coreshowchannels"] = from_f("vl-42", "CoreShowChannelsComplete")
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(F_ID))
    await harness.wait(lambda evs: bool(harness.of(QueueEntry)))
    await adapter.place_call(call(F_ID))

    f_channel = f"AudioSocket/127.0.0.1:9093-{F_ID}"
    assert [type(e).__name__ for e in harness.events[:3]] == ["LinkUp", "LinkDown", "LinkUp"]
    assert harness.events[3:] == [LegOriginated(F_ID, f_channel),
                                  QueueEntry(F_ID, "sales", 1, 4)]
    second = ami.conns[1]
    assert second.named("Originate") == []  # panoramisk would have sent it again
    assert [a.get("Action") for a in second.actions] == ["Login", "QueueStatus",
                                                         "CoreShowChannels"]
    # hangup now uses the channel the resync found
    ami.handlers["hangup"] = lambda c, m: c.reply(m, "Message: Channel Hungup")
    await adapter.hangup(F_ID)
    assert second.named("Hangup")[0].get("Channel") == f_channel


async def test_drop_before_answer_and_no_channel_is_leg_failed(harness: Harness) -> None:
    harness.ami.handlers["originate"] = lambda c, m: c.close()
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(F_ID))
    await harness.wait(lambda evs: bool(harness.of(LegFailed)))
    assert harness.of(LegFailed)[0].interaction_id == F_ID
    assert harness.of(LegFailed)[0].reason.startswith("lost")
    assert sum(len(c.named("Originate")) for c in harness.ami.conns) == 1


async def test_leg_gone_while_link_was_down_is_hung_up(harness: Harness) -> None:
    # OriginateResponse arrives, then the link drops, and after the reconnect
    # the channel is not there any more (e.g. Asterisk restarted: no Hangup).
    async def originate(conn: Conn, msg: AmiMessage) -> None:
        conn.send(with_action_id(answer_to(I_FILE, "vli-2"), "vli-2", msg.action_id))
    harness.ami.handlers["originate"] = originate
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(I_ID))
    await harness.wait(lambda evs: bool(harness.of(LegOriginated)))
    harness.ami.conns[0].close()
    await harness.wait(lambda evs: bool(harness.of(LegHungUp)))
    assert harness.of(LegHungUp) == [LegHungUp(I_ID, I_CHANNEL, 0,
                                               "gone while the AMI link was down")]


async def test_half_open_link_is_detected_and_replaced(harness: Harness) -> None:
    harness.ami.handlers["ping"] = lambda c, m: None  # reads the Ping, never answers
    adapter = harness.adapter(ping_interval=0.1, ping_timeout=0.2)
    await adapter.start()
    await harness.wait(lambda evs: len(harness.of(LinkUp)) == 2, within=3.0)
    assert harness.of(LinkDown) == [LinkDown("no Pong within 0.2 s")]
    assert harness.ami.conns[0].named("Ping")
    await asyncio.wait_for(harness.ami.conns[0].closed.wait(), 1.0)


async def test_utf8_split_across_reads_arrives_whole(harness: Harness) -> None:
    adapter = harness.adapter()
    await adapter.start()
    conn = harness.ami.conns[0]
    # after the login resync, so that no answer of ours lands inside the event
    await harness.ami.action(conn, "CoreShowChannels")
    await asyncio.sleep(0.05)
    data = ("Event: QueueMemberPause\r\nQueue: support\r\nMemberName: Zoë\r\n"
            "Interface: PJSIP/1001\r\nPaused: 1\r\nPausedReason: Café ☕\r\n\r\n").encode()
    cut = data.index("é".encode()) + 1
    conn.send(data[:cut])
    await conn.writer.drain()
    await asyncio.sleep(0.05)
    conn.send(data[cut:])
    await harness.wait(lambda evs: bool(harness.of(MemberPaused)))
    assert harness.of(MemberPaused) == [MemberPaused("support", "PJSIP/1001", "Zoë", True,
                                                     "Café ☕")]


async def test_hangup_uses_the_audiosocket_name_then_the_known_channel(harness: Harness) -> None:
    answers = iter(["Response: Success\r\nMessage: Channel Hungup",
                    "Response: Error\r\nMessage: No such channel",
                    "Response: Error\r\nMessage: Permission denied"])
    harness.ami.handlers["hangup"] = lambda c, m: c.send(
        next(answers).replace("\r\nMessage", f"\r\nActionID: {m.action_id}\r\nMessage")
        .encode() + b"\r\n\r\n")
    adapter = harness.adapter()
    await adapter.start()
    await adapter.hangup(I_ID)
    await adapter.hangup(I_ID)  # already gone: fine
    with pytest.raises(PbxError, match="Permission denied"):
        await adapter.hangup(I_ID)
    hangups = harness.ami.conns[0].named("Hangup")
    assert [(h.get("Channel"), h.get("Cause")) for h in hangups] == [(I_CHANNEL, "16")] * 3
    with pytest.raises(PbxError):
        await adapter.hangup("../../etc")


async def test_queue_entries_and_summaries_E(harness: Harness) -> None:
    e_file = "E_two_callers_single_paused_agent.ami.txt"
    harness.ami.handlers["queuestatus"] = lambda c, m: c.send(
        with_action_id(answer_to(e_file, "vl-31"), "vl-31", m.action_id))
    harness.ami.handlers["queuesummary"] = lambda c, m: c.send(
        with_action_id(answer_to(e_file, "vl-32"), "vl-32", m.action_id))
    adapter = harness.adapter()
    await adapter.start()
    await asyncio.sleep(0.05)  # let the login resync's own QueueStatus pass
    entries = await adapter.queue_entries("kiosk")
    assert entries == [QueueEntry("6f5ac83c-7c95-4909-bda2-6204fda1d364", "kiosk", 1, 3),
                       QueueEntry("9d8b5223-b8b0-4799-856f-4de933f5f9be", "kiosk", 2, 2)]
    assert await adapter.queue_summaries("kiosk") == [QueueSummary("kiosk", 1, 0, 2, 0, 0, 3)]
    conn = harness.ami.conns[0]
    assert conn.named("QueueStatus")[-1].get("Queue") == "kiosk"
    assert conn.named("QueueSummary")[0].get("Queue") == "kiosk"


async def test_pause_member_writes_one_clean_action(harness: Harness) -> None:
    replies = iter(["Success\r\nMessage: Interface paused successfully",
                    "Error\r\nMessage: Interface not found"])
    harness.ami.handlers["queuepause"] = lambda c, m: c.send(
        f"Response: {next(replies)}\r\nActionID: {m.action_id}\r\n\r\n".encode())
    adapter = harness.adapter()
    await adapter.start()
    await adapter.pause_member("PJSIP/1001", True, "Lunch | break\r\nAction: Ping", "support")
    with pytest.raises(PbxError, match="Interface not found"):
        await adapter.pause_member("PJSIP/1001", False)
    conn = harness.ami.conns[0]
    first, second = conn.named("QueuePause")
    assert [(k, v) for k, v in first.headers if k != "ActionID"] == [
        ("Action", "QueuePause"), ("Interface", "PJSIP/1001"), ("Paused", "true"),
        ("Queue", "support"), ("Reason", "Lunch _ break__Action: Ping")]
    assert second.get("Paused") == "false" and "Queue" not in second
    assert conn.named("Ping") == []
    with pytest.raises(PbxError):
        await adapter.pause_member("PJSIP/1001\r\nAction: Ping", True)


async def test_reconnect_backoff_doubles(harness: Harness) -> None:
    loop = asyncio.get_running_loop()
    adapter = harness.adapter(reconnect_min=0.05, reconnect_max=0.4)
    await adapter.start()
    harness.ami.accept_banner = False  # accept, then hang up at once: login fails
    harness.ami.conns[0].close()
    times: list[float] = []
    for index in range(1, 6):
        await harness.ami.conn(index)
        times.append(loop.time())
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # expected 0.1, 0.2, 0.4, 0.4 (capped)
    for gap, expected in zip(gaps, [0.1, 0.2, 0.4, 0.4], strict=True):
        assert expected * 0.8 <= gap <= expected + 0.25, gaps
    harness.ami.accept_banner = True
    await harness.wait(lambda evs: len(harness.of(LinkUp)) == 2, within=3.0)


async def test_start_fails_cleanly(harness: Harness) -> None:
    harness.ami.handlers["login"] = lambda c, m: c.send(
        f"Response: Error\r\nActionID: {m.action_id}\r\nMessage: Authentication failed\r\n\r\n"
        .encode())
    with pytest.raises(PbxError, match="Authentication failed"):
        await harness.adapter().start()
    await harness.ami.close()
    with pytest.raises(PbxError, match="failed"):
        await harness.adapter().start()


async def test_close_logs_off_and_stops_reconnecting(harness: Harness) -> None:
    adapter = harness.adapter()
    await adapter.start()
    await adapter.close()
    await asyncio.sleep(0.3)
    assert len(harness.ami.conns) == 1
    assert harness.ami.conns[0].named("Logoff")
    with pytest.raises(PbxError, match="down"):
        await adapter.place_call(call(I_ID))


async def test_list_action_refused_is_an_error_not_a_hang(harness: Harness) -> None:
    adapter = harness.adapter()
    await adapter.start()
    harness.ami.handlers["queuesummary"] = lambda c, m: c.send(
        f"Response: Error\r\nActionID: {m.action_id}\r\nMessage: Permission denied\r\n\r\n"
        .encode())
    with pytest.raises(PbxError, match="Permission denied"):
        await adapter.queue_summaries()


async def test_hangup_uses_the_channel_from_newchannel(harness: Harness) -> None:
    # F's leg dialled port 9093; this adapter's own fallback would say 9094.
    conn1 = "F_ami_drop_resync.conn1.ami.txt"
    newchannel = next(b for b in after(conn1, "vl-39") if b.startswith(b"Event: Newchannel"))

    def originate(conn: Conn, msg: AmiMessage) -> None:
        conn.reply(msg, "Message: Originate successfully queued")
        conn.send(newchannel)
    harness.ami.handlers["originate"] = originate
    harness.ami.handlers["hangup"] = lambda c, m: c.reply(m, "Message: Channel Hungup")
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(F_ID))
    await asyncio.sleep(0.05)
    await adapter.hangup(F_ID)
    [hangup] = harness.ami.conns[0].named("Hangup")
    assert hangup.get("Channel") == f"AudioSocket/127.0.0.1:9093-{F_ID}"


async def test_resync_answer_older_than_a_new_leg_does_not_bury_it(harness: Harness) -> None:
    # The login resync's CoreShowChannels is answered (without the leg) only
    # after the leg was placed and confirmed on the same link.
    harness.ami.handlers["originate"] = lambda c, m: c.send(
        with_action_id(answer_to(I_FILE, "vli-2"), "vli-2", m.action_id))

    async def late_channels(conn: Conn, msg: AmiMessage) -> None:
        await eventually(lambda: bool(harness.of(LegOriginated)))
        conn.send(empty_list(msg.action_id, "CoreShowChannelsComplete"))

    harness.ami.handlers["coreshowchannels"] = lambda c, m: asyncio.ensure_future(
        late_channels(c, m)) and None
    adapter = harness.adapter()
    await adapter.start()
    await adapter.place_call(call(I_ID))
    await harness.ami.action(harness.ami.conns[0], "CoreShowChannels")
    await asyncio.sleep(0.1)
    assert harness.events == [LinkUp(BANNER), LegOriginated(I_ID, I_CHANNEL)]
