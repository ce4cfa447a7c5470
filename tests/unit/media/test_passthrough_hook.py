"""The aiortc hook: these fail when an aiortc upgrade moves what it relies on."""

from __future__ import annotations

import copy

import aiortc
import pytest
from aiortc import RTCPeerConnection, rtcrtpreceiver
from aiortc.codecs import get_decoder
from aiortc.codecs.vpx import Vp8Decoder
from aiortc.jitterbuffer import JitterFrame

from vidline.media import passthrough


def test_the_installed_aiortc_is_the_hooked_one() -> None:
    assert aiortc.__version__ == passthrough.HOOKED_AIORTC
    passthrough.check_hooks()  # raises HookError naming what moved


async def test_marked_codecs_get_the_passthrough_decoder_and_others_the_real_one() -> None:
    passthrough.install()
    passthrough.install()  # idempotent: one wrapper, not two
    pc = RTCPeerConnection()
    pc.addTransceiver("video")
    await pc.createOffer()  # negotiation gives the transceiver its codec objects
    await pc.close()
    [transceiver] = pc.getTransceivers()
    vp8 = next(c for c in transceiver._codecs if c.name == "VP8")
    plain = copy.deepcopy(vp8)
    passthrough.mark_passthrough(pc)
    decoder = rtcrtpreceiver.get_decoder(vp8)
    assert isinstance(decoder, passthrough.PassthroughDecoder)
    frame = JitterFrame(data=b"\x10\x02\x00", timestamp=3000)
    assert decoder.decode(frame) == [frame]
    assert isinstance(rtcrtpreceiver.get_decoder(plain), Vp8Decoder)
    assert isinstance(get_decoder(vp8), Vp8Decoder)  # the public one is untouched


def test_a_moved_internal_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(aiortc.RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(passthrough.HookError, match="_send_rtcp_pli"):
        passthrough.check_hooks()


async def test_forward_track_is_bounded_and_asks_for_a_keyframe_after_a_gap() -> None:
    gaps: list[int] = []
    track = passthrough.ForwardTrack(on_gap=lambda: gaps.append(1))
    for i in range(passthrough.FORWARD_QUEUE + 5):
        track.push(JitterFrame(data=bytes([i]), timestamp=i * 3000))
    assert track.frames_dropped == 5 and len(gaps) == 5
    packet = await track.recv()
    assert bytes(packet) == bytes([5]) and packet.pts == 15000
    assert packet.time_base == passthrough.VIDEO_TIME_BASE
    track.stop()
    with pytest.raises(aiortc.mediastreams.MediaStreamError):
        await track.recv()


async def test_forward_track_timestamps_go_on_when_the_source_restarts() -> None:
    track = passthrough.ForwardTrack()
    stamps = [0, 3000, 6000, 0, 3000]  # the page reloaded after the third frame
    for stamp in stamps:
        track.push(JitterFrame(data=b"x", timestamp=stamp))
    out = [(await track.recv()).pts for _ in stamps]
    assert out == [0, 3000, 6000, 9000, 12000]
    track.stop()
