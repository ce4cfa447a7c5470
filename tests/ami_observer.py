"""A plain AMI client for tests: logs in and records every message, so a
test can assert on what any AMI client of the PBX sees."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from vidline.pbx.asterisk.codec import AmiBanner, AmiMessage, AmiParser, encode_action


class AmiObserver:
    def __init__(self) -> None:
        self.messages: list[AmiMessage] = []
        self.arrivals: list[tuple[AmiMessage, float]] = []  # with time.time() of arrival
        self._task: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._changed = asyncio.Event()

    async def connect(self, host: str, port: int, username: str, secret: str) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        self._writer = writer
        writer.write(encode_action("Login", "obs-1", [("Username", username),
                                                      ("Secret", secret), ("Events", "on")]))
        self._task = asyncio.create_task(self._read(reader))
        async with asyncio.timeout(5):
            await self.wait_for(lambda m: m.action_id == "obs-1")

    async def _read(self, reader: asyncio.StreamReader) -> None:
        parser = AmiParser()
        while data := await reader.read(65536):
            now = time.time()
            for item in parser.feed(data):
                if not isinstance(item, AmiBanner):
                    self.messages.append(item)
                    self.arrivals.append((item, now))
            self._changed.set()

    def events(self, name: str) -> list[AmiMessage]:
        return [m for m in self.messages if m.event == name]

    async def wait_for(self, predicate: Callable[[AmiMessage], bool]) -> AmiMessage:
        """The first message (already seen or to come) that matches; wrap in
        ``asyncio.timeout`` to bound the wait."""
        seen = 0
        while True:
            for message in self.messages[seen:]:
                if predicate(message):
                    return message
            seen = len(self.messages)
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await self._task
