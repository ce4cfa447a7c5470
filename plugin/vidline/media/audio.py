"""Voice between the customer's browser and the PBX's AudioSocket leg.

Customer -> PBX: aiortc decodes the customer's Opus (48 kHz stereo s16),
PyAV resamples it to the leg's rate (8 or 16 kHz mono slin) and a
:class:`DriftBuffer` hands the leg one 20 ms frame per tick. The browser's
and the PBX's clocks never agree exactly, and network jitter comes in
bursts, so the buffer absorbs both: a frame missing at a tick is silence
(inserted), and audio that has sat in the buffer for a whole second without
ever draining below two frames is excess delay, so one frame is dropped.
The delay therefore stays bounded instead of growing with the call.

PBX -> customer: :class:`PbxAudioTrack` is an aiortc audio track fed from
the leg's ``on_audio`` (music on hold, announcements, the agent's voice);
it paces itself at 20 ms like aiortc's own tracks and sends silence when the
PBX sends nothing, through the same kind of buffer.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError

FRAME_S = 0.020


class DriftBuffer:
    """PCM FIFO read in exact frames, with bounded delay."""

    def __init__(self, frame_bytes: int, *, max_frames: int = 8, keep_frames: int = 2,
                 window: int = 50) -> None:
        self.frame_bytes = frame_bytes
        self._max = frame_bytes * max_frames
        self._keep = frame_bytes * keep_frames
        self._window = window
        self._data = bytearray()
        self._reads = 0
        self._low = 1 << 62
        self.inserted = 0  # frames of silence because nothing was there
        self.dropped = 0  # frames dropped: overflow or a standing excess

    def __len__(self) -> int:
        return len(self._data)

    def write(self, pcm: bytes) -> None:
        self._data += pcm
        if len(self._data) > self._max:  # a burst beyond the cap: keep the newest
            excess = len(self._data) - self._max
            excess += (-excess) % self.frame_bytes
            del self._data[:excess]
            self.dropped += excess // self.frame_bytes

    def read_frame(self) -> bytes | None:
        self._low = min(self._low, len(self._data))
        self._reads += 1
        if self._reads >= self._window:
            if self._low > self._keep and len(self._data) >= 2 * self.frame_bytes:
                del self._data[:self.frame_bytes]  # a second of standing delay: shed it
                self.dropped += 1
            self._reads, self._low = 0, 1 << 62
        if len(self._data) < self.frame_bytes:
            self.inserted += 1
            return None
        frame = bytes(self._data[:self.frame_bytes])
        del self._data[:self.frame_bytes]
        return frame


class CustomerVoice:
    """The customer's decoded audio at the PBX rate; the leg's ``AudioSource``."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.buffer = DriftBuffer(sample_rate // 50 * 2)
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=sample_rate)
        self.frames_in = 0

    def read_frame(self) -> bytes | None:
        return self.buffer.read_frame()

    def feed(self, frame: av.AudioFrame) -> None:
        self.frames_in += 1
        for out in self._resampler.resample(frame):
            self.buffer.write(bytes(out.planes[0])[: out.samples * 2])

    async def consume(self, track: MediaStreamTrack) -> None:
        """Drain ``track`` until it ends: aiortc's receive queue is unbounded,
        so it must always be read, even before the PBX leg is there."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, av.AudioFrame):
                self.feed(frame)


class PbxAudioTrack(MediaStreamTrack):
    """What the PBX sends, as the customer's incoming audio track."""

    kind = "audio"

    def __init__(self, sample_rate: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.samples = sample_rate // 50
        self.buffer = DriftBuffer(self.samples * 2)
        self._time_base = fractions.Fraction(1, sample_rate)
        self._start: float | None = None
        self._pts = 0

    def feed(self, pcm: bytes) -> None:
        self.buffer.write(pcm)

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += self.samples
            wait = self._start + self._pts / self.sample_rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if self.readyState != "live":
            raise MediaStreamError
        pcm = self.buffer.read_frame() or bytes(self.samples * 2)
        frame = av.AudioFrame(format="s16", layout="mono", samples=self.samples)
        frame.planes[0].update(pcm)
        frame.sample_rate = self.sample_rate
        frame.pts = self._pts
        frame.time_base = self._time_base
        return frame
