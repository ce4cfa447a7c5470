"""One offer of a member to agents: mod_callcenter's outbound_agent_thread.

The agent's callback contact is a loopback pair (``loopback/agent_answer``)
whose b-half bridges to the agent's phone (a second pair,
``loopback/agent_tone``), as in the lab; the phone rings on the shared
core's AgentEndpoint until it answers (control API or auto-answer), rejects
or the queue's ring timeout passes. Event orders follow A_answered (connect,
agent hangs up), C11 (cc_export_vars) and failed_first_try (bridge-agent-fail,
agent-max-no-answer then On Break). Ring-all offers every free agent at once;
the first to answer wins, the others fail with ORIGINATOR_CANCEL.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidline.pbx.sandbox.agents import Ring, extension_of, race_rings
from vidline.pbx.sandbox.esl.fschannels import FsChannel

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.callcenter import CallCenter
    from vidline.pbx.sandbox.esl.ccmodel import CcAgent, CcMember

BRIDGE_AT = ("switch_ivr_bridge.c", "switch_ivr_multi_threaded_bridge", 1689)


@dataclass
class Leg:
    agent: CcAgent
    ring: Ring
    answer_a: FsChannel
    answer_b: FsChannel
    tone_a: FsChannel
    tone_b: FsChannel
    called: int

    @property
    def channels(self) -> tuple[FsChannel, ...]:
        return (self.answer_a, self.answer_b, self.tone_a, self.tone_b)


def _pair(cc: CallCenter, exten: str) -> tuple[FsChannel, FsChannel]:
    fs = cc.fs
    a = fs.new_channel(f"loopback/{exten}-a", FsChannel.new_uuid(), "outbound", exten)
    b = fs.new_channel(f"loopback/{exten}-b", FsChannel.new_uuid(), "inbound", exten)
    a.peer, b.peer = b, a
    for leg in (a, b):
        leg.cid_name = leg.orig_cid_name = leg.callee_name = "Outbound Call"
        leg.cid_num = leg.orig_cid_num = leg.callee_num = fs.domain
    a.hit_dialplan = False  # the originated half (A: agent_answer-a, agent_tone-a)
    a.setvar("other_loopback_leg_uuid", b.uuid)
    a.setvar("loopback_leg", "A")
    b.setvar("other_loopback_leg_uuid", a.uuid)
    b.setvar("loopback_leg", "B")
    return a, b


def _dial(cc: CallCenter, member: CcMember, ch: FsChannel, agent: CcAgent) -> Leg:
    fs = cc.fs
    now = time.time()
    agent.last_offered_call = int(now)
    cc.set_state(agent, "Receiving")
    cc.event(("outbound_agent_thread_run", 1717), [
        ("CC-Queue", member.queue), ("CC-Action", "agent-offering"), ("CC-Agent", agent.name),
        ("CC-Agent-Type", "callback"), ("CC-Agent-System", "single_box"),
        ("CC-Member-UUID", member.uuid), ("CC-Member-Session-UUID", member.session_uuid),
        ("CC-Member-CID-Name", member.cid_name), ("CC-Member-CID-Number", member.cid_number)])
    answer_a, answer_b = _pair(cc, "agent_answer")
    exported = [n.strip() for n in ch.getvar("cc_export_vars").split(",") if n.strip()]
    for leg in (answer_a, answer_b):
        leg.setvar("vidline_agent", extension_of(agent.endpoint.interface))
        for k, v in (("cc_queue", member.queue), ("cc_member_uuid", member.uuid),
                     ("cc_member_session_uuid", member.session_uuid), ("cc_agent", agent.name)):
            leg.setvar(k, v)
        for name in exported:
            if name in ch.vars:
                leg.setvar(name, ch.vars[name])
    tone_a, tone_b = _pair(cc, "agent_tone")
    # answer-b's bridge originated tone-a: its events carry answer-b as Other-Leg (A)
    tone_a.bridge_peer, tone_a.other_type = answer_b, "originator"
    for leg_ch in (answer_a, answer_b, tone_a, tone_b):
        fs.chan_event("CHANNEL_CREATE", leg_ch)
    ring = agent.endpoint.start_ringing(member.session_uuid)
    return Leg(agent, ring, answer_a, answer_b, tone_a, tone_b, int(now))


def dial(cc: CallCenter, member: CcMember, ch: FsChannel, agents: list[CcAgent]) -> list[Leg]:
    """Ring the agents now, in the dispatcher's pass: each becomes Receiving
    (and its phone rings) before the next member is looked at, so one free
    agent is offered to one member only, as mod_callcenter does."""
    return [_dial(cc, member, ch, a) for a in agents]


async def offer(cc: CallCenter, member: CcMember, ch: FsChannel, legs: list[Leg]) -> None:
    queue = cc.queues[member.queue]
    killed = cc.fs.killed[ch.uuid]
    pending: dict[asyncio.Future[str], Leg] = {leg.ring.outcome: leg for leg in legs}
    winner = await race_rings(pending, killed, queue.ring_timeout,
                              lambda leg: _fail(cc, member, leg, _refused_cause(leg)))
    for leg in pending.values():
        _fail(cc, member, leg, "ORIGINATOR_CANCEL" if killed.is_set() or winner else "NO_ANSWER")
    member.offering = False
    if winner is None:
        if member.state == "Trying":
            member.state = "Waiting"
        cc.wake()
        return
    await _bridge(cc, member, ch, winner)


def _refused_cause(leg: Leg) -> str:
    """A leg that answered in the same instant as the winner lost the race
    (ring-all: cancelled like the others), one that rejected is CALL_REJECTED."""
    outcome = leg.ring.outcome
    answered = outcome.done() and not outcome.cancelled() and outcome.result() == "answer"
    return "ORIGINATOR_CANCEL" if answered else "CALL_REJECTED"


def _fail(cc: CallCenter, member: CcMember, leg: Leg, cause: str) -> None:
    fs, agent = cc.fs, leg.agent
    agent.endpoint.stop_ringing()
    # failed_first_try: the contact's b-half ends normally, its a-half with the cause
    leg.answer_a.hangup_cause = cause
    for c in (leg.tone_b, leg.tone_a, leg.answer_b, leg.answer_a):
        if not c.hangup_cause:
            c.hangup_cause = cause if c is not leg.answer_b else "NORMAL_CLEARING"
        fs.hangup_now(c)
    now = int(time.time())
    delay = 0
    if cause == "CALL_REJECTED":
        delay = agent.reject_delay_time
    elif cause == "USER_BUSY":
        delay = agent.busy_delay_time
    elif cause != "ORIGINATOR_CANCEL":
        delay = agent.no_answer_delay_time
        for tier in cc.tiers:
            if tier.agent == agent.name and tier.queue == member.queue:
                tier.state = "No Answer"
        agent.no_answer_count += 1
        if agent.max_no_answer > 0 and agent.no_answer_count >= agent.max_no_answer:
            cc.event(("outbound_agent_thread_run", 2176), [
                ("CC-Agent", agent.name), ("CC-Action", "agent-max-no-answer"),
                ("CC-Agent-No-Answer-Count", str(agent.no_answer_count)),
                ("CC-Agent-No-Answer-Status", "On Break"),
                ("CC-Member-UUID", member.uuid),
                ("CC-Member-Session-UUID", member.session_uuid)])
            cc.set_status(agent, "On Break")
    if delay:
        agent.ready_time = now + delay
    cc.event(("outbound_agent_thread_run", 2200), [
        ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-fail"),
        ("CC-Hangup-Cause", cause), ("CC-Agent", agent.name),
        ("CC-Agent-System", "single_box"), ("CC-Agent-Called-Time", str(leg.called)),
        ("CC-Agent-Aborted-Time", str(now)), ("CC-Member-UUID", member.uuid),
        ("CC-Member-Session-UUID", member.session_uuid),
        ("CC-Member-CID-Name", member.cid_name), ("CC-Member-CID-Number", member.cid_number),
        ("CC-Member-Joined-Time", str(int(member.joined_epoch)))])
    cc.set_state(agent, "Waiting")


def _agent_ids(member: CcMember, leg: Leg) -> list[tuple[str, str]]:
    return [("CC-Agent", leg.agent.name), ("CC-Agent-System", "single_box"),
            ("CC-Agent-UUID", leg.tone_a.uuid)]


async def _bridge(cc: CallCenter, member: CcMember, ch: FsChannel, leg: Leg) -> None:
    fs, agent = cc.fs, leg.agent
    queue = cc.queues[member.queue]
    ended = agent.endpoint.begin_call()
    for c in (leg.tone_a, leg.tone_b, leg.answer_a, leg.answer_b):
        fs.answer(c, "EARLY" if c in (leg.answer_a, leg.answer_b) else "")
    now = time.time()
    answered = int(now)
    # answer-b bridged to the phone (originatee of the CHANNEL_BRIDGE)
    leg.answer_b.bridge_peer, leg.answer_b.other_type = leg.tone_a, "originatee"
    leg.answer_b.bridged = now
    fs.chan_event("CHANNEL_BRIDGE", leg.answer_b, BRIDGE_AT)
    # the agent side becomes tone-a, bridged with the member (loopback bowout)
    tone = leg.tone_a
    tone.bridge_peer, tone.other_type = leg.answer_b, "originator"
    for k, v in (("cc_side", "agent"), ("cc_queue", member.queue),
                 ("cc_agent", agent.name), ("cc_agent_type", "callback"),
                 ("cc_member_uuid", member.uuid),
                 ("cc_member_session_uuid", member.session_uuid)):
        tone.setvar(k, v)
    exported = [n.strip() for n in ch.getvar("cc_export_vars").split(",") if n.strip()]
    for name in exported:
        if name in ch.vars:
            tone.setvar(name, ch.vars[name])
    tone.state, tone.call_state = "CS_EXCHANGE_MEDIA", "ACTIVE"
    member.state, member.bridge_epoch, member.serving_agent = "Answered", answered, agent.name
    agent.uuid = tone.uuid
    agent.last_bridge_start = answered
    agent.calls_answered += 1
    agent.no_answer_count = 0
    queue.calls_answered += 1
    for k, v in (("cc_agent_uuid", tone.uuid), ("cc_agent_bridged", "true"),
                 ("cc_agent", agent.name), ("cc_queue_answered_epoch", str(answered)),
                 ("cc_cause", "answered")):
        ch.setvar(k, v)
    ids = [("CC-Member-UUID", member.uuid), ("CC-Member-Session-UUID", member.session_uuid),
           ("CC-Member-CID-Name", member.cid_name), ("CC-Member-CID-Number", member.cid_number)]
    cc.event(("outbound_agent_thread_run", 1934), [
        ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-start"), *_agent_ids(member, leg),
        ("CC-Agent-Called-Time", str(leg.called)), ("CC-Agent-Answered-Time", str(answered)),
        ("CC-Member-Joined-Time", str(int(member.joined_epoch))), *ids],
        tone, only=_agent_vars(tone, exported))
    cc.set_state(agent, "In a queue call")
    cc.members_count(member.queue)
    # the contact's loopback pair bows out once the member is bridged to the
    # phone (C11, H, J3b; A had it at the end, a race of the switch's threads)
    leg.answer_b.hangup_cause = leg.answer_a.hangup_cause = "NORMAL_CLEARING"
    fs.hangup_now(leg.answer_b)
    ch.bridge_peer, ch.other_type, ch.bridged = tone, "originatee", time.time()
    ch.callee_name, ch.callee_num = tone.cid_name, tone.cid_num
    ch.state = "CS_SOFT_EXECUTE"  # uuid_bridge took it out of its dialplan (A)
    fs.chan_event("CHANNEL_BRIDGE", ch, BRIDGE_AT)
    tone.bridge_peer = ch  # from here on tone-a's Other-Leg is the member (A)
    audio = fs.audio.get(ch.uuid)
    if audio is not None:
        audio.tone_hz = agent.endpoint.tone_hz
        audio.mode = audio.TONE
    killed = fs.killed[ch.uuid]
    gone_b: asyncio.Future[Any] = asyncio.ensure_future(killed.wait())
    await asyncio.wait({ended, gone_b}, return_when=asyncio.FIRST_COMPLETED)
    gone_b.cancel()
    by_agent = ended.done() and not killed.is_set()
    if audio is not None:
        audio.mode = audio.SILENCE
    # tone-a is bridged to the member: it goes last, not with its loopback half (A)
    leg.tone_b.peer = None
    if by_agent:  # A: the phone hangs up, then the member pair, then the agent legs
        fs.hangup_now(leg.tone_b)
        # the member's callcenter application returns and its dialplan goes on
        # (J3b: set, transfer, hangup); a dialplan that ends hangs the pair up
        # before bridge-agent-end, one that parks or queues again is not awaited
        back = cc.done.get(member.uuid)
        if back is not None:
            back.set()
        await fs.settle(ch, 0.5)
    else:
        await fs.kill_and_wait(ch)
        fs.hangup_now(leg.tone_b)
    for c in (leg.answer_b, leg.answer_a, leg.tone_a):
        fs.hangup_now(c)
    agent.endpoint.end_call()
    agent.endpoint.last_call = time.time()
    ended_at = int(time.time())
    agent.last_bridge_end = ended_at
    agent.talk_time += ended_at - answered
    agent.uuid = ""
    if agent.wrap_up_time:
        agent.ready_time = ended_at + agent.wrap_up_time
    cc.event(("outbound_agent_thread_run", 2062), [
        ("CC-Queue", member.queue), ("CC-Action", "bridge-agent-end"),
        ("CC-Hangup-Cause", "SUCCESS"), *_agent_ids(member, leg), ("CC-Agent-Bridged", "true"),
        ("CC-Agent-Called-Time", str(leg.called)), ("CC-Agent-Answered-Time", str(answered)),
        ("CC-Member-Joined-Time", str(int(member.joined_epoch))),
        ("CC-Bridge-Terminated-Time", str(ended_at)), *ids],
        tone, only=_agent_vars(tone, exported))
    cc.event(("outbound_agent_thread_run", 2098), [
        ("CC-Queue", member.queue), ("CC-Action", "member-queue-end"),
        ("CC-Hangup-Cause", "SUCCESS"), ("CC-Cause", "Terminated"), *_agent_ids(member, leg),
        ("CC-Agent-Called-Time", str(leg.called)), ("CC-Agent-Answered-Time", str(answered)),
        ("CC-Member-Leaving-Time", str(ended_at)),
        ("CC-Member-Joined-Time", str(int(member.joined_epoch))), *ids], ch)
    if member in cc.members:
        cc.members.remove(member)
    done = cc.done.get(member.uuid)
    if done is not None:
        done.set()
    cc.set_state(agent, "Waiting")


def _agent_vars(tone: FsChannel, exported: list[str]) -> list[str] | None:
    """bridge-agent-* carry the member's vidline_* only through cc_export_vars (FINDINGS)."""
    return None if exported else [n for n in tone.vars if not n.startswith("vidline_")]
