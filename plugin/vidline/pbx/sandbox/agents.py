"""Agent endpoints: the phones behind the queue members' interfaces.

An endpoint rings for at most one caller at a time (queues.conf
``ringinuse = no``) and answers after ``auto_answer_after`` seconds (the
demo) or when a test says so through :mod:`vidline.pbx.sandbox.control`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

T = TypeVar("T")

# AST_DEVICE_* values as QueueMemberStatus reports them
NOT_INUSE, INUSE, RINGING = 1, 2, 6

# per-agent tones, like the lab's agents (1001 = 800 Hz, 1002 = 1200 Hz, 1003 = 1000 Hz)
AGENT_TONES = (800.0, 1200.0, 1000.0)


def extension_of(interface: str) -> str:
    """``Local/1002@agents`` and ``PJSIP/1002`` both give ``1002`` (agent-<ext>)."""
    return interface.split("/", 1)[-1].split("@", 1)[0]


@dataclass
class Ring:
    """One ringing attempt on an endpoint; ``outcome`` is answer/reject."""

    caller_uniqueid: str
    started: float = field(default_factory=time.monotonic)
    outcome: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class AgentEndpoint:
    def __init__(self, interface: str, member_name: str, tone_hz: float,
                 auto_answer_after: float | None) -> None:
        self.interface = interface
        self.member_name = member_name
        self.tone_hz = tone_hz
        self.auto_answer_after = auto_answer_after
        self.ring: Ring | None = None
        self.in_call = False
        self.last_call = 0.0
        self.call_ended: asyncio.Future[str] | None = None
        self._auto: asyncio.Task[None] | None = None

    @property
    def status(self) -> int:
        if self.in_call:
            return INUSE
        if self.ring is not None:
            return RINGING
        return NOT_INUSE

    @property
    def available(self) -> bool:
        return self.ring is None and not self.in_call

    def start_ringing(self, caller_uniqueid: str) -> Ring:
        ring = Ring(caller_uniqueid)
        self.ring = ring
        if self.auto_answer_after is not None:
            self._auto = asyncio.create_task(self._auto_answer(ring, self.auto_answer_after))
        return ring

    async def _auto_answer(self, ring: Ring, delay: float) -> None:
        await asyncio.sleep(delay)
        if self.ring is ring and not ring.outcome.done():
            ring.outcome.set_result("answer")

    def stop_ringing(self) -> None:
        self.ring = None
        if self._auto is not None:
            self._auto.cancel()
            self._auto = None

    def begin_call(self) -> asyncio.Future[str]:
        self.stop_ringing()
        self.in_call = True
        self.call_ended = asyncio.get_running_loop().create_future()
        return self.call_ended

    def end_call(self) -> None:
        self.in_call = False
        self.call_ended = None

    # the control API's verbs
    def answer(self) -> bool:
        if self.ring is None or self.ring.outcome.done():
            return False
        self.ring.outcome.set_result("answer")
        return True

    def reject(self) -> bool:
        if self.ring is None or self.ring.outcome.done():
            return False
        self.ring.outcome.set_result("reject")
        return True

    def hangup(self) -> bool:
        if self.call_ended is None or self.call_ended.done():
            return False
        self.call_ended.set_result("agent")
        return True


async def race_rings(pending: dict[asyncio.Future[str], T], gone: asyncio.Event, limit: float,
                     refused: Callable[[T], None]) -> T | None:
    """Ring several endpoints at once (both faces' queues): the first that
    answers within ``limit`` seconds wins; ``refused`` runs for each one that
    rejects meanwhile. What still rings (timed out, or the caller gone) stays
    in ``pending`` for the caller to cancel."""
    gone_wait: asyncio.Future[Any] = asyncio.ensure_future(gone.wait())
    winner: T | None = None
    loop = asyncio.get_running_loop()
    end_at = loop.time() + limit
    try:
        while pending and winner is None and not gone.is_set():
            left = end_at - loop.time()
            if left <= 0:
                break
            done, _ = await asyncio.wait({*pending, gone_wait}, timeout=left,
                                         return_when=asyncio.FIRST_COMPLETED)
            for fut in done:
                if fut is gone_wait:
                    continue
                attempt = pending.pop(fut)
                if fut.result() == "answer" and winner is None:
                    winner = attempt
                else:
                    refused(attempt)
    finally:
        gone_wait.cancel()
    return winner
