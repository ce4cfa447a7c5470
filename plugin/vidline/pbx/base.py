"""The PBX interface that the Asterisk, FreeSWITCH and any later adapter implement.

The interaction service only talks to this; adapters own their sockets,
reconnection and the translation of wire events into :mod:`vidline.pbx.events`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vidline.context.model import InteractionContext
from vidline.pbx.events import PbxEvent, QueueEntry, QueueSummary
from vidline.pbx.status import QueueStatus


class PbxError(Exception):
    """A PBX action failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class PlaceCall:
    """Everything an adapter needs to put a customer leg into a queue.

    ``preferred_agent`` is the agent's extension for last-agent routing (a
    one-member queue tried first, see shared/asterisk FINDINGS), or ``None``.
    """

    interaction_id: str
    queue: str
    priority: int
    queue_timeout: int
    context: InteractionContext
    panel_url: str
    preferred_agent: str | None = None
    preferred_timeout: int = 12


EventHandler = Callable[[PbxEvent], None]

# what set_cdr_field accepts: the late CDR columns, and values made by
# vidline itself (a recording reference like 2026/11/27/<uuid>, "video,screen")
LATE_CDR_FIELDS = frozenset({"vidline_recording", "vidline_media"})
CDR_VALUE_RE = re.compile(r"[A-Za-z0-9/._:-]{0,255}")


def check_cdr_field(name: str, value: str) -> None:
    if name not in LATE_CDR_FIELDS:
        raise PbxError(f"not a CDR column vidline sets during the call: {name!r}")
    if not CDR_VALUE_RE.fullmatch(value):
        raise PbxError(f"not a safe CDR value for {name}: {value!r}")


class PbxAdapter(Protocol):
    def subscribe(self, handler: EventHandler) -> None:
        """Register a handler called on the event loop for each PbxEvent."""

    async def start(self) -> None:
        """Connect and log in; keep reconnecting in the background after."""

    async def close(self) -> None:
        """Stop reconnecting, log off and release every task and socket."""

    async def place_call(self, call: PlaceCall) -> None:
        """Create the customer leg. Idempotent per ``interaction_id``: a call
        already placed is never placed twice, also across reconnects."""

    async def hangup(self, interaction_id: str) -> None:
        """Hang up the customer leg (the customer left)."""

    async def set_cdr_field(self, interaction_id: str, name: str, value: str) -> None:
        """Fill one of the CDR columns vidline knows only while the call runs
        (``vidline_recording``, ``vidline_media``) on the customer's live leg.
        ``value`` must match ``CDR_VALUE_RE``: it is not customer text."""

    async def queue_entries(self, queue: str | None = None) -> list[QueueEntry]:
        """Waiting callers now (QueueStatus), for positions and resync."""

    async def queue_status(self, queue: str | None = None) -> QueueStatus:
        """Waiting callers of every kind and the members' states now (the
        wallboard): QueueStatus with its QueueMember items."""

    async def queue_summaries(self, queue: str | None = None) -> list[QueueSummary]:
        """Per-queue figures now (QueueSummary), for the expected wait."""

    async def pause_member(
        self, interface: str, paused: bool, reason: str = "", queue: str | None = None
    ) -> None:
        """Pause or unpause an agent (QueuePause), in one queue or all."""
