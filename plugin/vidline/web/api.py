"""What the web layer needs from the interaction service, and nothing more.

The service (``vidline.interactions.service``) satisfies this structurally;
tests use a small in-memory fake of the same shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from vidline.context.model import InteractionContext
from vidline.interactions.model import Interaction


class InteractionsApi(Protocol):
    async def create(self, context: InteractionContext, client: str) -> tuple[Interaction, str]:
        """Accept a request; returns the interaction and its plaintext token.
        Routing never fails (the default queue catches everything)."""
        ...

    def authorise(self, interaction_id: str, token: str) -> Interaction | None:
        """The interaction when ``token`` is its token (constant-time), else None."""
        ...

    def subscribe(self, interaction_id: str) -> AsyncIterator[dict[str, object]]:
        """First the current ``status()``, then each change; ends after 'ended'."""
        ...

    async def leave(self, interaction_id: str) -> None:
        """The customer hung up or went away."""
        ...

    def get(self, interaction_id: str) -> Interaction | None:
        ...

    async def set_paused(self, username: str, paused: bool, reason: str) -> None:
        """Pause or unpause the agent in all of their queues (QueuePause)."""
        ...
