"""Cheap WebRTC peers for tests and the bench: video from VP8 packets encoded
once up front (the peer only packetizes them), audio as a sine tone."""

from __future__ import annotations

import asyncio
import fractions
import math
import random
import time
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

VIDEO_RATE = 90000


def encode_clip(width: int = 640, height: int = 480, frames: int = 60,
                bitrate: int = 800_000, fps: int = 30) -> list[bytes]:
    """A looping VP8 clip: the first frame is a keyframe, the rest refer back."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.bit_rate = bitrate
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    codec.gop_size = frames  # one keyframe per loop
    out: list[bytes] = []
    # camera-like content: a textured picture panning sideways (a flat picture
    # would make a re-encoding relay look cheaper than it is with a real camera)
    rng = random.Random(7)
    span = width + 4 * frames
    texture = bytes(16 + (rng.randrange(64) + (x // 8 + y // 8) % 2 * 96) % 220
                    for y in range(height // 8) for x in range(span // 8))
    rows = [bytes(b for b in texture[(y // 8) * (span // 8):(y // 8 + 1) * (span // 8)]
                  for _ in range(8)) for y in range(height)]
    for i in range(frames):
        frame = av.VideoFrame(width, height, "yuv420p")
        luma = frame.planes[0]
        pad = bytes(luma.line_size - width)
        luma.update(b"".join(row[4 * i:4 * i + width] + pad for row in rows))
        for plane in frame.planes[1:]:
            plane.update(bytes([128]) * plane.buffer_size)
        frame.pts = i
        for packet in codec.encode(frame):
            out.append(bytes(packet))
    for packet in codec.encode(None):
        out.append(bytes(packet))
    return out[:frames]


class ClipTrack(MediaStreamTrack):
    """Sends the clip's packets at ``fps`` as av.Packets (no encoder runs)."""

    kind = "video"

    def __init__(self, clip: list[bytes], fps: int = 30) -> None:
        super().__init__()
        self.clip, self.fps = clip, fps
        self.sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / self.fps - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        packet = av.Packet(self.clip[self.sent % len(self.clip)])
        packet.pts = self.sent * VIDEO_RATE // self.fps
        packet.time_base = fractions.Fraction(1, VIDEO_RATE)
        self.sent += 1
        return packet


class ToneTrack(MediaStreamTrack):
    """A 48 kHz sine tone in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, hz: float, amplitude: float = 0.5) -> None:
        super().__init__()
        self.hz, self.amplitude = hz, amplitude
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._n / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        samples = 960
        pcm = bytearray()
        for i in range(samples):
            t = (self._n + i) / 48000
            v = int(32767 * self.amplitude * math.sin(2 * math.pi * self.hz * t))
            pcm += v.to_bytes(2, "little", signed=True)
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate = 48000
        frame.pts = self._n
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += samples
        return frame


async def offer_answer(pc: RTCPeerConnection, answer_with: Any) -> None:
    """Offer from ``pc``; ``answer_with(sdp)`` returns the answer's SDP."""
    await pc.setLocalDescription(await pc.createOffer())
    sdp = await answer_with(pc.localDescription.sdp)
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
