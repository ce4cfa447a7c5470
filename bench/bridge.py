"""Media bridge cost: N concurrent two-way 480p video sessions through vidline's
pass-through bridge, next to aiortc's ordinary decode-and-re-encode relay, in
the same run.

    .venv/bin/python bench/bridge.py [--sessions 2] [--seconds 10] [--fps 30]

The bridge runs in a child process (``--serve passthrough|transcode``) and
reports its own CPU time (all threads: aiortc decodes and encodes in threads)
and resident memory. The load side (this process) plays a customer and an
agent per session: each sends a 640x480 VP8 clip encoded once up front (so
it only packetizes) and receives with vidline's pass-through receivers (so it
never decodes): the load generator stays cheap and out of the measurement.
Both modes must deliver video both ways; the frames received per second at
each end are printed next to the costs. Janus is measured too when Debian's
``janus`` is installed (it is not on the CI machine: the row says so).
Video only: voice goes to the PBX in both designs alike (one Opus decode and
encode per call), so it would add the same to both columns.

Recording (vidline.recording) is measured as a second pair, with voice this
time since the recorder writes it too: ``passthrough-av`` (the customer also
sends an Opus tone, the PBX leg is fed 20 ms slin frames) against
``recorded-av`` (the same, with a CallRecorder teeing every track to WebM
files in a temporary directory). Target: recorded <= 1.10 x unrecorded CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
from aiortc import MediaStreamTrack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# -- the bridge side (child process) ----------------------------------------------


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TranscodingRelay:
    """aiortc used the ordinary way: every received frame is decoded, and the
    other leg's sender encodes it again."""

    def __init__(self) -> None:
        from aiortc import RTCConfiguration
        from aiortc.rtcconfiguration import RTCBundlePolicy

        self.config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        self.pcs: dict[str, Any] = {}
        self.out = {side: DecodedTrack() for side in ("customer", "agent")}
        self.tasks: list[asyncio.Task[None]] = []

    async def offer(self, side: str, sdp: str) -> str:
        from aiortc import RTCPeerConnection, RTCSessionDescription

        pc = self.pcs.get(side) or RTCPeerConnection(self.config)
        self.pcs[side] = pc
        other = "agent" if side == "customer" else "customer"

        @pc.on("track")
        def on_track(track: Any) -> None:
            self.tasks.append(asyncio.ensure_future(self._pump(track, self.out[side])))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for t in pc.getTransceivers():
            if t.kind == "video" and t.sender.track is None:
                t.sender.replaceTrack(self.out[other])
                t.direction = "sendrecv"
                break
        await pc.setLocalDescription(await pc.createAnswer())
        return str(pc.localDescription.sdp)

    async def _pump(self, track: Any, out: DecodedTrack) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            out.push(frame)

    async def close(self) -> None:
        for pc in self.pcs.values():
            await pc.close()
        for task in self.tasks:
            task.cancel()


class DecodedTrack(MediaStreamTrack):
    """Decoded frames from one leg, for the other leg's sender to encode."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.queue: asyncio.Queue[Any] = asyncio.Queue(30)

    def push(self, frame: Any) -> None:
        # a decoded keyframe carries pict_type I, and aiortc's VP8 encoder would
        # then encode a keyframe too (the known every-frame-keyframe pitfall when
        # all input is I): clear it so the baseline is aiortc at its best
        frame.pict_type = av.video.frame.PictureType.NONE
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(frame)

    async def recv(self) -> Any:
        return await self.queue.get()


async def _feed_pbx(bridge: Any) -> None:
    """The PBX leg's side: a 400 Hz tone in 20 ms slin frames at 8 kHz."""
    import math

    frames = [b"".join(int(8000 * math.sin(2 * math.pi * 400 * (i * 160 + k) / 8000))
                       .to_bytes(2, "little", signed=True) for k in range(160))
              for i in range(50)]
    start, n = time.monotonic(), 0
    while not bridge.closed:
        bridge.on_pbx_audio(frames[n % 50])
        n += 1
        await asyncio.sleep(max(0.0, start + n * 0.020 - time.monotonic()))


def _new_session(mode: str, n: int, tasks: list[Any], recorders: list[Any]) -> Any:
    import tempfile

    from vidline.config import MediaConfig
    from vidline.media.bridge import CallBridge
    from vidline.recording.recorder import CallRecorder

    if mode == "transcode":
        return TranscodingRelay()
    bridge = CallBridge(f"bench-{n}", MediaConfig(), 8000)
    if mode == "recorded-av":
        directory = Path(tempfile.mkdtemp(prefix="vidline-bench-rec-"))
        recorder = CallRecorder(directory / f"s{n}", f"bench-{n}", {}, pcm_rate=8000,
                                on_error=lambda message: print(message, file=sys.stderr))
        bridge.attach_tap(recorder)
        recorders.append(recorder)
    if mode.endswith("-av"):
        tasks.append(asyncio.ensure_future(_feed_pbx(bridge)))
    return bridge


