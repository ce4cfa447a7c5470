"""The two facts the recorder needs from a VP8 frame, read from its first
bytes (RFC 6386 section 9.1) without decoding it: is it a keyframe, and at
what size."""

from __future__ import annotations

START_CODE = b"\x9d\x01\x2a"


def is_keyframe(frame: bytes) -> bool:
    # bit 0 of the frame tag: 0 is a key frame; a key frame carries the start code
    return len(frame) >= 10 and not frame[0] & 1 and frame[3:6] == START_CODE


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) of a keyframe; None for an inter frame or junk."""
    if not is_keyframe(frame):
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return (width, height) if width and height else None
