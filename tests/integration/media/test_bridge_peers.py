"""The bridge between two in-process aiortc peers over loopback: encoded
video forwarded without a decoder or encoder, keyframe requests forwarded
upstream, renegotiation, the data channel, and close() letting go."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy

from tests.media_load import ClipTrack, ToneTrack, encode_clip, offer_answer
from vidline.config import MediaConfig
from vidline.media import passthrough
from vidline.media.bridge import CallBridge, SignallingError


class Peer:
    """A browser stand-in: sends a pre-encoded clip, counts what it receives
    (its own receivers hand on encoded frames too, so any decode in this
    process would be the bridge's)."""

    def __init__(self, clip: list[bytes], audio: bool) -> None:
        # max-bundle like a browser's offer is used; aiortc's default mis-bundles a
        # second video m-line (see vidline.media.ice.rtc_configuration)
        self.pc = RTCPeerConnection(RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))
        self.camera = ClipTrack(clip)
        if audio:
            self.pc.addTransceiver(ToneTrack(1000), direction="sendrecv")
        self.pc.addTransceiver(self.camera, direction="sendrecv")
        self.pc.addTransceiver("video", direction="recvonly")
        self.channel = self.pc.createDataChannel("vidline", ordered=True)
        self.received: dict[int, int] = {}
        self.messages: list[str] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.keyframe_requests = 0

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            videos = [t for t in self.pc.getTransceivers() if t.kind == "video"]
            index = next((i for i, t in enumerate(videos) if t.receiver.track is track), -1)
            if track.kind == "audio":
                index = -1
            self.tasks.append(asyncio.ensure_future(self._count(index, track)))

        @self.channel.on("message")
        def on_message(message: str) -> None:
            self.messages.append(message)

    async def _count(self, index: int, track: Any) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            self.received[index] = self.received.get(index, 0) + 1

    def watch_keyframe_requests(self) -> None:
        sender = next(t.sender for t in self.pc.getTransceivers()
                      if t.sender.track is self.camera)

        def counted() -> None:
            self.keyframe_requests += 1

        sender._send_keyframe = counted  # type: ignore[method-assign]

    async def connect(self, bridge: CallBridge, side: str) -> None:
        async def answer(sdp: str) -> str:
            return await bridge.offer(side, sdp)

        await offer_answer(self.pc, answer)
        passthrough.mark_passthrough(self.pc)

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.fixture(scope="module")
def clip() -> list[bytes]:
    return encode_clip(320, 240, frames=30)


@pytest.fixture
async def call(clip: list[bytes]) -> AsyncIterator[tuple[CallBridge, Peer, Peer]]:
    passthrough.install()
    bridge = CallBridge("c0ffee00-0000-4000-8000-000000000001", MediaConfig(), 8000)
    customer, agent = Peer(clip, audio=True), Peer(clip, audio=False)
    try:
        yield bridge, customer, agent
    finally:
        await customer.close()
        await agent.close()
        await bridge.close()


async def until(predicate: Any, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 (aiortc's state has no events to wait on)
            await asyncio.sleep(0.02)


def count_codec_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    from aiortc.codecs import h264, vpx

    calls = {"decode": 0, "encode": 0}
    for cls, method in ((vpx.Vp8Decoder, "decode"), (vpx.Vp8Encoder, "encode"),
                        (h264.H264Decoder, "decode"), (h264.H264Encoder, "encode")):
        original = getattr(cls, method)

        def counted(*args: Any, _orig: Any = original, _method: str = method) -> Any:
            calls[_method] += 1
            return _orig(*args)

        monkeypatch.setattr(cls, method, counted)
    return calls


async def test_video_is_forwarded_encoded_both_ways(
    call: tuple[CallBridge, Peer, Peer], monkeypatch: pytest.MonkeyPatch
) -> None:
    bridge, customer, agent = call
    calls = count_codec_calls(monkeypatch)
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 30 and customer.received.get(0, 0) > 30)
    assert calls == {"decode": 0, "encode": 0}
    assert bridge.forward[("customer", "camera")].frames_forwarded > 30
    # the frames arrive as they were sent: the clip's own bytes, not a re-encode
    assert bridge.forward[("agent", "camera")].frames_forwarded > 30


async def test_keyframe_request_from_the_agent_reaches_the_customer(
    call: tuple[CallBridge, Peer, Peer]
) -> None:
    bridge, customer, agent = call
    customer.watch_keyframe_requests()
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 10)
    await asyncio.sleep(0.5)
    before = customer.keyframe_requests
    receiver = next(t.receiver for t in agent.pc.getTransceivers() if t.kind == "video")
    [source] = receiver.getSynchronizationSources()
    for _ in range(3):
        await receiver._send_rtcp_pli(source.source)
    await until(lambda: customer.keyframe_requests >= before + 3)


