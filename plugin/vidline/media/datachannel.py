"""The data channel relay: text chat and co-browsing messages between the
customer's and the agent's channel (ordered, reliable; the UI that uses
them is the agent-tools issue).

Each browser opens one channel on its own peer connection; the bridge
relays what arrives on one to the other. A message bigger than the peer's
maximum message size is split into parts (on UTF-8 character boundaries for
text), which an SCTP stream delivers in order, so the far side can join
them; the front-ends send parts under the same limit.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

log = logging.getLogger(__name__)


def split_message(message: str | bytes, max_bytes: int) -> list[str | bytes]:
    """``message`` in parts of at most ``max_bytes`` bytes each."""
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


class ChannelRelay:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.channels: dict[str, Any] = {}
        self.relayed = 0

    def attach(self, side: str, channel: Any) -> None:
        old = self.channels.get(side)
        if old is not None and old is not channel:
            with contextlib.suppress(Exception):
                old.close()
        self.channels[side] = channel

        @channel.on("message")
        def on_message(message: str | bytes) -> None:
            self._relay(side, message)

    def _relay(self, side: str, message: str | bytes) -> None:
        other = self.channels.get("agent" if side == "customer" else "customer")
        if other is None or other.readyState != "open":
            return  # nobody to read it yet: chat history is not the bridge's job
        for part in split_message(message, self.max_bytes):
            other.send(part)
        self.relayed += 1

    def close(self) -> None:
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                channel.close()
        self.channels.clear()
