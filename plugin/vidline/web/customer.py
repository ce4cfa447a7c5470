"""The customer side: the API that accepts a request, its status WebSocket,
the public config the widget reads, the demo customer page and the widget.

Theory of operation of the WebSocket: the token from ``POST`` is the only
credential. The socket streams the service's ``subscribe()`` messages and
reads the customer's messages through a dispatcher (``hangup`` now,
signalling later). A socket that closes before the interaction ended starts
a grace timer: a page reload reattaches within it, otherwise the customer
has left and the service is told so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from vidline.context.validate import ContextError, decode_body, parse_context
from vidline.interactions.state import State
from vidline.web.app import (
    STATE,
    StaticFile,
    WebState,
    client_address,
    json_error,
    serve_static,
)

ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MAX_TOKEN = 256
log = logging.getLogger(__name__)
MAX_WS_MESSAGE = 64 * 1024
MAX_SOCKETS = 4  # per interaction: a few tabs, not an amplifier

Handler = Callable[[str, dict[str, Any], web.WebSocketResponse], Awaitable[None]]


class CustomerDispatcher:
    """Routes the customer's WebSocket messages by ``type``. The media issue
    registers its signalling types here (``offer``, ``candidate``, ...)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        # told when a customer socket opens / closes (the chat sends its
        # history on open and relays to the sockets open at the time)
        self.on_open: list[Callable[[str, web.WebSocketResponse], Awaitable[None]]] = []
        self.on_close: list[Callable[[str, web.WebSocketResponse], Awaitable[None]]] = []

    def register(self, message_type: str, handler: Handler) -> None:
        self._handlers[message_type] = handler

    async def dispatch(self, interaction_id: str, raw: str, ws: web.WebSocketResponse) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            await ws.send_json({"type": "error", "message": "not JSON"})
            return
        kind = message.get("type") if isinstance(message, dict) else None
        handler = self._handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            # the type is not echoed: it is the customer's text
            await ws.send_json({"type": "error", "message": "unknown message type"})
            return
        await handler(interaction_id, message, ws)


DISPATCHER = web.AppKey("vidline_customer_dispatcher", CustomerDispatcher)


async def _read_body(request: web.Request, cap: int) -> bytes | None:
    if request.content_length is not None and request.content_length > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:  # also bounds chunked bodies, which carry no Content-Length
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)


