"""The agent side: login/logout, the panel pages and the panel WebSocket.

Security model: a random session id in an HttpOnly cookie scoped to
``/agent`` (SameSite=Strict unless ``server.agent_cookie_samesite`` says
otherwise, for an agent desktop that frames the panel from another site);
a per-session CSRF token (synchronizer) that every state-changing request
sends back (form field ``csrf_token`` or header ``X-CSRF-Token``; the
WebSocket in its query or first message); the login form itself is
protected by a double-submit cookie; an Origin header, when present, must
be our own. Failed logins are throttled by
:class:`vidline.agents.sessions.LoginThrottle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web
from yarl import URL

from vidline.agents.hub import AgentConnection, PopQueueClosed
from vidline.agents.passwords import dummy_verify, verify_password
from vidline.agents.sessions import SESSION_TTL, Session
from vidline.web.app import (
    STATE,
    WebState,
    client_address,
    json_error,
    panel_tools,
    serve_static,
)
from vidline.web.customer import ID_RE

SESSION_COOKIE = "vidline_session"
LOGIN_COOKIE = "vidline_login_csrf"
PAUSE_REASONS = ("Break", "Lunch", "Meeting", "Training", "After-call work", "Other")
REASON_RE = re.compile(r"[A-Za-z0-9 _-]{0,32}")
HELLO_TIMEOUT = 10.0
MAX_FIELD = 256
MAX_PANELS = 10  # open panel sockets per agent
# an SDP offer with three video m-lines is ~15 kB; room for that and more
MAX_AGENT_WS_MESSAGE = 64 * 1024

AgentHandler = Callable[[str, dict[str, Any], web.WebSocketResponse], Awaitable[None]]


class AgentDispatcher:
    """Routes agent WebSocket messages beyond hello/pause by ``type``; the
    media bridge registers its signalling here. Handlers get the logged-in
    username, the message and the socket."""

    def __init__(self) -> None:
        self.handlers: dict[str, AgentHandler] = {}
        # told when a panel socket closes: a closed panel's media is released
        # at once instead of when ICE consent runs out (30 s)
        self.on_close: list[Callable[[web.WebSocketResponse], Awaitable[None]]] = []

    def register(self, message_type: str, handler: AgentHandler) -> None:
        self.handlers[message_type] = handler

    async def closed(self, ws: web.WebSocketResponse) -> None:
        for callback in self.on_close:
            await callback(ws)


AGENT_DISPATCHER = web.AppKey("vidline_agent_dispatcher", AgentDispatcher)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser cross-site request (browsers send Origin on POST/WS)
    public = URL(request.app[STATE].config.server.public_url)
    return origin in (f"{request.scheme}://{request.host}", str(public.origin()))


def current_session(request: web.Request) -> Session | None:
    return request.app[STATE].sessions.get(request.cookies.get(SESSION_COOKIE))


def see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location, "Cache-Control": "no-store"})


def _safe_next(value: str | None) -> str:
    # only our own panel paths: no scheme, no host, no //evil or /\evil
    if value and re.fullmatch(r"/agent/(i/[0-9a-f-]{36}|supervisor)?", value):
        return value
    return "/agent/"


def _html(request: web.Request, template: str, status: int = 200, **values: Any) -> web.Response:
    body = request.app[STATE].templates.get_template(template).render(**values)
    return web.Response(text=body, status=status, content_type="text/html",
                        headers={"Cache-Control": "no-store"})


def _wants_json(request: web.Request) -> bool:
    return request.content_type == "application/json"


async def login_page(request: web.Request) -> web.Response:
    if current_session(request) is not None:
        return see_other(_safe_next(request.query.get("next")))
    return _login_form(request, None, "", 200)


def _login_form(request: web.Request, error: str | None, username: str,
                status: int) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = _html(request, "login.html", status, csrf_token=token, error=error,
                     username=username, next=_safe_next(request.query.get("next")))
    response.set_cookie(LOGIN_COOKIE, token, path="/agent/login", httponly=True,
                        samesite=request.app[STATE].config.server.agent_cookie_samesite,
                        secure=request.app[STATE].secure_cookies, max_age=3600)
    return response


async def login(request: web.Request) -> web.Response:
    state = request.app[STATE]
    as_json = _wants_json(request)
    fields = await _fields(request)
    if fields is None:
        return json_error(400, "bad_request", "body", "Send a form or a JSON object.")
    username = fields.get("username", "")[:64]
    password = fields.get("password", "")
    sent = fields.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if (not _same_origin(request) or not cookie
            or not hmac.compare_digest(sent.encode("utf-8", "surrogatepass"),
                                        cookie.encode("utf-8", "surrogatepass"))):
        return _refuse(request, as_json, 403, "csrf",
                       "The login form expired. Reload the page and try again.", username)
    client = client_address(request)
    locked = state.throttle.locked_for(username, client)
    if locked:
        minutes = max(1, round(locked / 60))
        return _refuse(request, as_json, 429, "locked",
                       f"Too many failed logins. Try again in about {minutes} minute"
                       f"{'s' if minutes != 1 else ''}.", username,
                       {"Retry-After": str(int(locked) + 1)})
    agent = state.agents.by_username(username)
    loop = asyncio.get_running_loop()
    if agent is None:  # same cost as a real check: usernames do not leak by timing
        ok = await loop.run_in_executor(None, dummy_verify, password)
    else:
        ok = await loop.run_in_executor(None, verify_password, password, agent.password_hash)
    if not ok or agent is None:
        state.throttle.failed(username, client)
        return _refuse(request, as_json, 401, "bad_credentials",
                       "Wrong username or password.", username)
    state.throttle.succeeded(username)
    session = state.sessions.create(agent.username)
    if as_json:
        response: web.Response = web.json_response(
            {"username": agent.username, "csrf_token": session.csrf_token},
            headers={"Cache-Control": "no-store"})
    else:
        response = see_other(_safe_next(fields.get("next")))
    # SameSite from the config: "Strict" unless the panel runs in a cross-site
    # iframe of the agent desktop ("None", https only); CSRF tokens and the
    # Origin check guard the state-changing requests either way
    response.set_cookie(SESSION_COOKIE, session.id, path="/agent", httponly=True,
                        samesite=state.config.server.agent_cookie_samesite,
                        secure=state.secure_cookies, max_age=int(SESSION_TTL))
    response.del_cookie(LOGIN_COOKIE, path="/agent/login")
    return response


async def _fields(request: web.Request) -> dict[str, str] | None:
    try:
        if _wants_json(request):
            data = await request.json(loads=json.loads)
            if not isinstance(data, dict):
                return None
        else:
            data = dict(await request.post())
    except (ValueError, UnicodeDecodeError):
        return None
    return {k: v[:MAX_FIELD] if k != "password" else v[:1024]
            for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


def _refuse(request: web.Request, as_json: bool, status: int, code: str, message: str,
            username: str, headers: dict[str, str] | None = None) -> web.Response:
    if as_json:
        return json_error(status, code, "username" if code != "csrf" else "csrf_token",
                          message, headers)
    response = _login_form(request, message, username, status)
    response.headers.update(headers or {})
    return response


def _check_csrf(request: web.Request, session: Session, fields: dict[str, str]) -> bool:
    sent = fields.get("csrf_token") or request.headers.get("X-CSRF-Token")
    return _same_origin(request) and session.csrf_ok(sent)


async def logout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    session = current_session(request)
    fields = await _fields(request) or {}
    if session is None:
        return see_other("/agent/login")
    if not _check_csrf(request, session, fields):
        return json_error(403, "csrf", "csrf_token", "Missing or wrong CSRF token.")
    state.sessions.delete(session.id)
    state.hub.close_session(session.id)
    response: web.Response
    if _wants_json(request):
        response = web.json_response({"ok": True})
    else:
        response = see_other("/agent/login")
    response.del_cookie(SESSION_COOKIE, path="/agent")
    return response


async def panel(request: web.Request) -> web.Response:
    focus = request.match_info.get("id")
    if focus is not None and not ID_RE.fullmatch(focus):
        raise web.HTTPNotFound()
    session = current_session(request)
    if session is None:
        return see_other(f"/agent/login?next={request.path}")
    state = request.app[STATE]
    agent = state.agents.by_username(session.username)
    if agent is None:  # removed from the config since login
        state.sessions.delete(session.id)
        return see_other("/agent/login")
    return _html(request, "panel.html", agent=agent, csrf_token=session.csrf_token,
                 focus_id=focus or "", crm_open_in=state.crm.open_in, reasons=PAUSE_REASONS,
                 tools=panel_tools(state), recordings=state.config.recording.enabled)


async def panel_static(request: web.Request) -> web.Response:
    item = request.app[STATE].static.get("agent/" + request.match_info["name"])
    if item is None:
        raise web.HTTPNotFound()
    return serve_static(request, item)


async def agent_ws(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    session = current_session(request)
    if session is None:
        return json_error(401, "not_logged_in", None, "Log in first.")
    if not _same_origin(request):
        return json_error(403, "origin", None, "Cross-origin WebSocket refused.")
    if state.hub.connection_count(session.username) >= MAX_PANELS:
        return json_error(429, "too_many_panels", None, "Too many open panels.")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=MAX_AGENT_WS_MESSAGE)
    await ws.prepare(request)
    state.sockets.add(ws)
    if not session.csrf_ok(request.query.get("csrf")) and not await _hello(ws, session):
        await ws.send_json({"type": "error", "message": "missing or wrong CSRF token"})
        await ws.close(code=4403, message=b"csrf")
        return ws
    agent = state.agents.by_username(session.username)
    await ws.send_json({"type": "hello", "username": session.username,
                        "member_name": agent.member_name if agent else session.username})
    connection = state.hub.attach(session.username, session.id)
    sender = asyncio.create_task(_send_pops(connection, ws))
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await _agent_message(state, session, msg.data, ws, request.app[AGENT_DISPATCHER])
    finally:
        state.hub.detach(connection)
        await request.app[AGENT_DISPATCHER].closed(ws)
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


async def _hello(ws: web.WebSocketResponse, session: Session) -> bool:
    try:
        msg = await ws.receive(timeout=HELLO_TIMEOUT)
        data = json.loads(msg.data) if msg.type == WSMsgType.TEXT else None
    except (TimeoutError, ValueError):
        return False
    return (isinstance(data, dict) and data.get("type") == "hello"
            and session.csrf_ok(data.get("csrf")))


async def _send_pops(connection: AgentConnection, ws: web.WebSocketResponse) -> None:
    # one await per pop (the queue's get() is a plain future): a pop reaches
    # the socket in the loop pass after it was queued, not two passes later
    queue = connection.queue
    while True:
        try:
            message = await queue.get()
        except PopQueueClosed:
            # logged out, or too slow to read its pops: close so it reloads
            await ws.close(code=4000 if connection.overflowed else 4401)
            return
        try:
            await ws.send_json(message)
        except ConnectionError:
            return  # the panel went away; the receive loop sees the close


async def _agent_message(state: WebState, session: Session, raw: str,
                         ws: web.WebSocketResponse, dispatcher: AgentDispatcher) -> None:
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        await ws.send_json({"type": "error", "message": "not a JSON object"})
        return
    if data.get("type") == "hello":
        return  # a client that sends hello after a query token: harmless
    kind = data.get("type")
    handler = dispatcher.handlers.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        await handler(session.username, data, ws)
        return
    if data.get("type") != "pause":
        await ws.send_json({"type": "error", "message": "unknown message type"})
        return
    paused, reason = data.get("paused"), data.get("reason", "")
    if not isinstance(paused, bool) or not isinstance(reason, str) \
            or not REASON_RE.fullmatch(reason):
        await ws.send_json({"type": "error", "message": "pause needs paused (true/false) "
                            "and a reason of up to 32 letters, digits, spaces, _ or -"})
        return
    reason = reason if paused else ""
    try:
        await state.interactions.set_paused(session.username, paused, reason)
    except Exception:  # the PBX refused or is away: the agent must know
        await ws.send_json({"type": "error", "message": "the PBX did not accept the change"})
        return
    state.hub.set_presence(session.username, paused, reason)


def add_routes(app: web.Application) -> None:
    app[AGENT_DISPATCHER] = AgentDispatcher()
    app.router.add_get("/agent/login", login_page)
    app.router.add_post("/agent/login", login)
    app.router.add_post("/agent/logout", logout)
    app.router.add_get("/agent/", panel)
    app.router.add_get("/agent/i/{id}", panel)
    app.router.add_get("/agent/ws", agent_ws)
    app.router.add_get("/agent/static/{name:.+}", panel_static)
    app.router.add_get("/agent", _to_panel)


async def _to_panel(request: web.Request) -> web.Response:
    return see_other("/agent/")
