"""Recordings in the agent panel: the list, the playback page, the files.

    GET /agent/recordings                    the sets you may see (session)
    GET /agent/recordings/{id}               playback page (session; 403 if not
                                             yours, unless supervisor) -> audit "play"
    GET /agent/recordings/{id}/f/{name}      one file, by signed link only
                                             (?u&r&e&s); Range requests served;
                                             ?dl=1 as an attachment -> audit "download"
    GET /agent/recordings/{id}/zip           the whole set as one zip, signed link
                                             -> audit "download"

Access rules and signing: :mod:`vidline.recording.access`. An audit row
that cannot be written refuses the access (503): nothing is shown unlogged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from vidline.recording import catalog
from vidline.recording.access import AuditLog, Signer, may_see
from vidline.recording.service import RecordingService
from vidline.web.agent import _html, current_session, see_other
from vidline.web.app import STATE, client_address, json_error

log = logging.getLogger(__name__)
LIST_LIMIT = 200
FIRST_FETCH = ("", "bytes=0-")  # Range headers of a first fetch (audited once per load)


@dataclass
class RecordingsWeb:
    service: RecordingService
    signer: Signer
    audit: AuditLog

    @property
    def root(self) -> Path:
        return self.service.root


RECORDINGS = web.AppKey("vidline_recordings", RecordingsWeb)


def _who(request: web.Request) -> tuple[str, str] | None:
    session = current_session(request)
    if session is None:
        return None
    agent = request.app[STATE].agents.by_username(session.username)
    return None if agent is None else (agent.username, agent.role)


async def _audit(request: web.Request, user: str, role: str, interaction_id: str, action: str,
                 file: str | None) -> bool:
    rec = request.app[RECORDINGS]
    try:
        await asyncio.to_thread(rec.audit.write, user, role, interaction_id, action, file,
                                client_address(request))
    except Exception:
        log.exception("recording audit row for %s not written", interaction_id)
        return False
    return True


def _link(rec: RecordingsWeb, user: str, role: str, interaction_id: str, name: str) -> str:
    query = urlencode(rec.signer.sign(user, role, interaction_id, name))
    if name == "*":
        return f"/agent/recordings/{interaction_id}/zip?{query}"
    return f"/agent/recordings/{interaction_id}/f/{name}?{query}"


def _utc(at: object) -> str:
    if not isinstance(at, (int, float)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))


async def list_page(request: web.Request) -> web.Response:
    who = _who(request)
    if who is None:
        return see_other(f"/agent/login?next={request.path}")
    user, role = who
    rec = request.app[RECORDINGS]
    sets = await asyncio.to_thread(catalog.newest, rec.root, LIST_LIMIT,
                                   lambda s: may_see(user, role, s.agent))
    rows = [{"id": s.interaction_id, "started": _utc(s.manifest.get("started_at")),
             "queue": s.manifest.get("queue"), "agent": s.agent,
             "status": s.manifest.get("status")} for s in sets]
    alerts = list(rec.service.alerts) if role == "supervisor" else []
    return _html(request, "playback.html", mode="list", user=user, role=role, rows=rows,
                 alerts=alerts, data_json="{}", cobrowse=False)


async def playback_page(request: web.Request) -> web.Response:
    interaction_id = request.match_info["id"]
    who = _who(request)
    if who is None:
        return see_other(f"/agent/login?next={request.path}")
    user, role = who
    rec = request.app[RECORDINGS]
    found = await asyncio.to_thread(catalog.find, rec.root, interaction_id)
    if found is None:
        return json_error(404, "not_found", "id", "no recording of that interaction")
    if not may_see(user, role, found.agent):
        return json_error(403, "forbidden", "id",
                          "agents may only play back their own interactions")
    if not await _audit(request, user, role, interaction_id, "play", None):
        return json_error(503, "audit_unavailable", None, "the audit log cannot be written")
    names = await asyncio.to_thread(found.files)
    links = {name: _link(rec, user, role, interaction_id, name) for name in names}
    data = {"interaction": interaction_id, "manifest": found.manifest, "links": links,
            "zip": _link(rec, user, role, interaction_id, "*"),
            "expires_in": rec.signer.ttl}
    # inside a <script type="application/json">: "</" must not close the element
    body = json.dumps(data).replace("</", "<\\/")
    return _html(request, "playback.html", mode="play", user=user, role=role, rows=[],
                 alerts=[], data_json=body, interaction_id=interaction_id,
                 cobrowse="agent/cobrowse.js" in request.app[STATE].static)


def _signed(request: web.Request, name: str) -> tuple[str, str, catalog.RecordingSet] | \
        web.Response:
    interaction_id = request.match_info["id"]
    rec = request.app[RECORDINGS]
    checked = rec.signer.check(request.query, interaction_id, name)
    if isinstance(checked, str):
        return json_error(403, "forbidden", "s", checked)
    found = catalog.find(rec.root, interaction_id)
    if found is None:
        return json_error(404, "not_found", "id", "no recording of that interaction")
    user, role = checked
    if not may_see(user, role, found.agent):  # a role changed since signing: still no
        return json_error(403, "forbidden", "u", "not allowed for this user")
    return user, role, found


async def file_handler(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    checked = await asyncio.to_thread(_signed, request, name)
    if isinstance(checked, web.Response):
        return checked
    user, role, found = checked
    path = found.file(name)
    if path is None:
        return json_error(404, "not_found", "name", "no such file in the recording")
    download = request.query.get("dl") == "1"
    if download or request.headers.get("Range", "") in FIRST_FETCH:
        action = "download" if download else "fetch"
        if not await _audit(request, user, role, found.interaction_id, action, name):
            return json_error(503, "audit_unavailable", None, "the audit log cannot be written")
    headers = {"Cache-Control": "private, no-store"}
    if download:
        headers["Content-Disposition"] = (
            f'attachment; filename="{found.interaction_id}-{path.name}"')
    if path.suffix == ".jsonl":
        headers["Content-Type"] = "application/x-ndjson"
    return web.FileResponse(path, headers=headers)


def _zip(found: catalog.RecordingSet) -> str:
    fd, tmp = tempfile.mkstemp(prefix="vidline-rec-", suffix=".zip")
    os.close(fd)
    # media is already compressed: store, do not deflate
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
        for name in found.files():
            path = found.file(name)
            if path is not None:
                archive.write(path, f"{found.interaction_id}/{name}")
    return tmp


async def zip_handler(request: web.Request) -> web.StreamResponse:
    checked = await asyncio.to_thread(_signed, request, "*")
    if isinstance(checked, web.Response):
        return checked
    user, role, found = checked
    if not await _audit(request, user, role, found.interaction_id, "download", "*.zip"):
        return json_error(503, "audit_unavailable", None, "the audit log cannot be written")
    tmp = await asyncio.to_thread(_zip, found)
    try:
        archive = await asyncio.to_thread(open, tmp, "rb")
    finally:
        await asyncio.to_thread(os.unlink, tmp)  # the open file stays readable
    with archive:
        response = web.StreamResponse(headers={
            "Content-Type": "application/zip", "Cache-Control": "private, no-store",
            "Content-Disposition": f'attachment; filename="recording-{found.interaction_id}.zip"'})
        response.content_length = os.fstat(archive.fileno()).st_size
        await response.prepare(request)
        while chunk := await asyncio.to_thread(archive.read, 256 * 1024):
            await response.write(chunk)
        await response.write_eof()
        return response


async def _close(app: web.Application) -> None:
    await asyncio.to_thread(app[RECORDINGS].audit.close)


def add_routes(app: web.Application, service: RecordingService) -> None:
    config = app[STATE].config
    app[RECORDINGS] = RecordingsWeb(
        service, Signer(config.server.secret_key, config.recording.link_ttl),
        AuditLog(config.database.url))
    app.on_cleanup.append(_close)
    id_part = "{id:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}}"
    app.router.add_get("/agent/recordings", list_page)
    app.router.add_get(f"/agent/recordings/{id_part}", playback_page)
    app.router.add_get(f"/agent/recordings/{id_part}/f/{{name:.+}}", file_handler)
    app.router.add_get(f"/agent/recordings/{id_part}/zip", zip_handler)
