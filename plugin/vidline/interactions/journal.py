"""The interaction's journal: what happens inside a call besides its state
changes (chat messages, snips, screen shares, co-browsing, wrap-up).

Producers (the web handlers, the media bridge) ``note`` an entry; the
subscribers (reporting counts it, the recorder writes it to the timeline)
hear each one in order. A subscriber that fails is logged and skipped: a
broken recorder must not lose a chat message for the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vidline.interactions.model import Interaction

log = logging.getLogger(__name__)

# entry kinds that reporting counts (vidline.reporting.observer.note)
CHAT_MESSAGE = "chat_message"
SNIP = "snip"
SCREEN_SHARE = "screen_share"
COBROWSE = "cobrowse"
WRAPUP = "wrapup"
RECORDING = "recording"


@dataclass(frozen=True, slots=True)
class Entry:
    interaction_id: str
    kind: str
    data: dict[str, Any] = field(default_factory=dict)
    at: float = 0.0  # wall clock, seconds since the epoch


Subscriber = Callable[[Interaction, Entry], None]


class Journal:
    def __init__(self, lookup: Callable[[str], Interaction | None],
                 clock: Callable[[], float] = time.time) -> None:
        """``lookup`` finds a live interaction by id (the store's ``get``)."""
        self._lookup = lookup
        self._clock = clock
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def note(self, interaction_id: str, kind: str,
             data: dict[str, Any] | None = None) -> Entry | None:
        """Tell every subscriber; None when the interaction is unknown."""
        interaction = self._lookup(interaction_id)
        if interaction is None:
            return None
        entry = Entry(interaction_id, kind, dict(data or {}), self._clock())
        for subscriber in self._subscribers:
            try:
                subscriber(interaction, entry)
            except Exception:
                log.exception("interaction %s: journal subscriber failed on %s",
                              interaction_id, kind)
        return entry