async def serve(mode: str) -> None:
    sessions: dict[int, Any] = {}
    tasks: list[Any] = []
    recorders: list[Any] = []
    baseline = _rss_kib()
    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            break
        msg = json.loads(line)
        reply: dict[str, Any] = {}
        if msg["op"] == "offer":
            n = msg["session"]
            if n not in sessions:
                sessions[n] = _new_session(mode, n, tasks, recorders)
            reply = {"sdp": await sessions[n].offer(msg["side"], msg["sdp"])}
        elif msg["op"] == "measure":
            rss0, cpu0, wall0 = _rss_kib(), time.process_time(), time.monotonic()
            writer0 = sum(r.writer.cpu_seconds for r in recorders)
            await asyncio.sleep(msg["seconds"])
            reply = {"cpu": time.process_time() - cpu0, "wall": time.monotonic() - wall0,
                     "rss_kib": _rss_kib(), "rss_before_kib": rss0, "baseline_kib": baseline,
                     "writer_cpu": sum(r.writer.cpu_seconds for r in recorders) - writer0}
        elif msg["op"] == "quit":
            for session in sessions.values():
                await session.close()
            for task in tasks:
                task.cancel()
            sizes = []
            for recorder in recorders:
                await asyncio.to_thread(recorder.finish)
                sizes.append(sum(p.stat().st_size for p in recorder.directory.iterdir()))
                shutil.rmtree(recorder.directory.parent, ignore_errors=True)
            bridges = [x for x in sessions.values() if hasattr(x, "forward")]
            dropped = {f"{side}-camera": sum(b.forward[(side, "camera")].frames_dropped
                                             for b in bridges)
                       for side in ("customer", "agent")}
            print(json.dumps({"recorded_bytes": sizes, "dropped": dropped}), flush=True)
            return
        print(json.dumps(reply), flush=True)


# -- the load side (this process) -------------------------------------------------


class Bridge:
    def __init__(self, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", mode], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)})

    async def call(self, **msg: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(msg) + "\n")
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self.proc.stdout.readline)
        result: dict[str, Any] = json.loads(line)
        return result


async def run_mode(mode: str, clip: list[bytes], sessions: int, seconds: float,
                   fps: int) -> dict[str, Any]:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError
    from aiortc.rtcconfiguration import RTCBundlePolicy

    from tests.media_load import ClipTrack, ToneTrack
    from vidline.media import passthrough

    passthrough.install()
    bridge = Bridge(mode)
    peers: list[Any] = []
    received = {"customer": 0, "agent": 0, "audio": 0}
    tasks: list[asyncio.Task[None]] = []

    async def count(side: str, track: Any) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            received[side] += 1

    for n in range(sessions):
        for side in ("customer", "agent"):
            pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
            if side == "customer" and mode.endswith("-av"):
                pc.addTransceiver(ToneTrack(1000), direction="sendrecv")  # m-line 0: voice
            pc.addTransceiver(ClipTrack(clip, fps), direction="sendrecv")

            @pc.on("track")
            def on_track(track: Any, side: str = side) -> None:
                if track.kind == "video":
                    tasks.append(asyncio.ensure_future(count(side, track)))
                else:  # the PBX audio: drained, not counted
                    tasks.append(asyncio.ensure_future(count("audio", track)))

            await pc.setLocalDescription(await pc.createOffer())
            answer = await bridge.call(op="offer", session=n, side=side,
                                       sdp=pc.localDescription.sdp)
            passthrough.mark_passthrough(pc)  # the load side never decodes
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
            peers.append(pc)
    await asyncio.sleep(3.0)  # connected and past the first keyframes
    before = dict(received)
    result = await bridge.call(op="measure", seconds=seconds)
    result["fps_in"] = {k: (received[k] - before[k]) / result["wall"] / sessions
                        for k in ("customer", "agent")}
    result.update(await bridge.call(op="quit"))
    bridge.proc.wait(10)
    for pc in peers:
        await pc.close()
    for task in tasks:
        task.cancel()
    return result


def janus_row() -> str:
    if shutil.which("janus") is None:
        return "janus: not installed (Debian's janus); no column this run"
    return "janus: installed, but this bench does not drive it yet"


