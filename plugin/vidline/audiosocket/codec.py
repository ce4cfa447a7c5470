"""AudioSocket wire format without I/O.

A frame is ``kind (1 byte) | length (2 bytes, big endian) | payload``.
Asterisk (the TCP client) first sends ``0x01`` with the 16-byte UUID of the
call, then ``0x10`` frames of 8 kHz signed-linear audio (320 bytes per 20 ms)
or, with ``c(slin16)`` on 22.7+, ``0x12`` frames at 16 kHz (640 bytes).
``0x00`` is a hangup request (only the application sends it; Asterisk just
closes, shared/asterisk FINDINGS), ``0x03`` DTMF, ``0xff`` an error code.

What Asterisk does with what the application sends (res_audiosocket.c):
any kind other than audio or hangup is logged as an error and ends the read,
and an audio frame with an empty payload is rejected; so the application
only ever sends non-empty audio and, once, ``0x00``. Asterisk reads the
header with a loop that does not advance its buffer, so a header split
across TCP segments can be misread: write each frame with a single write.
"""

from __future__ import annotations

import enum
import struct
import uuid
from dataclasses import dataclass

HEADER = struct.Struct("!BH")
MAX_PAYLOAD = 65535
DTMF_DIGITS = frozenset("0123456789*#ABCDabcd")


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
# Frames carry a plain int kind: look rates up without building a Kind.
_RATE_OF_KIND = {int(kind): rate for kind, rate in SAMPLE_RATES.items()}


class AudioSocketError(Exception):
    """The peer broke the AudioSocket framing."""


@dataclass(frozen=True, slots=True)
class Frame:
    kind: int
    payload: bytes

    def __repr__(self) -> str:
        # Audio payloads are hundreds of bytes: keep logs readable.
        return f"Frame(kind=0x{self.kind:02x}, {len(self.payload)} bytes)"

    @property
    def uuid(self) -> uuid.UUID:
        if self.kind != Kind.UUID or len(self.payload) != 16:
            raise AudioSocketError("not a UUID frame")
        return uuid.UUID(bytes=self.payload)

    @property
    def is_audio(self) -> bool:
        return self.kind in _RATE_OF_KIND

    @property
    def sample_rate(self) -> int | None:
        """Rate of an audio frame, None for other kinds."""
        return _RATE_OF_KIND.get(self.kind)

    @property
    def dtmf(self) -> str:
        """The digit of a DTMF frame (one ASCII byte)."""
        if self.kind != Kind.DTMF or len(self.payload) != 1:
            raise AudioSocketError("not a DTMF frame")
        digit = chr(self.payload[0])
        if digit not in DTMF_DIGITS:
            raise AudioSocketError(f"DTMF byte 0x{self.payload[0]:02x} is not a digit")
        return digit.upper()


def encode(kind: int, payload: bytes = b"") -> bytes:
    if not 0 <= kind <= 0xFF:
        raise AudioSocketError(f"kind {kind} does not fit in one byte")
    if len(payload) > MAX_PAYLOAD:
        raise AudioSocketError(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def encode_uuid(value: uuid.UUID) -> bytes:
    return encode(Kind.UUID, value.bytes)


def encode_audio(sample_rate: int, pcm: bytes) -> bytes:
    """An audio frame for ``sample_rate``; Asterisk rejects empty ones."""
    kind = AUDIO_KIND_FOR_RATE.get(sample_rate)
    if kind is None:
        raise AudioSocketError(f"no AudioSocket kind for {sample_rate} Hz")
    if not pcm or len(pcm) % 2:
        raise AudioSocketError(f"audio of {len(pcm)} bytes is not whole 16-bit samples")
    return encode(kind, pcm)


def encode_dtmf(digit: str) -> bytes:
    if len(digit) != 1 or digit not in DTMF_DIGITS:
        raise AudioSocketError(f"{digit!r} is not a DTMF digit")
    return encode(Kind.DTMF, digit.encode("ascii"))


HANGUP_FRAME = encode(Kind.HANGUP)


def frame_bytes(sample_rate: int, ms: int = 20) -> int:
    """Bytes of 16-bit mono audio in ``ms`` milliseconds."""
    return sample_rate * ms // 1000 * 2


class FrameDecoder:
    """Accumulates bytes and yields whole frames; caps a frame's payload.

    The cap bounds memory: at most one incomplete frame (header plus
    ``max_payload``) stays buffered between calls. After a framing error the
    stream cannot be resynchronised, so every later ``feed`` raises too.
    """

    def __init__(self, max_payload: int = 8192) -> None:
        if not 0 <= max_payload <= MAX_PAYLOAD:
            raise ValueError(f"max_payload {max_payload} is outside 0..{MAX_PAYLOAD}")
        self._buffer = bytearray()
        self._max = max_payload
        self._error: AudioSocketError | None = None

    @property
    def max_payload(self) -> int:
        return self._max

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame held back (non-zero at EOF = truncated)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame]:
        if self._error is not None:
            raise self._error
        # Usually a read holds whole frames and nothing is pending: parse the
        # read itself, copying only payloads (a 20 ms frame per leg every
        # 20 ms makes this the receive path's hot spot).
        if self._buffer:
            self._buffer += data
            src = bytes(self._buffer)
        else:
            src = data if type(data) is bytes else bytes(data)
        frames: list[Frame] = []
        offset, size, cap = 0, len(src), self._max
        while size - offset >= HEADER.size:
            kind, length = HEADER.unpack_from(src, offset)
            if length > cap:
                self._error = AudioSocketError(
                    f"frame of kind 0x{kind:02x} with {length} bytes is over {cap}")
                self._buffer = bytearray()
                raise self._error
            end = offset + HEADER.size + length
            if size < end:
                break
            frames.append(Frame(kind, src[offset + HEADER.size : end]))
            offset = end
        if offset < size:
            self._buffer = bytearray(src[offset:])
        elif self._buffer:
            self._buffer = bytearray()
        return frames
