"""Encoded video pass-through: the one place vidline reaches into aiortc.

aiortc always decodes what it receives: ``RTCRtpReceiver`` reassembles
frames in its jitter buffer and hands each to a decoder thread
(``rtcrtpreceiver.decoder_worker``), which calls the module-level
``get_decoder(codec)``. Sending encoded data is public (a track may return
``av.Packet``s, which the sender only packetizes). So the smallest hook is
one name: ``rtcrtpreceiver.get_decoder`` is wrapped so that a codec object
marked by :func:`mark_passthrough` gets :class:`PassthroughDecoder`, which
returns the reassembled encoded frame untouched; every other receiver in
the process keeps aiortc's decoder. The codec objects are per transceiver
(aiortc deep-copies them during negotiation), so the mark is per call.

Keyframe requests: a PLI/FIR from the receiving browser makes aiortc's
sender call its own ``_send_keyframe()`` (which would only tell an encoder
we do not run); :func:`on_keyframe_request` replaces that method on the one
sender instance, and :func:`request_keyframe` sends a PLI upstream through
the receiver's ``_send_rtcp_pli``.

The names used here are checked by :func:`check_hooks` (at install) and by
tests/unit/test_media_passthrough.py, so an aiortc upgrade that moves them
fails loudly instead of silently decoding again. aiortc is pinned in
setup.cfg to the version below.
"""

from __future__ import annotations

import asyncio
import fractions
import inspect
import logging
from collections.abc import Callable
from typing import Any

import aiortc
import av
from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.codecs.base import Decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

log = logging.getLogger(__name__)

HOOKED_AIORTC = "1.16.0"
MARK = "_vidline_passthrough"
TAP = "_vidline_tap"  # a callable on an audio codec: see tap_audio
VIDEO_TIME_BASE = fractions.Fraction(1, 90000)
FORWARD_QUEUE = 30  # frames (1 s at 30 fps) before the oldest are dropped

_original_get_decoder: Callable[..., Decoder] | None = None


class HookError(RuntimeError):
    """aiortc no longer looks the way the hook expects."""


class PassthroughDecoder(Decoder):
    """Hands the reassembled encoded frame on as it is."""

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        return [encoded_frame]


class TeeDecoder(Decoder):
    """aiortc's own decoder, after handing the encoded frame to ``tap`` (the
    recorder takes the customer's Opus as received: no second encode). Runs
    in aiortc's decoder thread; the tap must only queue, never block."""

    def __init__(self, decoder: Decoder, tap: Callable[[JitterFrame], None]) -> None:
        self.decoder = decoder
        self.tap = tap

    def decode(self, encoded_frame: JitterFrame) -> list[Any]:
        try:
            self.tap(encoded_frame)
        except Exception:  # the recording must never cost the call its voice
            log.exception("audio tap failed")
        return self.decoder.decode(encoded_frame)


def tap_audio(pc: RTCPeerConnection, tap: Callable[[JitterFrame], None]) -> None:
    """Hand ``pc``'s incoming encoded audio to ``tap`` too (it is still
    decoded as usual). Like :func:`mark_passthrough`, call after each
    setRemoteDescription."""
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "audio":
            for codec in transceiver._codecs:
                setattr(codec, TAP, tap)


def check_hooks() -> None:
    """Fail when the aiortc internals the hook relies on have changed."""
    problems = []
    if aiortc.__version__ != HOOKED_AIORTC:
        problems.append(f"aiortc {aiortc.__version__} installed, hook written for "
                        f"{HOOKED_AIORTC}")
    worker = getattr(rtcrtpreceiver, "decoder_worker", None)
    if worker is None or "get_decoder" not in worker.__code__.co_names:
        problems.append("rtcrtpreceiver.decoder_worker no longer calls get_decoder")
    if not callable(getattr(rtcrtpreceiver, "get_decoder", None)):
        problems.append("rtcrtpreceiver.get_decoder is gone")
    if "_send_keyframe" not in inspect.getsource(RTCRtpSender._handle_rtcp_packet):
        problems.append("RTCRtpSender no longer answers PLI/FIR with _send_keyframe")
    if not callable(getattr(RTCRtpReceiver, "_send_rtcp_pli", None)):
        problems.append("RTCRtpReceiver._send_rtcp_pli is gone")
    if problems:
        raise HookError("; ".join(problems))


