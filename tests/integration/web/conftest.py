"""An in-process vidline web app on an ephemeral port, with a small in-memory
InteractionsApi (our own seam, not a PBX) that the tests drive."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from vidline.agents.directory import AgentDirectory
from vidline.agents.hub import AgentHub
from vidline.agents.passwords import hash_password
from vidline.config import Config, parse_config
from vidline.context.model import InteractionContext
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import EndReason, State
from vidline.web.app import build_web_app

PASSWORD = "alice-pass"
# cheap scrypt parameters: the tests log in dozens of times
ALICE_HASH = hash_password(PASSWORD, n=1024)


def make_config(**server: Any) -> Config:
    return parse_config({
        "categories": ["billing", "technical", "sales"],
        "server": {"requests_per_minute": 1000, **server},
        "agents": [{"username": "alice", "password_hash": ALICE_HASH,
                    "interface": "PJSIP/1001", "member_name": "Agent Alice",
                    "queues": ["support"]}],
        "crm": {"url_template": "https://crm.example.com/c?id={{ customer_id }}"},
    })


class FakeInteractions:
    """Implements InteractionsApi in memory; ``update`` plays the PBX."""

    def __init__(self) -> None:
        self.items: dict[str, Interaction] = {}
        self.created: list[tuple[InteractionContext, str]] = []
        self.left: list[str] = []
        self.paused: list[tuple[str, bool, str]] = []
        self.fail_pause = False
        self._subscribers: dict[str, list[asyncio.Queue[dict[str, object]]]] = {}

    async def create(self, context: InteractionContext, client: str) -> tuple[Interaction, str]:
        token = secrets.token_urlsafe(32)
        interaction = Interaction(
            id=str(uuid.uuid4()), context=context,
            route=RouteDecision("support", 0, "default"),
            token_digest=hashlib.sha256(token.encode()).digest(),
            state=State.QUEUED, queue="support", position=1, count=1, expected_wait=30)
        self.items[interaction.id] = interaction
        self.created.append((context, client))
        return interaction, token

    def authorise(self, interaction_id: str, token: str) -> Interaction | None:
        interaction = self.items.get(interaction_id)
        digest = hashlib.sha256(token.encode()).digest()
        if interaction is None or not hmac.compare_digest(digest, interaction.token_digest):
            return None
        return interaction

    async def subscribe(self, interaction_id: str) -> AsyncIterator[dict[str, object]]:
        interaction = self.items[interaction_id]
        queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self._subscribers.setdefault(interaction_id, []).append(queue)
        try:
            message = interaction.status()
            while True:
                yield message
                if message["state"] == "ended":
                    return
                message = await queue.get()
        finally:
            self._subscribers[interaction_id].remove(queue)

    def update(self, interaction_id: str, **changes: Any) -> None:
        interaction = self.items[interaction_id]
        for name, value in changes.items():
            setattr(interaction, name, value)
        for queue in self._subscribers.get(interaction_id, []):
            queue.put_nowait(interaction.status())

    def subscribers(self, interaction_id: str) -> int:
        return len(self._subscribers.get(interaction_id, []))

    async def leave(self, interaction_id: str) -> None:
        self.left.append(interaction_id)
        interaction = self.items[interaction_id]
        if interaction.state is not State.ENDED:
            reason = (EndReason.CUSTOMER_LEFT if interaction.state is State.CONNECTED
                      else EndReason.ABANDONED)
            self.update(interaction_id, state=State.ENDED, end_reason=reason)

    def get(self, interaction_id: str) -> Interaction | None:
        return self.items.get(interaction_id)

    async def set_paused(self, username: str, paused: bool, reason: str) -> None:
        if self.fail_pause:
            raise RuntimeError("QueuePause failed")
        self.paused.append((username, paused, reason))


AGENT_REF = AgentRef("alice", "PJSIP/1001", "Agent Alice")


@dataclass
class Web:
    client: TestClient
    fake: FakeInteractions
    hub: AgentHub
    config: Config

    async def create(self, **context: Any) -> dict[str, Any]:
        response = await self.client.post("/api/v1/interactions",
                                          json={"category": "billing", **context})
        assert response.status == 201, await response.text()
        body: dict[str, Any] = await response.json()
        return body


WebFactory = Callable[..., Awaitable[Web]]


@pytest.fixture
async def web_factory() -> AsyncIterator[WebFactory]:
    clients: list[TestClient] = []

    async def factory(config: Config | None = None, grace: float = 0.5,
                      first_attach: float = 30.0) -> Web:
        config = config or make_config()
        fake, hub = FakeInteractions(), AgentHub()
        app = build_web_app(config, fake, hub, AgentDirectory(config.agents),
                            reconnect_grace=grace, first_attach_grace=first_attach)
        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        clients.append(client)
        return Web(client, fake, hub, config)

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture
async def web(web_factory: WebFactory) -> Web:
    return await web_factory()


async def wait_for(predicate: Callable[[], bool], within: float = 3.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
