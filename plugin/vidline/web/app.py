"""The aiohttp application: customer API and page, widget, agent panel.

``build_web_app`` is the only entry point; the composition root passes the
collaborators in, and this module reads nothing at import time. Handlers
live in :mod:`vidline.web.customer` and :mod:`vidline.web.agent`; this file
holds what they share: the state object, JSON errors, static files and the
security headers every response carries.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import importlib.resources
import re
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import WSCloseCode, web

from vidline.agents.directory import AgentDirectory
from vidline.agents.hub import AgentHub
from vidline.agents.sessions import LoginThrottle, SessionStore
from vidline.config import Config
from vidline.crm.links import CrmLinks
from vidline.interactions.journal import Journal
from vidline.web.api import InteractionsApi
from vidline.web.ratelimit import RateLimiter

if TYPE_CHECKING:
    from vidline.reporting.wallboard import Wallboard

HOST_RE = re.compile(r"[A-Za-z0-9.:\[\]-]{1,255}")


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    content_type: str
    etag: str
    cache_control: str


@dataclass(slots=True)
class WebState:
    config: Config
    interactions: InteractionsApi
    hub: AgentHub
    agents: AgentDirectory
    crm: CrmLinks
    limiter: RateLimiter
    sessions: SessionStore
    throttle: LoginThrottle
    templates: jinja2.Environment
    static: dict[str, StaticFile]
    reconnect_grace: float
    first_attach_grace: float
    secure_cookies: bool
    journal: Journal  # chat, snips, wrap-up... go here (vidline.interactions.journal)
    customer_sockets: dict[str, int] = field(default_factory=dict)
    grace_tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # every open WebSocket, so that shutdown can close them instead of waiting
    # for the browsers (aiohttp would otherwise wait out its shutdown timeout)
    sockets: weakref.WeakSet[web.WebSocketResponse] = field(default_factory=weakref.WeakSet)

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Start a background task the app owns and cancels at cleanup."""
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


STATE = web.AppKey("vidline_web_state", WebState)


def json_error(status: int, code: str, field_name: str | None, message: str,
               headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": code, "field": field_name, "message": message},
                             status=status, headers={"Cache-Control": "no-store",
                                                     **(headers or {})})


def client_address(request: web.Request) -> str:
    # the peer address; behind a reverse proxy every client shares it, so the
    # proxy must do its own per-client limiting (see the README)
    return request.remote or "unknown"


def _static_file(package: str, name: str, content_type: str, cache: str) -> StaticFile:
    body = importlib.resources.files(package).joinpath(name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return StaticFile(body, content_type, etag, cache)


def serve_static(request: web.Request, item: StaticFile) -> web.Response:
    headers = {"ETag": item.etag, "Cache-Control": item.cache_control}
    if item.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(body=item.body, content_type=item.content_type.split(";")[0],
                        charset="utf-8" if "charset" in item.content_type else None,
                        headers=headers)


_TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".html": "text/html; charset=utf-8", ".json": "application/json",
          ".png": "image/png", ".svg": "image/svg+xml", ".map": "application/json"}


def _walk(package: str, prefix: str, cache: str) -> dict[str, StaticFile]:
    """Every file under ``static/`` of ``package`` (built front-end bundles
    included), keyed ``prefix/relative/path``."""
    files: dict[str, StaticFile] = {}
    pending = [("", importlib.resources.files(package).joinpath("static"))]
    while pending:
        rel, node = pending.pop()
        for child in node.iterdir():
            name = f"{rel}{child.name}"
            if child.is_dir():
                pending.append((name + "/", child))
                continue
            kind = _TYPES.get("." + child.name.rsplit(".", 1)[-1])
            if kind is not None:
                files[f"{prefix}/{name}"] = _static_file(package, f"static/{name}", kind, cache)
    return files


def _load_static() -> dict[str, StaticFile]:
    # the widget is cached for a while by embedding sites; the rest revalidates
    static = {**_walk("vidline.widget", "widget", "public, max-age=300"),
              **_walk("vidline.agent_panel", "agent", "no-cache")}
    static["customer/index.html"] = dataclasses.replace(
        static.pop("widget/index.html"), cache_control="no-cache")
    return static


# the panel's tool scripts, in load order; a tool whose script is not in the
# package (not built yet) is left out of the page
PANEL_TOOLS = ("chat", "wrapup", "crm", "cobrowse", "snip")


def panel_tools(state: WebState) -> list[str]:
    return [tool for tool in PANEL_TOOLS if f"agent/{tool}.js" in state.static]


