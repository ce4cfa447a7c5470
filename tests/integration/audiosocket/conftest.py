"""An AudioSocket peer that behaves like Asterisk's chan_audiosocket on loopback,
and a handler that records what the server delivered."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from vidline.audiosocket.codec import Frame, FrameDecoder, encode_uuid
from vidline.audiosocket.leg import AudioLeg, AudioSource
from vidline.audiosocket.server import AudioSocketServer


@dataclass
class Recorder:
    """An AudioLegHandler that keeps everything, with arrival times."""

    source: AudioSource | None = None
    legs: list[AudioLeg] = field(default_factory=list)
    audio: list[bytes] = field(default_factory=list)
    dtmf: list[str] = field(default_factory=list)
    closed: list[tuple[str, float]] = field(default_factory=list)
    closed_event: asyncio.Event = field(default_factory=asyncio.Event)
    audio_event: asyncio.Event = field(default_factory=asyncio.Event)

    def on_connected(self, leg: AudioLeg) -> None:
        self.legs.append(leg)
        if self.source is not None:
            leg.set_source(self.source)

    def on_audio(self, leg: AudioLeg, pcm: bytes) -> None:
        self.audio.append(pcm)
        self.audio_event.set()

    async def wait_audio(self, frames: int, within: float) -> None:
        async with asyncio.timeout(within):
            while len(self.audio) < frames:
                self.audio_event.clear()
                await self.audio_event.wait()

    def on_dtmf(self, leg: AudioLeg, digit: str) -> None:
        self.dtmf.append(digit)

    def on_closed(self, leg: AudioLeg, reason: str) -> None:
        self.closed.append((reason, time.monotonic()))
        self.closed_event.set()


class Peer:
    """The Asterisk side: connects, sends the UUID, reads timed frames."""

    opened: list[Peer] = []  # closed after each test by ``no_loop_errors``

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.decoder = FrameDecoder(65535)
        self.frames: list[tuple[float, Frame]] = []
        self.eof = False

    @classmethod
    async def connect(cls, port: int, call: uuid.UUID | None = None) -> Peer:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        peer = cls(reader, writer)
        cls.opened.append(peer)
        if call is not None:
            writer.write(encode_uuid(call))
            await writer.drain()
        return peer

    async def read_until(self, done: Callable[[Peer], bool], within: float) -> None:
        """Collect frames until ``done`` or EOF; fails on timeout."""
        async with asyncio.timeout(within):
            while not done(self) and not self.eof:
                data = await self.reader.read(65536)
                now = time.monotonic()
                if not data:
                    self.eof = True
                    break
                self.frames += [(now, f) for f in self.decoder.feed(data)]

    async def read_for(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await self.read_until(lambda p: False, seconds)

    async def wait_eof(self, within: float) -> float:
        await self.read_until(lambda p: p.eof, within)
        return time.monotonic()

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()


@pytest.fixture(autouse=True)
async def no_loop_errors() -> AsyncIterator[None]:
    """Fails a test whose tasks or callbacks reported an error to the loop."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield
    for peer in Peer.opened:
        peer.close()
    Peer.opened.clear()
    await asyncio.sleep(0.01)  # let pending close callbacks run
    loop.set_exception_handler(None)
    assert errors == []


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., AudioSocketServer]]:
    """Builds servers on ephemeral loopback ports; started by the test, closed here."""
    servers: list[AudioSocketServer] = []

    def make(resolve: Callable[[uuid.UUID], Recorder | None], sample_rate: int = 8000,
             **options: Any) -> AudioSocketServer:
        server = AudioSocketServer("127.0.0.1", 0, sample_rate, resolve, **options)
        servers.append(server)
        return server

    yield make
    for server in servers:
        await server.close()
