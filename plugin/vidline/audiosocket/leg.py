"""One AudioSocket connection from Asterisk: a call's audio leg.

Theory of operation. The server hands a leg its socket once the UUID frame
has matched an interaction. From then on two things run until the socket
ends:

* the server's ``PacingClock`` ticks the leg every 20 ms and the leg writes
  one frame per tick. Asterisk needs this steady stream from the first
  moment (shared/asterisk FINDINGS), so the first frame goes out as the leg
  starts, silence until a source is attached, then whatever
  ``read_frame()`` of the source returns;
* the connection's protocol feeds each read straight into the leg, which
  decodes it and hands the frames to the ``AudioLegHandler`` (audio, DTMF);
  the end of the connection reports the close exactly once.

Receiving runs in the transport's read callback, not in a task per leg: a
task would wake once more for every 20 ms frame (measured ~0.25% of a core
per leg, half of vidline's load with 200 customers waiting).

Every buffer is bounded: the decoder caps a frame's size and holds at most
one incomplete frame (handlers return at once, so nothing else queues
between the socket and them), the server caps the kernel send
buffer at about a second of audio, and frames for a peer that stops reading
are dropped (and the leg closed after ``stall_timeout``) instead of piling up
in the transport. The same rule finds a half-open link: a dead Asterisk
host stops reading, so no inactivity timeout is needed (and none would be
right: during an attended transfer Asterisk sends nothing for seconds).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from vidline.audiosocket.clock import PacingClock
from vidline.audiosocket.codec import (
    AUDIO_KIND_FOR_RATE,
    HANGUP_FRAME,
    HEADER,
    AudioSocketError,
    Frame,
    FrameDecoder,
    Kind,
    frame_bytes,
)

log = logging.getLogger(__name__)

FRAME_MS = 20


class CloseReason(enum.StrEnum):
    PEER_CLOSED = "peer closed"  # EOF: how Asterisk hangs up
    PEER_RESET = "peer reset"
    PEER_HANGUP = "peer hangup"  # a 0x00 frame from the peer (Asterisk sends none)
    HANGUP = "hangup"  # we sent 0x00
    CLOSED = "closed"  # local close()
    PROTOCOL_ERROR = "protocol error"
    PEER_STALLED = "peer not reading"
    SHUTDOWN = "server shutdown"


class AudioSource(Protocol):
    """Audio for the PBX: one frame of ``leg.frame_bytes`` per 20 ms tick.

    Called on the event loop once per tick; must return at once. ``None``
    means "nothing now" and the leg sends silence.
    """

    def read_frame(self) -> bytes | None: ...


class AudioLegHandler(Protocol):
    """What the interaction service (and later the media bridge) implements.

    Callbacks run on the event loop inside the leg's read callback and must not
    block: a slow consumer should copy into a bounded buffer (``PcmBuffer``)
    and return. They may call ``leg.set_source``, ``leg.hangup`` or
    ``leg.close``. ``on_closed`` comes exactly once, whatever ended the leg.
    """

    def on_connected(self, leg: AudioLeg) -> None: ...

    def on_audio(self, leg: AudioLeg, pcm: bytes) -> None: ...

    def on_dtmf(self, leg: AudioLeg, digit: str) -> None: ...

    def on_closed(self, leg: AudioLeg, reason: str) -> None: ...


@dataclass(slots=True)
class LegStats:
    frames_sent: int = 0
    source_frames_sent: int = 0  # of frames_sent, those that came from the source
    frames_dropped_out: int = 0  # not written: the peer was not reading
    ticks_skipped: int = 0  # missed after a loop stall
    max_late_s: float = 0.0  # worst tick lateness
    frames_received: int = 0
    audio_bytes_received: int = 0
    frames_ignored: int = 0  # wrong rate, odd length, unknown kind
    errors_received: int = 0


class AudioLeg:
    """A connected AudioSocket leg; created by ``AudioSocketServer`` only."""

    def __init__(
        self,
        call_id: uuid.UUID,
        transport: asyncio.Transport,
        decoder: FrameDecoder,
        handler: AudioLegHandler,
        sample_rate: int,
        clock: PacingClock,
        *,
        hangup_grace: float = 0.5,
        stall_timeout: float = 5.0,
        max_write_buffer_frames: int = 10,
        on_finished: Callable[[AudioLeg], None] | None = None,
    ) -> None:
        kind = AUDIO_KIND_FOR_RATE.get(sample_rate)
        if kind is None:
            raise ValueError(f"no AudioSocket kind for {sample_rate} Hz")
        self.uuid = call_id
        self.sample_rate = sample_rate
        self.kind = kind
        self.frame_bytes = frame_bytes(sample_rate, FRAME_MS)
        self.peer: object = transport.get_extra_info("peername")
        self.stats = LegStats()
        self.close_reason: CloseReason | None = None
        self._transport = transport
        self._on_finished = on_finished
        self._decoder = decoder
        self._handler = handler
        self._source: AudioSource | None = None
        self._header = HEADER.pack(kind, self.frame_bytes)
        self._silence = self._header + bytes(self.frame_bytes)
        self._clock = clock
        self._period = FRAME_MS / 1000
        self._max_write_buffer = max_write_buffer_frames * len(self._silence)
        self._stall_ticks = max(1, round(stall_timeout / self._period))
        self._hangup_grace = hangup_grace
        self._stalled_ticks = 0
        self._abort_timer: asyncio.TimerHandle | None = None
        self._closed = asyncio.Event()
        self._warned: set[str] = set()

    # -- public ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def source(self) -> AudioSource | None:
        return self._source

    def set_source(self, source: AudioSource | None) -> None:
        """Play ``source`` from the next tick on; ``None`` goes back to silence."""
        self._source = source

    def hangup(self) -> None:
        """Ask Asterisk to hang up: send 0x00, close after a short grace.

        Asterisk closes ~3 ms after the 0x00 frame; the grace only covers a
        peer that does not. Audio stops before the 0x00 so it is the last
        frame on the wire. Idempotent; ``await wait_closed()`` for the end.
        """
        if self.close_reason is not None or self.closed:
            return
        self.close_reason = CloseReason.HANGUP
        self._stop_sending()
        if not self._transport.is_closing():
            self._transport.write(HANGUP_FRAME)
        loop = asyncio.get_running_loop()
        self._abort_timer = loop.call_later(self._hangup_grace, self._shut, True)

    def close(self, reason: CloseReason = CloseReason.CLOSED) -> None:
        """Close the socket (Asterisk reads that as a hangup). Idempotent."""
        if self.close_reason is None:
            self.close_reason = reason
        self._shut(graceful=True)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- driven by the server's connection protocol (server only) ------------

    def connected(self, first_frames: Iterable[Frame] = ()) -> None:
        """The UUID matched: greet the handler, send the first frame at once."""
        self._call("on_connected", self._handler.on_connected, self)
        if self.close_reason is None:
            self._send_one()
            self._clock.add(self)
        for frame in first_frames:
            self._dispatch(frame)
        self._finish_if_done()

    def data_received(self, data: bytes) -> None:
        """Bytes from the socket (the transport's read callback)."""
        if self.closed:
            return
        try:
            frames = self._decoder.feed(data)
        except AudioSocketError as exc:
            log.warning("AudioSocket %s from %s: %s", self.uuid, self.peer, exc)
            if self.close_reason is None:
                self.close_reason = CloseReason.PROTOCOL_ERROR
            self._finish()
            return
        for frame in frames:
            self._dispatch(frame)
        self._finish_if_done()

    def eof_received(self) -> None:
        """The peer closed its side: how Asterisk hangs up."""
        if self.closed:
            return
        self._warn_truncated()
        self._finish()

    def connection_lost(self, exc: Exception | None) -> None:
        """The transport is gone; ``exc`` when the socket failed (a reset)."""
        if self.closed:
            return
        if exc is not None:
            log.info("AudioSocket %s: connection lost: %s", self.uuid, exc)
            if self.close_reason is None:
                self.close_reason = CloseReason.PEER_RESET
        else:
            self._warn_truncated()
        self._finish()

    def _finish_if_done(self) -> None:
        # After a hangup (0x00 sent) the peer's own close ends the leg; any
        # other reason ends it once the frames of this read are handled.
        if self.close_reason is not None and self.close_reason is not CloseReason.HANGUP:
            self._finish()

    def _warn_truncated(self) -> None:
        if self._decoder.pending:
            log.warning("AudioSocket %s: EOF inside a frame (%d bytes)",
                        self.uuid, self._decoder.pending)

    # -- receiving ------------------------------------------------------------

    def _dispatch(self, frame: Frame) -> None:
        self.stats.frames_received += 1
        kind = frame.kind
        if kind == self.kind:
            if not frame.payload or len(frame.payload) % 2:
                self._ignore("odd", f"audio frame of {len(frame.payload)} bytes")
                return
            self.stats.audio_bytes_received += len(frame.payload)
            self._call("on_audio", self._handler.on_audio, self, frame.payload)
        elif frame.is_audio:
            # The dial string and [audiosocket] sample_rate disagree: passing
            # the audio on at the wrong rate would garble it for the agent.
            self._ignore("rate", f"{frame.sample_rate} Hz audio while audiosocket.sample_rate "
                                 f"is {self.sample_rate} (check c(slin16) in the dial string)")
        elif kind == Kind.DTMF:
            try:
                digit = frame.dtmf
            except AudioSocketError as exc:
                self._ignore("dtmf", str(exc))
                return
            self._call("on_dtmf", self._handler.on_dtmf, self, digit)
        elif kind == Kind.ERROR:
            # Asterisk's codes: 0x01 caller hung up, 0x02 frame forwarding,
            # 0x04 memory. The close that follows is what ends the leg.
            self.stats.errors_received += 1
            log.warning("AudioSocket %s: peer reports error %s", self.uuid,
                        frame.payload.hex() or "(no code)")
        elif kind == Kind.HANGUP:
            if self.close_reason is None:
                self.close_reason = CloseReason.PEER_HANGUP
            self._shut(graceful=True)
        else:
            self._ignore(f"kind{kind}", f"frame of kind 0x{kind:02x}")

    def _ignore(self, key: str, what: str) -> None:
        self.stats.frames_ignored += 1
        self._warn_once(key, f"ignoring {what}")

    def _warn_once(self, key: str, what: str) -> None:
        if key not in self._warned:  # once per leg: a peer must not flood the log
            self._warned.add(key)
            log.warning("AudioSocket %s: %s", self.uuid, what)

    def _call(self, name: str, callback: Callable[..., object], *args: object) -> None:
        # A bug in one consumer must not tear down the call's audio.
        try:
            callback(*args)
        except Exception:
            log.exception("AudioSocket %s: handler %s failed", self.uuid, name)

    # -- sending --------------------------------------------------------------

    def tick(self, late: float, missed: int) -> None:
        """Called by the clock every 20 ms."""
        stats = self.stats
        stats.ticks_skipped += missed
        if late > stats.max_late_s:
            stats.max_late_s = late
        self._send_one()

    def _send_one(self) -> None:
        transport = self._transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > self._max_write_buffer:
            self.stats.frames_dropped_out += 1
            self._stalled_ticks += 1
            if self._stalled_ticks >= self._stall_ticks:
                log.warning("AudioSocket %s: peer has not read for %.1f s, closing",
                            self.uuid, self._stalled_ticks * self._period)
                if self.close_reason is None:
                    self.close_reason = CloseReason.PEER_STALLED
                self._shut(graceful=False)
            return
        self._stalled_ticks = 0
        transport.write(self._next_frame())
        self.stats.frames_sent += 1

    def _next_frame(self) -> bytes:
        source = self._source
        if source is None:
            return self._silence
        try:
            pcm = source.read_frame()
        except Exception:
            log.exception("AudioSocket %s: source failed, back to silence", self.uuid)
            self._source = None
            return self._silence
        if not pcm:
            return self._silence
        size = self.frame_bytes
        if len(pcm) != size:
            # Asterisk takes any length, but a short or long frame shifts
            # the timing of everything after it: keep 20 ms per tick.
            self._warn_once("size", f"source frame of {len(pcm)} bytes fitted to {size}")
            pcm = bytes(pcm[:size]).ljust(size, b"\0")
        self.stats.source_frames_sent += 1
        return self._header + bytes(pcm)

    # -- ending ---------------------------------------------------------------

    def _stop_sending(self) -> None:
        self._clock.discard(self)

    def _shut(self, graceful: bool) -> None:
        """Close the transport; its ``connection_lost`` then finishes the leg."""
        if self.closed:
            return
        self._stop_sending()
        transport = self._transport
        if not graceful:
            transport.abort()
            return
        if not transport.is_closing():
            transport.close()
        if self._abort_timer is not None:
            self._abort_timer.cancel()
        # close() waits to flush; a peer that does not read would hold it.
        self._abort_timer = asyncio.get_running_loop().call_later(1.0, transport.abort)

    def _finish(self) -> None:
        if self.closed:  # exactly once, whichever of EOF, error or close came first
            return
        self._stop_sending()
        if self._abort_timer is not None:
            self._abort_timer.cancel()
            self._abort_timer = None
        transport = self._transport
        if transport.get_write_buffer_size() or self.close_reason is CloseReason.PEER_STALLED:
            transport.abort()  # unflushed audio is worthless once the leg ends
        else:
            transport.close()
        self._closed.set()
        if self.close_reason is None:
            self.close_reason = CloseReason.PEER_CLOSED
        reason = self.close_reason
        log.info("AudioSocket %s: closed (%s), %d frames sent, %d received", self.uuid,
                 reason, self.stats.frames_sent, self.stats.frames_received)
        self._call("on_closed", self._handler.on_closed, self, reason)
        if self._on_finished is not None:
            self._on_finished(self)
