"""AMI wire format without I/O: bytes in, :class:`AmiMessage` out, and back.

Framing happens on bytes: a message ends at an empty line, and only a whole
message is decoded, so a UTF-8 character split across TCP reads survives
(panoramisk 1.4 decodes each chunk on its own and loses it). The buffered
message size is capped, like h11's ``max_incomplete_event_size``.

Asterisk ends lines with CRLF, and it also accepts a lone LF from clients
(shared/asterisk G3). The parser frames on either: a CRLF-only stream takes
a fast path (one decode and one header regex per message), anything with a
bare LF the general one. :func:`encode_message` writes CRLF only and refuses
CR, LF and NUL inside a header, so a value can never end a header early.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# manager.c get_input() reads into a 1024-byte window and needs the line's
# CRLF inside it: a header line may carry 1022 bytes before its CRLF, and one
# byte more makes Asterisk drop the whole action ("line too long").
MAX_LINE_BYTES = 1022
DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024
_BANNER_RE = re.compile(rb"^[^\r\n:]*Call Manager/[^\r\n]*\r?\n")
_BLOCK_END = re.compile(rb"\r?\n\r?\n")
_LINE_SPLIT = re.compile(r"\r?\n")
# "Key: value" with the single space after the colon optional, as decode_block reads it
_HEADER_LINE = re.compile(r"([^:\r\n]+): ?([^\r\n]*)")


class AmiProtocolError(Exception):
    """The peer broke the AMI framing (oversized message, garbage)."""


class AmiEncodeError(ValueError):
    """A header could not be written safely (CR/LF, too long, bad name)."""


@dataclass(frozen=True, slots=True)
class AmiMessage:
    """One AMI block: its headers in order, repeated names kept."""

    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        # Asterisk writes each header name one way: try that (no lower() per
        # header; every message is asked for Event and ActionID) before
        # matching case-insensitively.
        for key, value in self.headers:
            if key == name:
                return value
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        lname = name.lower()
        return any(key.lower() == lname for key, _ in self.headers)

    @property
    def event(self) -> str:
        return self.get("Event")

    @property
    def response(self) -> str:
        return self.get("Response")

    @property
    def action_id(self) -> str:
        return self.get("ActionID")


@dataclass(frozen=True, slots=True)
class AmiBanner:
    """The first line Asterisk sends, e.g. ``Asterisk Call Manager/11.0.0``."""

    text: str


def decode_block(block: bytes) -> AmiMessage:
    text = block.decode("utf-8", errors="replace")
    headers: list[tuple[str, str]] = []
    for line in _LINE_SPLIT.split(text):
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            # Command output lines and the like: keep them, keyed by an empty name
            headers.append(("", line))
            continue
        # Asterisk writes "Key: value"; a value may itself be empty ("AccountCode: ")
        headers.append((key.strip(), value[1:] if value.startswith(" ") else value))
    return AmiMessage(tuple(headers))


class AmiParser:
    """Frames AMI bytes into messages.

    ``expect_banner``: the client side, where the first line is the banner.
    ``accept_bare_lf``: frame on LF-only blank lines too (the server side).
    """

    def __init__(
        self,
        *,
        expect_banner: bool = True,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    ) -> None:
        self._buffer = bytearray()
        self._need_banner = expect_banner
        self._max = max_message_bytes

    def feed(self, data: bytes) -> list[AmiMessage | AmiBanner]:
        self._buffer += data
        out: list[AmiMessage | AmiBanner] = []
        if self._need_banner:
            match = _BANNER_RE.match(self._buffer)
            if match is None:
                if b"\n" in self._buffer or len(self._buffer) > 256:
                    raise AmiProtocolError("the peer did not start with an AMI banner")
                return out
            out.append(AmiBanner(match.group(0).decode("utf-8", "replace").strip()))
            del self._buffer[: match.end()]
            self._need_banner = False
        out.extend(self._blocks())
        if len(self._buffer) > self._max:
            raise AmiProtocolError(f"an AMI message exceeded {self._max} bytes")
        return out

    def _blocks(self) -> list[AmiMessage]:
        buf = self._buffer
        # A CRLF-only buffer (what Asterisk sends) has every LF after a CR and
        # every CR before an LF; only then may it be framed on "\r\n\r\n" alone.
        crlf = buf.count(b"\r\n")
        if buf.count(b"\n") != crlf or buf.count(b"\r") != crlf:
            return self._blocks_general()
        end = buf.rfind(b"\r\n\r\n")
        if end < 0:
            return []
        # Decoding up to a message end never splits a UTF-8 character.
        text = buf[:end].decode("utf-8", errors="replace")
        del buf[: end + 4]
        out: list[AmiMessage] = []
        for block in text.split("\r\n\r\n"):
            if block.startswith("\r\n"):
                block = block.lstrip("\r\n")
            if not block:
                continue
            pairs = _HEADER_LINE.findall(block)
            # Lines without a colon (command output) take the general decoder.
            if len(pairs) == block.count("\r\n") + 1:
                out.append(AmiMessage(tuple(pairs)))
            else:
                out.append(decode_block(block.encode()))
        return out

    def _blocks_general(self) -> list[AmiMessage]:
        out: list[AmiMessage] = []
        start = 0
        buf = bytes(self._buffer)
        for match in _BLOCK_END.finditer(buf):
            if match.start() < start:
                continue
            block = buf[start : match.start()]
            start = match.end()
            if block.strip(b"\r\n"):
                out.append(decode_block(block))
        del self._buffer[:start]
        return out


_HEADER_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_()/:.@-]*$")
# Names already checked: a few dozen in practice (the sandbox writes every
# event with them); bounded in case a caller makes names up.
_GOOD_NAMES: set[str] = set()
_GOOD_NAMES_KEPT = 4096


def encode_message(headers: Iterable[tuple[str, str]]) -> bytes:
    """Write one AMI block. Refuses anything that could end a header early.

    Raises :class:`AmiEncodeError` for CR, LF or NUL in a name or value, a
    name that is not a plain token, or a line of 1024 bytes or more.
    """
    lines: list[bytes] = []
    for name, value in headers:
        if name not in _GOOD_NAMES:
            if not _HEADER_NAME_RE.fullmatch(name) or name.endswith(":"):
                raise AmiEncodeError(f"bad AMI header name {name!r}")
            if len(_GOOD_NAMES) < _GOOD_NAMES_KEPT:
                _GOOD_NAMES.add(name)
        if "\r" in value or "\n" in value or "\x00" in value:
            raise AmiEncodeError(f"AMI header {name} contains CR, LF or NUL")
        line = f"{name}: {value}".encode()
        if len(line) > MAX_LINE_BYTES:
            raise AmiEncodeError(f"AMI header {name} is {len(line)} bytes, over {MAX_LINE_BYTES}")
        lines.append(line)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def encode_action(action: str, action_id: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    return encode_message([("Action", action), ("ActionID", action_id), *headers])
