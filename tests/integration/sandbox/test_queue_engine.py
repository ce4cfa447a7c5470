"""Queue behaviour that the transcripts do not cover, checked against
app_queue's documented rules: caller priority, strategies, queue timeout,
AMI Hangup of a waiting caller."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.sandbox.harness import HASH, AmiClient, AudioSocketServer
from vidline.config import parse_config
from vidline.pbx.sandbox.pbx import SandboxPbx

A, B = "PJSIP/2001", "PJSIP/2002"


class Env:
    def __init__(self, pbx: SandboxPbx, ami: AmiClient, port: int) -> None:
        self.pbx, self.ami, self.port = pbx, ami, port
        self.ctl = pbx.control

    def call(self, queue: str, prio: int = 0, timeout: str = "") -> str:
        cid = str(uuid.uuid4())
        self.ami.send([
            ("Action", "Originate"), ("ActionID", cid), ("ChannelId", cid),
            ("Channel", f"AudioSocket/127.0.0.1:{self.port}/{cid}"),
            ("Context", "vidline-inbound"), ("Exten", "s"), ("Priority", "1"),
            ("CallerID", "Customer <5551234>"), ("Async", "true"),
            ("Variable", f"__VIDLINE_SESSION={cid}"), ("Variable", f"__VIDLINE_QUEUE={queue}"),
            ("Variable", f"__VIDLINE_PRIO={prio}"),
            ("Variable", f"__VIDLINE_QUEUE_TIMEOUT={timeout}")])
        return cid

    def called(self) -> list[tuple[str, str]]:
        return [(m.get("Uniqueid"), m.get("Interface")) for m in self.ami.messages
                if m.event == "AgentCalled"]

    def qlog(self, event: str) -> list[list[str]]:
        return [[r.callid, r.queuename, r.agent, *r.data] for r in self.ctl.queue_log()
                if r.event == event]


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    queues = [{"name": n, "strategy": s, "ring_timeout": 1, "retry": 0}
              for n, s in (("rr", "rrmemory"), ("lin", "linear"), ("lr", "leastrecent"),
                           ("all", "ringall"), ("empty", "ringall"))]
    agents = [{"username": u, "password_hash": HASH, "interface": i, "member_name": n,
               "queues": ["rr", "lin", "lr", "all"]}
              for u, i, n in (("a", A, "Agent A"), ("b", B, "Agent B"))]
    config = parse_config({
        "asterisk": {"username": "vidline", "secret": "s"},
        "database": {"url": f"sqlite:///{tmp_path}/c.db"},
        "routing": {"default_queue": "all"}, "agents": agents,
        "sandbox": {"enabled": True, "ami_port": 0, "auto_answer": False, "queues": queues}})
    pbx = SandboxPbx(config)
    await pbx.start()
    audio = AudioSocketServer()
    port = await audio.start()
    ami = AmiClient()
    await ami.connect(pbx.ami_port)
    ami.send([("Action", "Login"), ("ActionID", "l"), ("Username", "vidline"),
              ("Secret", "s"), ("Events", "call,agent")])
    await ami.response("l")
    yield Env(pbx, ami, port)
    await ami.close()
    await pbx.close()
    await audio.close()


async def talk(env: Env, interface: str) -> None:
    await env.ctl.wait_for(lambda: env.ctl.ringing(interface))
    await env.ctl.answer(interface)
    await env.ctl.wait_for(lambda: env.ctl.in_call(interface))
    await env.ctl.agent_hangup(interface)
    await env.ctl.wait_for(lambda: not env.ctl.in_call(interface))


async def test_higher_priority_goes_first(env: Env) -> None:
    env.ami.send([("Action", "QueuePause"), ("ActionID", "p"), ("Interface", A),
                  ("Paused", "true"), ("Reason", "lunch")])
    env.ami.send([("Action", "QueuePause"), ("ActionID", "p2"), ("Interface", B),
                  ("Paused", "true")])
    await env.ami.response("p2")
    low = env.call("all", prio=0)
    await env.ami.event("QueueCallerJoin", Uniqueid=low)
    high = env.call("all", prio=5)
    join = await env.ami.event("QueueCallerJoin", Uniqueid=high)
    assert (join.get("Position"), join.get("Count")) == ("1", "2")
    # no event tells the low caller it moved down; QueueStatus does
    env.ami.send([("Action", "QueueStatus"), ("ActionID", "s"), ("Queue", "all")])
    await env.ami.event("QueueStatusComplete")
    entries = [(m.get("Position"), m.get("Uniqueid"), m.get("Priority"))
               for m in env.ami.messages if m.event == "QueueEntry"]
    assert entries == [("1", high, "5"), ("2", low, "0")]
    # paused everywhere without a Queue: PAUSEALL (interface) then PAUSE per queue (member)
    assert ["NONE", "NONE", A, ""] in env.qlog("PAUSEALL")
    assert ["NONE", "rr", "Agent A", "lunch"] in env.qlog("PAUSE")
    env.ami.send([("Action", "QueuePause"), ("ActionID", "u"), ("Interface", A),
                  ("Queue", "all"), ("Paused", "false")])
    await talk(env, A)
    assert env.called()[0] == (high, A)


async def test_rrmemory_rotates_and_linear_moves_on(env: Env) -> None:
    first = env.call("rr")
    await talk(env, A)
    second = env.call("rr")
    await talk(env, B)
    assert env.called() == [(first, A), (second, B)]
    caller = env.call("lin")
    await env.ctl.wait_for(lambda: env.ctl.ringing(A))
    await env.ctl.reject(A)
    await env.ami.event("AgentRingNoAnswer", Interface=A)
    await talk(env, B)  # linear: the next member for this caller, not A again
    assert env.called()[2:] == [(caller, A), (caller, B)]
    assert env.qlog("RINGNOANSWER")[0][:3] == [caller, "lin", "Agent A"]


async def test_leastrecent_prefers_the_longest_idle(env: Env) -> None:
    env.call("rr")
    await talk(env, A)  # A took the last call
    caller = env.call("lr")
    await talk(env, B)
    assert env.called()[-1] == (caller, B)


async def test_ring_timeout_then_queue_timeout(env: Env) -> None:
    caller = env.call("all", timeout="2")
    await env.ami.event("AgentRingNoAnswer")  # ringall: both ring 1 s, nobody answers
    leave = await env.ami.event("QueueCallerLeave", Uniqueid=caller)
    hangup = await env.ami.event("Hangup", Uniqueid=caller)
    assert leave.get("Count") == "0" and hangup.get("Cause") == "16"
    assert not any(m.event == "QueueCallerAbandon" for m in env.ami.messages)
    assert env.qlog("EXITWITHTIMEOUT")[0][:5] == [caller, "all", "NONE", "1", "1"]
    rna = env.qlog("RINGNOANSWER")
    # the first round rang both for the full second; a later one ends at the queue timeout
    assert {r[2] for r in rna} == {"Agent A", "Agent B"}
    assert sum(int(r[3]) >= 900 for r in rna) >= 2
    await env.ctl.flush_db()
    rows = {(r.dstchannel or "")[:10]: r for r in env.ctl.cdrs()}
    assert {r.disposition for r in env.ctl.cdrs()} == {"NO ANSWER"}
    assert all(r.lastapp == "Hangup" for r in rows.values())


async def test_ami_hangup_of_a_waiting_caller_is_an_abandon(env: Env) -> None:
    caller = env.call("empty")
    join = await env.ami.event("QueueCallerJoin", Uniqueid=caller)
    await asyncio.sleep(0.1)
    env.ami.send([("Action", "Hangup"), ("ActionID", "h"), ("Channel", join.get("Channel"))])
    assert (await env.ami.response("h")).get("Message") == "Channel Hungup"
    await env.ami.event("QueueCallerAbandon", Uniqueid=caller)
    assert (await env.ami.event("Hangup", Uniqueid=caller)).get("Cause") == "0"
    assert env.qlog("ABANDON")[0][:5] == [caller, "empty", "NONE", "1", "1"]
    # by regular expression, with a cause: manager.c's list answer
    second = env.call("empty")
    await env.ami.event("QueueCallerJoin", Uniqueid=second)
    env.ami.send([("Action", "Hangup"), ("ActionID", "h2"), ("Channel", f"/{second[:8]}/"),
                  ("Cause", "16")])
    done = await env.ami.event("ChannelsHungupListComplete")
    hung = [m.get("Channel") for m in env.ami.messages if m.event == "ChannelHungup"]
    assert done.get("ListItems") == "1" and hung == [join.get("Channel").replace(caller, second)]
    assert (await env.ami.event("Hangup", Uniqueid=second)).get("Cause") == "16"
    env.ami.send([("Action", "Hangup"), ("ActionID", "h3"), ("Channel", join.get("Channel"))])
    assert (await env.ami.response("h3")).get("Message") == "No such channel"


async def test_a_phone_agent_rings_answers_and_hangs_up(env: Env) -> None:
    caller = env.call("rr")
    await talk(env, A)
    await env.ami.event("Hangup", Uniqueid=caller)
    agent_chan = next(m.get("DestChannel") for m in env.ami.messages
                      if m.event == "AgentCalled")
    assert agent_chan.startswith(f"{A}-") and not agent_chan.endswith((";1", ";2"))
    states = [m.get("ChannelState") for m in env.ami.messages
              if m.event == "Newstate" and m.get("Channel") == agent_chan]
    assert states == ["5", "6"]  # Ringing, then Up
    statuses = [m.get("Status") for m in env.ami.messages
                if m.event == "QueueMemberStatus" and m.get("Queue") == "rr"
                and m.get("Interface") == A]
    assert statuses == ["6", "2", "1"]  # ringing, in use, free again
    complete = next(m for m in env.ami.messages if m.event == "AgentComplete")
    assert complete.get("Reason") == "agent" and complete.get("DestChannel") == agent_chan
    hangups = [m.get("Channel") for m in env.ami.messages if m.event == "Hangup"]
    assert hangups[0] == agent_chan and hangups[-1].endswith(caller)
    await env.ctl.flush_db()
    (row,) = env.ctl.cdrs()  # a phone's leg is the customer row's dstchannel, no row of its own
    assert (row.dstchannel, row.disposition, row.uniqueid) == (agent_chan, "ANSWERED", caller)


async def test_a_repeated_channel_id_makes_no_second_call(env: Env) -> None:
    caller = env.call("empty")
    await env.ami.event("QueueCallerJoin", Uniqueid=caller)
    env.ami.send([("Action", "Originate"), ("ActionID", "again"), ("ChannelId", caller),
                  ("Channel", f"AudioSocket/127.0.0.1:{env.port}/{caller}"),
                  ("Context", "vidline-inbound"), ("Exten", "s"), ("Async", "true")])
    failed = await env.ami.wait(lambda m: m.event == "OriginateResponse"
                                and m.action_id == "again")
    assert (failed.get("Response"), failed.get("Uniqueid")) == ("Failure", "<unknown>")
    assert len([m for m in env.ami.messages if m.event == "QueueCallerJoin"]) == 1
    assert len(env.ctl.channels()) == 1