async def main(args: argparse.Namespace) -> None:
    from tests.media_load import encode_clip

    clip = encode_clip(640, 480, frames=args.fps * 2, fps=args.fps)
    rows: dict[str, Any] = {}
    if args.only_recording:
        await recording_rows(args, clip, rows)
        return
    for mode in ("passthrough", "transcode"):
        rows[mode] = await run_mode(mode, clip, args.sessions, args.seconds, args.fps)
    print(f"{args.sessions} two-way 640x480 VP8 sessions at {args.fps} fps, "
          f"{args.seconds:.0f} s measured, {os.cpu_count()} CPUs")
    print(f"{'relay':<13}{'CPU %/session':>15}{'CPU ms/frame':>14}{'RSS MiB/session':>17}"
          f"{'fps at customer':>17}{'fps at agent':>14}")
    per_frame = {}
    for mode, r in rows.items():
        cpu = 100 * r["cpu"] / r["wall"] / args.sessions
        frames = sum(r["fps_in"].values()) * args.sessions * r["wall"]
        per_frame[mode] = 1000 * r["cpu"] / max(frames, 1)
        mem = (r["rss_kib"] - r["baseline_kib"]) / 1024 / args.sessions
        print(f"{mode:<13}{cpu:>15.1f}{per_frame[mode]:>14.2f}{mem:>17.1f}"
              f"{r['fps_in']['customer']:>17.1f}{r['fps_in']['agent']:>14.1f}")
        if min(r["fps_in"].values()) < 0.9 * args.fps:
            print(f"  ! {mode} delivered under 90 % of {args.fps} fps: the machine is "
                  "saturated, so its CPU per session is capped; compare per frame")
    p, t = rows["passthrough"], rows["transcode"]
    ratio = (p["cpu"] / p["wall"]) / (t["cpu"] / t["wall"])
    print(f"pass-through / transcoding CPU per session = {ratio:.3f}, per delivered frame = "
          f"{per_frame['passthrough'] / per_frame['transcode']:.3f} (target <= 0.25)")
    print(janus_row())
    if not args.no_recording:
        await recording_rows(args, clip, rows)


async def recording_rows(args: argparse.Namespace, clip: list[bytes],
                         rows: dict[str, Any]) -> None:
    """The pair, ``--rounds`` times interleaved (unrecorded, recorded, ...):
    on a shared machine one run's neighbours can swing a figure by 15 %, so
    the overhead reported is the median of the rounds' ratios."""
    print("recording: the same sessions with voice (customer Opus in, PBX slin out)")
    overheads = []
    for n in range(args.rounds):
        for mode in ("passthrough-av", "recorded-av"):
            rows[mode] = r = await run_mode(mode, clip, args.sessions, args.seconds, args.fps)
            cpu = 100 * r["cpu"] / r["wall"] / args.sessions
            print(f"  round {n + 1} {mode:<15}{cpu:>6.1f} % CPU/session"
                  f"{r['fps_in']['customer']:>6.1f} fps at customer"
                  f"{r['fps_in']['agent']:>6.1f} fps at agent, bridge drops {r.get('dropped')}")
        a, b = rows["passthrough-av"], rows["recorded-av"]
        frames = {m: sum(rows[m]["fps_in"].values()) * rows[m]["wall"] for m in rows
                  if m.endswith("-av")}
        # per delivered frame: a saturated run delivers (and costs) less
        overheads.append((b["cpu"] / max(frames["recorded-av"], 1)) / (
            a["cpu"] / max(frames["passthrough-av"], 1)) - 1)
    written = sum(rows["recorded-av"].get("recorded_bytes", [])) / 2**20 / args.sessions
    last = rows["recorded-av"]
    writer = 100 * last["writer_cpu"] / last["wall"] / args.sessions
    print(f"recorder's writer thread alone (muxing, the PBX Opus encode, file writes): "
          f"{writer:.2f} % of a core per session")
    rounds = ", ".join(f"{100 * o:+.1f}" for o in overheads)
    print(f"recording CPU overhead, per delivered frame: median "
          f"{100 * statistics.median(overheads):+.1f} % (rounds: {rounds}; target <= +10 %); "
          f"{written / args.seconds * 60:.1f} MiB per session-minute written")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--serve", choices=("passthrough", "transcode", "passthrough-av",
                                            "recorded-av"))
    parser.add_argument("--no-recording", action="store_true",
                        help="skip the recorded vs unrecorded pair")
    parser.add_argument("--only-recording", action="store_true",
                        help="only the recorded vs unrecorded pair")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved rounds of the recording pair (median reported)")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
    else:
        asyncio.run(main(args))
