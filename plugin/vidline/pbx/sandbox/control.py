"""The sandbox's control API: what a test or the demo does on the agents'
side of the PBX, where a real center has phones.

    ctl = pbx.control
    await ctl.wait_for(lambda: ctl.ringing("PJSIP/1001"))   # poll until true (timeout)
    ctl.ringing("PJSIP/1001") -> bool        # is that agent's phone ringing?
    await ctl.answer("PJSIP/1001")           # pick up: AgentConnect, CONNECT, agent tone
    await ctl.reject("PJSIP/1001")           # decline: AgentRingNoAnswer, RINGNOANSWER
    await ctl.agent_hangup("PJSIP/1001")     # end a connected call: COMPLETEAGENT
    ctl.in_call("PJSIP/1001") -> bool
    ctl.channels() -> list[ChannelInfo]      # every live channel (customer and agent legs)
    ctl.queue_log() -> list[QueueLogRow]     # every queue_log row written so far
    ctl.cdrs() -> list[CdrRow]               # every CDR row written so far
    await ctl.flush_db()                     # until the writer thread stored them all
    ctl.audio_bytes_in(uniqueid) -> int      # bytes of customer audio received on a call
    ctl.audio_in(uniqueid) -> bytes          # its last 10 s of slin (what the agent hears)
    ctl.fs                                   # the FreeSWITCH face's extras (esl/control.py)

On the FreeSWITCH face the verbs also take the agent's name (``1001@default``).

The verbs return False when the agent is not in the matching state (not
ringing, not in a call). Interfaces match case-insensitively. With
``sandbox.auto_answer_after`` set, agents also answer by themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vidline.pbx.sandbox.agents import AgentEndpoint
from vidline.pbx.sandbox.cdr import CdrRow, QueueLogRow

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.control import FsControl
    from vidline.pbx.sandbox.pbx import SandboxPbx


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    name: str
    uniqueid: str
    linkedid: str
    state: int
    application: str
    variables: dict[str, str]


class Control:
    def __init__(self, pbx: SandboxPbx) -> None:
        self._pbx = pbx

    @property
    def fs(self) -> FsControl:
        """The FreeSWITCH face's extras (pbx = "freeswitch"), see esl/control.py."""
        from vidline.pbx.sandbox.esl.control import FsControl
        if self._pbx.fs is None:
            raise RuntimeError("the sandbox runs its Asterisk face (config pbx)")
        return FsControl(self._pbx.fs)

    def _endpoint(self, interface: str) -> AgentEndpoint:
        endpoint = self._pbx.endpoints.get(interface.lower())
        if endpoint is None and self._pbx.fs is not None:  # "1001@default" on the FreeSWITCH face
            agent = self._pbx.fs.cc.agents.get(interface)
            endpoint = agent.endpoint if agent is not None else None
        if endpoint is None:
            raise KeyError(f"no agent with interface {interface!r}")
        return endpoint

    def ringing(self, interface: str) -> bool:
        return self._endpoint(interface).ring is not None

    def in_call(self, interface: str) -> bool:
        return self._endpoint(interface).in_call

    async def answer(self, interface: str) -> bool:
        ok = self._endpoint(interface).answer()
        await asyncio.sleep(0)  # let the queue task run the connect
        return ok

    async def reject(self, interface: str) -> bool:
        ok = self._endpoint(interface).reject()
        await asyncio.sleep(0)
        return ok

    async def agent_hangup(self, interface: str) -> bool:
        ok = self._endpoint(interface).hangup()
        await asyncio.sleep(0)
        return ok

    def channels(self) -> list[ChannelInfo]:
        return [ChannelInfo(ch.name, ch.uniqueid, ch.linkedid, ch.state, ch.app, dict(ch.vars))
                for ch in self._pbx.channels.values()]

    def queue_log(self) -> list[QueueLogRow]:
        return list(self._pbx.writer.queue_log)

    def cdrs(self) -> list[CdrRow]:
        return list(self._pbx.writer.cdrs)

    async def flush_db(self) -> None:
        await self._pbx.writer.flush()

    def audio_bytes_in(self, uniqueid: str) -> int:
        call = self._pbx.calls.get(uniqueid)
        return call.leg.bytes_in if call is not None else 0

    def audio_in(self, uniqueid: str) -> bytes:
        call = self._pbx.calls.get(uniqueid)
        return bytes(call.leg.pcm_in) if call is not None else b""

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0,  # noqa: ASYNC109
                       interval: float = 0.01) -> None:
        """Poll ``predicate`` until it is true; TimeoutError after ``timeout`` s."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not predicate():
            if loop.time() >= end:
                raise TimeoutError("sandbox control: condition not met in time")
            await asyncio.sleep(interval)
