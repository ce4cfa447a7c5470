"""The AudioSocket codec fed bytes as Asterisk sends them, in any chunking."""

from __future__ import annotations

import random
import uuid

import pytest

from vidline.audiosocket.buffer import PcmBuffer
from vidline.audiosocket.codec import (
    HANGUP_FRAME,
    AudioSocketError,
    Frame,
    FrameDecoder,
    Kind,
    encode,
    encode_audio,
    encode_dtmf,
    encode_uuid,
    frame_bytes,
)

# The UUID of the real C_moh_abandon session (shared/asterisk).
CALL = uuid.UUID("3c0c6fc3-025b-46e4-b3c8-2e87ed0f3c86")


def session_bytes() -> tuple[bytes, list[bytes]]:
    """A UUID frame, audio frames of distinct content, one DTMF, one error."""
    audio = [bytes([i]) * 320 for i in range(1, 6)]
    wire = encode_uuid(CALL) + b"".join(encode(Kind.AUDIO_8K, a) for a in audio)
    wire += encode_dtmf("5") + encode(Kind.ERROR, b"\x02")
    return wire, audio


def test_uuid_frame_is_the_16_raw_bytes() -> None:
    wire = encode_uuid(CALL)
    assert wire == b"\x01\x00\x10" + CALL.bytes
    (frame,) = FrameDecoder().feed(wire)
    assert frame.uuid == CALL


def test_uuid_of_a_non_uuid_frame_raises() -> None:
    with pytest.raises(AudioSocketError):
        _ = Frame(Kind.UUID, b"short").uuid
    with pytest.raises(AudioSocketError):
        _ = Frame(Kind.AUDIO_8K, CALL.bytes).uuid


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 7, 319, 320, 323, 324, 1000])
def test_any_chunking_yields_the_same_frames(chunk: int) -> None:
    wire, audio = session_bytes()
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for i in range(0, len(wire), chunk):
        frames += decoder.feed(wire[i : i + chunk])
    assert decoder.pending == 0
    assert frames[0].uuid == CALL
    assert [f.payload for f in frames[1:6]] == audio
    assert all(f.kind == Kind.AUDIO_8K and f.sample_rate == 8000 for f in frames[1:6])
    assert frames[6].dtmf == "5"
    assert (frames[7].kind, frames[7].payload) == (Kind.ERROR, b"\x02")


def test_random_chunking() -> None:
    wire, audio = session_bytes()
    rng = random.Random(7)
    for _ in range(50):
        decoder = FrameDecoder()
        frames: list[Frame] = []
        i = 0
        while i < len(wire):
            n = rng.randint(0, 400)  # zero-length reads included
            frames += decoder.feed(wire[i : i + n])
            i += n
        assert [f.payload for f in frames[1:6]] == audio
        assert len(frames) == 8


def test_header_split_keeps_bytes_pending() -> None:
    decoder = FrameDecoder()
    assert decoder.feed(b"\x10\x01") == []
    assert decoder.pending == 2
    assert decoder.feed(b"\x40" + b"\x00" * 319) == []
    (frame,) = decoder.feed(b"\x00")
    assert frame.payload == bytes(320)
    assert decoder.pending == 0


def test_oversize_frame_is_rejected_from_its_header() -> None:
    decoder = FrameDecoder(max_payload=640)
    assert len(decoder.feed(encode(Kind.AUDIO_16K, bytes(640)))) == 1
    # Only the header of a 641-byte frame: rejected before its payload is buffered.
    with pytest.raises(AudioSocketError, match="641 bytes is over 640"):
        decoder.feed(b"\x12\x02\x81")
    assert decoder.pending == 0
    # The stream cannot be resynchronised: it stays broken.
    with pytest.raises(AudioSocketError):
        decoder.feed(encode(Kind.AUDIO_16K, bytes(640)))


def test_decoder_cap_bounds_the_buffer() -> None:
    decoder = FrameDecoder(max_payload=1000)
    decoder.feed(b"\x10\x03\xe8" + bytes(999))  # one byte short of a whole frame
    assert decoder.pending == 1002
    with pytest.raises(ValueError):
        FrameDecoder(max_payload=70000)


def test_zero_length_frames() -> None:
    frames = FrameDecoder().feed(HANGUP_FRAME + HANGUP_FRAME)
    assert frames == [Frame(Kind.HANGUP, b""), Frame(Kind.HANGUP, b"")]
    assert HANGUP_FRAME == b"\x00\x00\x00"


def test_encode_checks() -> None:
    with pytest.raises(AudioSocketError):
        encode(0x100)
    with pytest.raises(AudioSocketError):
        encode(Kind.AUDIO_8K, bytes(65536))
    assert encode_audio(16000, bytes(640))[:3] == b"\x12\x02\x80"
    assert encode_audio(8000, bytes(320))[:3] == b"\x10\x01\x40"
    for bad in (b"", b"\x00"):  # Asterisk rejects empty audio; odd bytes split a sample
        with pytest.raises(AudioSocketError):
            encode_audio(8000, bad)
    with pytest.raises(AudioSocketError):
        encode_audio(11025, bytes(2))
    with pytest.raises(AudioSocketError):
        encode_dtmf("x")


def test_dtmf_frames() -> None:
    assert Frame(Kind.DTMF, b"#").dtmf == "#"
    assert Frame(Kind.DTMF, b"a").dtmf == "A"
    for payload in (b"", b"12", b"x"):
        with pytest.raises(AudioSocketError):
            _ = Frame(Kind.DTMF, payload).dtmf


def test_frame_bytes() -> None:
    assert frame_bytes(8000) == 320
    assert frame_bytes(16000) == 640
    assert frame_bytes(48000, 10) == 960


def test_repr_hides_payload() -> None:
    assert repr(Frame(Kind.AUDIO_8K, bytes(320))) == "Frame(kind=0x10, 320 bytes)"


def test_pcm_buffer_rechunks_and_drops_oldest() -> None:
    buf = PcmBuffer(frame_bytes=4, max_frames=2)
    assert buf.read_frame() is None
    buf.write(b"\x01\x00\x02\x00\x03\x00")  # 1.5 frames
    assert buf.read_frame() == b"\x01\x00\x02\x00"
    assert buf.read_frame() is None  # half a frame waits for more
    buf.write(b"\x04\x00\x05\x00\x06\x00\x07\x00")  # now 10 bytes: over the cap of 8
    assert buf.dropped_bytes == 2
    assert buf.read_frame() == b"\x04\x00\x05\x00"
    assert buf.read_frame() == b"\x06\x00\x07\x00"
    assert len(buf) == 0
    with pytest.raises(ValueError):
        buf.write(b"\x00")
    with pytest.raises(ValueError):
        PcmBuffer(frame_bytes=3)
