"""The data channel relay: co-browsing (and any other peer-to-peer) messages
between the customer's and the agent's "vidline" channel (ordered, reliable).

Each browser opens one channel on its own peer connection; the bridge
relays what arrives on one to the other. The envelope (the wire contract,
also implemented by ``frontend/src/envelope.js``): every message is JSON text
``{"t": kind, ...}``; one that would exceed the receiving peer's maximum
message size travels as ``{"t":"chunk","id":s,"i":k,"n":total,"d":part}``
pieces, in order (the SCTP stream keeps them so), ``d`` being consecutive
slices of the whole message's text.

The relay joins the pieces (under a size cap: a peer cannot make the bridge
hold more than ``MAX_MESSAGE`` bytes per direction), checks that co-browsing
kinds come from the side that may send them (the agent cannot feed the
customer a fake page stream nor switch co-browsing on, only off; the
customer cannot draw on itself "as the agent"), tells ``on_note`` about them
for the interaction's journal, and sends the message on in pieces under the
far side's limit. Text that is not the envelope (a front-end from before it)
is passed on as before, unread.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

MAX_MESSAGE = 16 * 1024 * 1024  # reassembled bytes; an rrweb snapshot of a big page fits
MAX_PENDING = 4  # chunked messages being joined at once per direction
CHUNK_OVERHEAD = 96  # bytes of {"t":"chunk","id":...,"i":...,"n":...,"d":""} at most
MAX_ID = 64

# who may send which co-browsing kind (anything else passes unchecked)
SENDER = {
    "cobrowse-request": "agent",
    "cobrowse-pointer": "agent",
    "cobrowse-highlight": "agent",
    "cobrowse-state": "customer",
    "cobrowse-events": "customer",
}


class EnvelopeError(ValueError):
    """A peer broke the envelope (the text says how); its pieces are dropped."""


def split_message(message: str | bytes, max_bytes: int) -> list[str | bytes]:
    """``message`` in raw parts of at most ``max_bytes`` bytes each (on UTF-8
    character boundaries for text): only for what is not the envelope."""
    if isinstance(message, bytes):
        return [message[i:i + max_bytes] for i in range(0, len(message), max_bytes)] or [b""]
    data = message.encode()
    if len(data) <= max_bytes:
        return [message]
    parts: list[str | bytes] = []
    start = 0
    while start < len(data):
        end = min(start + max_bytes, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # inside a character
            end -= 1
        parts.append(data[start:end].decode())
        start = end
    return parts


def chunk_message(text: str, max_bytes: int, message_id: str) -> list[str]:
    """``text`` (one whole envelope message) as it goes on the wire: itself
    when it fits, else ``chunk`` pieces each at most ``max_bytes`` bytes.
    Pieces are measured as JSON strings (escapes and UTF-8 counted) by
    ``json.dumps`` rather than character by character: a snapshot of a big
    page is megabytes, and this runs on the event loop."""
    if len(text) * 3 <= max_bytes or len(text.encode()) <= max_bytes:
        return [text]
    budget = max_bytes - CHUNK_OVERHEAD
    if budget < 16:
        raise ValueError("max_bytes is too small for the chunk envelope")
    parts: list[str] = []
    start = 0
    while start < len(text):
        length = min(budget, len(text) - start)
        while True:
            piece = text[start:start + length]
            size = len(json.dumps(piece, ensure_ascii=False).encode()) - 2
            if size <= budget:
                break
            length = max(1, min(length - 1, length * budget // size))
        parts.append(piece)
        start += length
    return [json.dumps({"t": "chunk", "id": message_id, "i": i, "n": len(parts), "d": d},
                       ensure_ascii=False, separators=(",", ":"))
            for i, d in enumerate(parts)]


class Reassembler:
    """Joins one direction's ``chunk`` pieces (sans I/O: objects in, whole
    message texts out)."""

    def __init__(self, max_message: int = MAX_MESSAGE, max_pending: int = MAX_PENDING) -> None:
        self.max_message = max_message
        self.max_pending = max_pending
        self._pending: dict[str, tuple[int, list[str], int]] = {}  # id -> (n, parts, bytes)

    def feed(self, piece: dict[str, Any]) -> str | None:
        """The whole message's text once its last piece is in, else None."""
        pid, i, n, d = piece.get("id"), piece.get("i"), piece.get("n"), piece.get("d")
        if not isinstance(pid, str) or not 0 < len(pid) <= MAX_ID:
            raise EnvelopeError("a chunk needs an id of 1 to 64 characters")
        if (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= self.max_message
                or not isinstance(i, int) or isinstance(i, bool) or not isinstance(d, str)):
            self._pending.pop(pid, None)
            raise EnvelopeError("a chunk needs whole numbers i < n and a text d")
        total, parts, size = self._pending.get(pid, (n, [], 0))
        if i != len(parts) or n != total:
            self._pending.pop(pid, None)
            raise EnvelopeError(f"chunk {i} of {n} of {pid!r} out of order")
        try:
            size += len(d.encode())
        except UnicodeEncodeError:  # a lone surrogate, escaped in the piece's JSON
            self._pending.pop(pid, None)
            raise EnvelopeError(f"a piece of {pid!r} is not valid Unicode") from None
        held = size + sum(s for pending, (_n, _p, s) in self._pending.items() if pending != pid)
        if held > self.max_message:  # all it holds for this direction, not per message
            self._pending.pop(pid, None)
            raise EnvelopeError(f"message {pid!r} is over {self.max_message} bytes")
        parts.append(d)
        if len(parts) == total:
            self._pending.pop(pid, None)
            return "".join(parts)
        if pid not in self._pending and len(self._pending) >= self.max_pending:
            raise EnvelopeError(f"more than {self.max_pending} chunked messages at once")
        self._pending[pid] = (total, parts, size)
        return None


