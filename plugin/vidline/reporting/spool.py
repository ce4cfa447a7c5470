"""The durable spool: reporting rows that could not reach the database yet.

One append-only file of JSON lines, each prefixed with the CRC-32 of its JSON
text (``1a2b3c4d {"t": ...}\\n``). A batch is appended with one ``write`` and
one ``fsync``, so once :meth:`Spool.append` returns the rows survive a crash
or a power cut. A crash in the middle of a write leaves at most one torn
line at the end: opening the spool drops it (and any bytes after the last
good line), so later appends start on a clean line. A bad line elsewhere
(which only a damaged disk makes) is skipped with a warning rather than
blocking every row behind it.

The file is locked (``flock``) while open: two vidline processes must not
share one spool. Only the reporting writer thread touches it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_NAME = "reporting.spool"


class SpoolLocked(RuntimeError):
    pass


class SpoolFull(OSError):
    """The batch did not fit: over the configured cap or the disk is full.
    Nothing of it was kept and the file is as it was before."""


def encode_line(item: dict[str, Any]) -> bytes:
    text = json.dumps(item, separators=(",", ":"), ensure_ascii=False).encode()
    return b"%08x " % zlib.crc32(text) + text + b"\n"


def decode_line(line: bytes) -> dict[str, Any] | None:
    """The item of one whole line (without its newline), or None if damaged."""
    if len(line) < 10 or line[8:9] != b" ":
        return None
    text = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(text):
            return None
        item = json.loads(text)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


class Spool:
    def __init__(self, directory: Path, max_bytes: int | None = None) -> None:
        """``max_bytes``: the cap on the file (None: none). A database away
        for days must not fill the disk that the recordings and the PBX share."""
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / FILE_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise SpoolLocked(f"{self.path} is in use by another vidline") from None
        self.read_offset = 0  # bytes before this are already in the database
        self._size = self._repair()

    def _repair(self) -> int:
        """Cut a torn last line; returns the file's size."""
        size = os.fstat(self._fd).st_size
        if size == 0:
            return 0
        with open(self.path, "rb") as handle:
            data = handle.read()
        end = data.rfind(b"\n") + 1  # 0 when no line is whole
        if end < size:
            torn = data[end:]
            if decode_line(torn) is None:
                log.warning("reporting spool: dropping a torn last record (%d bytes)", len(torn))
                os.ftruncate(self._fd, end)
                os.fsync(self._fd)
                return end
            # a whole record without its newline: keep it, finish the line
            os.write(self._fd, b"\n")
            os.fsync(self._fd)
            return size + 1
        return size

    @property
    def pending(self) -> bool:
        return self._size > self.read_offset

    @property
    def size(self) -> int:
        return self._size

    def append(self, items: list[dict[str, Any]]) -> None:
        if not items:
            return
        blob = b"".join(encode_line(item) for item in items)
        if self.max_bytes is not None and self._size + len(blob) > self.max_bytes:
            raise SpoolFull(f"{self.path}: {self._size} bytes spooled, the cap is "
                            f"{self.max_bytes}")
        written = 0
        try:
            while written < len(blob):
                written += os.write(self._fd, blob[written:])
            os.fsync(self._fd)
        except OSError as exc:
            # ENOSPC and friends: cut what part of the batch got in, so the
            # file ends on a whole line and a later append starts clean
            os.ftruncate(self._fd, self._size)
            raise SpoolFull(f"{self.path}: {exc.strerror or exc}") from exc
        self._size += len(blob)

    def read(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` items from ``read_offset``, and the offset after
        them (pass it to :meth:`advance` once they are stored)."""
        items: list[dict[str, Any]] = []
        offset = self.read_offset
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            while len(items) < limit and offset < self._size:
                line = handle.readline()
                if not line.endswith(b"\n"):
                    break
                offset += len(line)
                item = decode_line(line[:-1])
                if item is None:
                    log.warning("reporting spool: skipping a damaged record at byte %d",
                                offset - len(line))
                    continue
                items.append(item)
        return items, offset

    def advance(self, offset: int) -> None:
        """Everything before ``offset`` is stored; once all is, start afresh."""
        self.read_offset = offset
        if self.read_offset >= self._size:
            os.ftruncate(self._fd, 0)
            os.fsync(self._fd)
            self._size = self.read_offset = 0

    def close(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
