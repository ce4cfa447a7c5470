"""Text chat of an interaction, without I/O: validation, bounded history,
flood limits and the typing-indicator throttle.

Theory of operation: each interaction has a :class:`ChatRoom`. A message is
cleaned (:func:`clean_text`: line breaks normalised, control, bidi-override
and lone-surrogate characters removed, trimmed, 1..2000 characters; it stays
plain text, never markup), numbered (``id`` counts from 1 per interaction) and
appended to a history bounded both by count and by UTF-8 bytes, oldest
dropped first. Each side has its own token bucket, so a customer's flood
cannot stop the agent from answering. Typing notices are relayed at most
once per ``TYPING_INTERVAL`` per side.

History lives in memory: while the interaction lives and for
``RETENTION`` seconds after the room was last used, so that a page reload,
a reconnect or a late wrap-up shows it. It is not kept across a restart;
each message also goes to the journal (``chat_message``), which lands in
the reporting database's event table, so the record survives there.
The clock is passed in: tests replay time.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CUSTOMER = "customer"
AGENT = "agent"
MAX_TEXT = 2000  # characters, after cleaning
MAX_MESSAGES = 500  # per interaction
MAX_BYTES = 128 * 1024  # per interaction, UTF-8 text
MAX_ROOMS = 2000  # interactions whose history is kept
RETENTION = 3600.0  # seconds a room is kept after its last use
BURST = 8  # messages a side may send at once ...
REFILL = 1.0  # ... then this many per second
TYPING_INTERVAL = 1.5  # seconds between relayed typing notices, per side

# C0 (but tab and line feed), DEL, C1, line/paragraph separators, bidi
# embeddings/overrides/isolates (they can make text read backwards), BOM and
# lone surrogates (invalid UTF-8: MariaDB would refuse the journal row)
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                       "\u2066-\u2069\ufeff\ud800-\udfff]")


class ChatError(ValueError):
    """A message that is refused; ``str()`` is shown to the sender."""


def clean_text(raw: object) -> str:
    if not isinstance(raw, str):
        raise ChatError("text must be a string")
    if len(raw) > MAX_TEXT * 4:  # do not clean megabytes to refuse them anyway
        raise ChatError(f"a message has at most {MAX_TEXT} characters")
    text = _UNWANTED.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise ChatError("the message is empty")
    if len(text) > MAX_TEXT:
        raise ChatError(f"a message has at most {MAX_TEXT} characters")
    return text


@dataclass(frozen=True, slots=True)
class ChatMessage:
    interaction: str
    id: int
    sender: str  # CUSTOMER or AGENT
    name: str | None
    text: str
    at: int  # epoch milliseconds

    def wire(self) -> dict[str, Any]:
        return {"type": "chat", "interaction": self.interaction, "id": self.id,
                "from": self.sender, "name": self.name, "text": self.text, "at": self.at}


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float

    def take(self, now: float) -> bool:
        self.tokens = min(float(BURST), self.tokens + (now - self.at) * REFILL)
        self.at = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


@dataclass(slots=True)
class ChatRoom:
    interaction: str
    used: float
    agent: str | None = None  # username of the agent who took the call
    messages: deque[ChatMessage] = field(default_factory=deque)
    size: int = 0  # UTF-8 bytes of the texts held
    last_id: int = 0
    buckets: dict[str, _Bucket] = field(default_factory=dict)
    typed: dict[str, float] = field(default_factory=dict)

    def history(self) -> dict[str, Any]:
        return {"type": "chat-history", "interaction": self.interaction,
                "messages": [m.wire() for m in self.messages]}


class ChatRooms:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._rooms: OrderedDict[str, ChatRoom] = OrderedDict()

    def room(self, interaction_id: str) -> ChatRoom:
        now = self._clock()
        room = self._rooms.pop(interaction_id, None) or ChatRoom(interaction_id, now)
        room.used = now
        self._rooms[interaction_id] = room  # most recently used last
        self._expire(now)
        return room

    def get(self, interaction_id: str) -> ChatRoom | None:
        return self._rooms.get(interaction_id)

    def post(self, interaction_id: str, sender: str, name: str | None,
             raw: object) -> ChatMessage:
        """Clean, rate-limit and store a message; raises :class:`ChatError`."""
        text = clean_text(raw)
        room = self.room(interaction_id)
        now = room.used
        bucket = room.buckets.setdefault(sender, _Bucket(float(BURST), now))
        if not bucket.take(now):
            raise ChatError("you are sending messages too fast; wait a moment")
        room.last_id += 1
        message = ChatMessage(interaction_id, room.last_id, sender, name, text,
                              int(now * 1000))
        room.messages.append(message)
        room.size += len(text.encode())
        while len(room.messages) > MAX_MESSAGES or room.size > MAX_BYTES:
            room.size -= len(room.messages.popleft().text.encode())
        room.typed.pop(sender, None)  # a sent message ends the typing notice
        return message

    def typing(self, interaction_id: str, sender: str) -> bool:
        """Whether this typing notice is to be relayed (throttled)."""
        room = self.room(interaction_id)
        last = room.typed.get(sender)
        if last is not None and room.used - last < TYPING_INTERVAL:
            return False
        room.typed[sender] = room.used
        return True

    def _expire(self, now: float) -> None:
        while self._rooms:
            oldest = next(iter(self._rooms.values()))
            if len(self._rooms) <= MAX_ROOMS and now - oldest.used <= RETENTION:
                return
            self._rooms.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rooms)
