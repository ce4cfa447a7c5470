"""The sandbox AMI server's line framing against manager.c get_input's byte loop."""

from __future__ import annotations

import random

from vidline.pbx.sandbox.ami_server import INBUF, LineReader


class ByteLoop:
    """get_input() as manager.c writes it: one byte at a time (the oracle)."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.too_long = False

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        for byte in data:
            self.buf.append(byte)
            if byte == 0x0A:
                line = bytes(self.buf[:-1])
                lines.append(line[:-1] if line.endswith(b"\r") else line)
                self.buf.clear()
            elif len(self.buf) >= INBUF:
                self.buf = bytearray(self.buf[-1:])  # keeps the last byte, as manager.c
                self.too_long = True
        return lines


def test_lines_end_on_crlf_or_a_lone_lf() -> None:
    reader = LineReader()
    assert reader.feed(b"Action: Ping\r\nActionID: a\n\r\n\nrest") == [
        b"Action: Ping", b"ActionID: a", b"", b""]
    assert reader.feed(b"\r") == [] and reader.feed(b"\n") == [b"rest"]
    assert not reader.too_long


def test_1023_bytes_fit_and_1024_do_not() -> None:
    reader = LineReader()
    assert reader.feed(b"a" * (INBUF - 1) + b"\n") == [b"a" * (INBUF - 1)]
    assert not reader.too_long
    # the 1024th byte fills the buffer: only that byte stays, the message fails
    assert reader.feed(b"a" * (INBUF - 1) + b"bc\r\n") == [b"bc"]
    assert reader.too_long


def test_same_lines_and_flag_as_the_byte_loop_for_any_chunking() -> None:
    rng = random.Random(20261127)
    alphabet = b"ab\r\n"
    for _ in range(300):
        size = rng.choice([10, 900, 1023, 1024, 1025, 2047, 2048, 3100, 7000])
        weights = rng.choice([(10, 10, 1, 1), (50, 50, 1, 0), (1, 1, 1, 1)])
        data = bytes(rng.choices(alphabet, weights=weights, k=size))
        oracle, reader = ByteLoop(), LineReader()
        want, got = oracle.feed(data), []
        at = 0
        while at < len(data):
            step = rng.randint(1, 3000)
            got += reader.feed(data[at:at + step])
            at += step
        assert got == want
        assert (reader.buf, reader.too_long) == (oracle.buf, oracle.too_long)
