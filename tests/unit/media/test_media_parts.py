"""Pure parts of the media package: drift absorption, ICE credentials, the
[media] config, data channel splitting."""

from __future__ import annotations

import base64
import hashlib
import hmac
import tomllib

import pytest
from aiortc.rtcconfiguration import RTCIceTransportPolicy

from vidline.config import ConfigError, MediaConfig, parse_config
from vidline.media.audio import DriftBuffer
from vidline.media.datachannel import split_message
from vidline.media.ice import browser_config, rtc_configuration, turn_rest_credentials

FRAME = 320


def test_a_slow_producer_gets_silence_inserted() -> None:
    buf = DriftBuffer(FRAME)
    buf.write(b"\x01" * FRAME)
    assert buf.read_frame() == b"\x01" * FRAME
    assert buf.read_frame() is None and buf.inserted == 1


def test_a_fast_producer_does_not_grow_the_delay() -> None:
    # the browser's clock runs 2 % fast: 51 frames arrive per 50 ticks
    buf = DriftBuffer(FRAME)
    depths = []
    for _second in range(60):
        for tick in range(50):
            buf.write(b"\x00" * FRAME)
            if tick == 0:
                buf.write(b"\x00" * FRAME)
            buf.read_frame()
        depths.append(len(buf) // FRAME)
    assert max(depths[10:]) <= 3  # bounded, not 60 frames after a minute
    assert buf.dropped >= 50


def test_a_burst_is_capped() -> None:
    buf = DriftBuffer(FRAME, max_frames=8)
    buf.write(b"\x00" * FRAME * 20)
    assert len(buf) == 8 * FRAME and buf.dropped == 12


def test_turn_rest_credentials_are_what_coturn_recomputes() -> None:
    username, password = turn_rest_credentials("s3cret-s3cret", "abc", 600, now=1000)
    assert username == "1600:abc"
    expected = hmac.new(b"s3cret-s3cret", b"1600:abc", hashlib.sha1).digest()
    assert base64.b64decode(password) == expected


def media_config(text: str) -> MediaConfig:
    return parse_config(tomllib.loads(text)).media


def test_no_ice_server_unless_configured() -> None:
    config = media_config("")
    assert browser_config(config, "x") == {"iceServers": [], "iceTransportPolicy": "all"}
    assert rtc_configuration(config, "x").iceServers == []


def test_turn_gets_rest_credentials_and_relay_only_is_the_enum() -> None:
    config = media_config("""
[media]
turn_secret = "0123456789abcdef"
relay_only = true
agent_video = false
[[media.ice_servers]]
urls = ["stun:127.0.0.1:3478"]
[[media.ice_servers]]
urls = ["turn:127.0.0.1:3478?transport=udp"]
""")
    servers = browser_config(config, "id-1")["iceServers"]
    assert servers[0] == {"urls": ["stun:127.0.0.1:3478"]}  # type: ignore[index]
    assert servers[1]["username"].endswith(":id-1")  # type: ignore[index]
    rtc = rtc_configuration(config, "id-1")
    assert rtc.iceTransportPolicy is RTCIceTransportPolicy.RELAY
    assert not config.agent_video


@pytest.mark.parametrize("text", [
    '[[media.ice_servers]]\nurls = ["http://example.com"]',
    "[[media.ice_servers]]\nurls = []",
    '[media]\nturn_secret = "short"',
    "[media]\nturn_ttl = 5",
    "[media]\nnope = 1",
    '[media]\nvideo_codec = "AV1"',
])
def test_bad_media_config_is_refused(text: str) -> None:
    with pytest.raises(ConfigError):
        media_config(text)


def test_split_message_keeps_characters_whole() -> None:
    text = "a" + "€" * 100  # 1 + 300 bytes
    parts = split_message(text, 64)
    assert "".join(parts) == text  # type: ignore[arg-type]
    assert all(len(p.encode()) <= 64 for p in parts)  # type: ignore[union-attr]
    assert split_message(b"x" * 10, 4) == [b"xxxx", b"xxxx", b"xx"]
    assert split_message("short", 64) == ["short"]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_customer_voice_reaches_the_leg_at_its_rate(rate: int) -> None:
    import math

    import av

    from tests.browser.media_probe import tone_share
    from vidline.media.audio import CustomerVoice

    voice = CustomerVoice(rate)
    heard = bytearray()
    for n in range(50):  # one second of Opus-decoder output: 48 kHz stereo s16
        frame = av.AudioFrame(format="s16", layout="stereo", samples=960)
        pcm = bytearray()
        for i in range(960):
            v = int(16000 * math.sin(2 * math.pi * 1000 * (n * 960 + i) / 48000))
            pcm += v.to_bytes(2, "little", signed=True) * 2
        frame.planes[0].update(bytes(pcm))
        frame.sample_rate = 48000
        voice.feed(frame)
        out = voice.read_frame()  # the leg's tick
        assert out is None or len(out) == rate // 50 * 2
        heard += out or b""
    assert len(heard) >= rate * 2 * 0.9  # about a second came through
    assert tone_share(bytes(heard[len(heard) // 2:]), rate, 1000) > 0.8
    assert tone_share(bytes(heard[len(heard) // 2:]), rate, 700) < 0.05


async def test_pbx_audio_becomes_the_customers_track() -> None:
    from vidline.media.audio import PbxAudioTrack

    track = PbxAudioTrack(8000)
    track.feed(b"\x01\x02" * 160)
    first = await track.recv()
    second = await track.recv()  # nothing more from the PBX: silence, paced
    assert (first.sample_rate, first.samples, first.layout.name) == (8000, 160, "mono")
    assert bytes(first.planes[0])[:320] == b"\x01\x02" * 160
    assert bytes(second.planes[0])[:320] == bytes(320) and second.pts == 160
    track.stop()
