"""The asyncio AudioSocket server Asterisk connects to, one leg per call.

Asterisk dials ``AudioSocket/<host>:<port>/<uuid>`` and opens a TCP
connection whose first frame carries that UUID. The server gives the peer a
few seconds to send it, asks ``resolve`` for the interaction's handler, and
refuses (closes) a connection whose UUID is unknown or already has a leg.
Refusing is a plain close: Asterisk reads EOF as a hangup, whereas an 0xff
frame from the application is only logged by Asterisk as an invalid message
(res_audiosocket.c) before the same hangup.

Each connection is an ``asyncio.BufferedProtocol`` (``_Connection``): its reads go
straight from the transport's callback into the handshake, then into the
leg, without a task per connection. The server keeps every connection until
its transport is gone, and ``close()`` ends each leg and waits for all of
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
from typing import cast

from vidline.audiosocket.clock import PacingClock
from vidline.audiosocket.codec import (
    AUDIO_KIND_FOR_RATE,
    AudioSocketError,
    FrameDecoder,
    Kind,
    frame_bytes,
)
from vidline.audiosocket.leg import AudioLeg, AudioLegHandler, CloseReason

log = logging.getLogger(__name__)

Resolve = Callable[[uuid.UUID], AudioLegHandler | None]

# Bytes read per recv: many 20 ms frames. All connections read into one
# buffer (each read is handled before the next), because a plain recv
# allocates the transport's 256 KiB maximum for every 323-byte frame
# (measured: 19 us per frame against 3.5 us with recv_into).
READ_SIZE = 64 * 1024
# A leg closes gracefully within a second (AudioLeg._shut's abort timer);
# past this, close() aborts whatever is left.
CLOSE_WAIT = 3.0


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
        self._connections: set[_Connection] = set()  # from accept to connection_lost
        self._all_gone = asyncio.Event()
        self._read_buffer = memoryview(bytearray(READ_SIZE))
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
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), self.host, self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        log.info("AudioSocket server listening on %s:%d (%d Hz)",
                 self.host, self._port, self.sample_rate)

    async def close(self) -> None:
        """Stop listening, close every leg and wait for all of them."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for conn in list(self._connections):
            if conn.leg is None:  # still in the UUID handshake
                conn.transport.abort()
        for leg in list(self._legs.values()):
            leg.close(CloseReason.SHUTDOWN)
        if not self._wait_gone_now():
            try:
                async with asyncio.timeout(CLOSE_WAIT):
                    await self._all_gone.wait()
            except TimeoutError:  # should not happen: each leg ends on its own
                log.warning("%d AudioSocket connections did not end, aborting",
                            len(self._connections))
                for conn in list(self._connections):
                    conn.transport.abort()
                await self._all_gone.wait()
        await self._clock.close()
        if self._server is not None:
            await self._server.wait_closed()

    def _wait_gone_now(self) -> bool:
        self._all_gone.clear()
        if self._connections:
            return False
        self._all_gone.set()
        return True

    # -- per connection, called by _Connection -----------------------------------

    def _accepted(self, conn: _Connection) -> None:
        self._connections.add(conn)
        if self._closing or len(self._connections) > self._max_connections:
            log.warning("AudioSocket connection from %s refused: %s", conn.peer,
                        "shutting down" if self._closing else "too many connections")
            conn.transport.abort()
            return
        conn.timer = asyncio.get_running_loop().call_later(
            self._uuid_timeout, self._uuid_timed_out, conn)

    def _gone(self, conn: _Connection) -> None:
        self._connections.discard(conn)
        if self._closing and not self._connections:
            self._all_gone.set()

    def _uuid_timed_out(self, conn: _Connection) -> None:
        log.warning("AudioSocket connection from %s sent no UUID in %.1f s",
                    conn.peer, self._uuid_timeout)
        conn.transport.abort()

    def _handshake(self, conn: _Connection, data: bytes) -> None:
        """Bytes before the UUID frame has come whole."""
        try:
            frames = conn.decoder.feed(data)
        except AudioSocketError as exc:
            log.warning("AudioSocket connection from %s: %s", conn.peer, exc)
            conn.transport.abort()
            return
        if not frames:
            return
        conn.stop_timer()
        first, rest = frames[0], frames[1:]
        if first.kind != Kind.UUID or len(first.payload) != 16:
            log.warning("AudioSocket connection from %s began with %r, not a UUID",
                        conn.peer, first)
            conn.transport.abort()
            return
        call_id = first.uuid
        if call_id in self._legs:
            log.warning("AudioSocket %s from %s refused: that call already has a leg",
                        call_id, conn.peer)
            conn.refuse()
            return
        try:
            handler = self._resolve(call_id)
        except Exception:
            log.exception("AudioSocket %s: resolve failed", call_id)
            handler = None
        if handler is None:
            log.warning("AudioSocket %s from %s refused: no such interaction", call_id, conn.peer)
            conn.refuse()
            return
        if self._closing:  # close() began while resolve ran
            conn.transport.abort()
            return
        sock = conn.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self._send_buffer)
        leg = AudioLeg(call_id, conn.transport, conn.decoder, handler, self.sample_rate,
                       self._clock, hangup_grace=self._hangup_grace,
                       stall_timeout=self._stall_timeout, on_finished=self._leg_finished)
        self._legs[call_id] = leg
        conn.leg = leg
        log.info("AudioSocket %s connected from %s", call_id, conn.peer)
        leg.connected(rest)

    def _leg_finished(self, leg: AudioLeg) -> None:
        if self._legs.get(leg.uuid) is leg:
            del self._legs[leg.uuid]


class _Connection(asyncio.BufferedProtocol):
    """One accepted socket: the UUID handshake, then its ``AudioLeg``."""

    def __init__(self, server: AudioSocketServer) -> None:
        self.server = server
        self.transport: asyncio.Transport = cast(asyncio.Transport, None)
        self.peer: object = None
        self.decoder = FrameDecoder(server._max_payload)
        self.leg: AudioLeg | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.peer = transport.get_extra_info("peername")
        self.server._accepted(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.server._read_buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.server._read_buffer[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        try:
            leg = self.leg
            if leg is not None:
                leg.data_received(data)
            else:
                self.server._handshake(self, data)
        except Exception:  # a bug here must end this call only, and quietly for the loop
            log.exception("AudioSocket connection from %s failed", self.peer)
            self.transport.abort()

    def eof_received(self) -> bool:
        if self.leg is not None:
            self.leg.eof_received()
        else:
            log.info("AudioSocket connection from %s closed before its UUID", self.peer)
            self.stop_timer()
        return False  # the transport closes itself (a no-op if the leg already did)

    def connection_lost(self, exc: Exception | None) -> None:
        self.stop_timer()
        if self.leg is not None:
            self.leg.connection_lost(exc)
        elif exc is not None:
            log.info("AudioSocket connection from %s lost before its UUID: %s", self.peer, exc)
        self.server._gone(self)

    def stop_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def refuse(self) -> None:
        # Nothing was written, so the close goes out at once: Asterisk
        # reads the EOF as a hangup.
        self.transport.close()
