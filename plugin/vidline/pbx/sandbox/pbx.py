"""SandboxPbx: the composition root of the sandbox (queues from the config,
agent endpoints, the AMI server, the CDR/queue_log writer) and the helpers
that turn state changes into AMI events in the real order.

    pbx = SandboxPbx(config)          # config: vidline.config.Config
    await pbx.start()                 # AMI on config.sandbox.ami_host:ami_port (0 = any)
    pbx.ami_port                      # the bound port
    pbx.esl_port                      # pbx = "freeswitch": the ESL face's port (esl/__init__.py)
    pbx.control                       # see control.py
    await pbx.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from vidline.audiosocket.clock import PacingClock
from vidline.config import Config
from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.sandbox import legs, tasks
from vidline.pbx.sandbox.agents import AGENT_TONES, AgentEndpoint, extension_of
from vidline.pbx.sandbox.ami_server import AmiServer, Session
from vidline.pbx.sandbox.cdr import CdrRow, DbWriter, queue_log_row
from vidline.pbx.sandbox.channels import AudioSocketLeg, Channel, Ids
from vidline.pbx.sandbox.control import Control
from vidline.pbx.sandbox.dialplan import Call, Dial, run_inbound
from vidline.pbx.sandbox.headers import (
    DEFAULT_CHANNELVARS,
    channel_block,
    escape_c,
    event,
    member_block,
)
from vidline.pbx.sandbox.queues import Member, Queue
from vidline.reporting.db import Database

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch

_AUDIOSOCKET_RE = re.compile(
    r"^AudioSocket/(?P<host>[^/]+):(?P<port>\d+)/(?P<uuid>[^/]+)(?:/c\((?P<codec>[a-z0-9]+)\))?$")
_CALLERID_RE = re.compile(r'^\s*"?(?P<name>[^"<]*?)"?\s*<(?P<num>[^>]*)>\s*$')


class SandboxPbx:
    def __init__(self, config: Config, *, db: Database | None = None, use_db: bool = True,
                 channelvars: Sequence[str] = DEFAULT_CHANNELVARS,
                 auth_fail_delay: float = 1.0, fs_dialplan: Sequence[str] = ()) -> None:
        """``db``: where CDR and queue_log rows go (default: a Database of
        config.database.url; ``use_db=False`` keeps them in memory only, see
        control.queue_log()/cdrs()). ``channelvars``: manager.conf channelvars
        (default: the contract's VIDLINE_* names). ``auth_fail_delay``: the
        second manager.c waits before refusing a bad login. ``fs_dialplan``:
        FreeSWITCH XML dialplan files the FreeSWITCH face runs besides the
        lab's extensions (config ``pbx = "freeswitch"`` opens that face
        instead of AMI)."""
        self.config = config
        self.channelvars = tuple(channelvars)
        self.ids = Ids()
        self.default_queue = config.routing.default_queue
        self.queues: dict[str, Queue] = {}
        self.endpoints: dict[str, AgentEndpoint] = {}
        self.calls: dict[str, Call] = {}
        self.channels: dict[str, Channel] = {}
        self.globals: dict[str, str] = {}  # Setvar without a channel
        if db is None and use_db:
            db = Database(config.database.url)
        self.writer = DbWriter(db)
        self.ami = AmiServer(self, username=config.asterisk.username,
                             secret=config.asterisk.secret, auth_fail_delay=auth_fail_delay)
        self.control = Control(self)
        self._tasks: set[asyncio.Task[None]] = set()
        self.audio_clock = PacingClock()  # paces every AudioSocket leg's frames
        self._build()
        self.fs: FsSwitch | None = None
        if config.pbx == "freeswitch":
            from vidline.pbx.sandbox.esl.face import FsSwitch
            self.fs = FsSwitch(self, fs_dialplan)

    def _build(self) -> None:
        sandbox = self.config.sandbox
        for q in sandbox.queues:
            self.queues[q.name] = Queue(q.name, q.strategy, q.ring_timeout, q.retry)
        for i, agent in enumerate(self.config.agents):
            tone = AGENT_TONES[i] if i < len(AGENT_TONES) else 800.0 + 100 * i
            endpoint = AgentEndpoint(agent.interface, agent.member_name, tone,
                                     sandbox.auto_answer_after)
            self.endpoints[agent.interface.lower()] = endpoint
            for name in agent.queues:
                queue = self.queues.setdefault(name, Queue(name))
                queue.members.append(Member(agent.interface, agent.member_name, endpoint))
            # the per-agent queue of the preferred-agent recipe (queues.conf agent-template)
            own = Queue(f"agent-{extension_of(agent.interface)}", "ringall", 10, 1, strict=True)
            own.members.append(Member(agent.interface, agent.member_name, endpoint))
            self.queues.setdefault(own.name, own)

    @property
    def ami_port(self) -> int:
        return self.ami.port

    @property
    def esl_port(self) -> int:
        return self.fs.port if self.fs is not None else 0

    async def start(self) -> None:
        self.writer.start()
        if self.fs is not None:
            await self.fs.start()
            return
        await self.ami.start(self.config.sandbox.ami_host, self.config.sandbox.ami_port)

    async def close(self) -> None:
        if self.fs is not None:  # first: its parked channels end only when killed
            await self.fs.close()
        for call in list(self.calls.values()):
            call.gone.set()
        await tasks.stop(list(self._tasks))  # bounded, unlike wait_for (tasks.py)
        await self.ami.close()
        await self.audio_clock.close()
        await self.writer.close()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ---- events ---------------------------------------------------------
    def emit(self, headers: list[tuple[str, str]]) -> None:
        self.ami.broadcast(headers)

    def chan_event(self, name: str, privilege: str, ch: Channel,
                   extra: Sequence[tuple[str, str]], dest: Channel | None = None) -> None:
        body = channel_block(ch, self.channelvars)
        if dest is not None:
            body += channel_block(dest, self.channelvars, prefix="Dest")
        self.emit(event(name, privilege, [*body, *extra]))

    def dest_only_event(self, name: str, dest: Channel, extra: Sequence[tuple[str, str]]) -> None:
        body = channel_block(dest, self.channelvars, prefix="Dest")
        self.emit(event(name, "call", [*body, *extra]))

    def varset(self, ch: Channel, name: str, value: str) -> None:
        self.chan_event("VarSet", "dialplan", ch,
                        [("Variable", name), ("Value", escape_c(value))])

    def member_event(self, name: str, queue: Queue, member: Member) -> None:
        self.emit(event(name, "agent", member_block(queue, member)))

    def hangup_event(self, ch: Channel, cause: int) -> None:
        if ch.hungup:
            return
        ch.hungup = True
        ch.hangup_cause = cause
        text = {0: "Unknown", 16: "Normal Clearing", 17: "User busy",
                26: "Answered elsewhere"}.get(cause, "Unknown")
        self.chan_event("Hangup", "call", ch, [("Cause", str(cause)), ("Cause-txt", text)])
        self.channels.pop(ch.name, None)

    def bridge_event(self, name: str, ch: Channel) -> None:
        body = [("BridgeUniqueid", ch.bridge_id), ("BridgeType", "basic"),
                ("BridgeTechnology", "simple_bridge"), ("BridgeCreator", "<unknown>"),
                ("BridgeName", "<unknown>"), ("BridgeNumChannels", "1"),
                ("BridgeVideoSourceMode", "none")]
        self.emit(event(name, "call", [*body, *channel_block(ch, self.channelvars)]))

    def new_bridge_id(self) -> str:
        return str(uuid.uuid4())

    def endpoint_changed(self, endpoint: AgentEndpoint) -> None:
        for queue in self.queues.values():
            member = queue.member(endpoint.interface)
            if member is not None:
                self.member_event("QueueMemberStatus", queue, member)
                queue.notify()

    def qlog(self, callid: str, queue: str, agent: str, name: str, *data: str | int) -> None:
        self.writer.write_queue_log(queue_log_row(callid, queue, agent, name, *data))

    def clid(self, ch: Channel) -> str:
        return f'"{ch.caller_name}" <{ch.caller_num}>'

    # ---- channels -------------------------------------------------------
    def new_channel(self, name: str, parent: Channel | None = None, *,
                    uniqueid: str = "", context: str = "default", exten: str = "s") -> Channel:
        generated, seq = self.ids.uniqueid()
        uid = uniqueid or generated
        ch = Channel(name=name, uniqueid=uid, linkedid=parent.linkedid if parent else uid,
                     sequence=seq, context=context, exten=exten)
        if parent is not None:
            ch.inherit_from(parent)
            ch.caller_num, ch.caller_name = parent.caller_num, parent.caller_name
            ch.connected_num, ch.connected_name = parent.caller_num, parent.caller_name
        self.channels[name] = ch
        return ch

    async def originate(self, session: Session, msg: AmiMessage) -> None:
        action_id = msg.get("ActionID")
        dial = msg.get("Channel")
        match = _AUDIOSOCKET_RE.match(dial)
        cid = _CALLERID_RE.match(msg.get("CallerID"))
        name, num = (cid.group("name").strip(), cid.group("num")) if cid else ("", "")
        leg: AudioSocketLeg | None = None
        failure = "0"
        call_uuid = None
        if match is not None:
            with contextlib.suppress(ValueError):
                call_uuid = uuid.UUID(match.group("uuid"))
        channel_id = msg.get("ChannelId")
        if channel_id and any(ch.uniqueid == channel_id for ch in self.channels.values()):
            # channel.c refuses a second channel with a Unique ID in use: a repeated
            # Originate (e.g. replayed after a reconnect) makes no second call
            match = None
        if match is not None and call_uuid is not None:
            rate = 16000 if match.group("codec") == "slin16" else 8000
            holder: list[Call] = []

            def gone() -> None:
                if holder:
                    self.remote_hangup(holder[0])

            leg = AudioSocketLeg(match.group("host"), int(match.group("port")), call_uuid, rate,
                                 gone, self.audio_clock)
            try:
                await leg.connect()
            except (OSError, TimeoutError):
                leg, failure = None, "8"  # scenario H: same reason as congestion
        if leg is None or match is None or call_uuid is None:
            self.emit(event("OriginateResponse", "call", [
                ("ActionID", action_id), ("Response", "Failure"), ("Channel", dial),
                ("Context", msg.get("Context")), ("Exten", msg.get("Exten")),
                ("Reason", failure), ("Uniqueid", "<unknown>"),
                ("CallerIDNum", num or "<unknown>"), ("CallerIDName", name or "<unknown>")]))
            return
        host, port = match.group("host"), match.group("port")
        ch = self.new_channel(f"AudioSocket/{host}:{port}-{call_uuid}",
                              uniqueid=msg.get("ChannelId"))
        call = Call(ch, leg)
        holder.append(call)
        self.calls[ch.uniqueid] = call
        self.chan_event("Newchannel", "call", ch, [])
        for var, value in (("AUDIOSOCKET_UUID", str(call_uuid)),
                           ("AUDIOSOCKET_SERVICE", f"{host}:{port}")):
            ch.setvar(var, value)
            self.varset(ch, var, value)
        for var, value in reversed(parse_variables(msg.get_all("Variable"))):
            ch.setvar(var, value)
            self.varset(ch, var, value)
        ch.caller_num = ch.connected_num = num
        ch.caller_name = ch.connected_name = name
        dial_string = dial.split("/", 1)[1]
        self.dest_only_event("DialBegin", ch, [("DialString", dial_string)])
        ch.state, ch.answered = 6, time.time()
        self.chan_event("Newstate", "call", ch, [])
        self.dest_only_event("DialEnd", ch, [("DialStatus", "ANSWER")])
        ch.context, ch.exten = msg.get("Context") or "default", msg.get("Exten") or "s"
        resp = [("ActionID", action_id), ("Response", "Success"), ("Channel", ch.name),
                ("Context", ch.context), ("Exten", ch.exten), ("Reason", "4"),
                ("Uniqueid", ch.uniqueid), ("CallerIDNum", num or "<unknown>"),
                ("CallerIDName", name or "<unknown>")]
        # these ChanVariable(chan) lines are not C-escaped (FINDINGS)
        resp += [(f"ChanVariable({ch.name})", f"{v}={ch.getvar(v)}") for v in self.channelvars]
        self.emit(event("OriginateResponse", "call", resp))
        call.task = self.spawn(run_inbound(self, call))

    def remote_hangup(self, call: Call) -> None:
        """The application closed the AudioSocket or sent 0x00."""
        call.gone.set()

    def hangup_by_name(self, pattern: str, cause: int = 0) -> list[str]:
        if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
            rx = re.compile(pattern[1:-1])
            names = [n for n in self.channels if rx.search(n)]
        else:
            names = [n for n in self.channels if n.lower() == pattern.lower()]
        for n in names:
            call = next((c for c in self.calls.values() if c.channel.name == n), None)
            if call is not None:
                if cause > 0:  # manager.c sets the hangup cause only when one is given
                    call.cause = cause
                call.gone.set()
                continue
            for endpoint in self.endpoints.values():
                if endpoint.call_ended is not None and any(
                        n == ch.name for ch in self.agent_channels(endpoint)):
                    endpoint.hangup()
        return names

    def agent_channels(self, endpoint: AgentEndpoint) -> list[Channel]:
        prefix = endpoint.interface.lower() + "-"
        return [ch for name, ch in self.channels.items() if name.lower().startswith(prefix)]

    async def hangup_customer(self, call: Call, cause: int) -> None:
        ch = call.channel
        self.hangup_event(ch, cause)
        self.calls.pop(ch.uniqueid, None)
        self._customer_cdr(call)
        await call.leg.close()

    def _customer_cdr(self, call: Call) -> None:
        ch = call.channel
        end = time.time()
        dials: list[Dial | None] = list(call.dials) or [None]
        vidline = tuple((k, v) for k, v in call.cdr.items() if k.startswith("vidline_"))
        for i, dial in enumerate(dials):
            seq = ch.sequence if i == 0 else self.ids.next_sequence()
            start = ch.created if dial is None or i == 0 else dial.start
            self.writer.write_cdr(CdrRow(
                src=ch.caller_num, dst=ch.exten, dcontext=ch.context, clid=self.clid(ch),
                channel=ch.name, dstchannel=dial.dstchannel if dial else None,
                lastapp=ch.app, lastdata=ch.appdata, start=start, answer=start,
                end=(dial.end or end) if dial else end,
                disposition="ANSWERED" if dial is None or dial.answered else "NO ANSWER",
                userfield=None, uniqueid=ch.uniqueid,
                linkedid=ch.linkedid, sequence=seq, vidline=vidline))

    # hooks for queues.py, implemented in legs.py
    agent_dial = legs.agent_dial
    agent_ring_failed = legs.agent_ring_failed
    agent_connect = legs.agent_connect


def parse_variables(values: Sequence[str]) -> list[tuple[str, str]]:
    """Originate ``Variable:`` headers: Asterisk splits each on commas and
    strips quotes (FINDINGS G4), then each part is ``name=value``."""
    out: list[tuple[str, str]] = []
    for value in values:
        for part in value.split(","):
            name, sep, val = part.replace('"', "").partition("=")
            if sep and name.strip():
                out.append((name.strip(), val))
    return out
