"""Channels of the sandbox PBX and the AudioSocket leg that Asterisk opens.

A :class:`Channel` is the snapshot AMI events describe (name, state, caller
id, dialplan position, variables). Uniqueids follow Asterisk: ``<epoch>.<n>``
with one counter for the whole PBX, unless the Originate gave a ChannelId
(FINDINGS I: then it is both Uniqueid and Linkedid).

:class:`AudioSocketLeg` is the TCP client side of chan_audiosocket: connect,
send 0x01 + UUID, then one paced 20 ms frame at a time from whatever the
channel "hears" (silence, music on hold, the agent's tone). Asterisk never
sends 0x00: on hangup it closes the socket.

All legs of the PBX send on one shared ``PacingClock`` and receive in an
``asyncio.Protocol``: two tasks per leg (a sleep loop and a read loop) woke
100 times a second each, which made the sandbox, not vidline, the first
process to saturate with a few hundred customers waiting.
"""

from __future__ import annotations

import array
import asyncio
import collections
import functools
import math
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from vidline.audiosocket.clock import PacingClock
from vidline.audiosocket.codec import (
    HEADER,
    AudioSocketError,
    FrameDecoder,
    Kind,
    encode,
    frame_bytes,
)

# about -25 dBFS, like the real MOH measured in C (-23 to -28 dBFS)
MOH_RMS = 32768 * 10 ** (-25 / 20)
AGENT_TONE_AMPLITUDE = 8000
PCM_IN_SECONDS = 10  # of received audio a leg keeps for control.audio_in()


