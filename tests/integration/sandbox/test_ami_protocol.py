"""The sandbox's AMI server speaks manager.c's protocol: banner, login,
event classes, Ping, the 1024-byte line limit, lone LF, ChannelId."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.sandbox.harness import AmiClient, AudioSocketServer, lab_config
from tests.integration.sandbox.transcripts import header_names, lab_channelvars, load, sent_actions
from vidline.audiosocket.codec import Kind
from vidline.pbx.sandbox.pbx import SandboxPbx


@pytest.fixture
async def pbx(tmp_path: Path) -> AsyncIterator[SandboxPbx]:
    p = SandboxPbx(lab_config(f"sqlite:///{tmp_path}/cdr.db"), auth_fail_delay=0.05)
    await p.start()
    yield p
    await p.close()


async def client(pbx: SandboxPbx) -> AmiClient:
    c = AmiClient()
    await c.connect(pbx.ami_port)
    return c


async def test_banner_and_login_like_asterisk(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    await c.login()
    booted = await c.event("FullyBooted")
    real = next(m for m in load("A_answered_completeagent.ami.txt") if m.event == "FullyBooted")
    assert c.banner == "Asterisk Call Manager/11.0.0"
    assert [k for k, _ in booted.headers] == [k for k, _ in real.headers]  # no Timestamp
    assert (await c.response("login")).get("Message") == "Authentication accepted"
    await c.close()


async def test_wrong_secret_is_refused_and_closed(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    c.send([("Action", "Login"), ("ActionID", "x"), ("Username", "vidline"), ("Secret", "no")])
    resp = await c.response("x")
    assert (resp.response, resp.get("Message")) == ("Error", "Authentication failed")
    await asyncio.wait_for(c.eof.wait(), 5)
    await c.close()


async def test_actions_before_login_are_denied(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    c.send([("Action", "Ping"), ("ActionID", "p")])
    assert (await c.response("p")).get("Message") == "Permission denied"
    await c.close()


async def test_ping_logoff_and_lone_lf(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    await c.login()
    c.send_raw(b"Action: Ping\nActionID: lf\n\n")  # FINDINGS G3: a lone LF ends a line
    pong = await c.response("lf")
    assert pong.get("Ping") == "Pong" and float(pong.get("Timestamp")) > 0
    c.send([("Action", "Logoff"), ("ActionID", "bye")])
    bye = await c.response("bye")
    assert (bye.response, bye.get("Message")) == ("Goodbye", "Thanks for all the fish.")
    await asyncio.wait_for(c.eof.wait(), 5)
    await c.close()


async def test_a_line_of_1024_bytes_rejects_the_whole_action(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    await c.login()
    long_value = "x" * 1100
    c.send_raw(b"Action: Ping\r\nActionID: long\r\nVariable: A=" + long_value.encode()
               + b"\r\n\r\nAction: Ping\r\nActionID: after\r\n\r\n")
    resp = await c.response("long")
    assert (resp.response, resp.get("Message")) == (
        "Error", "Failed to parse message: line too long")
    assert (await c.response("after")).get("Ping") == "Pong"  # the session goes on
    assert not any(m.get("Ping") and m.action_id == "long" for m in c.messages)
    await c.close()


async def test_event_classes_filter(pbx: SandboxPbx) -> None:
    audio = AudioSocketServer()
    port = await audio.start()
    on, call_agent, off = await client(pbx), await client(pbx), await client(pbx)
    await on.login("on")
    await call_agent.login("call,agent")
    await off.login("off")
    cid = str(uuid.uuid4())
    on.send([("Action", "Originate"), ("ActionID", "o"),
             ("Channel", f"AudioSocket/127.0.0.1:{port}/{cid}"), ("ChannelId", cid),
             ("Context", "vidline-inbound"), ("Exten", "s"), ("Priority", "1"),
             ("CallerID", "Customer <5551234>"), ("Async", "true"),
             ("Variable", "__VIDLINE_SESSION=" + cid), ("Variable", "__VIDLINE_QUEUE=overflow")])
    join = await call_agent.event("QueueCallerJoin")
    await on.event("QueueCallerJoin")
    # FINDINGS I: ChannelId is the Uniqueid, the Linkedid and the queue_log callid
    assert join.get("Uniqueid") == cid and join.get("Linkedid") == cid
    assert f"VIDLINE_SESSION={cid}" in join.get_all("ChanVariable")
    assert [r.callid for r in pbx.control.queue_log()] == [cid, cid]
    assert any(m.event == "VarSet" for m in on.messages)
    assert not any(m.event in ("VarSet", "FullyBooted") for m in call_agent.messages)
    assert not any(m.event for m in off.messages)
    session = audio.sessions[0]
    assert str(session.uuid) == cid
    for c in (on, call_agent, off):
        await c.close()
    await audio.close()


async def test_auto_answer_plays_the_agent_tone(tmp_path: Path) -> None:
    """The demo mode: agents answer by themselves; the customer hears MOH, then 800 Hz."""
    p = SandboxPbx(lab_config(f"sqlite:///{tmp_path}/c.db", auto_answer=True,
                              auto_answer_after=0.3))
    await p.start()
    audio = AudioSocketServer()
    port = await audio.start()
    c = await client(p)
    await c.login("call,agent")
    cid = str(uuid.uuid4())
    c.send([("Action", "Originate"), ("ActionID", "o"), ("ChannelId", cid),
            ("Channel", f"AudioSocket/127.0.0.1:{port}/{cid}"), ("Context", "vidline-inbound"),
            ("Exten", "s"), ("CallerID", "Customer <5551234>"), ("Async", "true"),
            ("Variable", "__VIDLINE_QUEUE=support")])
    await c.event("AgentConnect", MemberName="Agent Alice")
    before = len(audio.sessions[0].audio)
    await asyncio.sleep(0.8)
    # skip the frames that were already on their way when the tone started
    tone = bytes(audio.sessions[0].audio[before + 3200:before + 3200 + 1600])
    samples = [int.from_bytes(tone[i:i + 2], "little", signed=True) for i in range(0, 1600, 2)]
    crossings = sum(1 for a, b in itertools.pairwise(samples) if a < 0 <= b)
    assert 70 <= crossings <= 90  # 800 positive zero crossings per second, 0.1 s of audio
    await c.close()
    await p.close()
    await audio.close()


async def test_slin16_and_core_show_channels(tmp_path: Path) -> None:
    """J: ``/c(slin16)`` gives 0x12 frames of 640 bytes; F: CoreShowChannel
    carries the channel's variables (the resync after an AMI reconnect)."""
    p = SandboxPbx(lab_config(f"sqlite:///{tmp_path}/c.db"), channelvars=lab_channelvars())
    await p.start()
    audio = AudioSocketServer()
    port = await audio.start()
    c = await client(p)
    await c.login()
    action = next(a for a in sent_actions("J_audiosocket_slin16.sent.txt")
                  if a.get("Action") == "Originate")
    headers = [(k, v.replace("127.0.0.1:9095", f"127.0.0.1:{port}")) for k, v in action.headers]
    headers = [(k, "VIDLINE_QUEUE=overflow" if v.startswith("VIDLINE_QUEUE=") else v)
               for k, v in headers]
    c.send(headers)
    cid = action.get("ChannelId")
    await c.event("QueueCallerJoin", Uniqueid=cid)
    await asyncio.sleep(0.2)
    session = audio.sessions[0]
    assert Kind.AUDIO_16K in session.kinds and Kind.AUDIO_8K not in session.kinds
    assert len(session.audio) % 640 == 0 and len(session.audio) >= 640
    c.send([("Action", "CoreShowChannels"), ("ActionID", "cs")])
    done = await c.event("CoreShowChannelsComplete")
    shown = [m for m in c.messages if m.event == "CoreShowChannel"]
    real = next(m for m in load("F_ami_drop_resync.ami.txt") if m.event == "CoreShowChannel")
    assert done.get("ListItems") == "1" and len(shown) == 1
    assert header_names(shown[0]) == header_names(real)
    assert shown[0].get("Uniqueid") == cid and shown[0].get("Application") == "Queue"
    sent_vars = [v for k, v in headers if k == "Variable" and v.split("=")[0] in lab_channelvars()]
    assert sent_vars and set(sent_vars) <= set(shown[0].get_all("ChanVariable"))
    await c.close()
    await p.close()
    await audio.close()



async def test_setvar_answers_like_manager_c(pbx: SandboxPbx) -> None:
    c = await client(pbx)
    await c.login()
    await c.response("login")
    c.send([("Action", "Setvar"), ("ActionID", "v1"), ("Channel", "PJSIP/none-00000001"),
            ("Variable", "CDR(vidline_recording)"), ("Value", "x")])
    assert ((r := await c.response("v1")).response, r.get("Message")) == (
        "Error", "No such channel")
    c.send([("Action", "Setvar"), ("ActionID", "v2"), ("Value", "x")])
    assert (await c.response("v2")).get("Message") == "No variable specified"
    c.send([("Action", "Setvar"), ("ActionID", "v3"), ("Variable", "G"), ("Value", "1")])
    assert ((r := await c.response("v3")).response, r.get("Message")) == (
        "Success", "Variable Set")
    assert pbx.globals == {"G": "1"}
    await c.close()