def parse_envelope(text: str) -> dict[str, Any] | None:
    """``text`` as an envelope message ``{"t": kind, ...}``, or None."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("t"), str) else None


def journal_entry(side: str, message: dict[str, Any]) -> dict[str, Any] | None:
    """What the journal keeps of a co-browsing message (``cobrowse`` entries
    for the recorder's timeline), None for what it does not keep: the
    pointer moves many times a second and tells a replay nothing lasting."""
    kind = message.get("t")
    if kind == "cobrowse-request":
        return {"action": "request", "from": side}
    if kind == "cobrowse-state":
        return {"action": "on" if message.get("on") is True else "off", "from": side}
    if kind == "cobrowse-highlight":
        return {"action": "highlight", "from": side,
                **{k: message[k] for k in ("selector", "rect") if k in message}}
    if kind == "cobrowse-events" and isinstance(message.get("events"), list):
        # the rrweb stream itself, already masked by the customer's browser
        return {"action": "events", "from": side, "events": message["events"]}
    return None


class ChannelRelay:
    def __init__(self, max_bytes: int, *, max_message: int = MAX_MESSAGE) -> None:
        self.max_bytes = max_bytes
        self.channels: dict[str, Any] = {}
        self.relayed = 0
        self.refused = 0
        # told (kind, data) of what the journal keeps: journal.note for this call
        self.on_note: Callable[[str, dict[str, Any]], object] | None = None
        self._joiners = {side: Reassembler(max_message) for side in ("customer", "agent")}
        self._ids = itertools.count(1)

    def attach(self, side: str, channel: Any) -> None:
        old = self.channels.get(side)
        if old is not None and old is not channel:
            with contextlib.suppress(Exception):
                old.close()
        self.channels[side] = channel
        self._joiners[side] = Reassembler(self._joiners[side].max_message)  # a new page

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            self.receive(side, message)

    def receive(self, side: str, message: str | bytes) -> None:
        """One message as it arrived on ``side``'s channel."""
        if isinstance(message, bytes):
            self._send(side, split_message(message, self.max_bytes))
            return
        obj = parse_envelope(message)
        if obj is None:
            self._send(side, split_message(message, self.max_bytes))  # not the envelope
            return
        if obj["t"] == "chunk":
            try:
                whole = self._joiners[side].feed(obj)
            except EnvelopeError as exc:
                self.refused += 1
                log.info("data channel from the %s: %s", side, exc)
                return
            if whole is None:
                return
            obj = parse_envelope(whole)
            if obj is None:
                self.refused += 1
                log.info("data channel from the %s: a joined message is not {\"t\":...}", side)
                return
            message = whole
        sender = SENDER.get(obj["t"])
        if obj["t"] == "cobrowse-state" and side == "agent" and obj.get("on") is False:
            sender = side  # the agent may end co-browsing, never start it
        if sender is not None and sender != side:
            self.refused += 1
            log.info("data channel: %s from the %s refused", obj["t"], side)
            return
        self._note(side, obj)
        self._send(side, chunk_message(message, self.max_bytes, f"r{next(self._ids)}"))

    def _note(self, side: str, obj: dict[str, Any]) -> None:
        if self.on_note is None:
            return
        entry = journal_entry(side, obj)
        if entry is None:
            return
        try:
            self.on_note("cobrowse", entry)
        except Exception:
            log.exception("data channel: noting %s failed", obj["t"])

    def _send(self, side: str, parts: list[str] | list[str | bytes]) -> None:
        other = self.channels.get("agent" if side == "customer" else "customer")
        if other is None or other.readyState != "open":
            return  # nobody to read it yet: the far page asks again when it opens
        for part in parts:
            other.send(part)
        self.relayed += 1

    def close(self) -> None:
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                channel.close()
        self.channels.clear()
