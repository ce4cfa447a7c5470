"""The recording set's writer: one thread per interaction that owns every file.

Everything blocking (PyAV muxing, file writes, the PBX audio's one Opus
encode) happens here, fed by a bounded deque of small tuples, so the event
loop and aiortc's decoder threads only ever ``put`` (never wait): a slow or
full disk costs frames of the recording, never the call. The thread wakes
every ``BATCH_S`` and drains what came, rather than once per packet: waking
a thread ~200 times a second per call cost more CPU (GIL hand-offs and
context switches) than the muxing itself (bench/bridge.py).

Files (one track each, so a browser can play each in its own element and a
missing source never blocks the others):

    customer-camera.webm  VP8 as received (never decoded or re-encoded)
    agent-camera.webm     VP8 as received
    customer-screen-N.webm / agent-screen-N.webm   one per screen share
    customer-audio.webm   the customer's Opus packets as received
    pbx-audio.webm        the PBX leg (agent's voice, music on hold): slin
                          encoded once to Opus at the leg's rate
    timeline.jsonl        the sidecar, one JSON object a line, flushed each
    recording.json        the manifest (rewritten atomically on each change)

Every track's first packet defines its ``offset`` (seconds after the set's
``started_at``) in the manifest; packets are timed from there in ms, so all
files share one clock. WebM is written live (``live=1``: no seek-back, no
cues; clusters of at most ``CLUSTER_MS``; every packet flushed), so a
killed process leaves files that play up to the last cluster.

Resolution changes (a keyframe of another size: the sender's bandwidth or
CPU adaptation, a rotated phone) stay in the same track: VP8 keyframes carry
their size, libvpx and every browser's WebM player follow it (Chrome's own
MediaRecorder writes such tracks), and splitting files would break seeking
across the change. Each change is listed in the track's ``sizes``.
"""

from __future__ import annotations

import errno
import fractions
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av

from vidline.recording import vp8

log = logging.getLogger(__name__)

MS = fractions.Fraction(1, 1000)
CLUSTER_MS = 1000
MUX_OPTIONS = {"live": "1", "cluster_time_limit": str(CLUSTER_MS), "flush_packets": "1"}
BATCH_S = 0.2  # the writer's wake-up period (a crash loses at most this much more)
# the PBX voice, encoded once: 60 ms frames at complexity 2 cost a third of
# libopus's defaults (20 ms, 10) for narrowband speech that sounds the same
PCM_OPUS = {"application": "voip", "compression_level": "2", "frame_duration": "60"}
PCM_FRAME_MS = 60
PCM_BITRATE = 24000
MANIFEST = "recording.json"
TIMELINE = "timeline.jsonl"

# queue ops: ("v", track, bytes, at) VP8 frame; ("o", track, bytes, at) Opus packet;
# ("p", track, bytes, at) slin; ("end", track); ("line", dict); ("meta", dict)
Op = tuple[Any, ...]