async def create_interaction(request: web.Request) -> web.Response:
    state = request.app[STATE]
    client = client_address(request)
    wait = state.limiter.take(client)
    if wait:
        return json_error(429, "rate_limited", None, "Too many requests; try again later.",
                          {"Retry-After": state.limiter.retry_after(wait)})
    if request.content_type != "application/json":
        return json_error(415, "unsupported_media_type", "body",
                          "Send the context as application/json.")
    cap = state.config.server.max_body_bytes
    body = await _read_body(request, cap)
    if body is None:
        return json_error(413, "body_too_large", "body", f"The body exceeds {cap} bytes.")
    try:
        context = parse_context(decode_body(body), state.config.categories)
    except ContextError as exc:
        return json_error(400, "invalid_context", exc.field, exc.message)
    interaction, token = await state.interactions.create(context, client)
    # a customer who never opens the status socket (the page was closed at
    # once, a script posted and left) must not hold a place in line forever
    state.grace_tasks[interaction.id] = state.spawn(
        _grace(state, interaction.id, state.first_attach_grace))
    secure = request.secure or state.config.server.public_url.startswith("https://")
    ws_url = str(request.url.with_scheme("wss" if secure else "ws")
                 .with_path(f"/api/v1/interactions/{interaction.id}/ws").with_query(None))
    return web.json_response({"id": interaction.id, "token": token, "ws_url": ws_url},
                             status=201, headers={"Cache-Control": "no-store"})


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={
        "Access-Control-Allow-Methods": "GET, POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    })


STRINGS_PREFIX = "widget/strings/"
MAX_LANGS = 10


def widget_language(static: dict[str, StaticFile], wanted: str) -> tuple[str, dict[str, str]]:
    """The first of the browser's languages (``de-AT,fr,en``) the widget has a
    catalogue for (``strings/<lang>.json``, exact tag first, then its primary
    subtag), and that catalogue; English (built into the widget) otherwise.
    The customer's text only selects among the package's own files."""
    for tag in wanted.split(",")[:MAX_LANGS]:
        tag = tag.strip().lower()
        for candidate in (tag, tag.split("-")[0]):
            if candidate == "en":
                return "en", {}
            item = static.get(f"{STRINGS_PREFIX}{candidate}.json")
            if item is not None:
                strings = json.loads(item.body)
                return candidate, {k: v for k, v in strings.items()
                                   if isinstance(k, str) and isinstance(v, str)}
    return "en", {}


async def public_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    lang, strings = widget_language(state.static, request.query.get("lang", "")[:200])
    languages = sorted(name[len(STRINGS_PREFIX):-5] for name in state.static
                       if name.startswith(STRINGS_PREFIX) and name.endswith(".json"))
    return web.json_response({
        "categories": list(state.config.categories),
        "cobrowse": "widget/cobrowse.js" in state.static,
        "languages": ["en", *languages], "lang": lang, "strings": strings,
    }, headers={"Cache-Control": "public, max-age=60"})


async def customer_ws(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    interaction_id = request.match_info["id"]
    token = request.query.get("token", "")
    if (not ID_RE.fullmatch(interaction_id) or not token or len(token) > MAX_TOKEN
            or state.interactions.authorise(interaction_id, token) is None):
        return json_error(403, "forbidden", "token", "Unknown interaction or wrong token.")
    if state.customer_sockets.get(interaction_id, 0) >= MAX_SOCKETS:
        return json_error(429, "too_many_sockets", None,
                          "This request is already open in too many tabs.")
    # compress=False: browsers offer permessage-deflate, and a deflate stream
    # holds ~100 KiB per socket (measured: 77 -> 177 KiB of RSS per waiting
    # customer) to shrink status messages of under 100 bytes
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_WS_MESSAGE, compress=False)
    await ws.prepare(request)
    state.sockets.add(ws)
    _attach(state, interaction_id)
    forward = asyncio.create_task(_forward(state, interaction_id, ws))
    dispatcher = request.app[DISPATCHER]
    try:
        for opened in dispatcher.on_open:
            await opened(interaction_id, ws)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await dispatcher.dispatch(interaction_id, msg.data, ws)
            elif msg.type == WSMsgType.BINARY:
                await ws.send_json({"type": "error", "message": "text frames only"})
    finally:
        for closed in dispatcher.on_close:
            await closed(interaction_id, ws)
        forward.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forward
        _detach(state, interaction_id)
    return ws


async def _forward(state: WebState, interaction_id: str, ws: web.WebSocketResponse) -> None:
    try:
        async for message in state.interactions.subscribe(interaction_id):
            if ws.closed:
                return
            await ws.send_json(message)
        await ws.close()  # the stream ends after 'ended': nothing more to say
    except ConnectionError:
        return  # the customer went away mid-send; the receive loop sees the close
    except Exception:
        # a service bug must not leave a socket that looks alive but says nothing
        log.exception("status stream of %s failed", interaction_id)
        await ws.close(code=WSCloseCode.INTERNAL_ERROR)


def _ended(state: WebState, interaction_id: str) -> bool:
    interaction = state.interactions.get(interaction_id)
    return interaction is None or interaction.state is State.ENDED


def _attach(state: WebState, interaction_id: str) -> None:
    state.customer_sockets[interaction_id] = state.customer_sockets.get(interaction_id, 0) + 1
    grace = state.grace_tasks.pop(interaction_id, None)
    if grace is not None:
        grace.cancel()  # a reload came back in time


def _detach(state: WebState, interaction_id: str) -> None:
    left = state.customer_sockets.get(interaction_id, 1) - 1
    if left > 0:
        state.customer_sockets[interaction_id] = left
        return
    state.customer_sockets.pop(interaction_id, None)
    if not _ended(state, interaction_id) and interaction_id not in state.grace_tasks:
        state.grace_tasks[interaction_id] = state.spawn(_grace(state, interaction_id))


async def _grace(state: WebState, interaction_id: str, delay: float | None = None) -> None:
    try:
        await asyncio.sleep(state.reconnect_grace if delay is None else delay)
    except asyncio.CancelledError:
        return
    if state.grace_tasks.get(interaction_id) is asyncio.current_task():
        del state.grace_tasks[interaction_id]
    if state.customer_sockets.get(interaction_id) or _ended(state, interaction_id):
        return
    await state.interactions.leave(interaction_id)


async def customer_page(request: web.Request) -> web.Response:
    return serve_static(request, request.app[STATE].static["customer/index.html"])


async def widget_file(request: web.Request) -> web.Response:
    """The widget and the scripts it loads beside itself (same directory)."""
    item = request.app[STATE].static.get("widget/" + request.match_info["name"])
    if item is None:
        raise web.HTTPNotFound()
    return serve_static(request, item)


def add_routes(app: web.Application) -> None:
    state = app[STATE]

    async def hangup(interaction_id: str, message: dict[str, Any],
                     ws: web.WebSocketResponse) -> None:
        await state.interactions.leave(interaction_id)

    dispatcher = CustomerDispatcher()
    dispatcher.register("hangup", hangup)
    app[DISPATCHER] = dispatcher
    app.router.add_get("/", customer_page)
    app.router.add_get("/widget/{name:.+}", widget_file)
    app.router.add_get("/api/v1/config/public", public_config)
    app.router.add_route("OPTIONS", "/api/v1/config/public", preflight)
    app.router.add_post("/api/v1/interactions", create_interaction)
    app.router.add_route("OPTIONS", "/api/v1/interactions", preflight)
    app.router.add_get("/api/v1/interactions/{id}/ws", customer_ws)
