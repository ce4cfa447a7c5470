"""FsSwitch: the FreeSWITCH face of the sandbox (channels, loopback pairs,
originate, the dialplan runner, hangups) over the shared sandbox core.

Theory of operation: every channel that runs applications (the b-leg of a
loopback pair always, the a-leg once the originate is answered) runs them in
its own task, as a FreeSWITCH session thread does. ``kill()`` sets the
channel's ``killed`` event; the application running (sleep, park, the
callcenter member loop) returns, the task emits CHANNEL_HANGUP_COMPLETE and
writes the CDR line, then kills the loopback peer. A channel without a task
(agent legs, a member leg bridged away from its dialplan) hangs up at once.
This gives the transcripts' orders: B1 (member killed: member-queue-end,
then a, then b) and B2 (device half killed: b, member-queue-end, a).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from vidline.pbx.sandbox import tasks
from vidline.pbx.sandbox.channels import Audio
from vidline.pbx.sandbox.esl import conf, loopback
from vidline.pbx.sandbox.esl.callcenter import CallCenter
from vidline.pbx.sandbox.esl.cdr import CdrCsv
from vidline.pbx.sandbox.esl.dialplan import default_dialplan
from vidline.pbx.sandbox.esl.fschannels import (
    CAUSES,
    EventHead,
    FsChannel,
    Headers,
    channel_event,
    stamp,
)
from vidline.pbx.sandbox.esl.originate import Originate
from vidline.pbx.sandbox.esl.server import EslServer

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.unicast import Unicast
    from vidline.pbx.sandbox.pbx import SandboxPbx

log = logging.getLogger(__name__)

SM = ("switch_core_state_machine.c", "switch_core_session_run", 626)
ANSWER_AT = ("switch_channel.c", "switch_channel_perform_mark_answered", 3961)
BRIDGE_AT = ("switch_ivr_bridge.c", "audio_bridge_on_exchange_media", 774)
HANGUP_AT = ("switch_core_state_machine.c", "switch_core_session_reporting_state", 943)


class FsSwitch:
    def __init__(self, pbx: SandboxPbx, dialplan_files: Iterable[str | Path] = ()) -> None:
        self.pbx = pbx
        config = pbx.config
        fs_config = getattr(config, "freeswitch", None)
        self.domain = str(getattr(fs_config, "domain", "") or "default")
        self.head = EventHead()
        self.channels: dict[str, FsChannel] = {}
        self.killed: dict[str, asyncio.Event] = {}
        self.answered_ev: dict[str, asyncio.Event] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.audio: dict[str, Audio] = {}  # a-leg uuid -> what the member hears
        self.audio_in: dict[str, collections.deque[bytes]] = {}  # a-leg uuid -> what came back
        self.unicasts: dict[str, Unicast] = {}
        self.started = time.time()
        self.sessions = 0
        self.restart_close, self.restart_down = 1.1, 7.9  # seconds, pass2 G
        self.closing = False
        # vars.xml: 16 kHz loopback legs only through the global loopback_initial_codec
        # (pass2 I2); vidline's audiosocket.sample_rate says which one it expects
        self.globals: dict[str, str] = {}
        if config.audiosocket.sample_rate == 16000:
            self.globals["loopback_initial_codec"] = "L16@16000h"
        self.cc = CallCenter(self)
        self.cdr = CdrCsv(config.sandbox.cdr_csv_dir)
        self.dialplan = default_dialplan(self.cc.queues)
        for path in dialplan_files:  # dialplans and configuration documents alike
            text = Path(path).read_text(encoding="utf-8")
            root = ET.fromstring(text)
            if conf.is_configuration(root):
                conf.apply(root, self.cc, self.cdr)
            else:
                self.dialplan.load_text(text)
        self.server = EslServer(self, config.sandbox.esl_password)

    async def start(self) -> None:
        await self.server.start(self.pbx.config.sandbox.esl_host, self.pbx.config.sandbox.esl_port)
        self.cc.start()

    async def close(self) -> None:
        self.closing = True
        for ch in list(self.channels.values()):
            self.kill(ch, "SYSTEM_SHUTDOWN")
        await tasks.stop(list(self.tasks.values()))
        await self.cc.close()  # the offers end their bridges (bridge-agent-end...)
        for ch in list(self.channels.values()):  # what a stopped task left behind
            self.hangup_now(ch)
        for uni in list(self.unicasts.values()):
            uni.close()
        await self.server.close()
        await self.cdr.flush()
        await asyncio.to_thread(self.cdr.close)

    @property
    def rate(self) -> int:
        return 16000 if self.globals.get("loopback_initial_codec") == "L16@16000h" else 8000

    @property
    def port(self) -> int:
        return self.server.port

    async def restart(self) -> None:
        """``fsctl shutdown restart`` (pass2 G): every channel ends with
        SYSTEM_SHUTDOWN, listeners get "The system is being shut down." and
        lose their socket ~1.1 s after the command, the ESL port refuses
        connections until the switch is back (~7.9 s in the lab, ``restart_down``),
        then the runtime agent statuses are the config's again. The callcenter
        members table (sqlite in FreeSWITCH) survives, Abandoned rows included."""
        started = time.monotonic()
        for ch in list(self.channels.values()):
            if ch.direction == "outbound" or ch.peer is None:
                self.kill(ch, "SYSTEM_SHUTDOWN")
        for ch in list(self.channels.values()):
            self.kill(ch, "SYSTEM_SHUTDOWN")
        await tasks.stop(list(self.tasks.values()))
        await asyncio.sleep(max(0.0, self.restart_close - (time.monotonic() - started)))
        await self.server.shutdown_notice()
        await asyncio.sleep(max(0.0, self.restart_down - (time.monotonic() - started)))
        self.head = EventHead()
        self.started = time.time()
        self.sessions = 0
        self.cc.reset_runtime()
        if self.closing:
            return
        await self.server.start(self.pbx.config.sandbox.esl_host, self.server.port)

    # ---- events ---------------------------------------------------------
    def emit(self, name: str, headers: Headers, subclass: str = "", body: str = "") -> None:
        self.server.broadcast(name, subclass, headers, body)

    def chan_event(self, name: str, ch: FsChannel, calling: tuple[str, str, int] = SM) -> None:
        self.emit(name, channel_event(self.head.head(name, calling), ch))

    # ---- channels -------------------------------------------------------
    def new_channel(self, name: str, uuid: str, direction: str, destination: str,
                    context: str = "default") -> FsChannel:
        ch = FsChannel(name=name, uuid=uuid, direction=direction, destination=destination,
                       context=context, rate=self.rate)
        self.sessions += 1
        self.channels[uuid] = ch
        self.killed[uuid] = asyncio.Event()
        self.answered_ev[uuid] = asyncio.Event()
        base = [("direction", direction)]
        if direction == "outbound":
            base.append(("is_outbound", "true"))
        for k, v in [*base, ("session_id", str(self.sessions)), ("read_codec", "L16"),
                     ("read_rate", str(self.rate)), ("write_codec", "L16"),
                     ("write_rate", str(self.rate)),
                     ("channel_name", name), ("uuid", uuid), ("call_uuid", uuid)]:
            ch.setvar(k, v)
        return ch

    def find(self, uuid: str) -> FsChannel | None:
        return self.channels.get(uuid.strip())

    def answer(self, ch: FsChannel, call_state: str = "") -> None:
        """Answering one loopback half answers the pair: a first, then b (A).
        ``call_state``: what the CHANNEL_ANSWER says instead (EARLY for the
        agent's loopback contact, whose b-half answers through its bridge)."""
        pair = [ch.peer, ch] if ch.peer is not None and ch.direction == "inbound" else [ch]
        now = time.time()
        for leg in pair:
            if leg is not None and not leg.answered and not leg.gone:
                leg.answered = now
                self.answered_ev[leg.uuid].set()
                # the states the transcripts show at the answer (A): a-half
                # CS_CONSUME_MEDIA/DOWN, b-half CS_EXECUTE/RINGING, ACTIVE after
                leg.call_state = call_state or ("RINGING" if leg.direction == "inbound"
                                                else "DOWN")
                leg.state = "CS_CONSUME_MEDIA" if leg.direction == "outbound" else "CS_EXECUTE"
                self.chan_event("CHANNEL_ANSWER", leg, ANSWER_AT)
                if leg.direction == "inbound":
                    leg.call_state = "ACTIVE"

    def kill(self, ch: FsChannel, cause: str = "NORMAL_CLEARING") -> None:
        if ch.gone:
            return
        if not ch.hangup_cause:
            ch.hangup_cause = cause
        task = self.tasks.get(ch.uuid)
        if task is not None and not task.done():
            # loopback passes the hangup to its other half at once; that half's
            # application ends first, so it usually reports first (C2 CID5, E)
            if ch.peer is not None and not ch.peer.gone and ch.direction == "outbound":
                self.kill(ch.peer, ch.hangup_cause)
            self.killed[ch.uuid].set()  # the task hangs up when its application returns
            return
        self.hangup_now(ch)

    async def kill_and_wait(self, ch: FsChannel, cause: str = "NORMAL_CLEARING") -> None:
        self.kill(ch, cause)
        for leg in (ch, ch.peer):
            task = self.tasks.get(leg.uuid) if leg is not None else None
            if task is not None and task is not asyncio.current_task():
                # asyncio.wait: the task's own end (even cancelled) is no error
                # here, but a cancel of the caller still stops the caller
                await asyncio.wait({task})

    async def settle(self, ch: FsChannel, timeout: float) -> None:  # noqa: ASYNC109
        """Give a channel and its loopback half up to ``timeout`` s to end by themselves."""
        running = [t for t in (self.tasks.get(ch.uuid),
                               self.tasks.get(ch.peer.uuid) if ch.peer else None)
                   if t is not None and t is not asyncio.current_task()]
        if running:
            await asyncio.wait(running, timeout=timeout)

    def hangup_now(self, ch: FsChannel) -> None:
        if ch.gone:
            return
        ch.gone = True
        ch.hangup_cause = ch.hangup_cause or "NORMAL_CLEARING"
        ch.hungup = time.time()
        ch.state, ch.call_state = "CS_REPORTING", "HANGUP"
        self._hangup_vars(ch)
        self.chan_event("CHANNEL_HANGUP_COMPLETE", ch, HANGUP_AT)
        ch.destroyed = True
        self.cdr.write(ch)
        self.channels.pop(ch.uuid, None)
        self.killed[ch.uuid].set()
        self.answered_ev.pop(ch.uuid, None)
        uni = self.unicasts.pop(ch.uuid, None)
        if uni is not None:
            uni.close()
        if ch.peer is not None and not ch.peer.gone:  # loopback passes the cause on (G)
            self.kill(ch.peer, ch.hangup_cause)
        self.cc.channel_gone(ch)

    def _hangup_vars(self, ch: FsChannel) -> None:
        end = ch.hungup
        answer = ch.answered
        ch.setvar("hangup_cause", ch.hangup_cause)
        ch.setvar("hangup_cause_q850", str(CAUSES.get(ch.hangup_cause, 16)))
        ch.setvar("start_stamp", stamp(ch.created))
        if answer:
            ch.setvar("answer_stamp", stamp(answer))
        ch.setvar("end_stamp", stamp(end))
        ch.setvar("start_epoch", str(int(ch.created)))
        ch.setvar("answer_epoch", str(int(answer)))
        ch.setvar("end_epoch", str(int(end)))
        ch.setvar("duration", str(int(end) - int(ch.created)))
        ch.setvar("billsec", str(int(end) - int(answer) if answer else 0))

    # ---- running applications ---------------------------------------------
    def run(self, ch: FsChannel, body: Callable[[], object]) -> None:
        """Run ``body`` (a coroutine function) as the channel's session thread."""
        async def session() -> None:
            try:
                coro = body()
                if asyncio.iscoroutine(coro):
                    await coro
            except Exception:
                log.exception("sandbox esl: channel %s failed", ch.name)
            finally:
                self.hangup_now(ch)
                self.tasks.pop(ch.uuid, None)

        self.tasks[ch.uuid] = self.pbx.spawn(session())

    async def wait_killed(self, ch: FsChannel, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Until the channel is killed (True) or ``timeout`` s pass (False)."""
        event = self.killed[ch.uuid]
        if timeout is None:
            await event.wait()
            return True
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def execute(self, ch: FsChannel, exten: str, context: str = "default") -> None:
        """The XML dialplan for ``exten``: its actions in order, until killed."""
        ch.hit_dialplan = True
        for _ in range(10):  # transfers
            ext = self.dialplan.find(context, exten, ch.getvar)
            if ext is None:
                if not ch.answered:
                    ch.hangup_cause = "NO_ROUTE_DESTINATION"
                return
            transfer = None
            for app, data in ext.actions:
                if ch.gone or self.killed[ch.uuid].is_set():
                    return
                transfer = await self.app(ch, app, ch.expand(data))
                if transfer is not None:
                    break
            if transfer is None:
                return
            exten, context = transfer
            # a transfer makes a new caller profile: no bridge peer in it any more (J3b)
            ch.destination, ch.context = exten, context
            ch.bridge_peer, ch.other_type = None, ""

    async def app(self, ch: FsChannel, app: str, data: str) -> tuple[str, str] | None:
        ch.application, ch.application_data = app, data
        ch.setvar("current_application", app)
        ch.setvar("current_application_data", data)
        if app == "answer":
            self.answer(ch)
        elif app == "park":
            ch.state = "CS_EXECUTE"
            await self.wait_killed(ch)
        elif app == "sleep":
            ms = int(data) if data.strip().isdigit() else 0
            await self.wait_killed(ch, ms / 1000)
        elif app == "hangup":
            ch.hangup_cause = data.strip() or "NORMAL_CLEARING"
            self.killed[ch.uuid].set()
        elif app in ("set", "export"):
            name, _, value = data.partition("=")
            if name.strip():
                ch.setvar(name.strip(), value)
        elif app == "set_profile_var":
            name, _, value = data.partition("=")
            if name.strip() == "caller_id_number":
                ch.cid_num = value
            elif name.strip() == "caller_id_name":
                ch.cid_name = value
        elif app == "callcenter":
            await self.cc.run_member(ch, data.strip())
        elif app == "transfer":
            parts = data.split()
            if parts:
                return parts[0], parts[2] if len(parts) > 2 else ch.context
        return None

    async def originate(self, o: Originate, answered: Callable[[str], None]) -> None:
        """Place a loopback pair (see loopback.py)."""
        await loopback.originate(self, o, answered)
