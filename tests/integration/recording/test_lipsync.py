"""Lip sync through the real path: a customer peer (aiortc over loopback)
flashes its picture from dark to bright and starts a loud tone at the same
instant; in the recording, the first bright frame and the first loud audio
sit within 100 ms of each other on the set's clock."""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import time
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy

from tests.integration.media.test_bridge_peers import until
from tests.media_load import offer_answer
from tests.unit.recording.media import gray
from vidline.config import MediaConfig
from vidline.media import passthrough
from vidline.media.bridge import CallBridge
from vidline.recording.recorder import CallRecorder

IID = "c0ffee00-0000-4000-8000-000000000003"
FPS = 30


def encoded(level: int, count: int) -> list[bytes]:
    """``count`` frames of one gray level, the first a keyframe."""
    enc = av.CodecContext.create("libvpx", "w")
    enc.width, enc.height, enc.pix_fmt = 320, 240, "yuv420p"
    enc.time_base = fractions.Fraction(1, FPS)
    enc.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    out: list[bytes] = []
    for i in range(count):
        frame = gray(320, 240, level)
        frame.pts = i
        out += [bytes(p) for p in enc.encode(frame)]
    return out[:count]


class Flash:
    """The shared instant both tracks switch at (None: not yet)."""

    at: float | None = None


class FlashVideo(MediaStreamTrack):
    kind = "video"

    def __init__(self, flash: Flash) -> None:
        super().__init__()
        self.flash = flash
        self.dark, self.bright = encoded(20, FPS), encoded(230, FPS)
        self.sent = 0
        self.bright_sent = 0
        self._start: float | None = None

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self.sent / FPS - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        now = time.monotonic()
        if self.flash.at is not None and now >= self.flash.at:
            data = self.bright[self.bright_sent % FPS]  # from its keyframe on
            self.bright_sent += 1
        else:
            data = self.dark[self.sent % FPS]
        packet = av.Packet(data)
        packet.pts = round((now - self._start) * 90000)  # capture time
        packet.time_base = fractions.Fraction(1, 90000)
        self.sent += 1
        return packet


class FlashAudio(MediaStreamTrack):
    kind = "audio"

    def __init__(self, flash: Flash) -> None:
        super().__init__()
        self.flash = flash
        self._n = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._n / 48000 - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        now = time.monotonic()
        loud = self.flash.at is not None and now >= self.flash.at
        pcm = b"".join(int(20000 * math.sin(2 * math.pi * 1000 * (self._n + i) / 48000)
                           if loud else 0).to_bytes(2, "little", signed=True)
                       for i in range(960))
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        frame.planes[0].update(pcm)
        frame.sample_rate = 48000
        frame.pts = self._n
        frame.time_base = fractions.Fraction(1, 48000)
        self._n += 960
        return frame


async def drain(track: Any) -> None:
    while True:
        try:
            await track.recv()
        except MediaStreamError:
            return


def first_bright(path: Path) -> float:
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            plane = frame.planes[0]
            if bytes(plane)[plane.line_size * 120 + 160] > 128:
                return float(frame.time)
    raise AssertionError("no bright frame")


def first_loud(path: Path) -> float:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for mono in resampler.resample(frame):
                data = bytes(mono.planes[0])
                for k in range(0, mono.samples * 2, 2):
                    if abs(int.from_bytes(data[k:k + 2], "little", signed=True)) > 8000:
                        return float(mono.time) + k / 2 / 48000
    raise AssertionError("no loud audio")


async def test_picture_and_voice_stay_together(tmp_path: Path) -> None:
    passthrough.install()
    flash = Flash()
    pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
    pc.addTransceiver(FlashAudio(flash), direction="sendrecv")  # m-line 0: voice
    pc.addTransceiver(FlashVideo(flash), direction="sendrecv")
    drains: list[asyncio.Task[None]] = []

    @pc.on("track")
    def on_track(track: Any) -> None:
        drains.append(asyncio.ensure_future(drain(track)))

    bridge = CallBridge(IID, MediaConfig(), 8000)
    recorder = CallRecorder(tmp_path / IID, IID, {}, pcm_rate=8000, on_error=print)
    bridge.attach_tap(recorder)
    try:
        await offer_answer(pc, lambda sdp: bridge.offer("customer", sdp))
        passthrough.mark_passthrough(pc)
        tracks = recorder.writer.tracks
        await until(lambda: all(n in tracks and tracks[n].packets > 30
                                for n in ("customer-camera", "customer-audio")), 15)
        flash.at = time.monotonic() + 0.5
        await until(lambda: time.monotonic() > flash.at + 1.5 if flash.at else False, 10)
    finally:
        await pc.close()
        for task in drains:
            task.cancel()
        await bridge.close()
        await asyncio.to_thread(recorder.finish)
    manifest = json.loads((tmp_path / IID / "recording.json").read_text())
    offsets = {t["name"]: t["offset"] for t in manifest["tracks"]}
    video = offsets["customer-camera"] + first_bright(tmp_path / IID / "customer-camera.webm")
    audio = offsets["customer-audio"] + first_loud(tmp_path / IID / "customer-audio.webm")
    print(f"bright frame at {video:.3f} s, loud audio at {audio:.3f} s: "
          f"{1000 * (audio - video):+.0f} ms")
    assert abs(audio - video) < 0.100
