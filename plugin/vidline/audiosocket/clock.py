"""One 20 ms clock for all AudioSocket legs of a server.

A timer per leg costs a task wake-up per leg every 20 ms (10,000 a second
at 200 calls); one clock that writes every leg's frame on each tick costs
one. Ticks fall on absolute deadlines of the loop's monotonic clock, so a
late wake-up never shifts the ticks after it. After a stall of more than a
few ticks the clock skips the missed ones instead of bursting them: a burst
would only sit in Asterisk's jitter buffer as added latency.

The members are split into ``slices`` groups ticked at even offsets within
the period (5 ms apart by default); a member stays in its group, so its own
frames stay exactly one period apart. With 500 legs one tick is 500 socket
writes, about 6 ms of CPU on loopback: in one go, every other callback (an
agent's pop among them) could wait that long behind it every 20 ms; in
slices, a quarter of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

log = logging.getLogger(__name__)


class Ticked(Protocol):
    def tick(self, late: float, missed: int) -> None:
        """Send this tick's frame; ``late`` s behind its deadline, ``missed`` ticks skipped."""


class PacingClock:
    def __init__(self, period: float = 0.020, max_late_ticks: int = 3, slices: int = 4) -> None:
        self.period = period
        self._max_late = max_late_ticks * period
        # insertion-ordered sets, one per slice, and each member's slice
        self._groups: list[dict[Ticked, None]] = [{} for _ in range(max(1, slices))]
        self._group_of: dict[Ticked, int] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks_skipped = 0

    def __len__(self) -> int:
        return len(self._group_of)

    def add(self, member: Ticked) -> None:
        """Tick ``member`` from its slice's next tick on (it sends its first
        frame itself)."""
        if member not in self._group_of:
            group = min(range(len(self._groups)), key=lambda i: len(self._groups[i]))
            self._groups[group][member] = None
            self._group_of[member] = group
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="audiosocket-clock")
        self._wake.set()

    def discard(self, member: Ticked) -> None:
        group = self._group_of.pop(member, None)
        if group is not None:
            self._groups[group].pop(member, None)

    async def close(self) -> None:
        self._group_of.clear()
        for group in self._groups:
            group.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.period
        slices = len(self._groups)
        step = period / slices
        while True:
            while not self._group_of:  # idle without waking up every 20 ms
                self._wake.clear()
                await self._wake.wait()
            start = loop.time()
            k = 0  # slice tick k is due at start + period + k * step, for group k % slices
            while self._group_of:
                group = self._groups[k % slices]
                if not group:
                    k += 1  # some group has members, so this skips fewer than ``slices``
                    continue
                due = start + period + k * step
                await asyncio.sleep(max(0.0, due - loop.time()))
                late = loop.time() - due
                missed = 0
                if late > self._max_late:
                    missed = int(late // period)
                    k += missed * slices  # whole periods: every group keeps its offset
                    self.ticks_skipped += missed
                    log.info("AudioSocket clock %.0f ms late: skipped %d frames on %d legs",
                             late * 1000, missed, len(group))
                for member in list(group):
                    if member not in group:  # an earlier one closed it
                        continue
                    try:
                        member.tick(late, missed)
                    except Exception:  # one leg's bug must not stop every call's audio
                        log.exception("AudioSocket clock: tick of %r failed", member)
                        self.discard(member)
                k += 1
