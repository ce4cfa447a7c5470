"""PacingClock: members in slices, each slice on its own tick of the loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vidline.audiosocket.clock import PacingClock


class Members:
    """Clock members that log the order they are ticked in."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.ticks: dict[str, int] = {}
        self._ticked = asyncio.Event()

    def make(self, name: str) -> Member:
        self.ticks[name] = 0
        return Member(name, self)

    def record(self, name: str) -> None:
        self.ticks[name] += 1
        self.log.append(name)
        self._ticked.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not predicate():
                self._ticked.clear()
                await self._ticked.wait()


class Member:
    def __init__(self, name: str, members: Members) -> None:
        self.name = name
        self._members = members

    def tick(self, late: float, missed: int) -> None:
        self._members.record(self.name)


async def test_members_are_split_into_slices_ticked_in_turn() -> None:
    seen = Members()
    clock = PacingClock(period=0.02, slices=4)
    members = [seen.make(f"m{i}") for i in range(8)]
    for member in members:
        clock.add(member)
    # balanced: two members per slice, by order of arrival
    groups = [[m.name for m in members][i::4] for i in range(4)]
    assert [[m.name for m in g] for g in clock._groups] == groups  # type: ignore[attr-defined]
    try:
        await seen.until(lambda: min(seen.ticks.values()) >= 3)
    finally:
        await clock.close()
    # every slice's members tick together, the slices one after another
    log = seen.log
    runs = [log[i:i + 2] for i in range(0, len(log) - len(log) % 2, 2)]
    order = [next(k for k, g in enumerate(groups) if run == g) for run in runs]
    assert order == [k % 4 for k in range(len(order))]


async def test_a_discarded_member_stops_and_its_slice_refills() -> None:
    seen = Members()
    clock = PacingClock(period=0.02, slices=2)
    a, b, c = seen.make("a"), seen.make("b"), seen.make("c")
    clock.add(a)
    clock.add(b)
    clock.discard(a)
    clock.add(c)  # goes to the slice a left
    assert len(clock) == 2
    assert [list(g) for g in clock._groups] == [[c], [b]]  # type: ignore[attr-defined]
    try:
        await seen.until(lambda: min(seen.ticks["b"], seen.ticks["c"]) >= 2)
    finally:
        await clock.close()
    assert seen.ticks["a"] == 0