class Track:
    """One WebM file with one stream, opened at its first usable packet."""

    def __init__(self, name: str, kind: str, directory: Path, started_at: float) -> None:
        self.name = name
        self.kind = kind  # "video" (VP8), "opus" (as received) or "pcm" (encoded here)
        self.path = directory / f"{name}.webm"
        self.started_at = started_at
        self.container: Any = None
        self.stream: Any = None
        self.first_at: float | None = None
        self.last_ms = -1
        self.packets = 0
        self.skipped = 0  # video frames before the first keyframe
        self.sizes: list[dict[str, float]] = []
        self.closed = False
        self._pcm_rate = 0
        self._pcm_samples = 0  # samples encoded so far (the PBX track's clock)
        self._pcm_buffer = bytearray()  # slin waiting for a whole Opus frame

    def info(self) -> dict[str, Any]:
        offset = None if self.first_at is None else round(self.first_at - self.started_at, 3)
        info: dict[str, Any] = {
            "name": self.name, "file": self.path.name,
            "kind": "video" if self.kind == "video" else "audio",
            "offset": offset, "duration": round(max(self.last_ms, 0) / 1000, 3),
            "packets": self.packets, "closed": self.closed}
        if self.kind == "video":
            info["sizes"] = self.sizes
        return info

    def _open(self, at: float, **stream: Any) -> None:
        self.container = av.open(str(self.path), "w", format="webm", options=MUX_OPTIONS)
        if self.kind == "video":
            self.stream = self.container.add_mux_stream("vp8", **stream)
        else:
            # an Opus stream whose (audio) encoder context writes the OpusHead
            # the players need; for "opus" tracks it never encodes anything
            self.stream = self.container.add_stream("libopus", **stream)
            self.stream.codec_context.format = "s16"
            if self.kind == "pcm":
                self.stream.codec_context.options = PCM_OPUS
                self.stream.codec_context.bit_rate = PCM_BITRATE
        self.stream.time_base = MS
        self.first_at = at

    def _ms(self, at: float) -> int:
        assert self.first_at is not None
        ms = max(round((at - self.first_at) * 1000), self.last_ms + 1)
        self.last_ms = ms
        return ms

    def _mux(self, data: bytes, at: float, keyframe: bool) -> None:
        packet = av.Packet(data)
        packet.stream = self.stream
        packet.pts = packet.dts = self._ms(at)
        packet.time_base = MS
        packet.is_keyframe = keyframe
        self.container.mux(packet)
        self.packets += 1

    def video(self, data: bytes, at: float) -> bool:
        """Mux one VP8 frame; False while waiting for a first keyframe."""
        size = vp8.keyframe_size(data)
        if self.container is None:
            if size is None:
                self.skipped += 1
                return False
            self._open(at, width=size[0], height=size[1])
        if size is not None and (not self.sizes or (self.sizes[-1]["width"],
                                                    self.sizes[-1]["height"]) != size):
            offset = round(at - self.started_at, 3)
            self.sizes.append({"at": offset, "width": size[0], "height": size[1]})
        self._mux(data, at, size is not None)
        return True

    def opus(self, data: bytes, at: float) -> None:
        if self.container is None:
            self._open(at, rate=48000, layout="stereo")
        self._mux(data, at, True)

    def pcm(self, data: bytes, at: float, rate: int) -> None:
        """slin (mono s16) at ``rate``, timed by its sample count from the
        first chunk, skipping ahead over a gap (the PBX sent nothing)."""
        if self.container is None:
            self._open(at, rate=rate, layout="mono")
            self._pcm_rate = rate
        assert self.first_at is not None
        due = round((at - self.first_at) * rate)
        frame = rate * PCM_FRAME_MS // 1000
        if due - (self._pcm_samples + len(self._pcm_buffer) // 2) > rate // 2:
            self._encode_pcm(pad=True)  # half a second of nothing from the PBX: a gap
            self._pcm_samples = due - due % frame
        self._pcm_buffer += data
        self._encode_pcm(pad=False)
        self.last_ms = round((self._pcm_samples + len(self._pcm_buffer) // 2) * 1000 / rate)

    def _encode_pcm(self, pad: bool) -> None:
        rate = self._pcm_rate
        size = rate * PCM_FRAME_MS // 1000 * 2
        if pad and self._pcm_buffer:
            self._pcm_buffer += bytes(-len(self._pcm_buffer) % size)
        while len(self._pcm_buffer) >= size:
            frame = av.AudioFrame(format="s16", layout="mono", samples=size // 2)
            frame.planes[0].update(bytes(self._pcm_buffer[:size]))
            del self._pcm_buffer[:size]
            frame.sample_rate = rate
            frame.pts = self._pcm_samples
            frame.time_base = fractions.Fraction(1, rate)
            self._pcm_samples += size // 2
            for packet in self.stream.encode(frame):
                self.container.mux(packet)
                self.packets += 1

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.container is None:
            return
        try:
            if self.kind == "pcm":
                self._encode_pcm(pad=True)
                for packet in self.stream.encode(None):
                    self.container.mux(packet)
        finally:
            self.container.close()
        finalize(self.path)


def finalize(path: Path) -> None:
    """Rewrite a finished live file with its duration and cues (an index),
    so players seek in it at once; packets are copied, nothing is decoded.
    Left live (still playable) when that fails."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with av.open(str(path)) as source, av.open(str(tmp), "w", format="webm") as out:
            streams = {}
            for stream in source.streams:
                if stream.type == "video":
                    ctx: Any = stream.codec_context  # a VideoCodecContext: width, height
                    streams[stream.index] = out.add_mux_stream(
                        "vp8", width=ctx.width, height=ctx.height)
                else:
                    streams[stream.index] = out.add_stream_from_template(stream)
            for packet in source.demux():
                if packet.dts is not None:
                    packet.stream = streams[packet.stream.index]
                    out.mux(packet)
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        if _is_disk_error(exc):
            raise
        log.warning("recording %s left unindexed: %s", path, exc)


def _is_disk_error(exc: BaseException) -> bool:
    return isinstance(exc, OSError) or getattr(exc, "errno", None) in (
        errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG)


class SetWriter:
    """Owns the files of one recording set; ``put`` from any thread."""

    def __init__(self, directory: Path, meta: dict[str, Any], *, pcm_rate: int,
                 on_error: Callable[[str], None], max_queue: int = 3000) -> None:
        self.directory = directory
        self.meta = dict(meta)  # interaction, started_at, queue, agent...
        self.started_at: float = meta["started_at"]
        self.pcm_rate = pcm_rate
        self.on_error = on_error
        self.tracks: dict[str, Track] = {}
        self.dropped = 0  # ops lost to a full queue (a stalled disk)
        self.cpu_seconds = 0.0  # the thread's own CPU time muxing and encoding (bench)
        self.error: str | None = None
        self.max_queue = max_queue
        self._ops: deque[Op] = deque()  # append/popleft are atomic: no lock needed
        self._stop = threading.Event()
        self._timeline: Any = None
        self._thread = threading.Thread(target=self._run, name=f"recorder-{directory.name}",
                                        daemon=True)
        self._thread.start()

    def put(self, op: Op) -> None:
        if len(self._ops) < self.max_queue:
            self._ops.append(op)
        else:
            self.dropped += 1

    @property
    def pending(self) -> int:
        return len(self._ops)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish every file and wait (blocking: call it in a thread)."""
        self._stop.set()
        self._thread.join(timeout)

    # -- the thread --------------------------------------------------------

    def _run(self) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._timeline = open(self.directory / TIMELINE, "a", encoding="utf-8")
            self._write_manifest("recording")
        except Exception as exc:
            self._fail(exc)
        while True:
            stopping = self._stop.wait(BATCH_S)
            started = time.thread_time()
            self._drain()
            self.cpu_seconds += time.thread_time() - started
            if stopping:
                break
        self._finish()

    def _drain(self) -> None:
        while self._ops:
            op = self._ops.popleft()
            if self.error is not None:
                continue  # failed: drain so the deque never fills
            try:
                self._handle(op)
            except Exception as exc:
                if _is_disk_error(exc):
                    self._fail(exc)
                else:  # one bad packet (a timestamp the muxer refuses): skip it
                    log.warning("recording %s: %s dropped: %s", self.directory.name, op[0], exc)

    def _handle(self, op: Op) -> None:
        kind = op[0]
        if kind == "line":
            self._timeline.write(json.dumps(op[1], separators=(",", ":")) + "\n")
            self._timeline.flush()
        elif kind == "meta":
            self.meta.update(op[1])
            self._write_manifest("recording")
        elif kind == "end":
            track = self.tracks.get(op[1])
            if track is not None and not track.closed:
                track.close()
                self._write_manifest("recording")
        else:
            name, data, at = op[1], op[2], op[3]
            track = self.tracks.get(name)
            if track is None or track.closed:
                track = Track(name, {"v": "video", "o": "opus", "p": "pcm"}[kind],
                              self.directory, self.started_at)
                self.tracks[name] = track
            was_open = track.container is not None
            if kind == "v":
                track.video(data, at)
            elif kind == "o":
                track.opus(data, at)
            else:
                track.pcm(data, at, self.pcm_rate)
            if not was_open and track.container is not None:
                self._write_manifest("recording")  # a new file: list it at once

    def _fail(self, exc: BaseException) -> None:
        code = getattr(exc, "errno", None)
        reason = "the disk is full" if code in (errno.ENOSPC, errno.EDQUOT) else str(exc)
        self.error = f"recording stopped: {reason}"
        log.error("recording %s: %s", self.directory.name, self.error)
        for track in self.tracks.values():
            try:
                track.close()
            except Exception:  # the disk is gone: nothing more to save
                pass
        try:
            self._write_manifest("failed")
        except Exception:
            pass
        self.on_error(self.error)

    def _finish(self) -> None:
        if self.error is None:
            try:
                for track in self.tracks.values():
                    track.close()
                self.meta["ended_at"] = time.time()
                self._write_manifest("complete")
            except Exception as exc:
                self._fail(exc)
        if self._timeline is not None:
            try:
                self._timeline.close()
            except OSError:
                pass

    def _write_manifest(self, status: str) -> None:
        body = {**self.meta, "version": 1, "status": status, "error": self.error,
                "timeline": TIMELINE, "dropped": self.dropped,
                "tracks": [t.info() for t in self.tracks.values() if t.first_at is not None]}
        tmp = self.directory / (MANIFEST + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=1)
        os.replace(tmp, self.directory / MANIFEST)