def _csp(request: web.Request, state: WebState) -> str:
    host = request.host if HOST_RE.fullmatch(request.host or "") else None
    connect = "'self'" + (f" ws://{host} wss://{host}" if host else "")
    agent = request.path.startswith("/agent")
    frame_src = "'none'"
    if agent and state.crm.open_in == "iframe":
        frame_src = state.crm.frame_origin() or "https: http:"
    # the customer page may be framed where the operator says; the agent
    # panel by itself and by the agent desktops the operator lists (its
    # buttons must not be clickjacked by anyone else)
    server = state.config.server
    ancestors = " ".join(server.agent_frame_ancestors if agent else server.frame_ancestors)
    style, img = "style-src 'self'", "img-src 'self' data:"
    if request.path == "/agent/" or request.path.startswith("/agent/i/"):
        # the co-browsing replay (rrweb) is an about:blank iframe, sandboxed
        # without scripts, that inherits this policy: the customer's page
        # needs its inline styles, stylesheets, images and fonts there;
        # scripts stay 'self'
        style = "style-src 'self' 'unsafe-inline' https:"
        img = "img-src 'self' data: https:"
        img += "; font-src 'self' data: https:"
    return "; ".join((
        "default-src 'none'", "script-src 'self'", style, img,
        "media-src 'self'",  # recordings played back (vidline.web.recordings)
        f"connect-src {connect}", f"frame-src {frame_src}", f"frame-ancestors {ancestors}",
        "base-uri 'none'", "form-action 'self'",
    ))


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    state = request.app[STATE]
    response.headers["Content-Security-Policy"] = _csp(request, state)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # "same-origin", not "no-referrer": with no-referrer Chromium sends
    # "Origin: null" on our own form posts, which the login Origin check refuses
    response.headers["Referrer-Policy"] = "same-origin"
    if request.path.startswith("/api/v1/") and not request.path.endswith("/ws"):
        # the widget runs on the operator's own site and calls us from there;
        # no cookies are involved, the interaction token is the credential
        response.headers["Access-Control-Allow-Origin"] = "*"
    if request.path.startswith("/widget/"):
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"


async def _shutdown(app: web.Application) -> None:
    for ws in list(app[STATE].sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


async def _cleanup(app: web.Application) -> None:
    state = app[STATE]
    tasks = list(state.tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def build_web_app(config: Config, interactions: InteractionsApi, hub: AgentHub,
                  agents: AgentDirectory, *, reconnect_grace: float = 5.0,
                  first_attach_grace: float = 30.0,
                  wallboard: Wallboard | None = None,
                  journal: Journal | None = None) -> web.Application:
    """The whole HTTP/WebSocket surface. ``reconnect_grace`` is how long a
    customer socket may stay closed (a page reload) before the customer is
    taken to have left; ``first_attach_grace`` how long a new interaction may
    wait for its first status socket."""
    from vidline.web import agent, customer, supervisor  # handlers import STATE from here

    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(
            str(importlib.resources.files("vidline.agent_panel").joinpath("templates"))),
        autoescape=True, undefined=jinja2.StrictUndefined)
    state = WebState(
        config=config, interactions=interactions, hub=hub, agents=agents,
        crm=CrmLinks(config.crm), limiter=RateLimiter(config.server.requests_per_minute),
        sessions=SessionStore(), throttle=LoginThrottle(), templates=templates,
        static=_load_static(), reconnect_grace=reconnect_grace,
        first_attach_grace=first_attach_grace,
        secure_cookies=config.server.public_url.startswith("https://"),
        journal=journal or Journal(lambda _id: None),
    )
    # form posts (login) are tiny; the customer API enforces its own cap
    app = web.Application(client_max_size=max(config.server.max_body_bytes, 8192))
    app[STATE] = state
    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(_shutdown)
    app.on_cleanup.append(_cleanup)
    customer.add_routes(app)
    agent.add_routes(app)
    supervisor.add_routes(app, wallboard)  # the wallboard: vidline.reporting.wallboard
    # the panel's tools: chat, wrap-up, CRM card
    from vidline.web.chat import add_routes as add_chat
    from vidline.web.crm import add_routes as add_crm
    from vidline.web.wrapup import add_routes as add_wrapup

    add_chat(app)
    add_wrapup(app)
    add_crm(app)
    from vidline.web.snips import add_routes as add_snips

    add_snips(app)  # the snipping tool's PNGs
    return app
