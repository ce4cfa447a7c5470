"""What a person would see and hear, measured: tone files for Chromium's fake
microphone, a Goertzel detector for PCM, and page-side probes (canvas pixel
statistics, getStats framesDecoded, a WebAudio analyser)."""

from __future__ import annotations

import array
import math
import struct
import sys
import wave
from pathlib import Path
from typing import Any


def write_tone_wav(path: Path, hz: float, seconds: float = 5.0, rate: int = 48000,
                   amplitude: float = 0.5) -> Path:
    samples = array.array("h", (int(32767 * amplitude * math.sin(2 * math.pi * hz * i / rate))
                                for i in range(int(rate * seconds))))
    if sys.byteorder != "little":
        samples.byteswap()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


def tone_share(pcm: bytes, rate: int, hz: float) -> float:
    """The share (0..1) of the signal's power at ``hz`` (Goertzel)."""
    n = len(pcm) // 2
    if n == 0:
        return 0.0
    samples = struct.unpack(f"<{n}h", pcm[: n * 2])
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2  # |X(hz)|^2
    total = sum(x * x for x in samples)
    # a pure tone of amplitude A: |X|^2 = (A n / 2)^2 and total = A^2 n / 2
    return 0.0 if total == 0 else min(1.0, power / (total * n / 2))


CANVAS_PROBE = """async (id) => {
  const video = document.getElementById(id);
  if (!video || !video.videoWidth) return null;
  const canvas = document.createElement("canvas");
  canvas.width = 160; canvas.height = 120;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const grab = () => { ctx.drawImage(video, 0, 0, 160, 120);
                       return ctx.getImageData(0, 0, 160, 120).data; };
  const a = grab();
  await new Promise((r) => setTimeout(r, 400));
  const b = grab();
  let sum = 0, sq = 0, diff = 0;
  const n = a.length / 4;
  for (let i = 0; i < a.length; i += 4) {
    const y = (a[i] + a[i + 1] + a[i + 2]) / 3;
    sum += y; sq += y * y;
    diff += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]);
  }
  const mean = sum / n;
  return { width: video.videoWidth, height: video.videoHeight, mean: mean,
           std: Math.sqrt(Math.max(0, sq / n - mean * mean)), change: diff / n };
}"""

FRAMES_DECODED = """async (name) => {
  const media = window[name];
  if (!media || !media.pc) return [];
  const stats = await media.pc.getStats();
  const out = [];
  stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video")
    out.push({ mid: s.mid, framesDecoded: s.framesDecoded || 0, codec: s.codecId }); });
  return out;
}"""

AUDIO_SPECTRUM = """async ([id, freqs]) => {
  const el = document.getElementById(id);
  if (!el || !el.srcObject) return null;
  const ctx = new AudioContext();
  await ctx.resume();
  const source = ctx.createMediaStreamSource(el.srcObject);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  analyser.smoothingTimeConstant = 0.8;
  source.connect(analyser);
  await new Promise((r) => setTimeout(r, 1500));
  const data = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(data);
  const binHz = ctx.sampleRate / analyser.fftSize;
  const level = (f) => { const i = Math.round(f / binHz);
    return Math.max(data[i - 1], data[i], data[i + 1]); };
  const sorted = Array.from(data).sort((a, b) => a - b);
  const result = { median: sorted[Math.floor(sorted.length / 2)], at: {} };
  for (const f of freqs) result.at[f] = level(f);
  source.disconnect();
  await ctx.close();
  return result;
}"""


async def spectrum(page: Any, element_id: str, freqs: list[int]) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(AUDIO_SPECTRUM, [element_id, freqs])
    return result
