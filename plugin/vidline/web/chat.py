"""Text chat over the customer and agent WebSockets (never the data channel).

Wire contract (``.notes``/README): the customer sends ``{"type": "chat",
"text"}`` and ``{"type": "typing"}``; the agent the same plus
``"interaction"`` and, to (re)load a log, ``{"type": "chat-history",
"interaction"}``. Both sides get every ``chat`` message (their own echoed
with its id, so other tabs and a reload agree), ``typing`` from the other
side, ``chat-history`` when a socket opens and when the call connects, and
``chat-error`` for a refused message.

Who may do what: the customer's token is its credential; an agent only for
the interaction the PBX connected to them. Sending is open while the
interaction is connected; the history stays readable afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from vidline.interactions.chat import AGENT, CUSTOMER, ChatError, ChatRoom, ChatRooms
from vidline.interactions.journal import CHAT_MESSAGE
from vidline.interactions.state import State
from vidline.web.app import STATE, WebState

log = logging.getLogger(__name__)


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_json(message)


class ChatRelay:
    def __init__(self, state: WebState, rooms: ChatRooms | None = None) -> None:
        self.state = state
        self.rooms = rooms or ChatRooms()
        self.customers: dict[str, set[web.WebSocketResponse]] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}

    # -- fan-out -------------------------------------------------------------

    async def _to_customer(self, interaction_id: str, message: dict[str, Any]) -> None:
        for ws in tuple(self.customers.get(interaction_id, ())):
            await _send(ws, message)

    def _to_agent(self, room: ChatRoom, message: dict[str, Any]) -> None:
        if room.agent is not None:
            self.state.hub.send(room.agent, message)

    def _room(self, interaction_id: str) -> ChatRoom:
        room = self.rooms.room(interaction_id)
        interaction = self.state.interactions.get(interaction_id)
        if interaction is not None and interaction.agent is not None \
                and interaction.state in (State.CONNECTED, State.ENDED) \
                and interaction.agent.username is not None:
            room.agent = interaction.agent.username
        return room

    def _watch(self, interaction_id: str) -> None:
        """Send the history to both sides when the call connects."""
        if interaction_id not in self._watchers:
            self._watchers[interaction_id] = self.state.spawn(self._follow(interaction_id))

    async def _follow(self, interaction_id: str) -> None:
        try:
            async for status in self.state.interactions.subscribe(interaction_id):
                if status.get("state") == State.CONNECTED.value:
                    room = self._room(interaction_id)
                    await self._to_customer(interaction_id, room.history())
                    self._to_agent(room, room.history())
        except Exception:
            log.exception("chat: following %s failed", interaction_id)
        finally:
            self._watchers.pop(interaction_id, None)

    # -- customer socket -------------------------------------------------------

    async def customer_opened(self, interaction_id: str, ws: web.WebSocketResponse) -> None:
        self.customers.setdefault(interaction_id, set()).add(ws)
        self._watch(interaction_id)
        # while still in line there is nothing to show yet (the chat opens when
        # the call connects, and the history is sent then)
        interaction = self.state.interactions.get(interaction_id)
        room = self.rooms.get(interaction_id)
        if (room is not None and room.messages) or (
                interaction is not None
                and interaction.state in (State.CONNECTED, State.ENDED)):
            await _send(ws, self._room(interaction_id).history())

    async def customer_closed(self, interaction_id: str, ws: web.WebSocketResponse) -> None:
        sockets = self.customers.get(interaction_id)
        if sockets is not None:
            sockets.discard(ws)
            if not sockets:
                del self.customers[interaction_id]

    async def customer_message(self, interaction_id: str, message: dict[str, Any],
                               ws: web.WebSocketResponse) -> None:
        interaction = self.state.interactions.get(interaction_id)
        if interaction is None or interaction.state is not State.CONNECTED:
            await _send(ws, _error(interaction_id, "the chat opens when an agent answers"))
            return
        await self._post(interaction_id, CUSTOMER, None, message, ws)

    async def customer_typing(self, interaction_id: str, message: dict[str, Any],
                              ws: web.WebSocketResponse) -> None:
        interaction = self.state.interactions.get(interaction_id)
        if interaction is not None and interaction.state is State.CONNECTED \
                and self.rooms.typing(interaction_id, CUSTOMER):
            self._to_agent(self._room(interaction_id), _typing(interaction_id, CUSTOMER))

    # -- agent socket ----------------------------------------------------------

    def _agent_room(self, username: str, message: dict[str, Any],
                    live: bool) -> tuple[str | None, ChatRoom | None]:
        interaction_id = message.get("interaction")
        if not isinstance(interaction_id, str) or len(interaction_id) > 64:
            return None, None
        interaction = self.state.interactions.get(interaction_id)
        if live and (interaction is None or interaction.state is not State.CONNECTED):
            return interaction_id, None
        known = self.rooms.get(interaction_id)
        if interaction is None and known is None:
            return interaction_id, None
        room = self._room(interaction_id)
        return interaction_id, room if room.agent == username else None

    async def agent_message(self, username: str, message: dict[str, Any],
                            ws: web.WebSocketResponse) -> None:
        interaction_id, room = self._agent_room(username, message, live=True)
        if room is None or interaction_id is None:
            await _send(ws, _error(interaction_id, "no connected call of yours with that id"))
            return
        agent = self.state.agents.by_username(username)
        name = (agent.display_name or agent.member_name) if agent else username
        await self._post(interaction_id, AGENT, name, message, ws)

    async def agent_typing(self, username: str, message: dict[str, Any],
                           ws: web.WebSocketResponse) -> None:
        interaction_id, room = self._agent_room(username, message, live=True)
        if room is not None and interaction_id is not None \
                and self.rooms.typing(interaction_id, AGENT):
            await self._to_customer(interaction_id, _typing(interaction_id, AGENT))

    async def agent_history(self, username: str, message: dict[str, Any],
                            ws: web.WebSocketResponse) -> None:
        interaction_id, room = self._agent_room(username, message, live=False)
        if room is None or interaction_id is None:
            await _send(ws, _error(interaction_id, "no call of yours with that id"))
            return
        if interaction_id in self.customers:
            self._watch(interaction_id)
        await _send(ws, room.history())

    # -- both ------------------------------------------------------------------

    async def _post(self, interaction_id: str, side: str, name: str | None,
                    message: dict[str, Any], ws: web.WebSocketResponse) -> None:
        try:
            chat = self.rooms.post(interaction_id, side, name, message.get("text"))
        except ChatError as exc:
            await _send(ws, _error(interaction_id, str(exc)))
            return
        self.state.journal.note(interaction_id, CHAT_MESSAGE,
                                {"from": chat.sender, "text": chat.text, "id": chat.id})
        wire = chat.wire()
        await self._to_customer(interaction_id, wire)
        self._to_agent(self._room(interaction_id), wire)


def _error(interaction_id: str | None, text: str) -> dict[str, Any]:
    return {"type": "chat-error", "interaction": interaction_id, "message": text}


def _typing(interaction_id: str, side: str) -> dict[str, Any]:
    return {"type": "typing", "interaction": interaction_id, "from": side}


CHAT = web.AppKey("vidline_chat", ChatRelay)


def add_routes(app: web.Application) -> None:
    from vidline.web.agent import AGENT_DISPATCHER
    from vidline.web.customer import DISPATCHER

    relay = ChatRelay(app[STATE])
    app[CHAT] = relay
    customer, agent = app[DISPATCHER], app[AGENT_DISPATCHER]
    customer.on_open.append(relay.customer_opened)
    customer.on_close.append(relay.customer_closed)
    customer.register("chat", relay.customer_message)
    customer.register("typing", relay.customer_typing)
    agent.register("chat", relay.agent_message)
    agent.register("typing", relay.agent_typing)
    agent.register("chat-history", relay.agent_history)
