"""Signalling over the existing WebSockets, and the bridges' registry.

Messages (JSON, both sockets):

    -> {"type": "media-hello"}              <- {"type": "media-config", "rtc": {...},
                                                "agent_video": bool, "video_codec": "VP8"}
    -> {"type": "offer", "sdp": "..."}      <- {"type": "answer", "sdp": "..."}
    -> {"type": "candidate", ...}           ignored: offers carry their candidates
    on any problem                          <- {"type": "media-error", "message": "..."}

The browsers finish ICE gathering before sending an offer and aiortc
answers with all of its candidates, so no trickle is needed; a renegotiation
(screen share) is a new offer. The agent's messages are only accepted from
the agent the PBX connected to that interaction, while it is connected. A
broken or hostile offer gets a ``media-error`` and the interaction goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

from vidline.config import MediaConfig
from vidline.interactions.state import State
from vidline.interactions.store import InteractionStore
from vidline.media.bridge import AGENT, CUSTOMER, CallBridge, SignallingError
from vidline.media.ice import browser_config

log = logging.getLogger(__name__)
MAX_SDP = 60 * 1024


def _sdp(message: dict[str, Any]) -> str:
    sdp = message.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > MAX_SDP:
        raise SignallingError("an offer needs an SDP text (v=0 ...) of at most 60 kB")
    return sdp


class MediaBridges:
    """Creates one ``CallBridge`` per live interaction and closes it when the
    interaction ends (watched through the store's status stream)."""

    def __init__(self, config: MediaConfig, sample_rate: int, store: InteractionStore,
                 on_shared: Callable[[str, str, dict[str, Any]], object] | None = None) -> None:
        """``on_shared(interaction_id, kind, data)`` hears of screen shares."""
        self.config = config
        self.on_shared = on_shared
        self.sample_rate = sample_rate
        self.store = store
        self.bridges: dict[str, CallBridge] = {}
        self._watchers: dict[str, asyncio.Task[None]] = {}
        self._agent_sockets: dict[str, web.WebSocketResponse] = {}  # interaction -> panel
        self._closing = False
        # told of each new bridge before its first offer (the recorder attaches)
        self.on_bridge: Callable[[CallBridge], None] | None = None

    def get(self, interaction_id: str) -> CallBridge | None:
        """The interaction's bridge, created on first use; None once it ended."""
        bridge = self.bridges.get(interaction_id)
        if bridge is not None or self._closing:
            return bridge
        interaction = self.store.get(interaction_id)
        if interaction is None or interaction.state is State.ENDED:
            return None
        bridge = CallBridge(interaction_id, self.config, self.sample_rate)
        if self.on_shared is not None:
            bridge.on_shared = functools.partial(self.on_shared, interaction_id)
            # co-browsing on the data channel goes to the journal too
            bridge.channels.on_note = functools.partial(self.on_shared, interaction_id)
        self.bridges[interaction_id] = bridge
        if self.on_bridge is not None:
            try:
                self.on_bridge(bridge)
            except Exception:  # recording trouble must not cost the call
                log.exception("interaction %s: on_bridge failed", interaction_id)
        self._watchers[interaction_id] = asyncio.ensure_future(self._watch(interaction_id))
        return bridge

    async def _watch(self, interaction_id: str) -> None:
        try:
            async for _status in self.store.subscribe(interaction_id):
                pass  # the stream ends after "ended"
        finally:
            self._watchers.pop(interaction_id, None)
            self._agent_sockets.pop(interaction_id, None)
            bridge = self.bridges.pop(interaction_id, None)
            if bridge is not None:
                await bridge.close()

    async def close(self) -> None:
        self._closing = True
        bridges = list(self.bridges.values())
        self.bridges.clear()
        for bridge in bridges:
            await bridge.close()
        watchers = list(self._watchers.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)

    # -- WebSocket handlers ----------------------------------------------------

    def register(self, app: web.Application) -> None:
        from vidline.web.agent import AGENT_DISPATCHER
        from vidline.web.customer import DISPATCHER

        customer, agent = app[DISPATCHER], app[AGENT_DISPATCHER]
        agent.on_close.append(self._panel_closed)
        for kind in ("media-hello", "offer", "candidate"):
            customer.register(kind, self._customer_message)
            agent.register(kind, self._agent_message)

    async def _customer_message(self, interaction_id: str, message: dict[str, Any],
                                ws: web.WebSocketResponse) -> None:
        await self._handle(CUSTOMER, interaction_id, message, ws)

    async def _agent_message(self, username: str, message: dict[str, Any],
                             ws: web.WebSocketResponse) -> None:
        interaction_id = message.get("interaction")
        interaction = self.store.get(interaction_id) if isinstance(interaction_id, str) \
            else None
        if (interaction is None or interaction.state is not State.CONNECTED
                or interaction.agent is None or interaction.agent.username != username):
            await _send(ws, {"type": "media-error", "interaction": interaction_id,
                             "message": "no connected call of yours with that id"})
            return
        self._agent_sockets[interaction.id] = ws
        await self._handle(AGENT, interaction.id, message, ws)

    async def _panel_closed(self, ws: web.WebSocketResponse) -> None:
        for interaction_id, panel in list(self._agent_sockets.items()):
            if panel is ws:
                del self._agent_sockets[interaction_id]
                bridge = self.bridges.get(interaction_id)
                if bridge is not None:
                    await bridge.reset(AGENT)

    async def _handle(self, side: str, interaction_id: str, message: dict[str, Any],
                      ws: web.WebSocketResponse) -> None:
        kind = message["type"]
        if kind == "candidate":
            return
        if kind == "media-hello":
            bridge = self.get(interaction_id)
            if bridge is not None:
                await bridge.reset(side)  # a (re)loaded page starts with a new peer
            await _send(ws, {"type": "media-config", "interaction": interaction_id,
                             "rtc": browser_config(self.config, interaction_id),
                             "agent_video": self.config.agent_video,
                             "video_codec": self.config.video_codec})
            return
        bridge = self.get(interaction_id)
        try:
            if bridge is None:
                raise SignallingError("the call has ended")
            answer = await bridge.offer(side, _sdp(message))
        except SignallingError as exc:
            await _send(ws, {"type": "media-error", "interaction": interaction_id,
                             "message": str(exc)})
            return
        await _send(ws, {"type": "answer", "interaction": interaction_id, "sdp": answer})


async def _send(ws: web.WebSocketResponse, message: dict[str, Any]) -> None:
    with contextlib.suppress(ConnectionError, RuntimeError):
        await ws.send_json(message)
