"""The supervisor side of the agent panel: the queue report and the live
wallboard. Same sessions, cookies, CSRF and Origin rules as the agent panel
(:mod:`vidline.web.agent`); only agents whose directory entry has
``role = "supervisor"`` get in, everyone else gets 403.

    GET /agent/supervisor                 the page
    GET /agent/supervisor/report?by=queue|category|hour&from=&to=&format=json|csv
    GET /agent/supervisor/ws?csrf=...     wallboard snapshots, pushed
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from aiohttp import WSMsgType, web

from vidline.agents.sessions import Session
from vidline.config import AgentConfig
from vidline.reporting.db import Database
from vidline.reporting.report import GROUPINGS
from vidline.reporting.report_io import as_csv, as_json, build_report, parse_moment
from vidline.reporting.wallboard import Wallboard, Watcher
from vidline.web.agent import _html, _same_origin, current_session, see_other
from vidline.web.app import STATE, json_error

WALLBOARD = web.AppKey("vidline_wallboard", Wallboard)
WATCHERS = web.AppKey("vidline_wallboard_watchers", dict[str, int])  # username -> sockets
MAX_WATCHERS = 20  # open wallboard sockets per supervisor
REPORT_TIMEOUT = 30.0


def _supervisor(request: web.Request) -> tuple[Session, AgentConfig] | web.Response:
    session = current_session(request)
    if session is None:
        return json_error(401, "not_logged_in", None, "Log in first.")
    agent = request.app[STATE].agents.by_username(session.username)
    if agent is None or agent.role != "supervisor":
        return json_error(403, "not_supervisor", None, "Only supervisors see reports.")
    return session, agent


async def page(request: web.Request) -> web.Response:
    if current_session(request) is None:
        return see_other("/agent/login?next=/agent/supervisor")
    found = _supervisor(request)
    if isinstance(found, web.Response):
        return found
    session, agent = found
    return _html(request, "supervisor.html", agent=agent, csrf_token=session.csrf_token,
                 groupings=GROUPINGS,
                 recordings=request.app[STATE].config.recording.enabled)


def _moment(request: web.Request, name: str) -> datetime | None:
    text = request.query.get(name, "").strip()
    return parse_moment(text) if text else None


async def report(request: web.Request) -> web.Response:
    found = _supervisor(request)
    if isinstance(found, web.Response):
        return found
    by = request.query.get("by", "queue")
    fmt = request.query.get("format", "json")
    if by not in GROUPINGS or fmt not in ("json", "csv"):
        return json_error(400, "bad_request", "by" if by not in GROUPINGS else "format",
                          "by: queue, category or hour; format: json or csv.")
    try:
        start, end = _moment(request, "from"), _moment(request, "to")
    except ValueError as exc:
        return json_error(400, "bad_request", "from", str(exc))
    config = request.app[STATE].config

    def run() -> list[Any]:
        db = Database(config.database.url)
        try:
            return build_report(db, config.reports, by, start, end)
        finally:
            db.close()

    try:
        rows = await asyncio.wait_for(asyncio.to_thread(run), REPORT_TIMEOUT)
    except Exception:  # the database is away or slow: say so, never a traceback
        return json_error(503, "database", None, "The reporting database did not answer.")
    headers = {"Cache-Control": "no-store"}
    if fmt == "csv":
        headers["Content-Disposition"] = f'attachment; filename="vidline-report-{by}.csv"'
        return web.Response(text=as_csv(rows), content_type="text/csv", headers=headers)
    return web.Response(text=as_json(rows, by, start, end), content_type="application/json",
                        headers=headers)


async def wallboard_ws(request: web.Request) -> web.StreamResponse:
    found = _supervisor(request)
    if isinstance(found, web.Response):
        return found
    session, agent = found
    state = request.app[STATE]
    if not _same_origin(request):
        return json_error(403, "origin", None, "Cross-origin WebSocket refused.")
    if not session.csrf_ok(request.query.get("csrf")):
        return json_error(403, "csrf", "csrf", "Missing or wrong CSRF token.")
    wallboard = request.app.get(WALLBOARD)
    if wallboard is None:
        return json_error(503, "no_wallboard", None, "The wallboard is not running.")
    watchers = request.app[WATCHERS]
    if watchers.get(agent.username, 0) >= MAX_WATCHERS:
        return json_error(429, "too_many_boards", None, "Too many open wallboards.")
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024)
    await ws.prepare(request)
    state.sockets.add(ws)
    watchers[agent.username] = watchers.get(agent.username, 0) + 1
    watcher = wallboard.watch()
    sender = asyncio.create_task(_send(watcher, ws))
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await ws.send_json({"type": "error", "message": "the wallboard only talks"})
    finally:
        wallboard.unwatch(watcher)
        watchers[agent.username] -= 1
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
    return ws


async def _send(watcher: Watcher, ws: web.WebSocketResponse) -> None:
    dropped = asyncio.ensure_future(watcher.dropped.wait())
    get: asyncio.Future[dict[str, Any]] | None = None
    try:
        while True:
            get = asyncio.ensure_future(watcher.queue.get())
            done, _ = await asyncio.wait({get, dropped}, return_when=asyncio.FIRST_COMPLETED)
            if get in done:
                try:
                    await ws.send_json(get.result())
                except ConnectionError:
                    return
            else:
                get.cancel()
                await ws.close(code=4000, message=b"too slow")
                return
    finally:
        # both: a sender cancelled mid-wait must not leave a Queue.get task behind
        dropped.cancel()
        if get is not None:
            get.cancel()


async def _close_wallboard(app: web.Application) -> None:
    wallboard = app.get(WALLBOARD)
    if wallboard is not None:
        await wallboard.close()


def add_routes(app: web.Application, wallboard: Wallboard | None) -> None:
    app[WATCHERS] = {}
    if wallboard is not None:
        app[WALLBOARD] = wallboard
        app.on_cleanup.append(_close_wallboard)
    app.router.add_get("/agent/supervisor", page)
    app.router.add_get("/agent/supervisor/report", report)
    app.router.add_get("/agent/supervisor/ws", wallboard_ws)
