"""The CRM customer card on the panel socket.

The pop goes out first, untouched by the CRM; the panel then asks
``{"type": "crm-lookup", "interaction": id}`` and gets, when the connector
answers, ``{"type": "crm-card", "interaction": id, "status": "ok" |
"not_found" | "error" | "off", "card": {...} | null, "message": str | null}``.
A slow or failing CRM therefore only delays its own card. One lookup per
interaction is made and shared by every panel (tab, reload) that asks.
Only an agent the interaction was popped to may ask.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any

from aiohttp import web

from vidline.crm.lookup import CrmConnector, CrmLookupError, load_connector
from vidline.interactions.model import Interaction
from vidline.web.app import STATE, WebState

log = logging.getLogger(__name__)
MAX_CACHED = 1000


class CrmCards:
    def __init__(self, state: WebState, connector: CrmConnector | None) -> None:
        self.state = state
        self.connector = connector
        self._lookups: OrderedDict[str, asyncio.Future[dict[str, Any]]] = OrderedDict()

    def _allowed(self, username: str, interaction: Interaction) -> bool:
        if interaction.agent is not None and interaction.agent.username == username:
            return True
        return any((m.get("interaction") or {}).get("id") == interaction.id
                   for m in self.state.hub.pending(username))

    async def handle(self, username: str, message: dict[str, Any],
                     ws: web.WebSocketResponse) -> None:
        interaction_id = message.get("interaction")
        interaction = self.state.interactions.get(interaction_id) \
            if isinstance(interaction_id, str) else None
        if interaction is None or not self._allowed(username, interaction):
            await _send(ws, _card(interaction_id, "error", None, "no call of yours with that id"))
            return
        if self.connector is None:
            await _send(ws, _card(interaction.id, "off", None, None))
            return
        lookup = self._lookups.get(interaction.id)
        if lookup is None:
            lookup = self.state.spawn(self._lookup(self.connector, interaction))
            self._lookups[interaction.id] = lookup
            while len(self._lookups) > MAX_CACHED:
                self._lookups.popitem(last=False)
        # answered from a task of its own: the panel socket keeps reading
        self.state.spawn(self._answer(lookup, ws))

    async def _lookup(self, connector: CrmConnector, interaction: Interaction) -> dict[str, Any]:
        try:
            card = await connector.lookup(interaction.context)
        except CrmLookupError as exc:
            return _card(interaction.id, "error", None, f"CRM lookup failed: {exc}")
        except Exception:
            log.exception("crm lookup for %s failed", interaction.id)
            return _card(interaction.id, "error", None, "CRM lookup failed (see the server log)")
        if card is None:
            return _card(interaction.id, "not_found", None, "No CRM record for this customer.")
        return _card(interaction.id, "ok", card.wire(), None)

    async def _answer(self, lookup: asyncio.Future[dict[str, Any]],
                      ws: web.WebSocketResponse) -> None:
        await _send(ws, await asyncio.shield(lookup))

    async def close(self) -> None:
        if self.connector is not None:
            await self.connector.close()


def _card(interaction_id: object, status: str, card: dict[str, Any] | None,
          message: str | None) -> dict[str, Any]:
    return {"type": "crm-card", "interaction": interaction_id if isinstance(interaction_id, str)
            else None, "status": status, "card": card, "message": message}


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_json(message)


CRM_CARDS = web.AppKey("vidline_crm_cards", CrmCards)


def add_routes(app: web.Application) -> None:
    from vidline.web.agent import AGENT_DISPATCHER

    state = app[STATE]
    cards = CrmCards(state, load_connector(state.config.crm.lookup))
    app[CRM_CARDS] = cards
    app[AGENT_DISPATCHER].register("crm-lookup", cards.handle)

    async def close(_app: web.Application) -> None:
        await cards.close()

    app.on_cleanup.append(close)
