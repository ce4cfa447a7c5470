"""The asyncio AudioSocket server Asterisk connects to, one leg per call.

Asterisk dials ``AudioSocket/<host>:<port>/<uuid>`` and opens a TCP
connection whose first frame carries that UUID. The server gives the peer a
few seconds to send it, asks ``resolve`` for the interaction's handler, and
refuses (closes) a connection whose UUID is unknown or already has a leg.
Refusing is a plain close: Asterisk reads EOF as a hangup, whereas an 0xff
frame from the application is only logged by Asterisk as an invalid message
(res_audiosocket.c) before the same hangup.

Every connection runs in the task asyncio's stream server starts for it;
the server keeps those tasks, and ``close()`` ends each leg and awaits all of
them, so nothing outlives the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Callable, Mapping
from types import MappingProxyType

from vidline.audiosocket.clock import PacingClock
from vidline.audiosocket.codec import (
    AUDIO_KIND_FOR_RATE,
    AudioSocketError,
    Frame,
    FrameDecoder,
    Kind,
    frame_bytes,
)
from vidline.audiosocket.leg import READ_CHUNK, AudioLeg, AudioLegHandler, CloseReason

log = logging.getLogger(__name__)

Resolve = Callable[[uuid.UUID], AudioLegHandler | None]


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and runs an ``AudioLeg`` each."""

    def __init__(
        self,
        host: str,
        port: int,
        sample_rate: int,
        resolve: Resolve,
        *,
        uuid_timeout: float = 5.0,
        max_connections: int = 1000,
        hangup_grace: float = 0.5,
        stall_timeout: float = 5.0,
        send_buffer_s: float = 1.0,
    ) -> None:
        if sample_rate not in AUDIO_KIND_FOR_RATE:
            raise ValueError(f"no AudioSocket kind for {sample_rate} Hz")
        self.host = host
        self.sample_rate = sample_rate
        self._port = port
        self._resolve = resolve
        self._uuid_timeout = uuid_timeout
        self._max_connections = max_connections
        self._hangup_grace = hangup_grace
        self._stall_timeout = stall_timeout
        # The kernel would otherwise autotune a leg's send buffer to megabytes
        # (measured: 3.9 MB on loopback, 40 s of 48 kHz audio): audio for a
        # peer that stops reading would queue there, unseen and ever later.
        self._send_buffer = max(4096, int(send_buffer_s * 50 * (frame_bytes(sample_rate) + 3)))
        # Room for a few frames beyond the biggest Asterisk sends (one 20 ms
        # frame); anything larger is a broken or hostile peer.
        self._max_payload = max(8192, frame_bytes(sample_rate, 100))
        self._server: asyncio.Server | None = None
        self._legs: dict[uuid.UUID, AudioLeg] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._handshakes: set[asyncio.StreamWriter] = set()
        self._clock = PacingClock()
        self._closing = False

    @property
    def port(self) -> int:
        """The bound port (the ephemeral one when constructed with 0)."""
        return self._port

    @property
    def legs(self) -> Mapping[uuid.UUID, AudioLeg]:
        return MappingProxyType(self._legs)

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("AudioSocket server already started")
        self._server = await asyncio.start_server(
            self._on_connection, self.host, self._port, limit=READ_CHUNK * 4)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket server listening on %s:%d (%d Hz)",
                 self.host, self._port, self.sample_rate)

    async def close(self) -> None:
        """Stop listening, close every leg and wait for all of them."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._handshakes):
            writer.transport.abort()
        for leg in list(self._legs.values()):
            leg.close(CloseReason.SHUTDOWN)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=3.0)
            for task in pending:  # should not happen: each leg ends on its own
                log.warning("AudioSocket task %s did not end, cancelling", task.get_name())
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        await self._clock.close()
        if self._server is not None:
            await self._server.wait_closed()

    # -- per connection ---------------------------------------------------------

    async def _on_connection(self, reader: asyncio.StreamReader,
                             writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        peer = writer.get_extra_info("peername")
        try:
            await self._serve(reader, writer, peer)
        except asyncio.CancelledError:
            # Only close() cancels, as a last resort; asyncio's stream server
            # reports a cancelled connection task as an error, so end quietly.
            writer.transport.abort()
        except Exception:
            log.exception("AudioSocket connection from %s failed", peer)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     peer: object) -> None:
        if self._closing or len(self._tasks) > self._max_connections:
            log.warning("AudioSocket connection from %s refused: %s", peer,
                        "shutting down" if self._closing else "too many connections")
            writer.transport.abort()
            return
        decoder = FrameDecoder(self._max_payload)
        self._handshakes.add(writer)
        try:
            first = await self._read_uuid(reader, decoder, peer)
        finally:
            self._handshakes.discard(writer)
        if first is None:
            writer.transport.abort()
            return
        call_id, rest = first
        if call_id in self._legs:
            log.warning("AudioSocket %s from %s refused: that call already has a leg",
                        call_id, peer)
            await self._refuse(writer)
            return
        try:
            handler = self._resolve(call_id)
        except Exception:
            log.exception("AudioSocket %s: resolve failed", call_id)
            handler = None
        if handler is None:
            log.warning("AudioSocket %s from %s refused: no such interaction", call_id, peer)
            await self._refuse(writer)
            return
        if self._closing:  # close() began while resolve ran
            writer.transport.abort()
            return
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        leg = AudioLeg(call_id, reader, writer, decoder, handler, self.sample_rate, self._clock,
                       hangup_grace=self._hangup_grace, stall_timeout=self._stall_timeout)
        self._legs[call_id] = leg
        log.info("AudioSocket %s connected from %s", call_id, peer)
        try:
            await leg.run(rest)
        finally:
            if self._legs.get(call_id) is leg:
                del self._legs[call_id]

    async def _read_uuid(self, reader: asyncio.StreamReader, decoder: FrameDecoder,
                         peer: object) -> tuple[uuid.UUID, list[Frame]] | None:
        """The call's UUID and any frames that came in the same reads."""
        try:
            async with asyncio.timeout(self._uuid_timeout):
                frames: list[Frame] = []
                while not frames:
                    data = await reader.read(READ_CHUNK)
                    if not data:
                        log.info("AudioSocket connection from %s closed before its UUID", peer)
                        return None
                    frames = decoder.feed(data)
        except TimeoutError:
            log.warning("AudioSocket connection from %s sent no UUID in %.1f s",
                        peer, self._uuid_timeout)
            return None
        except AudioSocketError as exc:
            log.warning("AudioSocket connection from %s: %s", peer, exc)
            return None
        except (ConnectionError, OSError) as exc:
            log.info("AudioSocket connection from %s lost before its UUID: %s", peer, exc)
            return None
        first = frames[0]
        if first.kind != Kind.UUID or len(first.payload) != 16:
            log.warning("AudioSocket connection from %s began with %r, not a UUID", peer, first)
            return None
        return first.uuid, frames[1:]

    async def _refuse(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await writer.wait_closed()
        writer.transport.abort()
