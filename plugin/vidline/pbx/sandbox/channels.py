"""Channels of the sandbox PBX and the AudioSocket leg that Asterisk opens.

A :class:`Channel` is the snapshot AMI events describe (name, state, caller
id, dialplan position, variables). Uniqueids follow Asterisk: ``<epoch>.<n>``
with one counter for the whole PBX, unless the Originate gave a ChannelId
(FINDINGS I: then it is both Uniqueid and Linkedid).

:class:`AudioSocketLeg` is the TCP client side of chan_audiosocket: connect,
send 0x01 + UUID, then one paced 20 ms frame at a time from whatever the
channel "hears" (silence, music on hold, the agent's tone). Asterisk never
sends 0x00: on hangup it closes the socket.
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import functools
import math
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from vidline.audiosocket.codec import (
    AudioSocketError,
    FrameDecoder,
    Kind,
    encode,
    frame_bytes,
)

# about -25 dBFS, like the real MOH measured in C (-23 to -28 dBFS)
MOH_RMS = 32768 * 10 ** (-25 / 20)
AGENT_TONE_AMPLITUDE = 8000


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


class Audio:
    """What a customer channel hears: silence, music on hold or a tone."""

    SILENCE = "silence"
    MOH = "moh"
    TONE = "tone"

    def __init__(self, sample_rate: int) -> None:
        self.rate = sample_rate
        self.mode = self.SILENCE
        self.tone_hz = 0.0
        self._n = 0

    def next_frame(self) -> bytes:
        size = self.rate // 50 * 2
        if self.mode == self.SILENCE:
            self._n += size
            return bytes(size)
        hz = round(self.tone_hz) if self.mode == self.TONE else 0
        second = _one_second(self.mode, hz, self.rate)
        start = self._n % len(second)
        self._n += size
        frame = second[start:start + size]
        return frame if len(frame) == size else frame + second[:size - len(frame)]


class AudioSocketLeg:
    """The sandbox as chan_audiosocket's TCP client."""

    def __init__(self, host: str, port: int, call_uuid: uuid.UUID, sample_rate: int,
                 on_remote_hangup: Callable[[], None]) -> None:
        self.host = host
        self.port = port
        self.uuid = call_uuid
        self.audio = Audio(sample_rate)
        self.kind = Kind.AUDIO_16K if sample_rate == 16000 else Kind.AUDIO_8K
        self.frame_len = frame_bytes(sample_rate)
        self._on_remote_hangup = on_remote_hangup
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.frames_out = 0
        self.closed = False

    async def connect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Raises OSError when nothing listens (scenario H)."""
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout)
        self._writer.write(encode(Kind.UUID, self.uuid.bytes))  # type: ignore[union-attr]
        self._tasks = [asyncio.create_task(self._send_loop()),
                       asyncio.create_task(self._read_loop())]

    async def _send_loop(self) -> None:
        writer = self._writer
        assert writer is not None
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        try:
            while not self.closed:
                frame = self.audio.next_frame()
                writer.write(encode(self.kind, frame))
                self.bytes_out += len(frame)
                self.frames_out += 1
                if writer.transport.get_write_buffer_size() > 64 * 1024:
                    await writer.drain()
                # pace on an absolute schedule so the rate does not drift
                next_at += 0.020
                await asyncio.sleep(max(0.0, next_at - loop.time()))
        except (ConnectionError, RuntimeError):
            self._remote_gone()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        decoder = FrameDecoder()
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    if frame.kind == Kind.HANGUP:
                        self._remote_gone()
                        return
                    if frame.kind in (Kind.AUDIO_8K, Kind.AUDIO_16K):
                        self.bytes_in += len(frame.payload)
        except (ConnectionError, AudioSocketError):
            pass
        self._remote_gone()

    def _remote_gone(self) -> None:
        if not self.closed:
            self._on_remote_hangup()

    async def close(self) -> None:
        """Asterisk's side of a hangup: stop sending and close, no 0x00."""
        self.closed = True
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        for task in self._tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
