"""The life of a PBX link, the same for AMI and ESL: open it, start the
adapter's companions (keepalive, resync), serve it until it drops, tell the
adapter why, then reopen it with exponential backoff. A link that stayed up
a while earns a fresh backoff; a flapping one does not. The adapters keep
only what differs: how to open their link and what runs beside it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from vidline.pbx.base import PbxError

log = logging.getLogger(__name__)


class Link(Protocol):
    @property
    def lost(self) -> asyncio.Future[str]: ...  # done, with the reason, once gone

    @property
    def is_open(self) -> bool: ...

    def abort(self, reason: str) -> None: ...


L = TypeVar("L", bound=Link)


@dataclass(frozen=True, slots=True)
class Backoff:
    low: float  # seconds before the first retry
    high: float  # the most it doubles to
    stable_after: float  # up this long: the next outage starts again from ``low``


class LinkKeeper(Generic[L]):
    def __init__(self, name: str, open_link: Callable[[], Awaitable[L]],
                 companions: Callable[[L], list[Coroutine[Any, Any, None]]],
                 down: Callable[[str], None], backoff: Backoff) -> None:
        """``open_link`` logs in (PbxError when it cannot); ``companions``
        are what runs while a link is up (announce it, keepalive, resync);
        ``down`` hears of an outage (not of close)."""
        self._name = name
        self._open = open_link
        self._companions = companions
        self._down = down
        self._backoff = backoff
        self.link: L | None = None
        self._up = asyncio.Event()
        self._closing = False
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """The first login (PbxError if it fails); up before this returns,
        so a request right after start() finds the link."""
        if self._runner is not None:
            return
        self._closing = False
        link = await self._open()
        tasks = self._attach(link)
        self._runner = asyncio.create_task(self._run(link, tasks), name=self._name)

    async def stop(self, goodbye: Callable[[L], Awaitable[None]] | None = None) -> None:
        """``goodbye`` runs on the open link first (Logoff, exit): the drop
        it causes is not taken for an outage."""
        self._closing = True
        link = self.link
        if link is not None and link.is_open:
            if goodbye is not None:
                with contextlib.suppress(Exception):
                    await goodbye(link)
            link.abort("closed by vidline")
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    async def wait(self, within: float) -> L | None:
        """The open link, waiting up to ``within`` s for a reconnect."""
        if self.link is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._up.wait(), within)
        link = self.link
        # is_open: the socket can be gone a moment before the runner notices
        return link if link is not None and link.is_open else None

    def _attach(self, link: L) -> list[asyncio.Task[None]]:
        self.link = link
        self._up.set()
        return [asyncio.create_task(c) for c in self._companions(link)]

    async def _serve(self, link: L, tasks: list[asyncio.Task[None]]) -> str:
        """Wait until ``link`` drops; why it dropped."""
        try:
            return await asyncio.shield(link.lost)
        finally:
            self._up.clear()
            self.link = None
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if link.is_open:  # cancelled by stop()
                link.abort("closed by vidline")

    async def _run(self, link: L, tasks: list[asyncio.Task[None]]) -> None:
        loop = asyncio.get_running_loop()
        delay = self._backoff.low
        while True:
            up_since = loop.time()
            reason = await self._serve(link, tasks)
            if self._closing:
                return  # stop() ended it: not an outage
            self._down(reason)
            if loop.time() - up_since >= self._backoff.stable_after:
                delay = self._backoff.low
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff.high)
                try:
                    link = await self._open()
                    break
                except PbxError as exc:
                    log.warning("%s; next try in %.1f s", exc, delay)
            tasks = self._attach(link)
