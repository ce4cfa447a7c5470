"""Where live interactions are kept, with their customer-facing subscribers.

In memory on purpose: the PBX is the source of truth for calls, and the
reporting database (issue 6) keeps the history. Ended interactions stay a
while so that a customer page that reloads can still read how it ended.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator

from vidline.interactions.model import Interaction
from vidline.interactions.state import State

ENDED_RETENTION_SECONDS = 600.0
SUBSCRIBER_BACKLOG = 16
LINE_UPDATE_DELAY = 0.1  # s: moves in line caused by others are sent together
LINE_UPDATE_SLICE = 50  # line updates handed out per event-loop iteration


_QUEUED, _RINGING = State.QUEUED, State.RINGING


def _waiting(interaction: Interaction) -> bool:
    # identity, not ``in (..)``: an Enum member hashes and compares in Python
    state = interaction.state
    return state is _QUEUED or state is _RINGING


class Subscription:
    """One customer WebSocket's view: the latest status messages, bounded.

    A slow reader cannot grow memory: when the backlog is full the oldest
    message is dropped, since each status message is a full snapshot.
    A deque and, while the reader waits, one future: an asyncio.Queue is
    seven objects more (its Event and deques) for each of hundreds of
    customers, which every full garbage collection walks.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[dict[str, object]] = deque(maxlen=SUBSCRIBER_BACKLOG)
        self._waiter: asyncio.Future[None] | None = None

    def put(self, message: dict[str, object]) -> None:
        self._items.append(message)  # maxlen: the oldest goes
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> dict[str, object]:
        while not self._items:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        return self._items.popleft()


class InteractionStore:
    def __init__(self) -> None:
        self._items: dict[str, Interaction] = {}
        self._subscribers: dict[str, set[Subscription]] = {}
        self._ended_at: dict[str, float] = {}
        self._line_dirty: set[str] = set()
        self._line_timer: asyncio.TimerHandle | None = None
        self._line_slice: asyncio.Handle | None = None

    def add(self, interaction: Interaction) -> None:
        self._items[interaction.id] = interaction

    def get(self, interaction_id: str) -> Interaction | None:
        return self._items.get(interaction_id)

    def __iter__(self) -> Iterator[Interaction]:
        return iter(list(self._items.values()))

    def __len__(self) -> int:
        return len(self._items)

    def waiting_in(self, queue: str) -> list[Interaction]:
        return [i for i in self._items.values() if i.queue == queue and _waiting(i)]

    def publish(self, interaction: Interaction) -> None:
        message = interaction.status()
        for sub in self._subscribers.get(interaction.id, ()):
            sub.put(message)
        if interaction.state is State.ENDED:
            self._ended_at.setdefault(interaction.id, time.monotonic())

    def publish_line_update(self, interaction: Interaction) -> None:
        """A caller's place or the line's length changed because of someone
        else. One such event (a caller ahead leaves) moves hundreds of callers:
        their updates go out together LINE_UPDATE_DELAY later, once each, so
        a burst of PBX events costs one message per caller and never delays
        the agent pop that the same event triggers."""
        self._line_dirty.add(interaction.id)
        if self._line_timer is None:
            self._line_timer = asyncio.get_running_loop().call_later(
                LINE_UPDATE_DELAY, self._flush_line_updates)

    def _flush_line_updates(self) -> None:
        self._line_timer = None
        dirty, self._line_dirty = list(self._line_dirty), set()
        self._flush_slice(dirty, 0)

    def _flush_slice(self, dirty: list[str], start: int) -> None:
        """Tell LINE_UPDATE_SLICE customers, then let the loop run before the
        next slice: each message wakes that customer's socket task, and 500
        of them in one loop iteration are ~25 ms that an agent's pop, read
        off the PBX link meanwhile, would wait behind."""
        self._line_slice = None
        end = start + LINE_UPDATE_SLICE
        for interaction_id in dirty[start:end]:
            if interaction_id in self._line_dirty:
                continue  # moved again since: the next flush tells the latest
            interaction = self._items.get(interaction_id)
            if interaction is not None and _waiting(interaction):
                self.publish(interaction)
        if end < len(dirty):
            self._line_slice = asyncio.get_running_loop().call_soon(
                self._flush_slice, dirty, end)

    def close(self) -> None:
        for handle in (self._line_timer, self._line_slice):
            if handle is not None:
                handle.cancel()
        self._line_timer = self._line_slice = None

    async def subscribe(self, interaction_id: str) -> AsyncIterator[dict[str, object]]:
        """The current status, then every change, until the interaction ends."""
        interaction = self._items.get(interaction_id)
        if interaction is None:
            return
        sub = Subscription()
        self._subscribers.setdefault(interaction_id, set()).add(sub)
        try:
            message = interaction.status()
            while True:
                yield message
                if message.get("state") == State.ENDED.value:
                    return
                message = await sub.get()
        finally:
            subs = self._subscribers.get(interaction_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subscribers[interaction_id]

    def evict_expired(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        expired = [i for i, t in self._ended_at.items() if now - t > ENDED_RETENTION_SECONDS]
        for interaction_id in expired:
            self._ended_at.pop(interaction_id, None)
            self._items.pop(interaction_id, None)
        return len(expired)
