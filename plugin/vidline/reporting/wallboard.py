"""The live wallboard: waiting callers of both kinds (video chats and phone
calls) per queue, with their wait, and every agent's state.

Theory of operation. The PBX is the truth: a snapshot is one AMI
QueueStatus (its QueueEntry and QueueMember items). One owned task takes a
snapshot when a PBX event says something moved (a caller joined, an agent
rang, paused, answered ...) and otherwise once per ``interval`` while any
supervisor watches: phone calls raise no event vidline follows, and waits
grow by the second. Each snapshot that differs from the last is put into
every watcher's bounded queue; a watcher too slow to drain it is dropped
(its page reconnects and gets the current board). No watcher, no polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vidline.config import AgentConfig
from vidline.pbx.base import PbxAdapter, PbxError
from vidline.pbx.events import PbxEvent
from vidline.pbx.status import QueueStatus

log = logging.getLogger(__name__)

# the most telling state wins when an agent is in several queues
_RANK = {"in call": 4, "ringing": 3, "paused": 2, "unavailable": 1, "available": 0}
AGENT_QUEUE_PREFIX = "agent-"  # last-agent routing's one-member queues


def board(status: QueueStatus, agents: Iterable[AgentConfig],
          skill_queues: Iterable[str]) -> dict[str, Any]:
    """The wallboard message for one snapshot (pure). Skill queues are listed
    even when empty; an ``agent-<ext>`` queue only while someone waits in it."""
    directory = {a.interface.casefold(): a for a in agents}
    queues: dict[str, list[dict[str, Any]]] = {name: [] for name in skill_queues}
    for caller in sorted(status.callers, key=lambda c: (c.queue, c.position)):
        queues.setdefault(caller.queue, []).append({
            "kind": caller.kind, "position": caller.position, "wait": caller.wait,
            "caller": caller.caller_id, "id": caller.interaction_id or caller.uniqueid,
        })
    for member in status.members:
        if not member.queue.startswith(AGENT_QUEUE_PREFIX):
            queues.setdefault(member.queue, [])
    people: dict[str, dict[str, Any]] = {}
    for member in status.members:
        key = member.interface.casefold()
        known = directory.get(key)
        entry = people.setdefault(key, {
            "name": (known.display_name or known.member_name) if known else member.name,
            "interface": member.interface, "state": "available", "reason": "", "queues": [],
        })
        if not member.queue.startswith(AGENT_QUEUE_PREFIX):
            entry["queues"].append(member.queue)
        if _RANK[member.state] > _RANK[entry["state"]]:
            entry["state"] = member.state
        if member.paused:
            entry["reason"] = member.paused_reason
    return {
        "type": "wallboard",
        "queues": [{"name": name, "waiting": callers,
                    "video": sum(1 for c in callers if c["kind"] == "video"),
                    "phone": sum(1 for c in callers if c["kind"] == "phone")}
                   for name, callers in sorted(queues.items())
                   if callers or not name.startswith(AGENT_QUEUE_PREFIX)],
        "agents": sorted(people.values(), key=lambda p: (p["name"], p["interface"])),
    }


@dataclass(eq=False, slots=True)
class Watcher:
    queue: asyncio.Queue[dict[str, Any]] = field(
        default_factory=lambda: asyncio.Queue(maxsize=8))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)


class Wallboard:
    def __init__(self, pbx: PbxAdapter, agents: Iterable[AgentConfig],
                 skill_queues: Iterable[str], interval: float = 1.0) -> None:
        self._pbx = pbx
        self._agents = tuple(agents)
        self._skill_queues = tuple(dict.fromkeys(skill_queues))
        self._interval = interval
        self._watchers: set[Watcher] = set()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last: dict[str, Any] | None = None
        self._closed = False
        pbx.subscribe(self._on_event)

    def _on_event(self, event: PbxEvent) -> None:
        if self._watchers:
            self._wakeup.set()

    def watch(self) -> Watcher:
        watcher = Watcher()
        if self._last is not None:
            watcher.queue.put_nowait(self._last)
        self._watchers.add(watcher)
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(), name="vidline-wallboard")
        self._wakeup.set()
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    async def snapshot(self) -> dict[str, Any]:
        return board(await self._pbx.queue_status(), self._agents, self._skill_queues)

    async def _run(self) -> None:
        while not self._closed:
            if self._watchers:
                try:
                    message = await self.snapshot()
                except PbxError as exc:
                    message = {"type": "wallboard_error", "message": str(exc)}
                if message != self._last:
                    self._last = message
                    self._publish(message)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(),
                                       self._interval if self._watchers else None)

    def _publish(self, message: dict[str, Any]) -> None:
        for watcher in list(self._watchers):
            try:
                watcher.queue.put_nowait(message)
            except asyncio.QueueFull:
                self._watchers.discard(watcher)
                watcher.dropped.set()

    async def close(self) -> None:
        self._closed = True
        for watcher in list(self._watchers):
            watcher.dropped.set()
        self._watchers.clear()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
