"""Wrap-up over HTTP: ``GET``/``PUT /agent/api/interactions/{id}/wrapup``.

``GET`` returns the configured dispositions and the wrap-up as it stands
(``available: false`` when it is not the agent's call);
``PUT`` (JSON ``{"disposition", "notes", "final"}``, the session's CSRF token
in ``X-CSRF-Token``) stores a draft or, with ``final: true``, saves it for
good (journal ``wrapup``). Only the agent the PBX connected to the
interaction may read or write it, while the call is connected or after it
ended, as long as vidline still holds the interaction (10 minutes after the
end: the journal needs it to reach reporting).
"""

from __future__ import annotations

import json

from aiohttp import web

from vidline.interactions.journal import WRAPUP
from vidline.interactions.state import State
from vidline.interactions.wrapup import WrapupError, Wrapups
from vidline.web.agent import _same_origin, current_session
from vidline.web.app import STATE, json_error
from vidline.web.customer import ID_RE

WRAPUPS = web.AppKey("vidline_wrapups", Wrapups)
MAX_BODY = 96 * 1024


def _owner(request: web.Request) -> tuple[str, str] | web.Response:
    """(interaction id, username) of a request the session may make."""
    interaction_id = request.match_info["id"]
    session = current_session(request)
    if session is None:
        return json_error(401, "not_logged_in", None, "Log in first.")
    if not ID_RE.fullmatch(interaction_id):
        return json_error(404, "not_found", "id", "No such interaction.")
    interaction = request.app[STATE].interactions.get(interaction_id)
    record = request.app[WRAPUPS].get(interaction_id)
    if interaction is not None and interaction.agent is not None \
            and interaction.state in (State.CONNECTED, State.ENDED):
        owner = interaction.agent.username
    else:
        owner = record.agent if record is not None else None
    if owner != session.username:
        return json_error(404, "not_found", "id", "No call of yours with that id.")
    return interaction_id, session.username


def _body(request: web.Request, interaction_id: str) -> dict[str, object]:
    wrapups = request.app[WRAPUPS]
    record = wrapups.get(interaction_id)
    return {"interaction": interaction_id, "dispositions": list(wrapups.dispositions),
            "max_notes": wrapups.max_notes,
            "wrapup": record.wire() if record is not None else None}


async def get_wrapup(request: web.Request) -> web.Response:
    owner = _owner(request)
    if isinstance(owner, web.Response):
        if owner.status != 404:
            return owner
        # the panel asks about whatever its URL names; "not yours" is an
        # answer, not an error (browsers log every 404 to the console)
        return web.json_response({"interaction": None, "available": False},
                                 headers={"Cache-Control": "no-store"})
    return web.json_response({**_body(request, owner[0]), "available": True},
                             headers={"Cache-Control": "no-store"})


async def put_wrapup(request: web.Request) -> web.Response:
    owner = _owner(request)
    if isinstance(owner, web.Response):
        return owner
    interaction_id, username = owner
    session = current_session(request)
    if session is None or not _same_origin(request) \
            or not session.csrf_ok(request.headers.get("X-CSRF-Token")):
        return json_error(403, "csrf", "csrf_token", "Missing or wrong CSRF token.")
    if request.content_type != "application/json":
        return json_error(415, "unsupported_media_type", "body", "Send application/json.")
    if (request.content_length or 0) > MAX_BODY:
        return json_error(413, "body_too_large", "body", f"The body exceeds {MAX_BODY} bytes.")
    try:
        body = json.loads(await request.text())
    except ValueError:
        return json_error(400, "invalid", "body", "The body is not JSON.")
    except web.HTTPRequestEntityTooLarge:  # the app's client_max_size
        return json_error(413, "body_too_large", "body", "The body is too large.")
    state = request.app[STATE]
    if state.interactions.get(interaction_id) is None:
        return json_error(410, "too_late", None,
                          "This interaction is too old to wrap up here.")
    try:
        record = request.app[WRAPUPS].update(interaction_id, username, body)
    except WrapupError as exc:
        return json_error(exc.status, exc.code, exc.field, exc.message)
    if record.saved:
        state.journal.note(interaction_id, WRAPUP, record.journal())
    return web.json_response(_body(request, interaction_id),
                             headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    config = app[STATE].config.wrapup
    app[WRAPUPS] = Wrapups(config.dispositions, config.max_notes)
    path = "/agent/api/interactions/{id}/wrapup"
    app.router.add_get(path, get_wrapup)
    app.router.add_put(path, put_wrapup)
