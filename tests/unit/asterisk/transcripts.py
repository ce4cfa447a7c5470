"""Real Asterisk 22.10.1 AMI transcripts (copied byte for byte from
shared/asterisk into tests/fixtures/asterisk) and helpers to cut them up."""

from __future__ import annotations

from pathlib import Path

from vidline.pbx.asterisk.codec import AmiMessage, AmiParser

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "asterisk"


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def messages(name: str) -> list[AmiMessage]:
    data = raw(name)
    parser = AmiParser(expect_banner=data.startswith(b"Asterisk Call Manager/"))
    return [m for m in parser.feed(data) if isinstance(m, AmiMessage)]


def blocks(name: str) -> list[bytes]:
    """The transcript's messages as the exact bytes Asterisk sent, each with
    its terminating blank line; the banner line is left out."""
    data = raw(name)
    if data.startswith(b"Asterisk Call Manager/"):
        data = data[data.index(b"\r\n") + 2 :]
    parts = data.split(b"\r\n\r\n")
    return [part + b"\r\n\r\n" for part in parts if part.strip(b"\r\n")]


def answer_to(name: str, action_id: str) -> list[bytes]:
    """Every block carrying ``ActionID: <action_id>`` (a response and its
    EventList, or an OriginateResponse), in order."""
    marker = f"\r\nActionID: {action_id}\r\n".encode()
    return [b for b in blocks(name) if marker in b"\r\n" + b]


def after(name: str, action_id: str) -> list[bytes]:
    """The blocks that follow the response to ``action_id``, up to (not
    including) the Logoff's Goodbye."""
    out: list[bytes] = []
    seen = False
    marker = f"\r\nActionID: {action_id}\r\n".encode()
    for block in blocks(name):
        if not seen:
            seen = block.startswith(b"Response:") and marker in b"\r\n" + block
            continue
        if block.startswith(b"Response: Goodbye"):
            break
        out.append(block)
    return out
