"""One call's recorder: the tap the media bridge feeds (``CallBridge.tap``).

Every method only stamps the data with the set's one clock and puts it on
the writer's queue; it never blocks and never raises into the bridge.
Called from the event loop (video, PBX audio, timeline) and from aiortc's
audio decoder thread (:meth:`audio_tap`'s callable: the customer's Opus,
teed encoded, before aiortc decodes it for the PBX).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidline.recording import vp8
from vidline.recording.clock import AUDIO_HOLD, StreamClock
from vidline.recording.writer import SetWriter

log = logging.getLogger(__name__)

COMPRESSED_KINDS = frozenset({"cobrowse"})  # rrweb event streams: large, repetitive JSON
KEYFRAME_ASK_EVERY = 1.0  # seconds between keyframe requests while a track waits


def compress(data: Any) -> str:
    """zlib (the browser's DecompressionStream("deflate")) + base64 of JSON."""
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.b64encode(zlib.compress(raw, 6)).decode("ascii")


def decompress(text: str) -> Any:
    return json.loads(zlib.decompress(base64.b64decode(text)))


class CallRecorder:
    def __init__(self, directory: Path, interaction_id: str, meta: dict[str, Any], *,
                 pcm_rate: int, on_error: Callable[[str], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.interaction_id = interaction_id
        self.directory = directory
        self.clock = clock
        self.started_at = clock()
        self.writer = SetWriter(directory, {**meta, "interaction": interaction_id,
                                            "started_at": self.started_at},
                                pcm_rate=pcm_rate, on_error=on_error)
        self.request_keyframe: Callable[[tuple[str, str]], None] | None = None
        self.on_closed: Callable[[], None] | None = None  # the service finishes the files
        # the writer muxes VP8 into WebM; H.264 (media.video_codec) is not recorded
        # yet (its keyframes and sizes need an SPS parser): voice and timeline still are
        self.records_video = True
        self._clocks: dict[str, StreamClock] = {}
        self._names: dict[tuple[str, str], str] = {}  # live video source -> track name
        self._shares: dict[str, int] = {}  # side -> screen shares so far
        self._last_ts: dict[str, int] = {}
        self._waiting: dict[str, float] = {}  # track -> last keyframe request
        self.closed = False

    # -- media (the bridge's MediaTap) --------------------------------------

    def _track(self, side: str, what: str) -> str:
        name = self._names.get((side, what))
        if name is None:
            if what == "screen":
                self._shares[side] = self._shares.get(side, 0) + 1
                name = f"{side}-screen-{self._shares[side]}"
                self.note("screen_share_start", {"from": side, "track": name})
            else:
                name = f"{side}-{what}"
            self._names[(side, what)] = name
        return name

    def video(self, side: str, what: str, frame: Any) -> None:
        """One encoded frame (aiortc JitterFrame) from ``side``'s ``what``."""
        if self.closed or not self.records_video:
            return
        name = self._track(side, what)
        clock = self._clocks.get(name)
        if clock is None:
            clock = self._clocks[name] = StreamClock(90000)
        previous = self._last_ts.get(name)
        # held back one frame interval by aiortc's jitter buffer (see clock.py)
        hold = 0.0 if previous is None else min(max(
            ((frame.timestamp - previous) & 0xFFFFFFFF) / 90000, 0.0), 0.1)
        self._last_ts[name] = frame.timestamp
        at = clock.map(frame.timestamp, self.clock(), hold)
        self.writer.put(("v", name, bytes(frame.data), at))
        self._ask_keyframe(name, side, what, frame.data)

    def _ask_keyframe(self, name: str, side: str, what: str, data: bytes) -> None:
        # a track opens at a keyframe: until the writer has one, ask the sender
        track = self.writer.tracks.get(name)
        if track is not None and track.container is not None:
            self._waiting.pop(name, None)
            return
        if vp8.is_keyframe(data):
            return
        now = self.clock()
        if now - self._waiting.get(name, 0.0) >= KEYFRAME_ASK_EVERY:
            self._waiting[name] = now
            if self.request_keyframe is not None:
                self.request_keyframe((side, what))

    def video_ended(self, side: str, what: str) -> None:
        """``side``'s track ended: a screen share stopped (the next one gets a
        new file); a camera that comes back (a reloaded page) continues its file."""
        if what != "screen":
            return
        name = self._names.pop((side, what), None)
        if name is not None and not self.closed:
            self.writer.put(("end", name))
            self.note("screen_share_stop", {"from": side, "track": name})

    def audio_tap(self) -> Callable[[Any], None]:
        """A callable for aiortc's decoder thread: the customer's encoded Opus."""
        clock = StreamClock(48000)

        def tap(frame: Any) -> None:
            if not self.closed:
                at = clock.map(frame.timestamp, self.clock(), AUDIO_HOLD)
                self.writer.put(("o", "customer-audio", bytes(frame.data), at))

        return tap

    def pbx_audio(self, pcm: bytes) -> None:
        if not self.closed:
            self.writer.put(("p", "pbx-audio", pcm, self.clock()))

    # -- timeline and metadata ----------------------------------------------

    def note(self, kind: str, data: dict[str, Any], at: float | None = None) -> None:
        if self.closed:
            return
        at = self.clock() if at is None else at
        line: dict[str, Any] = {"t": round(at - self.started_at, 3), "at": round(at, 3),
                                "kind": kind}
        if kind in COMPRESSED_KINDS:
            line["z"] = compress(data)
        else:
            line["data"] = data
        self.writer.put(("line", line))

    def update(self, **meta: Any) -> None:
        if not self.closed:
            self.writer.put(("meta", meta))

    def close(self) -> None:
        """Stop taking data; the writer finishes its files in its thread
        (``finish`` waits for it)."""
        if not self.closed:
            self.note("recording_end", {})
            self.closed = True
            if self.on_closed is not None:
                self.on_closed()

    def finish(self, timeout: float = 10.0) -> None:
        """Blocking: let the writer close every file."""
        self.closed = True
        self.writer.stop(timeout)
