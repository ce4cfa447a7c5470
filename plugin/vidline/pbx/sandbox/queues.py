"""app_queue-like queues: members, callers in priority order, strategies,
ringing, connect, complete and the queue_log lines of each step.

Theory of operation: every caller runs :func:`run_caller` in its own task
(as each Queue() runs in its channel's thread in Asterisk). The caller waits
until it is its turn (autofill: its index among callers not already ringing
someone is below the number of free members), rings members per strategy for
``ring_timeout`` seconds, waits ``retry`` seconds after a round with no
answer, and leaves on answer, hangup (ABANDON), timeout (EXITWITHTIMEOUT) or,
for the strict per-agent queues, when its member is no longer free
(EXITEMPTY). Position changes of other callers raise no event (FINDINGS).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vidline.pbx.sandbox.agents import AgentEndpoint, race_rings

if TYPE_CHECKING:
    from vidline.pbx.sandbox.dialplan import Call
    from vidline.pbx.sandbox.legs import Attempt
    from vidline.pbx.sandbox.pbx import SandboxPbx


@dataclass
class Member:
    interface: str
    name: str
    endpoint: AgentEndpoint
    membership: str = "static"
    paused: bool = False
    paused_reason: str = ""
    calls_taken: int = 0
    last_pause: float = 0.0
    login_time: float = field(default_factory=time.time)

    @property
    def last_call(self) -> float:
        # queues.conf shared_lastcall = yes: one last call per interface, all queues
        return self.endpoint.last_call

    @property
    def in_call(self) -> bool:
        return self.endpoint.in_call

    def device_status(self) -> int:
        return self.endpoint.status

    @property
    def free(self) -> bool:
        return not self.paused and self.endpoint.available


@dataclass(eq=False)  # an entry is itself: list.index/remove compare by identity
class QueueEntry:
    call: Call
    prio: int
    joined: float
    orig_position: int
    ringing: bool = False
    linpos: int = 0


class Queue:
    def __init__(self, name: str, strategy: str = "ringall", ring_timeout: float = 15,
                 retry: float = 2, strict: bool = False) -> None:
        self.name = name
        self.strategy = strategy
        self.ring_timeout = ring_timeout
        self.retry = retry
        # joinempty/leavewhenempty = paused,inuse,ringing,unavailable,... (agent-<ext>)
        self.strict = strict
        self.members: list[Member] = []
        self.entries: list[QueueEntry] = []
        self.rrpos = 0
        self.completed = 0
        self.abandoned = 0
        self.holdtime_total = 0.0
        self.talktime_total = 0.0
        self._waiters: dict[QueueEntry, asyncio.Future[None]] = {}

    def member(self, interface: str) -> Member | None:
        return next((m for m in self.members if m.interface.lower() == interface.lower()), None)

    def notify(self) -> None:
        """Something changed: wake the waiting callers it may let act. That is
        every one when a strict queue has no free member left (they leave),
        else those :meth:`is_our_turn` now admits; the rest sleep on and look
        again within a second anyway. Waking all of them, 500 callers in
        line, cost ~10 ms of the sandbox's loop on every change."""
        waiters = self._waiters
        if not waiters:
            return
        free = sum(1 for m in self.members if m.free)
        if self.strict and not free:
            woken: list[QueueEntry] = list(waiters)
        else:
            woken = []
            for entry in self.entries:
                if len(woken) >= free:
                    break
                if not entry.ringing:
                    woken.append(entry)
        for entry in woken:
            waiter = waiters.get(entry)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)

    async def wait_turn(self, entry: QueueEntry, gone: asyncio.Future[Any],
                        timeout: float) -> None:  # noqa: ASYNC109
        """Sleep until :meth:`notify` wakes ``entry``, ``gone`` is done or
        ``timeout`` passes; no task per wait."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters[entry] = waiter
        try:
            await asyncio.wait((waiter, gone), timeout=max(0.0, timeout),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if self._waiters.get(entry) is waiter:
                del self._waiters[entry]

    def insert(self, entry: QueueEntry) -> int:
        """Higher QUEUE_PRIO first, FIFO within a priority; returns the 1-based position."""
        index = len(self.entries)
        for i, other in enumerate(self.entries):
            if other.prio < entry.prio:
                index = i
                break
        self.entries.insert(index, entry)
        return index + 1

    def position(self, entry: QueueEntry) -> int:
        return self.entries.index(entry) + 1

    def avg_holdtime(self) -> int:
        return int(self.holdtime_total / self.completed) if self.completed else 0

    def avg_talktime(self) -> int:
        return int(self.talktime_total / self.completed) if self.completed else 0

    def is_our_turn(self, entry: QueueEntry) -> bool:
        """Autofill: fewer callers not ringing anyone are ahead than members are free.

        Every waiting caller asks at least once a second (and when
        :meth:`notify` wakes it), so this stops as soon as the answer is
        known instead of listing the whole queue (O(n) per caller, O(n^2)
        per second with hundreds waiting)."""
        if entry.ringing:
            return False
        free = sum(1 for m in self.members if m.free)
        ahead = 0
        for other in self.entries:
            if ahead >= free:
                return False
            if other is entry:
                return True
            if not other.ringing:
                ahead += 1
        return False

    def pick(self, entry: QueueEntry) -> list[Member]:
        free = [(i, m) for i, m in enumerate(self.members) if m.free]
        if not free:
            return []
        if self.strategy == "ringall":
            return [m for _, m in free]
        if self.strategy == "linear":
            return [min(free, key=lambda p: (p[0] < entry.linpos, p[0]))[1]]
        if self.strategy == "rrmemory":
            return [min(free, key=lambda p: (p[0] < self.rrpos, p[0]))[1]]
        if self.strategy == "leastrecent":
            return [min(free, key=lambda p: (p[1].last_call, p[0]))[1]]
        if self.strategy == "fewestcalls":
            return [min(free, key=lambda p: (p[1].calls_taken, p[0]))[1]]
        return [random.choice(free)[1]]

    def advance(self, entry: QueueEntry, rung: list[Member]) -> None:
        if len(rung) != 1:
            return
        pos = self.members.index(rung[0]) + 1
        if self.strategy == "linear":
            entry.linpos = pos
        elif self.strategy == "rrmemory":
            self.rrpos = pos % max(1, len(self.members))


def strict_empty(queue: Queue) -> bool:
    return queue.strict and not any(m.free for m in queue.members)


async def run_caller(pbx: SandboxPbx, queue: Queue, call: Call, url: str,
                     timeout: float) -> str:  # noqa: ASYNC109
    """Queue() for one caller; returns QUEUESTATUS (or COMPLETED/ABANDON)."""
    if strict_empty(queue):
        return "JOINEMPTY"  # no event, no queue_log line (D2)
    ch = call.channel
    entry = QueueEntry(call, call.prio, time.monotonic(), 0)
    position = queue.insert(entry)
    entry.orig_position = position
    pbx.chan_event("QueueCallerJoin", "agent", ch,
                   [("Queue", queue.name), ("Position", str(position)),
                    ("Count", str(len(queue.entries)))])
    pbx.qlog(ch.uniqueid, queue.name, "NONE", "ENTERQUEUE", url, ch.caller_num, position)
    pbx.chan_event("MusicOnHoldStart", "call", ch, [("Class", "default")])
    call.hear_moh()
    deadline = entry.joined + timeout if timeout > 0 else None
    gone = asyncio.ensure_future(call.gone.wait())  # one for the caller's whole wait
    try:
        while True:
            if call.gone.is_set():
                return _abandon(pbx, queue, entry)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return _leave(pbx, queue, entry, "EXITWITHTIMEOUT", "TIMEOUT")
            if strict_empty(queue):
                return _leave(pbx, queue, entry, "EXITEMPTY", "LEAVEEMPTY")
            if queue.is_our_turn(entry):
                members = queue.pick(entry)
                result = await _ring(pbx, queue, entry, members, deadline)
                if result in ("COMPLETED", "ABANDON"):
                    return result
                if result == "NOANSWER" and queue.retry > 0:
                    await call.wait_gone(_until(deadline, queue.retry))
                continue
            await queue.wait_turn(entry, gone, _until(deadline, 1.0))
    finally:
        gone.cancel()
        if entry in queue.entries:
            queue.entries.remove(entry)
        queue.notify()


def _until(deadline: float | None, cap: float) -> float:
    if deadline is None:
        return cap
    return max(0.0, min(cap, deadline - time.monotonic()))


def _leave_event(pbx: SandboxPbx, queue: Queue, entry: QueueEntry) -> int:
    position = queue.position(entry)
    queue.entries.remove(entry)
    pbx.chan_event("QueueCallerLeave", "agent", entry.call.channel,
                   [("Queue", queue.name), ("Position", str(position)),
                    ("Count", str(len(queue.entries)))])
    return position


def _stop_moh(pbx: SandboxPbx, entry: QueueEntry) -> None:
    pbx.chan_event("MusicOnHoldStop", "call", entry.call.channel, [])
    entry.call.hear_silence()


def _abandon(pbx: SandboxPbx, queue: Queue, entry: QueueEntry) -> str:
    ch = entry.call.channel
    position = queue.position(entry)
    wait = int(time.monotonic() - entry.joined)
    _stop_moh(pbx, entry)  # C: MusicOnHoldStop comes before QueueCallerAbandon
    pbx.chan_event("QueueCallerAbandon", "agent", ch, [
        ("Queue", queue.name), ("Position", str(position)),
        ("OriginalPosition", str(entry.orig_position)), ("HoldTime", str(wait))])
    _leave_event(pbx, queue, entry)
    queue.abandoned += 1
    pbx.qlog(ch.uniqueid, queue.name, "NONE", "ABANDON", position, entry.orig_position, wait)
    return "ABANDON"


def _leave(pbx: SandboxPbx, queue: Queue, entry: QueueEntry, event: str, status: str) -> str:
    ch = entry.call.channel
    wait = int(time.monotonic() - entry.joined)
    _stop_moh(pbx, entry)
    position = _leave_event(pbx, queue, entry)
    pbx.qlog(ch.uniqueid, queue.name, "NONE", event, position, entry.orig_position, wait)
    return status


async def _ring(pbx: SandboxPbx, queue: Queue, entry: QueueEntry, members: list[Member],
                deadline: float | None) -> str:
    call = entry.call
    if not members:
        return "NOBODY"
    entry.ringing = True
    attempts = [pbx.agent_dial(call, queue, m) for m in members]
    queue.advance(entry, members)
    limit = min(float(queue.ring_timeout), _until(deadline, queue.ring_timeout))
    pending: dict[asyncio.Future[str], Attempt] = {a.ring.outcome: a for a in attempts}
    try:
        winner = await race_rings(pending, call.gone, limit,
                                  lambda a: pbx.agent_ring_failed(call, queue, a, "reject"))
    finally:
        entry.ringing = False
    if call.gone.is_set() and winner is None:
        for attempt in pending.values():
            pbx.agent_ring_failed(call, queue, attempt, "cancel")
        return _abandon(pbx, queue, entry)
    for attempt in pending.values():
        pbx.agent_ring_failed(call, queue, attempt, "lost" if winner else "timeout")
    if winner is None:
        queue.notify()
        return "NOANSWER"
    await pbx.agent_connect(call, queue, entry, winner)
    return "COMPLETED"
