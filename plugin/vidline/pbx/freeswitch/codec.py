"""ESL (FreeSWITCH event socket) wire format without I/O: bytes in, messages out.

Framing happens on bytes: an envelope is ``Key: value`` lines ended by an
empty line, followed by exactly ``Content-Length`` bytes of body when that
header is there. Only a whole message is decoded, so a UTF-8 character split
across TCP reads survives, and the buffered message size is capped (h11's
``max_incomplete_event_size``): a peer that announces or sends more is a
protocol error, never an unbounded buffer.

Envelopes (shared/freeswitch transcripts): ``auth/request``,
``command/reply`` (``Reply-Text``), ``api/response`` (body),
``text/event-plain`` (body = the event), ``text/disconnect-notice``.

A ``text/event-plain`` body is itself a header block whose values are
URL-encoded, then, when it has its own ``Content-Length``, a body
(BACKGROUND_JOB's ``+OK <uuid>``). Each value is decoded *after* the block is
split into lines: decoding first (as greenswitch 0.0.19 does) turns a
customer's ``%0A`` into a line break and lets text inside a channel variable
forge a header such as ``CC-Action``.

:func:`encode_command` writes commands and refuses CR, LF and NUL anywhere in
them: two raw LFs inside an ``originate`` ran an injected ``api`` command on a
real FreeSWITCH (shared/freeswitch FINDINGS, C).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024  # the largest event seen was ~8 KB (K_load)
_MAX_HEADER_BLOCK = 64 * 1024

AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
EVENT_PLAIN = "text/event-plain"
DISCONNECT_NOTICE = "text/disconnect-notice"


class EslProtocolError(Exception):
    """The peer broke the ESL framing (oversized message, bad length)."""


class EslEncodeError(ValueError):
    """A command could not be written safely (CR/LF/NUL in it)."""


def _get(headers: tuple[tuple[str, str], ...], name: str, default: str) -> str:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return default


@dataclass(frozen=True, slots=True)
class EslMessage:
    """One envelope: its headers in order and its raw body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def get(self, name: str, default: str = "") -> str:
        return _get(self.headers, name, default)

    @property
    def content_type(self) -> str:
        return self.get("Content-Type")

    @property
    def reply_text(self) -> str:
        return self.get("Reply-Text")

    @property
    def text(self) -> str:
        """The body as text (api/response output, disconnect notice)."""
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class EslEvent:
    """A decoded ``text/event-plain`` event: URL-decoded headers and its body."""

    headers: tuple[tuple[str, str], ...]
    body: str = ""

    def get(self, name: str, default: str = "") -> str:
        return _get(self.headers, name, default)

    def variables(self, prefix: str = "variable_") -> dict[str, str]:
        n = len(prefix)
        return {k[n:]: v for k, v in self.headers if k.startswith(prefix)}

    @property
    def name(self) -> str:
        return self.get("Event-Name")

    @property
    def subclass(self) -> str:
        return self.get("Event-Subclass")

    @property
    def cc_action(self) -> str:
        return self.get("CC-Action")

    @property
    def timestamp_us(self) -> int:
        """Event-Date-Timestamp (microseconds since the epoch), 0 if absent."""
        value = self.get("Event-Date-Timestamp")
        return int(value) if value.isdigit() else 0


def _split_headers(block: bytes, *, url_decoded: bool) -> tuple[tuple[str, str], ...]:
    text = block.decode("utf-8", errors="replace")
    out: list[tuple[str, str]] = []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            continue  # not a header line; FreeSWITCH never sends one
        value = value[1:] if value.startswith(" ") else value
        # errors="replace": a stray byte must not make the event vanish
        out.append((key, unquote(value, errors="replace") if url_decoded else value))
    return tuple(out)


def decode_event(body: bytes) -> EslEvent:
    """The event carried by a ``text/event-plain`` body."""
    end = body.find(b"\n\n")
    block, rest = (body, b"") if end < 0 else (body[:end], body[end + 2:])
    headers = _split_headers(block, url_decoded=True)
    length = _get(headers, "Content-Length", "")
    if length.isdigit():
        rest = rest[: int(length)]
    return EslEvent(headers, rest.decode("utf-8", errors="replace"))


class EslParser:
    """Feed bytes, get whole :class:`EslMessage` objects back."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self._buf = bytearray()
        self._max = max_message_bytes
        self._pending: tuple[tuple[str, str], ...] | None = None  # headers awaiting a body
        self._need = 0

    @property
    def pending(self) -> int:
        """Bytes held for an incomplete message."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[EslMessage]:
        self._buf += data
        out: list[EslMessage] = []
        while True:
            if self._pending is None:
                end = self._buf.find(b"\n\n")
                if end < 0:
                    if len(self._buf) > _MAX_HEADER_BLOCK:
                        raise EslProtocolError(
                            f"header block longer than {_MAX_HEADER_BLOCK} bytes")
                    return out
                block = bytes(self._buf[:end])
                del self._buf[: end + 2]
                if not block.strip(b"\r\n"):
                    continue  # stray blank lines between messages
                headers = _split_headers(block, url_decoded=False)
                length = _get(headers, "Content-Length", "")
                if not length:
                    out.append(EslMessage(headers))
                    continue
                if not length.isdigit():
                    raise EslProtocolError(f"Content-Length {length[:20]!r} is not a number")
                self._need = int(length)
                if self._need + len(block) > self._max:
                    raise EslProtocolError(
                        f"message of {self._need} bytes exceeds {self._max}")
                self._pending = headers
            if len(self._buf) < self._need:
                return out
            body = bytes(self._buf[: self._need])
            del self._buf[: self._need]
            out.append(EslMessage(self._pending, body))
            self._pending = None


def encode_command(command: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """``command`` (one line) plus optional ``Key: value`` lines (``sendmsg``),
    ended by an empty line. Refuses CR, LF and NUL anywhere."""
    headers = tuple(headers)
    lines = [command, *(f"{key}: {value}" for key, value in headers)]
    for line in lines:
        if not line or any(c in line for c in "\r\n\0"):
            raise EslEncodeError(f"unsafe ESL line {line[:60]!r}")
    for key, _ in headers:
        if ":" in key or " " in key:
            raise EslEncodeError(f"bad header name {key!r}")
    return ("\n".join(lines) + "\n\n").encode("utf-8")
