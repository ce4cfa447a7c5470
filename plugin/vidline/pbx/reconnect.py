"""The life of a PBX link, the same for AMI and ESL: serve the link until it
drops, tell the adapter why, then reopen it with exponential backoff. A link
that stayed up a while earns a fresh backoff; a flapping one does not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from vidline.pbx.base import PbxError

log = logging.getLogger(__name__)

L = TypeVar("L")
Tasks = list[asyncio.Task[None]]


@dataclass(frozen=True, slots=True)
class Backoff:
    low: float  # seconds before the first retry
    high: float  # the most it doubles to
    stable_after: float  # up this long: the next outage starts again from ``low``


@dataclass(slots=True)
class LinkLife(Generic[L]):
    serve: Callable[[L, Tasks], Awaitable[str]]  # until the link drops; why it did
    reopen: Callable[[], Awaitable[tuple[L, Tasks]]]  # PbxError when it cannot
    down: Callable[[str], None]  # an outage began (not at close)
    closing: Callable[[], bool]
    backoff: Backoff

    async def run(self, link: L, tasks: Tasks) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff.low
        while True:
            up_since = loop.time()
            reason = await self.serve(link, tasks)
            if self.closing():
                return  # close() ended it: not an outage
            self.down(reason)
            if loop.time() - up_since >= self.backoff.stable_after:
                delay = self.backoff.low
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff.high)
                try:
                    link, tasks = await self.reopen()
                    break
                except PbxError as exc:
                    log.warning("%s; next try in %.1f s", exc, delay)
