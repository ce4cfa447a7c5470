"""The sandbox queue wakes only the callers a change can let act."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from vidline.pbx.sandbox.queues import Queue, QueueEntry


def entry(n: int) -> QueueEntry:
    return QueueEntry(call=SimpleNamespace(name=f"c{n}"), prio=0,  # type: ignore[arg-type]
                      joined=0.0, orig_position=n)


def member(free: bool) -> Any:
    return SimpleNamespace(free=free)


async def start_waiting(queue: Queue, entries: list[QueueEntry],
                        gone: asyncio.Future[Any]) -> list[asyncio.Task[None]]:
    tasks = [asyncio.create_task(queue.wait_turn(e, gone, 5.0)) for e in entries]
    await asyncio.sleep(0)
    return tasks


async def woken(tasks: list[asyncio.Task[None]]) -> list[int]:
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return [i for i, t in enumerate(tasks) if t.done()]


async def test_notify_wakes_as_many_callers_in_line_as_members_are_free() -> None:
    queue = Queue("support")
    entries = [entry(n) for n in range(5)]
    queue.entries.extend(entries)
    queue.members.extend([member(True), member(True), member(False)])
    entries[0].ringing = True  # already ringing someone: not its turn again
    gone = asyncio.get_running_loop().create_future()
    tasks = await start_waiting(queue, entries, gone)
    queue.notify()
    assert await woken(tasks) == [1, 2]
    gone.set_result(None)  # the rest still leave when their caller hangs up
    assert await woken(tasks) == [0, 1, 2, 3, 4]


async def test_a_strict_queue_without_free_members_wakes_everyone() -> None:
    queue = Queue("agent-1001", strict=True)
    entries = [entry(n) for n in range(3)]
    queue.entries.extend(entries)
    queue.members.append(member(False))
    gone = asyncio.get_running_loop().create_future()
    tasks = await start_waiting(queue, entries, gone)
    queue.notify()
    assert await woken(tasks) == [0, 1, 2]
    gone.cancel()
