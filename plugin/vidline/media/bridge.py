"""One interaction's media: the customer's and the agent's peer connections,
the PBX audio leg, and every task between them.

Theory of operation. Both browsers always make the offers, so the bridge
only answers, and a renegotiation (a screen share starting or stopping) is
just another offer on the same peer connection. The m-line layout is fixed
by the front-ends (documented at the top of vidline.js and panel.js):

    customer: audio (mic / PBX audio), video[0] camera both ways,
              video[1] the agent's screen (to the customer),
              video[2] the customer's screen (added when sharing starts)
    agent:    video[0] camera both ways, video[1] the customer's screen,
              video[2] the agent's screen (added when sharing starts)

Video is forwarded encoded (``passthrough``): each incoming video track is
drained by a pump task into the :class:`ForwardTrack` that the other peer
connection sends; a keyframe request from the receiving browser goes up to
the sending browser as a PLI. Voice goes to the PBX through
``CustomerVoice`` (the leg's source) and comes back as ``PbxAudioTrack``.

``close()`` is the one way out, whoever ends first: it stops the forward
tracks (waking their senders), closes both peer connections (which stops
every aiortc sender, receiver, decoder thread and transport), cancels and
awaits the pumps, and detaches the PBX leg. It is idempotent.

Known aiortc pitfalls, and where they are handled: a receiver's track queue
is unbounded, so every incoming track is drained by a task from the moment
it exists (pumps, ``CustomerVoice.consume``) and the forward queues are
bounded; the VP8 every-frame-keyframe trap (input frames with pict_type I)
cannot happen since no encoder runs on the video path; PyAV is >= 17.1 in
setup.cfg (older versions leak audio frames); the ICE policy is given as
aiortc's enum and bundling as max-bundle (``ice.rtc_configuration``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol

from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from vidline.config import MediaConfig
from vidline.media import passthrough
from vidline.media.audio import CustomerVoice, PbxAudioTrack
from vidline.media.datachannel import ChannelRelay
from vidline.media.ice import rtc_configuration

log = logging.getLogger(__name__)

# which incoming video slot of one side goes to which outgoing slot of the other
CUSTOMER, AGENT = "customer", "agent"
RECV_SLOT = {0: "camera", 2: "screen"}  # video index -> what this side sends us
SEND_SLOT = {0: "camera", 1: "screen"}  # video index -> what we send this side


class MediaTap(Protocol):
    """Where a copy of the call's encoded media goes (the recorder,
    vidline.recording.recorder.CallRecorder). Its methods only queue."""

    request_keyframe: Callable[[tuple[str, str]], None] | None

    def video(self, side: str, what: str, frame: Any) -> None: ...

    def video_ended(self, side: str, what: str) -> None: ...

    def audio_tap(self) -> Callable[[Any], None]: ...

    def pbx_audio(self, pcm: bytes) -> None: ...

    def close(self) -> None: ...


class SignallingError(ValueError):
    """A description the bridge cannot use; the text goes to the browser."""


class CallBridge:
    def __init__(self, interaction_id: str, config: MediaConfig, sample_rate: int) -> None:
        passthrough.install()
        self.interaction_id = interaction_id
        self.config = config
        self.voice = CustomerVoice(sample_rate)
        self.pbx_track = PbxAudioTrack(sample_rate)
        self.pcs: dict[str, RTCPeerConnection] = {}
        # (side that sends, what) -> the track the other side receives it on
        self.forward: dict[tuple[str, str], passthrough.ForwardTrack] = {}
        self.receivers: dict[tuple[str, str], RTCRtpReceiver] = {}
        for side in (CUSTOMER, AGENT):
            for what in ("camera", "screen"):
                key = (side, what)
                self.forward[key] = passthrough.ForwardTrack(
                    on_gap=functools.partial(self._keyframe, key))
        self.channels = ChannelRelay(config.max_message_bytes)
        self.leg: Any = None
        # told of what is shared during the call, for the interaction's record
        # (reporting counts screen shares): (kind, data)
        self.on_shared: Callable[[str, dict[str, Any]], object] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lock = asyncio.Lock()
        self.closed = False
        self.tap: MediaTap | None = None  # the recorder, when recording is on

    def attach_tap(self, tap: MediaTap) -> None:
        """Tee the encoded media to ``tap``: set before the first offer."""
        self.tap = tap
        tap.request_keyframe = self._keyframe

    # -- the PBX leg -------------------------------------------------------

    def attach_leg(self, leg: Any) -> None:
        if self.closed:
            return
        self.leg = leg
        leg.set_source(self.voice)

    def on_pbx_audio(self, pcm: bytes) -> None:
        self.pbx_track.feed(pcm)
        if self.tap is not None:
            self.tap.pbx_audio(pcm)

    def detach_leg(self) -> None:
        if self.leg is not None:
            with contextlib.suppress(Exception):
                self.leg.set_source(None)
        self.leg = None

    # -- signalling --------------------------------------------------------

    async def offer(self, side: str, sdp: str) -> str:
        """Answer ``side``'s offer (first or renegotiation); the answer's SDP."""
        async with self._lock:  # one negotiation at a time per bridge
            if self.closed:
                raise SignallingError("the call has ended")
            pc = self.pcs.get(side)
            if pc is None:
                pc = self._new_pc(side)
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
            except Exception as exc:  # aiortc raises several types for bad SDP
                log.info("interaction %s: %s offer refused: %s", self.interaction_id, side, exc)
                # aiortc's text may quote the offer: the sender's own input, kept short
                raise SignallingError(f"the offer was refused: {str(exc)[:200]}") from None
            codec = self.config.video_codec
            if not passthrough.pin_video_codec(pc, codec):
                # the description is half applied: start that side afresh next time
                del self.pcs[side]
                with contextlib.suppress(Exception):
                    await pc.close()
                raise SignallingError(f"the offer's video has no {codec}, which both legs "
                                      "must use")
            passthrough.mark_passthrough(pc)
            if side == CUSTOMER and self.tap is not None:
                passthrough.tap_audio(pc, self.tap.audio_tap())
            self._attach_senders(side, pc)
            try:
                await pc.setLocalDescription(await pc.createAnswer())
            except Exception as exc:
                raise SignallingError(f"no answer to this offer: {str(exc)[:200]}") from None
            return pc.localDescription.sdp

    def _new_pc(self, side: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(rtc_configuration(self.config, self.interaction_id))
        self.pcs[side] = pc

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._on_track(side, pc, track)

        @pc.on("datachannel")
        def on_datachannel(channel: Any) -> None:
            self.channels.attach(side, channel)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState in ("failed", "closed") and self.pcs.get(side) is pc:
                # that page is gone (closed, lost its network): let its leg go,
                # the call itself goes on through the PBX
                self._spawn(self.reset(side))
            elif pc.connectionState == "connected":
                # the other side's forwarded video needs a fresh keyframe now
                other = AGENT if side == CUSTOMER else CUSTOMER
                for what in ("camera", "screen"):
                    self._keyframe((other, what))

        return pc

    async def reset(self, side: str) -> None:
        """Drop ``side``'s peer connection: its page went away or (re)starts
        its media with a fresh one. The forward tracks stay for the next."""
        async with self._lock:
            pc = self.pcs.pop(side, None)
        for key in [k for k in self.receivers if k[0] == side]:
            del self.receivers[key]
        if pc is not None:
            with contextlib.suppress(Exception):
                await pc.close()

    def _video(self, pc: RTCPeerConnection) -> list[Any]:
        return [t for t in pc.getTransceivers() if t.kind == "video"]

    def _attach_senders(self, side: str, pc: RTCPeerConnection) -> None:
        other = AGENT if side == CUSTOMER else CUSTOMER
        for transceiver in pc.getTransceivers():
            if transceiver.kind == "audio" and side == CUSTOMER:
                if transceiver.sender.track is None:
                    transceiver.sender.replaceTrack(self.pbx_track)
                transceiver.direction = "sendrecv"
        for index, transceiver in enumerate(self._video(pc)):
            what = SEND_SLOT.get(index)
            if what is None:
                transceiver.direction = "recvonly"
                continue
            if side == CUSTOMER and what == "camera" and not self.config.agent_video:
                transceiver.direction = "recvonly"
                continue
            track = self.forward[(other, what)]
            if transceiver.sender.track is None:
                transceiver.sender.replaceTrack(track)
            transceiver.direction = "sendrecv" if index == 0 else "sendonly"
            passthrough.on_keyframe_request(
                transceiver.sender, functools.partial(self._keyframe, (other, what)))

    def _on_track(self, side: str, pc: RTCPeerConnection, track: MediaStreamTrack) -> None:
        if track.kind == "audio":
            if side == CUSTOMER:
                self._spawn(self.voice.consume(track))
            else:  # the agent speaks through the PBX: drain and ignore
                self._spawn(_drain(track))
            return
        index = next((i for i, t in enumerate(self._video(pc)) if t.receiver.track is track),
                     None)
        what = RECV_SLOT.get(index) if index is not None else None
        if what is None:
            self._spawn(_drain(track))
            return
        receiver = self._video(pc)[index].receiver  # type: ignore[index]
        self.receivers[(side, what)] = receiver
        push = self.forward[(side, what)].push
        if self.tap is None:
            self._spawn(_pump(track, push))
        else:
            self._spawn(self._pump_recorded(track, push, self.tap, side, what))
        if what == "screen" and self.on_shared is not None:
            try:
                self.on_shared("screen_share", {"from": side})
            except Exception:  # the record must never break the call
                log.exception("interaction %s: on_shared failed", self.interaction_id)

    async def _pump_recorded(self, track: MediaStreamTrack, push: Callable[[Any], None],
                             tap: MediaTap, side: str, what: str) -> None:
        def tee(frame: Any) -> None:
            push(frame)
            tap.video(side, what, frame)

        try:
            await _pump(track, tee)
        finally:
            tap.video_ended(side, what)

    def _keyframe(self, key: tuple[str, str]) -> None:
        receiver = self.receivers.get(key)
        if receiver is not None and not self.closed:
            task = passthrough.request_keyframe(receiver)
            if task is not None:
                self._own(task)

    # -- tasks and the end -------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        self._own(asyncio.ensure_future(coro))

    def _own(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def tasks(self) -> set[asyncio.Task[Any]]:
        return set(self._tasks)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.detach_leg()
        if self.tap is not None:
            self.tap.close()
        for track in self.forward.values():
            track.stop()
        self.pbx_track.stop()
        self.channels.close()
        async with self._lock:  # a negotiation in flight finishes first
            pcs = list(self.pcs.values())
            self.pcs.clear()
        for pc in pcs:
            with contextlib.suppress(Exception):
                await pc.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.receivers.clear()
        log.info("interaction %s: media bridge closed", self.interaction_id)


async def _pump(track: MediaStreamTrack, push: Callable[[Any], None]) -> None:
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return
        push(frame)


async def _drain(track: MediaStreamTrack) -> None:
    await _pump(track, lambda frame: None)
