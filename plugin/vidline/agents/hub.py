"""Delivery of pops to agents' open panels.

Theory of operation: the interaction service calls :meth:`AgentHub.pop`
(synchronously, on the event loop) for each phase of an interaction an agent
is part of: ringing, connected, ended. The hub forwards the message to every
panel WebSocket the agent has open and remembers the latest message per
interaction, so that:

- a pop for an agent whose panel is closed waits until the panel opens (the
  desktop opens it from Queue()'s URL when the phone rings);
- a panel that reloads, or a second tab, gets the interactions still in
  progress again;
- a later message for the same interaction replaces the earlier one, so an
  agent who opens the panel late sees "connected", not a stale "ringing";
- a terminal phase ("ended", "missed") is shown once, then forgotten.

Memory is bounded: entries expire (``ttl``), an ``ended`` entry is forgotten
once delivered, each agent keeps at most ``max_per_agent`` interactions and
each connection buffers at most ``queue_size`` messages (a panel that stops
reading is disconnected rather than allowed to grow the buffer).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# phases after which this agent has nothing more to do with the interaction:
# "missed" (another agent answered, or the ring timed out) and "ended"
TERMINAL = frozenset(("ended", "missed"))


@dataclass(slots=True)
class _Entry:
    message: dict[str, Any]
    at: float
    delivered: bool


class PopQueueClosed(Exception):
    """The panel's connection was closed (logout, or it fell behind)."""


class PopQueue:
    """The messages waiting for one panel, with the part of asyncio.Queue's
    interface the panel's socket handler uses (``get``, ``get_nowait``,
    ``put_nowait`` raising QueueFull, ``empty``) and one difference:
    ``get()`` returns a Future, done at once when a message waits, not a
    coroutine. The handler's ``ensure_future(queue.get())`` then wraps no
    task, and a pop reaches the socket one event-loop iteration sooner; with
    hundreds of customers' updates in each iteration, that is milliseconds.
    """

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: deque[dict[str, Any]] = deque()
        self._getters: deque[asyncio.Future[dict[str, Any]]] = deque()
        self._closed = False

    def close(self) -> None:
        """Every get() from now on, and any waiting one, raises
        PopQueueClosed: the handler closes the panel's socket at once (what
        is still queued reaches the panel again when it reconnects)."""
        self._closed = True
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_exception(PopQueueClosed())

    def put_nowait(self, item: dict[str, Any]) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():  # a cancelled get() takes nothing
                getter.set_result(item)
                return
        if len(self._items) >= self._maxsize:
            raise asyncio.QueueFull
        self._items.append(item)

    def get(self) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(PopQueueClosed())
        elif self._items:
            future.set_result(self._items.popleft())
        else:
            self._getters.append(future)
        return future

    def get_nowait(self) -> dict[str, Any]:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


@dataclass(eq=False, slots=True)
class AgentConnection:
    """One open panel: the WebSocket handler drains ``queue``."""

    username: str
    session_id: str
    queue: PopQueue
    overflowed: bool = False
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            self.overflowed = True
            self.close()

    def close(self) -> None:
        self.closed.set()
        self.queue.close()


class AgentHub:
    def __init__(self, *, ttl: float = 3600.0, ended_ttl: float = 600.0,
                 max_per_agent: int = 20, queue_size: int = 100,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._ended_ttl = ended_ttl
        self._max_per_agent = max_per_agent
        self._queue_size = queue_size
        self._clock = clock
        self._entries: dict[str, OrderedDict[str, _Entry]] = {}
        self._connections: dict[str, set[AgentConnection]] = {}
        self._presence: dict[str, dict[str, Any]] = {}

    # -- called by the interaction service --------------------------------

    def pop(self, username: str, message: dict[str, Any]) -> None:
        interaction = message.get("interaction")
        interaction_id = interaction.get("id") if isinstance(interaction, dict) else None
        connections = self._connections.get(username, set())
        for connection in tuple(connections):
            connection.send(message)
        if not isinstance(interaction_id, str):
            return
        entries = self._entries.setdefault(username, OrderedDict())
        entries.pop(interaction_id, None)
        if message.get("phase") in TERMINAL and connections:
            self._expire(username)
            return  # delivered; nothing left to replay
        entries[interaction_id] = _Entry(message, self._clock(), bool(connections))
        while len(entries) > self._max_per_agent:
            entries.popitem(last=False)
        self._expire(username)

    # -- called by the agent WebSocket handler ----------------------------

    def attach(self, username: str, session_id: str) -> AgentConnection:
        """Register an open panel and queue what it should see first: the
        agent's presence and the pops still pending or in progress."""
        connection = AgentConnection(username, session_id, PopQueue(self._queue_size))
        self._connections.setdefault(username, set()).add(connection)
        self._expire(username)
        if username in self._presence:
            connection.send(self._presence[username])
        entries = self._entries.get(username)
        if entries:
            for interaction_id, entry in list(entries.items()):
                connection.send(entry.message)
                entry.delivered = True
                if entry.message.get("phase") in TERMINAL:
                    del entries[interaction_id]
        return connection

    def detach(self, connection: AgentConnection) -> None:
        connections = self._connections.get(connection.username)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._connections[connection.username]

    def send(self, username: str, message: dict[str, Any]) -> None:
        """Send to the agent's open panels only (nothing is kept)."""
        for connection in tuple(self._connections.get(username, ())):
            connection.send(message)

    def set_presence(self, username: str, paused: bool, reason: str) -> None:
        message = {"type": "presence", "paused": paused, "reason": reason}
        self._presence[username] = message
        self.send(username, message)

    def close_session(self, session_id: str) -> None:
        """The session logged out: its panels are told to close."""
        for connections in self._connections.values():
            for connection in connections:
                if connection.session_id == session_id:
                    connection.close()

    def connected(self, username: str) -> bool:
        return bool(self._connections.get(username))

    def connection_count(self, username: str) -> int:
        return len(self._connections.get(username, ()))

    def pending(self, username: str) -> list[dict[str, Any]]:
        self._expire(username)
        return [e.message for e in self._entries.get(username, {}).values()]

    def _expire(self, username: str) -> None:
        entries = self._entries.get(username)
        if not entries:
            self._entries.pop(username, None)
            return
        now = self._clock()
        for interaction_id, entry in list(entries.items()):
            ttl = self._ended_ttl if entry.message.get("phase") in TERMINAL else self._ttl
            if now - entry.at > ttl:
                del entries[interaction_id]
        if not entries:
            del self._entries[username]
