"""Agent legs: dialing a queue member, ring no answer, connect, complete.

Event order follows the transcripts: A (connect, agent hangs up), B (the
customer closes while bridged), first-pass 06 (ring no answer, ring
canceled). A ``Local/<ext>@<ctx>`` interface makes a ``;1``/``;2`` pair like
Asterisk's Local channels (the ``;2`` half has its own CDR row); any other
interface is one channel ``<Tech>/<res>-<n>``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vidline.pbx.sandbox.agents import AgentEndpoint, Ring, extension_of
from vidline.pbx.sandbox.cdr import CdrRow
from vidline.pbx.sandbox.channels import Channel
from vidline.pbx.sandbox.dialplan import Call, Dial

if TYPE_CHECKING:
    from vidline.pbx.sandbox.pbx import SandboxPbx
    from vidline.pbx.sandbox.queues import Member, Queue, QueueEntry


@dataclass
class Attempt:
    member: Member
    endpoint: AgentEndpoint
    ring: Ring
    chan: Channel  # the DestChannel (";1" for Local)
    inner: Channel | None  # the ";2" half of a Local channel
    dial: Dial
    started: float
    answered_at: float | None = None


def _agent_channels(pbx: SandboxPbx, call: Call, interface: str) -> tuple[Channel, Channel | None]:
    tech, _, resource = interface.partition("/")
    caller = call.channel
    if tech.lower() == "local":
        exten, _, context = resource.partition("@")
        base = f"{interface}-{pbx.ids.local_suffix()}"
        one = pbx.new_channel(f"{base};1", caller, context=context or "default", exten="s")
        two = pbx.new_channel(f"{base};2", caller, context=context or "default", exten=exten)
        return one, two
    return pbx.new_channel(f"{interface}-{pbx.ids.other_suffix()}", caller), None


def agent_dial(pbx: SandboxPbx, call: Call, queue: Queue, member: Member) -> Attempt:
    caller = call.channel
    chan, inner = _agent_channels(pbx, call, member.interface)
    for ch in (chan, inner):
        if ch is not None:
            pbx.chan_event("Newchannel", "call", ch, [])
    now = time.time()
    dial = Dial(chan.name, now)
    call.dials.append(dial)
    ring = member.endpoint.start_ringing(caller.uniqueid)
    attempt = Attempt(member, member.endpoint, ring, chan, inner, dial, time.monotonic())
    pbx.chan_event("AgentCalled", "agent", caller, [
        ("Queue", queue.name), ("Interface", member.interface), ("MemberName", member.name)],
        dest=chan)
    pbx.chan_event("DialBegin", "call", caller, [("DialString", member.interface)], dest=chan)
    # the phone rings: the far half first, as a Local channel passes it on
    for ch in (inner, chan):
        if ch is not None:
            ch.state = 5
            pbx.chan_event("Newstate", "call", ch, [])
    pbx.endpoint_changed(member.endpoint)
    return attempt


def _hangup_agent(pbx: SandboxPbx, attempt: Attempt, cause: int, inner_first: bool,
                  lastapp: str) -> None:
    order = [attempt.inner, attempt.chan] if inner_first else [attempt.chan, attempt.inner]
    for ch in order:
        if ch is not None:
            pbx.hangup_event(ch, cause)
    _inner_cdr(pbx, attempt, lastapp)


def _inner_cdr(pbx: SandboxPbx, attempt: Attempt, lastapp: str) -> None:
    """The ``;2`` half of a Local agent channel has its own CDR row."""
    inner = attempt.inner
    if inner is not None:
        end = time.time()
        answered = attempt.answered_at is not None
        pbx.writer.write_cdr(CdrRow(
            src=inner.caller_num, dst=extension_of(attempt.member.interface),
            dcontext=inner.context, clid=pbx.clid(inner), channel=inner.name, dstchannel=None,
            lastapp=lastapp, lastdata=None, start=attempt.dial.start,
            answer=attempt.answered_at, end=end,
            disposition="ANSWERED" if answered else "FAILED", userfield=None,
            uniqueid=inner.uniqueid, linkedid=inner.linkedid, sequence=inner.sequence))


def agent_ring_failed(pbx: SandboxPbx, call: Call, queue: Queue, attempt: Attempt,
                      why: str) -> None:
    """why: timeout / reject (busy) -> RINGNOANSWER; cancel (caller gone) ->
    RINGCANCELED; lost (another member answered first) -> no line."""
    ring_ms = int((time.monotonic() - attempt.started) * 1000)
    caller = call.channel
    member = attempt.member
    if why in ("timeout", "reject"):
        pbx.chan_event("AgentRingNoAnswer", "agent", caller, [
            ("Queue", queue.name), ("Interface", member.interface),
            ("MemberName", member.name), ("RingTime", str(ring_ms))], dest=attempt.chan)
    status = {"timeout": "NOANSWER", "reject": "BUSY", "cancel": "CANCEL", "lost": "CANCEL"}
    pbx.chan_event("DialEnd", "call", caller, [("DialStatus", status[why])], dest=attempt.chan)
    attempt.endpoint.stop_ringing()
    attempt.dial.end = time.time()
    _hangup_agent(pbx, attempt, {"lost": 26, "reject": 17}.get(why, 0), False, "Wait")
    if why in ("timeout", "reject"):
        pbx.qlog(caller.uniqueid, queue.name, member.name, "RINGNOANSWER", ring_ms)
    elif why == "cancel":
        pbx.qlog(caller.uniqueid, queue.name, member.name, "RINGCANCELED", ring_ms)
    pbx.endpoint_changed(attempt.endpoint)


async def agent_connect(pbx: SandboxPbx, call: Call, queue: Queue, entry: QueueEntry,
                        attempt: Attempt) -> None:
    caller = call.channel
    member = attempt.member
    holdtime = int(time.monotonic() - entry.joined)
    ringtime = int(time.monotonic() - attempt.started)
    attempt.answered_at = time.time()
    attempt.dial.answered = True
    for ch in (attempt.inner, attempt.chan):
        if ch is not None:
            ch.state, ch.answered = 6, attempt.answered_at
            pbx.chan_event("Newstate", "call", ch, [])
    ended = attempt.endpoint.begin_call()
    pbx.chan_event("DialEnd", "call", caller, [("DialStatus", "ANSWER")], dest=attempt.chan)
    pbx.chan_event("MusicOnHoldStop", "call", caller, [])
    position = queue.position(entry)
    queue.entries.remove(entry)
    pbx.chan_event("QueueCallerLeave", "agent", caller, [
        ("Queue", queue.name), ("Position", str(position)), ("Count", str(len(queue.entries)))])
    pbx.chan_event("AgentConnect", "agent", caller, [
        ("Queue", queue.name), ("Interface", member.interface), ("MemberName", member.name),
        ("HoldTime", str(holdtime)), ("RingTime", str(ringtime))], dest=attempt.chan)
    pbx.qlog(caller.uniqueid, queue.name, member.name, "CONNECT", holdtime,
             attempt.chan.uniqueid, ringtime)
    bridge = pbx.new_bridge_id()
    for ch in (attempt.chan, caller):
        ch.bridge_id = bridge
        pbx.bridge_event("BridgeEnter", ch)
    call.bridged = True
    call.hear_tone(attempt.endpoint.tone_hz)
    pbx.endpoint_changed(attempt.endpoint)
    queue.notify()
    gone: asyncio.Future[Any] = asyncio.ensure_future(call.gone.wait())
    await asyncio.wait({ended, gone}, return_when=asyncio.FIRST_COMPLETED)
    gone.cancel()
    talktime = int(time.time() - attempt.answered_at)
    by_agent = ended.done() and not call.gone.is_set()
    attempt.dial.end = time.time()

    def member_free() -> None:
        # app_queue counts the call and frees the member before AgentComplete (A)
        member.calls_taken += 1
        member.endpoint.last_call = time.time()
        queue.completed += 1
        queue.holdtime_total += holdtime
        queue.talktime_total += talktime
        attempt.endpoint.end_call()
        pbx.endpoint_changed(attempt.endpoint)

    inner = attempt.inner
    if by_agent and inner is not None:  # A: the agent's half goes first
        pbx.hangup_event(inner, 16)
        member_free()
        for ch in (attempt.chan, caller):
            pbx.bridge_event("BridgeLeave", ch)
    elif by_agent:  # a phone hanging up: it leaves the bridge and is gone
        pbx.bridge_event("BridgeLeave", attempt.chan)
        pbx.hangup_event(attempt.chan, 16)
        member_free()
        pbx.bridge_event("BridgeLeave", caller)
    else:
        for ch in (caller, attempt.chan):  # B: the customer leaves the bridge first
            pbx.bridge_event("BridgeLeave", ch)
        pbx.hangup_event(attempt.chan, 16)
        if inner is not None:
            pbx.hangup_event(inner, 16)
        member_free()
    pbx.chan_event("AgentComplete", "agent", caller, [
        ("Queue", queue.name), ("Interface", member.interface), ("MemberName", member.name),
        ("HoldTime", str(holdtime)), ("TalkTime", str(talktime)),
        ("Reason", "agent" if by_agent else "caller")], dest=attempt.chan)
    if by_agent:
        pbx.hangup_event(attempt.chan, 16)  # no-op for a phone, already gone
    _inner_cdr(pbx, attempt, "Hangup" if by_agent else "Wait")
    pbx.qlog(caller.uniqueid, queue.name, member.name,
             "COMPLETEAGENT" if by_agent else "COMPLETECALLER", holdtime, talktime,
             entry.orig_position)
    call.hear_silence()