async def test_a_screen_share_renegotiates_and_reaches_the_agent(
    call: tuple[CallBridge, Peer, Peer], clip: list[bytes]
) -> None:
    bridge, customer, agent = call
    shared: list[tuple[str, dict[str, Any]]] = []
    bridge.on_shared = lambda kind, data: shared.append((kind, data))
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 10)
    assert shared == []  # cameras are not shares
    customer.pc.addTransceiver(ClipTrack(clip), direction="sendonly")
    await customer.connect(bridge, "customer")  # the renegotiation
    await until(lambda: agent.received.get(1, 0) > 10)  # the agent's screen slot
    camera = agent.received[0]
    await until(lambda: agent.received[0] > camera + 10)  # the camera went on
    agent.pc.addTransceiver(ClipTrack(clip), direction="sendonly")  # and the agent's
    await agent.connect(bridge, "agent")
    await until(lambda: customer.received.get(1, 0) > 10)
    # each share is told once, for the interaction's record (reporting counts them)
    assert shared == [("screen_share", {"from": "customer"}), ("screen_share", {"from": "agent"})]


async def test_data_channel_relays_and_splits(call: tuple[CallBridge, Peer, Peer]) -> None:
    bridge, customer, agent = call
    bridge.channels.max_bytes = 1024
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: customer.channel.readyState == "open"
                and agent.channel.readyState == "open" and len(bridge.channels.channels) == 2)
    customer.channel.send("hello agent")
    await until(lambda: agent.messages == ["hello agent"])
    big = "é" * 1500  # 3000 bytes: three parts, none splitting a character
    agent.channel.send(big)
    await until(lambda: "".join(customer.messages) == big)
    assert len(customer.messages) == 3
    assert all(len(m.encode()) <= 1024 for m in customer.messages)


async def test_a_hostile_offer_gets_an_error_and_the_call_goes_on(
    call: tuple[CallBridge, Peer, Peer]
) -> None:
    bridge, customer, agent = call
    with pytest.raises(SignallingError):
        await bridge.offer("customer", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nbroken")
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 10)


async def test_close_releases_everything(call: tuple[CallBridge, Peer, Peer]) -> None:
    bridge, customer, agent = call
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 10)
    pcs = list(bridge.pcs.values())
    tasks = bridge.tasks
    assert tasks
    await bridge.close()
    assert all(pc.connectionState == "closed" for pc in pcs)
    assert all(task.done() for task in tasks) and not bridge.tasks
    assert all(t.readyState == "ended" for t in bridge.forward.values())
    assert not bridge.pcs
    with pytest.raises(SignallingError):
        await bridge.offer("customer", "v=0\r\n")
    await bridge.close()  # twice is fine


async def test_an_offer_without_vp8_is_refused_and_a_good_one_then_works(
    call: tuple[CallBridge, Peer, Peer]
) -> None:
    from aiortc import RTCRtpSender

    bridge, customer, agent = call
    h264_only = RTCPeerConnection()
    transceiver = h264_only.addTransceiver("video", direction="sendrecv")
    capabilities = RTCRtpSender.getCapabilities("video")
    transceiver.setCodecPreferences(
        [c for c in capabilities.codecs if c.mimeType == "video/H264"])
    await h264_only.setLocalDescription(await h264_only.createOffer())
    with pytest.raises(SignallingError, match="VP8"):
        await bridge.offer("customer", h264_only.localDescription.sdp)
    await h264_only.close()
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 10)
    # only VP8 (and its retransmissions) was answered on every video line
    answer = bridge.pcs["customer"].localDescription.sdp
    assert "H264" not in answer and "VP8/90000" in answer


async def test_agent_video_off_keeps_the_agents_camera_from_the_customer(
    clip: list[bytes]
) -> None:
    bridge = CallBridge("c0ffee00-0000-4000-8000-000000000002",
                        MediaConfig(agent_video=False), 8000)
    customer, agent = Peer(clip, audio=True), Peer(clip, audio=False)
    try:
        await customer.connect(bridge, "customer")
        await agent.connect(bridge, "agent")
        await until(lambda: agent.received.get(0, 0) > 30)  # the customer is seen
        assert customer.received.get(0, 0) == 0  # the agent is not
        assert "a=recvonly" in bridge.pcs["customer"].localDescription.sdp
    finally:
        await customer.close()
        await agent.close()
        await bridge.close()