def install() -> None:
    """Wrap ``get_decoder`` once per process (idempotent)."""
    global _original_get_decoder
    if _original_get_decoder is not None:
        return
    check_hooks()
    original = rtcrtpreceiver.get_decoder

    def get_decoder(codec: Any) -> Decoder:
        if getattr(codec, MARK, False):
            return PassthroughDecoder()
        tap = getattr(codec, TAP, None)
        if tap is not None:
            return TeeDecoder(original(codec), tap)
        return original(codec)

    _original_get_decoder = original
    rtcrtpreceiver.get_decoder = get_decoder


def mark_passthrough(pc: RTCPeerConnection) -> None:
    """Make every video receiver of ``pc`` hand on encoded frames. Call after
    each setRemoteDescription: negotiation replaces the codec objects, and
    the decoder is only chosen when the first frame arrives (after DTLS)."""
    for transceiver in pc.getTransceivers():
        if transceiver.kind == "video":
            for codec in transceiver._codecs:
                setattr(codec, MARK, True)


def pin_video_codec(pc: RTCPeerConnection, name: str = "VP8") -> bool:
    """Answer only ``name`` (one payload type, and its RTX) on every video
    m-line, so both legs carry the same codec whatever the offers preferred:
    forwarded packets are only decodable by a receiver that negotiated their
    codec. H.264 must be packetization-mode 1 (FU-A, what aiortc packs).
    False when a video m-line offers no such codec. Call after
    setRemoteDescription."""
    for transceiver in pc.getTransceivers():
        if transceiver.kind != "video":
            continue
        main = next((c.payloadType for c in transceiver._codecs if c.name == name and (
            name != "H264" or str(c.parameters.get("packetization-mode")) == "1")), None)
        if main is None:
            return False
        transceiver._codecs = [
            c for c in transceiver._codecs
            if c.payloadType == main or (c.name == "rtx" and _apt(c) == main)]
    return True


def _apt(codec: Any) -> int | None:
    try:
        return int(codec.parameters.get("apt"))
    except (TypeError, ValueError):
        return None


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    sender._send_keyframe = callback  # type: ignore[method-assign]


def request_keyframe(receiver: RTCRtpReceiver) -> asyncio.Task[None] | None:
    """Send a PLI for every stream ``receiver`` gets; None when none yet."""
    sources = receiver.getSynchronizationSources()
    if not sources:
        return None

    async def send() -> None:
        for source in sources:
            await receiver._send_rtcp_pli(source.source)

    return asyncio.ensure_future(send())


class ForwardTrack(MediaStreamTrack):
    """A video track that sends encoded frames as ``av.Packet``s.

    ``push`` is fed from the other leg's receiver; the queue is bounded (the
    oldest frame goes) and a gap makes the next frame wait for a keyframe via
    ``on_gap`` so the far decoder is never fed a broken reference chain.
    """

    kind = "video"

    def __init__(self, on_gap: Callable[[], None] | None = None) -> None:
        super().__init__()
        self._queue: asyncio.Queue[JitterFrame | None] = asyncio.Queue(FORWARD_QUEUE)
        self._on_gap = on_gap
        self.frames_forwarded = 0
        self.frames_dropped = 0
        self._offset = 0
        self._last: int | None = None

    def push(self, frame: JitterFrame) -> None:
        if self.readyState != "live":
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.frames_dropped += 1
            if self._on_gap is not None:
                self._on_gap()
        self._queue.put_nowait(frame)

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        frame = await self._queue.get()
        if frame is None:
            raise MediaStreamError
        packet = av.Packet(frame.data)
        packet.pts = self._rebase(frame.timestamp)
        packet.time_base = VIDEO_TIME_BASE
        self.frames_forwarded += 1
        return packet

    def _rebase(self, timestamp: int) -> int:
        """Keep the outgoing clock going forward when the source restarts (a
        reloaded page's new peer connection counts from 0 again): one SSRC's
        RTP clock must not jump back (RFC 3550), or receivers' jitter and
        playout estimates go wrong. Chromium happened to cope in our test;
        other receivers need not."""
        out = timestamp + self._offset
        if self._last is not None and out <= self._last:
            self._offset += self._last + 3000 - out  # one frame time at 30 fps
            out = self._last + 3000
        self._last = out
        return out

    def stop(self) -> None:
        if self.readyState == "live":
            super().stop()
            if self._queue.full():
                self._queue.get_nowait()
            self._queue.put_nowait(None)  # wake a waiting recv()
