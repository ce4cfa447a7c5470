"""The recorder and its writer on known media: tracks, one clock, keyframes,
resolution changes, a full disk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import av
import pytest

from tests.unit.recording.media import Frame, opus_packets, tone_pcm, tone_share, vp8_frames
from vidline.recording import vp8
from vidline.recording.recorder import CallRecorder, decompress

IID = "0f8fad5b-d9cb-469f-a165-70867728950e"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def recorder(tmp_path: Path, clock: Clock, errors: list[str] | None = None) -> CallRecorder:
    return CallRecorder(tmp_path / IID, IID, {"queue": "support", "agent": "alice"},
                        pcm_rate=8000, on_error=(errors if errors is not None else []).append,
                        clock=clock)


def decode(path: Path, kind: str) -> list[Any]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0] if kind == "video" else container.streams.audio[0]
        return list(container.decode(stream))


def test_vp8_header_facts() -> None:
    frames = vp8_frames(3, 320, 240)
    assert vp8.keyframe_size(frames[0]) == (320, 240)
    assert vp8.is_keyframe(frames[0]) and not vp8.is_keyframe(frames[1])
    assert vp8.keyframe_size(frames[1]) is None and vp8.keyframe_size(b"\x00") is None


def test_a_call_on_one_clock(tmp_path: Path) -> None:
    clock = Clock()
    rec = recorder(tmp_path, clock)
    video = vp8_frames(90)  # 3 s at 30 fps
    opus = opus_packets(1000, 3.0)
    audio_tap = rec.audio_tap()
    pcm = tone_pcm(800, 3.0, 8000)
    clock.now += 0.5  # media starts half a second into the set
    rec.note("chat_message", {"from": "customer", "text": "hello"})
    for tick in range(150):  # 20 ms ticks
        audio_tap(Frame(opus[tick], 1234 + tick * 960))
        rec.pbx_audio(pcm[tick * 320:(tick + 1) * 320])
        clock.now += 0.020
    # video on its own cadence, over the same 3 s (RTP 90 kHz, 3000 a frame)
    clock.now -= 3.0
    for i, data in enumerate(video):
        rec.video("customer", "camera", Frame(data, 777 + 3000 * i))
        clock.now += 1 / 30
    rec.note("cobrowse", {"action": "events", "events": [{"type": 2, "data": "x" * 500}]})
    rec.close()
    rec.finish()
    directory = tmp_path / IID
    manifest = json.loads((directory / "recording.json").read_text())
    assert manifest["status"] == "complete" and manifest["agent"] == "alice"
    tracks = {t["name"]: t for t in manifest["tracks"]}
    assert set(tracks) == {"customer-camera", "customer-audio", "pbx-audio"}
    for t in tracks.values():
        assert t["offset"] == pytest.approx(0.5, abs=0.09), t  # audio held back 80 ms
        assert t["duration"] == pytest.approx(3.0, abs=0.1), t
    frames = decode(directory / "customer-camera.webm", "video")
    assert len(frames) == 90 and (frames[0].width, frames[0].height) == (320, 240)
    lumas = [bytes(f.planes[0])[0] for f in frames[:10]]
    assert lumas == sorted(lumas)  # the clip's frames, in order
    samples = decode(directory / "customer-audio.webm", "audio")
    mono = _mono(samples[20:120])
    assert tone_share(mono, 48000, 1000) > 0.8
    pbx = _mono(decode(directory / "pbx-audio.webm", "audio"))
    middle = pbx[len(pbx) // 2 - 24000:len(pbx) // 2 + 24000]  # one second
    assert tone_share(middle, 48000, 800) > 0.8
    lines = [json.loads(x) for x in (directory / "timeline.jsonl").read_text().splitlines()]
    kinds = [x["kind"] for x in lines]
    assert kinds[0] == "chat_message" and lines[0]["t"] == pytest.approx(0.5)
    cob = next(x for x in lines if x["kind"] == "cobrowse")
    assert "data" not in cob and decompress(cob["z"])["events"][0]["type"] == 2
    assert kinds[-1] == "recording_end"


def _mono(frames: list[Any]) -> list[float]:
    out: list[float] = []
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    for frame in frames:
        for mono in resampler.resample(frame):
            data = bytes(mono.planes[0])
            out += [int.from_bytes(data[k:k + 2], "little", signed=True)
                    for k in range(0, mono.samples * 2, 2)]
    return [float(x) for x in out]


def test_waits_for_a_keyframe_and_follows_a_resolution_change(tmp_path: Path) -> None:
    clock = Clock()
    rec = recorder(tmp_path, clock)
    asked: list[tuple[str, str]] = []
    rec.request_keyframe = asked.append
    small, large = vp8_frames(30, 320, 240), vp8_frames(30, 640, 480)
    frames = small[1:10] + small[:30] + large  # starts mid-stream: no keyframe yet
    for i, data in enumerate(frames):
        rec.video("agent", "camera", Frame(data, 3000 * i))
        clock.now += 1 / 30
    rec.close()
    rec.finish()
    assert asked and asked[0] == ("agent", "camera")
    manifest = json.loads((tmp_path / IID / "recording.json").read_text())
    [track] = manifest["tracks"]
    assert [(s["width"], s["height"]) for s in track["sizes"]] == [(320, 240), (640, 480)]
    decoded = decode(tmp_path / IID / "agent-camera.webm", "video")
    assert len(decoded) == 60  # the 9 frames before the first keyframe are not kept
    assert {(f.width, f.height) for f in decoded} == {(320, 240), (640, 480)}


def test_each_screen_share_is_its_own_file(tmp_path: Path) -> None:
    clock = Clock()
    rec = recorder(tmp_path, clock)
    for _share in range(2):
        for i, data in enumerate(vp8_frames(10)):
            rec.video("customer", "screen", Frame(data, 3000 * i))
            clock.now += 0.1
        rec.video_ended("customer", "screen")
    rec.close()
    rec.finish()
    names = sorted(p.name for p in (tmp_path / IID).glob("*.webm"))
    assert names == ["customer-screen-1.webm", "customer-screen-2.webm"]
    kinds = [json.loads(x)["kind"] for x in (tmp_path / IID / "timeline.jsonl").read_text()
             .splitlines()]
    assert kinds.count("screen_share_start") == 2 and kinds.count("screen_share_stop") == 2


def test_a_full_disk_stops_the_recording_with_an_alert(tmp_path: Path) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    clock = Clock()
    errors: list[str] = []
    (tmp_path / IID).mkdir()
    os.symlink("/dev/full", tmp_path / IID / "customer-camera.webm")
    rec = recorder(tmp_path, clock, errors)
    for i, data in enumerate(vp8_frames(30)):
        rec.video("customer", "camera", Frame(data, 3000 * i))  # never raises
        clock.now += 1 / 30
    rec.close()
    rec.finish()
    assert errors == ["recording stopped: the disk is full"]
    manifest = json.loads((tmp_path / IID / "recording.json").read_text())
    assert manifest["status"] == "failed" and "disk is full" in manifest["error"]
