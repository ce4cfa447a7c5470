"""A bounded PCM buffer between a real-time producer and a 20 ms consumer.

The media bridge writes decoded audio in whatever lengths its decoder
produces and the leg reads one exact frame per tick (``AudioSource``); the
same buffer also serves the other way, filled from ``on_audio``. When the
consumer falls behind, the oldest audio goes: for a live call, late audio is
worse than lost audio, and memory stays capped.
"""

from __future__ import annotations


class PcmBuffer:
    """FIFO of 16-bit PCM, read in frames of ``frame_bytes``, capped at ``max_frames``."""

    def __init__(self, frame_bytes: int, max_frames: int = 10) -> None:
        if frame_bytes <= 0 or frame_bytes % 2:
            raise ValueError(f"frame_bytes {frame_bytes} is not a positive even number")
        if max_frames < 1:
            raise ValueError("max_frames must be at least 1")
        self.frame_bytes = frame_bytes
        self.max_bytes = frame_bytes * max_frames
        self.dropped_bytes = 0
        self._data = bytearray()

    def __len__(self) -> int:
        return len(self._data)

    def write(self, pcm: bytes) -> None:
        if len(pcm) % 2:
            raise ValueError(f"{len(pcm)} bytes are not whole 16-bit samples")
        self._data += pcm
        excess = len(self._data) - self.max_bytes
        if excess > 0:
            del self._data[:excess]  # excess is even: samples stay aligned
            self.dropped_bytes += excess

    def read_frame(self) -> bytes | None:
        """One whole frame, or None while less than a frame is buffered."""
        if len(self._data) < self.frame_bytes:
            return None
        frame = bytes(self._data[: self.frame_bytes])
        del self._data[: self.frame_bytes]
        return frame

    def clear(self) -> None:
        self._data.clear()
