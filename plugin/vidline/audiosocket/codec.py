"""AudioSocket wire format without I/O.

A frame is ``kind (1 byte) | length (2 bytes, big endian) | payload``.
Asterisk (the TCP client) first sends ``0x01`` with the 16-byte UUID of the
call, then ``0x10`` frames of 8 kHz signed-linear audio (320 bytes per 20 ms)
or, with ``c(slin16)`` on 22.7+, ``0x12`` frames at 16 kHz (640 bytes).
``0x00`` is a hangup request (only the application sends it; Asterisk just
closes, shared/asterisk FINDINGS), ``0x03`` DTMF, ``0xff`` an error code.
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass

HEADER = struct.Struct("!BH")
MAX_PAYLOAD = 65535


class Kind(enum.IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    AUDIO_8K = 0x10
    AUDIO_12K = 0x11
    AUDIO_16K = 0x12
    AUDIO_24K = 0x13
    AUDIO_32K = 0x14
    AUDIO_44K = 0x15
    AUDIO_48K = 0x16
    AUDIO_96K = 0x17
    AUDIO_192K = 0x18
    ERROR = 0xFF


SAMPLE_RATES: dict[Kind, int] = {
    Kind.AUDIO_8K: 8000,
    Kind.AUDIO_12K: 12000,
    Kind.AUDIO_16K: 16000,
    Kind.AUDIO_24K: 24000,
    Kind.AUDIO_32K: 32000,
    Kind.AUDIO_44K: 44100,
    Kind.AUDIO_48K: 48000,
    Kind.AUDIO_96K: 96000,
    Kind.AUDIO_192K: 192000,
}
AUDIO_KIND_FOR_RATE = {rate: kind for kind, rate in SAMPLE_RATES.items()}


class AudioSocketError(Exception):
    """The peer broke the AudioSocket framing."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    payload: bytes

    @property
    def uuid(self) -> uuid.UUID:
        if self.kind != Kind.UUID or len(self.payload) != 16:
            raise AudioSocketError("not a UUID frame")
        return uuid.UUID(bytes=self.payload)


def encode(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise AudioSocketError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def encode_uuid(value: uuid.UUID) -> bytes:
    return encode(Kind.UUID, value.bytes)


def frame_bytes(sample_rate: int, ms: int = 20) -> int:
    """Bytes of 16-bit mono audio in ``ms`` milliseconds."""
    return sample_rate * ms // 1000 * 2


class FrameDecoder:
    """Accumulates bytes and yields whole frames; caps a frame's payload."""

    def __init__(self, max_payload: int = 8192) -> None:
        self._buffer = bytearray()
        self._max = max_payload

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        offset = 0
        buf = self._buffer
        while len(buf) - offset >= HEADER.size:
            kind, length = HEADER.unpack_from(buf, offset)
            if length > self._max:
                raise AudioSocketError(f"frame of {length} bytes is over {self._max}")
            end = offset + HEADER.size + length
            if len(buf) < end:
                break
            frames.append(Frame(kind, bytes(buf[offset + HEADER.size : end])))
            offset = end
        del buf[:offset]
        return frames
