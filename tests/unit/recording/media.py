"""Known media for recording tests: VP8 frames and Opus packets made with
PyAV's encoders (only the tests encode: the recorder never does for video)."""

from __future__ import annotations

import fractions
import math
import struct
from dataclasses import dataclass

import av


@dataclass
class Frame:  # what aiortc's jitter buffer hands on: encoded bytes + RTP time
    data: bytes
    timestamp: int


def gray(width: int, height: int, level: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    for i, plane in enumerate(frame.planes):
        plane.update(bytes([level if i == 0 else 128]) * plane.buffer_size)
    return frame


def vp8_frames(count: int, width: int = 320, height: int = 240, fps: int = 30,
               start_level: int = 16) -> list[bytes]:
    """``count`` VP8 frames whose luma steps up by 4 per frame (mod 220)."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = width, height, "yuv420p"
    enc.time_base = fractions.Fraction(1, fps)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i in range(count):
        frame = gray(width, height, 16 + (start_level + 4 * i) % 220)
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]
    out += [bytes(p) for p in enc.encode(None)]
    return out


def tone_pcm(hz: float, seconds: float, rate: int, amplitude: int = 8000) -> bytes:
    n = int(seconds * rate)
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * hz * k / rate)))
                    for k in range(n))


def opus_packets(hz: float, seconds: float) -> list[bytes]:
    """20 ms Opus packets (48 kHz stereo, as browsers send) of a tone."""
    enc = av.CodecContext.create("libopus", "w")
    enc.sample_rate, enc.layout, enc.format = 48000, "stereo", "s16"
    enc.time_base = fractions.Fraction(1, 48000)
    mono = tone_pcm(hz, seconds, 48000)
    out: list[bytes] = []
    for i in range(len(mono) // 1920):
        chunk = mono[i * 1920:(i + 1) * 1920]
        stereo = b"".join(chunk[k:k + 2] * 2 for k in range(0, len(chunk), 2))
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        frame.planes[0].update(stereo)
        frame.sample_rate = 48000
        frame.pts = i * 960
        out += [bytes(p) for p in enc.encode(frame)]
    return out


def tone_share(samples: list[float], rate: int, hz: float) -> float:
    """Share of the signal's energy at ``hz`` (Goertzel over the whole block)."""
    n = len(samples)
    if n == 0:
        return 0.0
    k = round(n * hz / rate)
    w = 2 * math.pi * k / n
    coeff = 2 * math.cos(w)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples) or 1.0
    return 2 * power / (n * energy)
