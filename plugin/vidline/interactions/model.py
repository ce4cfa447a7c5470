"""The interaction: one customer's request for live help, from the moment it
is accepted until it ends, with everything vidline knows about it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vidline.context.model import InteractionContext
from vidline.interactions.state import EndReason, State


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where the interaction goes and why (``reason`` is shown in reports:
    ``category:billing``, ``kiosk:k07``, ``page:/checkout``, ``default``)."""

    queue: str
    priority: int
    reason: str
    preferred_agent: str | None = None  # extension tried first (last-agent routing)
    preferred_timeout: int = 12  # seconds it is tried before ``queue``


@dataclass(frozen=True, slots=True)
class AgentRef:
    username: str | None  # None when the PBX member is not in vidline's directory
    interface: str
    member_name: str


@dataclass(slots=True)
class Interaction:
    id: str
    context: InteractionContext
    route: RouteDecision
    token_digest: bytes
    state: State = State.CREATED
    end_reason: EndReason | None = None
    queue: str | None = None
    position: int | None = None
    count: int | None = None
    expected_wait: int | None = None
    agent: AgentRef | None = None
    created_at: float = field(default_factory=time.time)
    times: dict[str, float] = field(default_factory=dict)  # state value -> when entered

    def status(self) -> dict[str, object]:
        """The customer-facing status message (what the customer WebSocket sends)."""
        message: dict[str, object] = {"type": "status", "state": self.state.value}
        if self.state.value == "queued":
            message.update(position=self.position, count=self.count,
                           expected_wait=self.expected_wait)
        if self.agent is not None and self.state.value == "connected":
            message["agent"] = self.agent.member_name
        if self.end_reason is not None:
            message["reason"] = self.end_reason.value
        return message
