"""The four panoramisk 1.4 defects of shared/DESIGN.md, each shown on bare
panoramisk (its own Manager against the same in-process AMI peer) and then
absent through vidline's adapter or link."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from panoramisk import Manager, actions
from panoramisk.message import Message

from tests.integration.asterisk.fake_ami import Conn, FakeAmi, eventually
from vidline.config import AsteriskConfig, AudioSocketConfig
from vidline.context.model import InteractionContext
from vidline.pbx.asterisk.adapter import AsteriskAdapter
from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.asterisk.link import AmiLink, _Action, wait_answer
from vidline.pbx.base import PlaceCall
from vidline.pbx.events import LinkDown, LinkUp, MemberPaused, PbxEvent

IID = "053c0f04-cbe8-4943-a9e0-db543c31983e"
PAUSE_EVENT = ("Event: QueueMemberPause\r\nQueue: support\r\nMemberName: Agent Zoë\r\n"
               "Interface: PJSIP/1001\r\nPaused: 1\r\nPausedReason: Café ☕\r\n\r\n").encode()


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    server = FakeAmi()
    await server.start()
    yield server
    await server.close()


def manager(ami: FakeAmi, **config: Any) -> Any:
    settings: dict[str, Any] = dict(host="127.0.0.1", port=ami.port, username="vidline",
                                    secret="s3cret", ping_delay=3600, reconnect_timeout=3600,
                                    loop=asyncio.get_running_loop())
    settings.update(config)
    return Manager(**settings)


def adapter(ami: FakeAmi, events: list[PbxEvent], **config: Any) -> AsteriskAdapter:
    settings: dict[str, Any] = dict(port=ami.port, secret="s3cret", ping_interval=30.0,
                                    ping_timeout=1.0, reconnect_min=0.02)
    settings.update(config)
    a = AsteriskAdapter(AsteriskConfig(**settings), AudioSocketConfig(listen_port=9094))
    a.subscribe(events.append)
    return a


async def until(predicate: Any, within: float = 3.0) -> None:
    await eventually(predicate, within)


async def send_split(conn: Conn, data: bytes, cut: int) -> None:
    conn.send(data[:cut])
    await conn.writer.drain()
    await asyncio.sleep(0.05)  # two TCP reads on the other side
    conn.send(data[cut:])


async def test_a_utf8_split_across_reads(ami: FakeAmi) -> None:
    cut = PAUSE_EVENT.index("é".encode()) + 1

    got: list[Any] = []
    bare = manager(ami)
    bare.register_event("QueueMemberPause", lambda m, event: got.append(event))
    await bare.connect()
    conn = await ami.conn(0)
    await ami.action(conn, "Login")
    await send_split(conn, PAUSE_EVENT, cut)
    await until(lambda: got)
    bare.close()
    assert got[0]["PausedReason"] == "Caf ☕"  # panoramisk: the é is gone

    events: list[PbxEvent] = []
    ours = adapter(ami, events)
    await ours.start()
    conn = await ami.conn(1)
    await ami.action(conn, "CoreShowChannels")
    await asyncio.sleep(0.05)
    await send_split(conn, PAUSE_EVENT, cut)
    await until(lambda: any(isinstance(e, MemberPaused) for e in events))
    await ours.close()
    assert [e.reason for e in events if isinstance(e, MemberPaused)] == ["Café ☕"]


def _queued(conn: Conn, msg: AmiMessage) -> None:
    conn.reply(msg, "Message: Originate successfully queued")


ORIGINATE_NO_ASYNC = {"Action": "Originate", "Channel": f"AudioSocket/127.0.0.1:9094/{IID}",
                      "Context": "vidline-inbound", "Exten": "s", "Priority": "1"}


async def test_b_originate_without_async(ami: FakeAmi) -> None:
    ami.handlers["originate"] = _queued

    bare = manager(ami)
    await bare.connect()
    conn = await ami.conn(0)
    await ami.action(conn, "Login")
    await asyncio.sleep(0.05)
    future = bare.send_action(dict(ORIGINATE_NO_ASYNC))
    # KeyError('async') inside data_received: asyncio closes the connection
    await asyncio.wait_for(conn.closed.wait(), 2.0)
    assert not future.done()
    bare.close()

    # the same on panoramisk's Action alone, and on vidline's subclass of it
    queued = Message({"Response": "Success", "ActionID": "x",
                      "Message": "Originate successfully queued"})
    with pytest.raises(KeyError):
        actions.Action(dict(ORIGINATE_NO_ASYNC)).add_message(queued)
    ours = _Action(dict(ORIGINATE_NO_ASYNC))
    assert ours.add_message(queued) and ours.future.result() is queued

    link = await AmiLink.open("127.0.0.1", ami.port, username="vidline", secret="s3cret",
                              events="call,agent", within=2.0, on_event=lambda m: None)
    reply = await wait_answer(link.send([("Action", "Originate"), ("ActionID", "vl-b"),
                                         *[(k, v) for k, v in ORIGINATE_NO_ASYNC.items()
                                           if k != "Action"]]), 2.0)
    assert reply[0].get("Message") == "Originate successfully queued"
    await asyncio.sleep(0.05)
    assert link.is_open and not ami.conns[1].closed.is_set()
    link.abort("test over")


async def test_c_pending_originate_is_not_replayed(ami: FakeAmi) -> None:
    def close_first(conn: Conn, msg: AmiMessage) -> None:
        if ami.conns.index(conn) in (0, 2):  # the first link of each client
            conn.close()  # drops before Asterisk answers
        else:
            _queued(conn, msg)
    ami.handlers["originate"] = close_first

    bare = manager(ami, reconnect_timeout=0)
    await bare.connect()
    await ami.action(await ami.conn(0), "Login")
    await asyncio.sleep(0.05)
    bare.send_action({"Action": "Originate", "ChannelId": IID, "Async": "true",
                      "Channel": f"AudioSocket/127.0.0.1:9094/{IID}"})
    second = await ami.conn(1)
    await ami.action(second, "Originate")  # panoramisk sent it again after FullyBooted
    bare.close()
    first_id = ami.conns[0].named("Originate")[0].action_id
    assert second.named("Originate")[0].action_id == first_id

    events: list[PbxEvent] = []
    ours = adapter(ami, events)
    await ours.start()
    third = await ami.conn(2)
    ctx = InteractionContext(phone="5551234")
    await ours.place_call(PlaceCall(IID, "support", 0, 120, ctx, ""))
    fourth = await ami.conn(3)
    await ami.action(fourth, "CoreShowChannels")
    await asyncio.sleep(0.1)
    await ours.close()
    assert len(third.named("Originate")) == 1
    assert fourth.named("Originate") == []


async def test_d_ping_without_pong(ami: FakeAmi) -> None:
    ami.handlers["ping"] = lambda c, m: None  # half-open: nothing ever comes back
    drops: list[Any] = []

    bare = manager(ami, ping_delay=1, ping_interval=1,
                   on_disconnect=lambda m, exc: drops.append(exc))
    await bare.connect()
    conn = await ami.conn(0)
    await ami.action(conn, "Ping", count=2, within=4.0)
    await asyncio.sleep(0.2)
    # two unanswered Pings and panoramisk still believes in the link
    assert drops == [] and len(ami.conns) == 1 and not bare.protocol.closed
    bare.close()

    events: list[PbxEvent] = []
    ours = adapter(ami, events, ping_interval=0.1, ping_timeout=0.2)
    await ours.start()
    await until(lambda: sum(isinstance(e, LinkUp) for e in events) == 2)
    await ours.close()
    assert next(e for e in events if isinstance(e, LinkDown)) == LinkDown("no Pong within 0.2 s")
