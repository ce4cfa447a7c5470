"""The vidline-inbound context, step by step, as vidline's own dialplan
(dialplan/asterisk/extensions_vidline.conf.j2, the common.md contract; the
lab's shared/asterisk/conf/extensions.conf is its ancestor) runs it:

   1 NoOp   2 Set(__VIDLINE_QUEUE=<default>)   3 Set(QUEUE_PRIO=${VIDLINE_PRIO})
   4 ExecIf(CALLERID(num)=${VIDLINE_PHONE})   5-11 Set(CDR(vidline_*))
  12 QueueLog(queue,${UNIQUEID},NONE,VIDEOCHAT,session|category|customer)
  13 Answer  14 GotoIf  15 Queue(agent-<ext>,,panel url,,pref timeout)  16 NoOp
  17 Queue(queue,,panel url,,${VIDLINE_QUEUE_TIMEOUT})  18 NoOp  19 Hangup

Each Set() of a variable raises a VarSet event (class dialplan); the
channel's priority follows the step, so Queue events carry the priority of
the Queue() line as the real ones do. Variables reach the agent legs only
when they were set with "__" (vidline's Originate sends them that way).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vidline.pbx.sandbox.channels import AudioSocketLeg, Channel
from vidline.pbx.sandbox.queues import run_caller

if TYPE_CHECKING:
    from vidline.pbx.sandbox.pbx import SandboxPbx

CDR_FIELDS = ("session", "customer_id", "phone", "category", "page_url", "kiosk", "queue")
PREF_TIMEOUT_DEFAULT = 12  # dialplan_render.PREF_TIMEOUT_DEFAULT


@dataclass
class Dial:
    """One Dial of an agent from this caller: a CDR row of its own (ringall forks)."""

    dstchannel: str
    start: float
    end: float | None = None
    answered: bool = False


@dataclass
class Call:
    channel: Channel
    leg: AudioSocketLeg
    gone: asyncio.Event = field(default_factory=asyncio.Event)
    prio: int = 0
    cdr: dict[str, str] = field(default_factory=dict)
    dials: list[Dial] = field(default_factory=list)
    bridged: bool = False
    cause: int | None = None  # from an AMI Hangup with Cause
    task: asyncio.Task[None] | None = None

    def hear_moh(self) -> None:
        self.leg.audio.mode = self.leg.audio.MOH

    def hear_silence(self) -> None:
        self.leg.audio.mode = self.leg.audio.SILENCE

    def hear_tone(self, hz: float) -> None:
        self.leg.audio.tone_hz = hz
        self.leg.audio.mode = self.leg.audio.TONE

    async def wait_gone(self, timeout: float) -> None:  # noqa: ASYNC109
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.gone.wait(), timeout)


def _int(value: str, default: int) -> int:
    try:
        return int(value)
    except ValueError:
        return default


async def run_inbound(pbx: SandboxPbx, call: Call) -> None:
    ch = call.channel
    ch.context, ch.exten, ch.priority = "vidline-inbound", "s", 1
    ch.app, ch.appdata = "NoOp", "vidline"

    def at(priority: int, app: str, data: str = "") -> None:
        ch.priority = priority
        ch.app, ch.appdata = app, data

    def set_var(priority: int, name: str, value: str) -> None:
        at(priority, "Set", f"{name}={value}")
        ch.setvar(name, value)
        pbx.varset(ch, name, value)

    queue = ch.getvar("VIDLINE_QUEUE") or pbx.default_queue
    set_var(2, "__VIDLINE_QUEUE", queue)
    set_var(3, "QUEUE_PRIO", ch.getvar("VIDLINE_PRIO"))
    call.prio = _int(ch.getvar("VIDLINE_PRIO"), 0)
    at(4, "ExecIf")
    phone = ch.getvar("VIDLINE_PHONE")
    if phone:
        ch.caller_num = ch.connected_num = phone
    for i, name in enumerate(CDR_FIELDS):
        value = ch.getvar(f"VIDLINE_{name.upper()}")
        at(5 + i, "Set", f"CDR(vidline_{name})={value}")
        call.cdr[f"vidline_{name}"] = value
    session, category = ch.getvar("VIDLINE_SESSION"), ch.getvar("VIDLINE_CATEGORY")
    customer = ch.getvar("VIDLINE_CUSTOMER_ID")
    at(12, "QueueLog", f"{queue},{ch.uniqueid},NONE,VIDEOCHAT,{session}|{category}|{customer}")
    pbx.qlog(ch.uniqueid, queue, "NONE", "VIDEOCHAT", session, category, customer)
    at(13, "Answer")  # the AudioSocket leg is Up already
    at(14, "GotoIf")
    url = ch.getvar("VIDLINE_PANEL_URL")
    preferred = ch.getvar("VIDLINE_PREFERRED_AGENT")
    status = ""
    if preferred and not call.gone.is_set():
        timeout = _int(ch.getvar("VIDLINE_PREF_TIMEOUT"), PREF_TIMEOUT_DEFAULT)
        at(15, "Queue", f"agent-{preferred},,{url},,{timeout}")
        pref_queue = pbx.queues.get(f"agent-{preferred}")
        status = (await run_caller(pbx, pref_queue, call, url, timeout)
                  if pref_queue is not None else "UNKNOWN")
        if status not in ("COMPLETED", "ABANDON"):
            at(16, "NoOp")
    if status not in ("COMPLETED", "ABANDON") and not call.gone.is_set():
        # an empty ${VIDLINE_QUEUE_TIMEOUT} is no timeout at all, as in Queue()
        timeout = _int(ch.getvar("VIDLINE_QUEUE_TIMEOUT"), 0)
        at(17, "Queue", f"{queue},,{url},,{ch.getvar('VIDLINE_QUEUE_TIMEOUT')}")
        main = pbx.queues.get(queue)
        if main is not None:
            status = await run_caller(pbx, main, call, url, timeout)
    if status in ("COMPLETED", "ABANDON") or call.gone.is_set():
        # the channel hung up inside Queue(): lastapp stays Queue (A, B, C)
        await pbx.hangup_customer(call, call.cause or (16 if call.bridged else 0))
        return
    at(18, "NoOp")
    at(19, "Hangup")
    await pbx.hangup_customer(call, 16)