class Ids:
    """Asterisk's uniqueid counter and Local channel counter."""

    def __init__(self) -> None:
        self.seq = 0
        self.local = 0
        self.other = 0

    def uniqueid(self) -> tuple[str, int]:
        seq = self.seq
        self.seq += 1
        return f"{int(time.time())}.{seq}", seq

    def next_sequence(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq

    def local_suffix(self) -> str:
        n = self.local
        self.local += 1
        return f"{n:08x}"

    def other_suffix(self) -> str:
        n = self.other
        self.other += 1
        return f"{n:08x}"


@dataclass
class Channel:
    name: str
    uniqueid: str
    linkedid: str
    sequence: int
    state: int = 0
    caller_num: str = ""
    caller_name: str = ""
    connected_num: str = ""
    connected_name: str = ""
    context: str = "default"
    exten: str = "s"
    priority: int = 1
    app: str = ""
    appdata: str = ""
    created: float = field(default_factory=time.time)
    answered: float | None = None
    vars: dict[str, str] = field(default_factory=dict)
    inheritable: set[str] = field(default_factory=set)
    bridge_id: str = ""
    hungup: bool = False
    hangup_cause: int = 0
    # what the channel's peer hears from it (the agent's tone), see Audio
    tone_hz: float = 0.0

    def getvar(self, name: str) -> str:
        return self.vars.get(name.lstrip("_"), "")

    def setvar(self, name: str, value: str) -> None:
        bare = name.lstrip("_")
        self.vars[bare] = value
        if name.startswith("__"):
            self.inheritable.add(bare)

    def inherit_from(self, parent: Channel) -> None:
        """``__`` variables reach the agent leg (FINDINGS)."""
        for bare in parent.inheritable:
            self.vars[bare] = parent.vars.get(bare, "")
            self.inheritable.add(bare)


@functools.lru_cache(maxsize=32)
def _one_second(kind: str, hz: float, rate: int) -> bytes:
    """One second of a tone (or the two-tone MOH); integer frequencies make
    whole cycles, so the buffer loops without a click."""
    out = array.array("h")
    for i in range(rate):
        t = i / rate
        if kind == Audio.MOH:
            # two quiet tones, each at MOH_RMS/sqrt(2) RMS: together ~ -25 dBFS
            v = MOH_RMS * (math.sin(2 * math.pi * 392 * t) + math.sin(2 * math.pi * 494 * t))
        else:
            v = AGENT_TONE_AMPLITUDE * math.sin(2 * math.pi * hz * t)
        out.append(int(v))
    if sys.byteorder != "little":
        out.byteswap()
    return out.tobytes()


@functools.lru_cache(maxsize=32)
def _wire_frames(kind: str, hz: float, rate: int) -> tuple[bytes, ...]:
    """The 50 AudioSocket frames (header included) of one second of ``kind``:
    built once, so a tick only picks one instead of slicing and encoding."""
    size = rate // 50 * 2
    header = HEADER.pack(Kind.AUDIO_16K if rate == 16000 else Kind.AUDIO_8K, size)
    second = bytes(rate * 2) if kind == Audio.SILENCE else _one_second(kind, hz, rate)
    return tuple(header + second[i:i + size] for i in range(0, len(second), size))


class Audio:
    """What a customer channel hears: silence, music on hold or a tone."""

    SILENCE = "silence"
    MOH = "moh"
    TONE = "tone"

    def __init__(self, sample_rate: int) -> None:
        self.rate = sample_rate
        self.mode = self.SILENCE
        self.tone_hz = 0.0
        self._n = 0  # frames played: where in the looping second the next one starts

    def next_wire(self) -> bytes:
        """The next 20 ms as a whole AudioSocket frame."""
        hz = round(self.tone_hz) if self.mode == self.TONE else 0
        frames = _wire_frames(self.mode, hz, self.rate)
        frame = frames[self._n % len(frames)]
        self._n += 1
        return frame

    def next_pcm(self) -> bytes:
        """The next 20 ms as raw slin (the FreeSWITCH face's unicast frames)."""
        return self.next_wire()[HEADER.size:]


class AudioSocketLeg:
    """The sandbox as chan_audiosocket's TCP client."""

    def __init__(self, host: str, port: int, call_uuid: uuid.UUID, sample_rate: int,
                 on_remote_hangup: Callable[[], None], clock: PacingClock) -> None:
        self.host = host
        self.port = port
        self.uuid = call_uuid
        self.audio = Audio(sample_rate)
        self.kind = Kind.AUDIO_16K if sample_rate == 16000 else Kind.AUDIO_8K
        self.frame_len = frame_bytes(sample_rate)
        self._on_remote_hangup = on_remote_hangup
        self._clock = clock
        self._transport: asyncio.Transport | None = None
        self._lost: asyncio.Future[None] | None = None
        self._decoder = FrameDecoder()
        self._reading = True
        self.bytes_in = 0
        # the last PCM_IN_SECONDS of audio received, as the 20 ms frames
        # vidline sends: a bounded deque costs nothing per frame, where
        # trimming the head of one bytearray moved kilobytes each time
        self._frames_in: collections.deque[bytes] = collections.deque(
            maxlen=PCM_IN_SECONDS * 50)
        self.bytes_out = 0
        self.frames_out = 0
        self.frames_dropped = 0  # the peer was not reading (over 64 KiB unsent)
        self.closed = False

    async def connect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Raises OSError when nothing listens (scenario H)."""
        loop = asyncio.get_running_loop()
        self._lost = loop.create_future()
        transport, _ = await asyncio.wait_for(
            loop.create_connection(lambda: _LegProtocol(self), self.host, self.port), timeout)
        self._transport = cast(asyncio.Transport, transport)
        self._transport.write(encode(Kind.UUID, self.uuid.bytes))
        # the first frame goes out with the UUID, the clock paces the rest
        self.tick(0.0, 0)
        self._clock.add(self)

    @property
    def pcm_in(self) -> bytes:
        """The last PCM_IN_SECONDS of audio received (what the agent hears)."""
        return b"".join(self._frames_in)

    def tick(self, late: float, missed: int) -> None:
        """One 20 ms frame, called by the PBX's shared clock."""
        transport = self._transport
        if transport is None or self.closed or transport.is_closing():
            return
        if transport.get_write_buffer_size() > 64 * 1024:
            # Asterisk drops what it cannot write rather than queueing it
            self.frames_dropped += 1
            return
        frame = self.audio.next_wire()
        transport.write(frame)
        self.bytes_out += len(frame) - HEADER.size
        self.frames_out += 1

    def _received(self, data: bytes) -> None:
        if not self._reading:
            return
        try:
            frames = self._decoder.feed(data)
        except AudioSocketError:
            self._stop_reading()
            return
        for frame in frames:
            if frame.kind == Kind.HANGUP:
                self._stop_reading()
                return
            if frame.kind in (Kind.AUDIO_8K, Kind.AUDIO_16K):
                self.bytes_in += len(frame.payload)
                self._frames_in.append(frame.payload)

    def _stop_reading(self) -> None:
        """The application hung up (0x00, EOF, a reset or garbage)."""
        if self._reading:
            self._reading = False
            if not self.closed:
                self._on_remote_hangup()

    def _connection_lost(self) -> None:
        self._clock.discard(self)
        self._stop_reading()
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)

    async def close(self) -> None:
        """Asterisk's side of a hangup: stop sending and close, no 0x00."""
        self.closed = True
        self._clock.discard(self)
        transport = self._transport
        if transport is None or self._lost is None:
            return
        transport.close()
        try:
            # unsent audio is flushed first; a peer that does not read gets a reset
            await asyncio.wait_for(asyncio.shield(self._lost), 1.0)
        except TimeoutError:
            transport.abort()
            await self._lost


class _LegProtocol(asyncio.BufferedProtocol):
    # recv_into a small buffer: a plain recv allocates the transport's 256 KiB
    # maximum for every 323-byte frame (measured: 19 us a frame, against 3.5)
    def __init__(self, leg: AudioSocketLeg) -> None:
        self.leg = leg
        self._buffer = memoryview(bytearray(4096))

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        self.leg._received(self._buffer[:nbytes].tobytes())

    def eof_received(self) -> bool:
        self.leg._stop_reading()
        return True  # like the stream reader before: sending goes on until close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.leg._connection_lost()
