"""InteractionStore: bounded subscriptions and line updates handed out in
slices, so a burst of moves never fills one event-loop iteration."""

from __future__ import annotations

import asyncio

from vidline.context.model import InteractionContext
from vidline.interactions.model import Interaction, RouteDecision
from vidline.interactions.state import State
from vidline.interactions.store import (
    LINE_UPDATE_SLICE,
    SUBSCRIBER_BACKLOG,
    InteractionStore,
    Subscription,
)


def queued(n: int) -> Interaction:
    interaction = Interaction(id=f"i{n}", context=InteractionContext(),
                              route=RouteDecision("support", 0, "default"), token_digest=b"")
    interaction.state, interaction.queue = State.QUEUED, "support"
    interaction.position, interaction.count = n + 1, 0
    return interaction


async def test_a_slow_reader_keeps_only_the_latest_messages() -> None:
    sub = Subscription()
    for n in range(SUBSCRIBER_BACKLOG + 5):
        sub.put({"n": n})
    got = [(await sub.get())["n"] for _ in range(SUBSCRIBER_BACKLOG)]
    assert got == list(range(5, SUBSCRIBER_BACKLOG + 5))


async def test_a_waiting_reader_gets_the_next_message_and_a_cancelled_one_loses_none() -> None:
    sub = Subscription()
    reader = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    sub.put({"n": 1})
    assert await reader == {"n": 1}
    cancelled = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    sub.put({"n": 2})
    cancelled.cancel()  # woken but not yet run: the message stays for the next reader
    await asyncio.gather(cancelled, return_exceptions=True)
    assert await asyncio.wait_for(sub.get(), 1) == {"n": 2}


async def test_line_updates_go_out_a_slice_per_loop_iteration() -> None:
    store = InteractionStore()
    total = 2 * LINE_UPDATE_SLICE + 20
    streams = []
    for n in range(total):
        interaction = queued(n)
        store.add(interaction)
        stream = store.subscribe(interaction.id)
        assert (await anext(stream))["count"] == 0  # the current status
        streams.append((interaction, stream))
    for interaction, _ in streams:
        interaction.count = total
        store.publish_line_update(interaction)
    told = []

    def count_told() -> int:
        return sum(len(s._items) for subs in store._subscribers.values()
                   for s in subs)

    store._flush_line_updates()  # what the timer runs
    told.append(count_told())
    for _ in range(3):
        await asyncio.sleep(0)
        told.append(count_told())
    assert told == [LINE_UPDATE_SLICE, 2 * LINE_UPDATE_SLICE, total, total]
    for interaction, stream in streams:
        message = await anext(stream)
        assert (message["position"], message["count"]) == (interaction.position, total)
        await stream.aclose()
    store.close()
