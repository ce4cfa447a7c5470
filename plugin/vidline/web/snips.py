"""Snips over HTTP: ``POST /agent/api/interactions/{id}/snips?source=video``.

The agent's panel (agent_panel/static/snip.js) posts one PNG (the region of
the customer's video, the shared screen or the co-browsing view it selected,
with its annotations) as the raw body, ``Content-Type: image/png``, the
session's CSRF token in ``X-CSRF-Token``. Only the agent the PBX connected
to the interaction may, while vidline still holds it. The server checks the
file is one well-formed PNG (signature, IHDR, every chunk's CRC, IEND last)
within the size and pixel caps, stores it under the recording directory's
``snips/`` for the interaction with a name of its own making, and notes a
``snip`` journal entry {file, size, width, height, source}.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from vidline.interactions.journal import SNIP
from vidline.interactions.state import State
from vidline.recording.paths import SNIPS_META, snips_dir
from vidline.web.agent import _same_origin, current_session
from vidline.web.app import STATE, json_error
from vidline.web.customer import ID_RE

MAX_BYTES = 8 * 1024 * 1024
MAX_SIDE = 8192  # pixels: a 4K screen share fits, a decompression bomb does not
MAX_PER_INTERACTION = 200
SOURCES = ("video", "screen", "cobrowse")
SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """Why a body is not a PNG we keep (the text goes to the agent)."""


@dataclass(frozen=True, slots=True)
class PngInfo:
    width: int
    height: int


def check_png(data: bytes, max_side: int = MAX_SIDE) -> PngInfo:
    """Walks every chunk (no decompression): the image's size if ``data``
    is exactly one well-formed PNG."""
    if not data.startswith(SIGNATURE):
        raise PngError("The file is not a PNG (no PNG signature).")
    pos, first, info = len(SIGNATURE), True, None
    while True:
        if pos + 12 > len(data):
            raise PngError("The PNG is cut short.")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        end = pos + 12 + length
        if length > len(data) or end > len(data):
            raise PngError("The PNG is cut short.")
        body = data[pos + 8:end - 4]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[end - 4:end])[0]:
            raise PngError(f"The PNG's {kind.decode('latin-1')!r} chunk is damaged.")
        if first:
            if kind != b"IHDR" or length != 13:
                raise PngError("The PNG does not start with its header.")
            width, height = struct.unpack(">II", body[:8])
            if not (0 < width <= max_side and 0 < height <= max_side):
                raise PngError(f"The image must be 1 to {max_side} pixels on each side.")
            info = PngInfo(width, height)
            first = False
        pos = end
        if kind == b"IEND":
            break
    if pos != len(data):
        raise PngError("The PNG has data after its end.")
    assert info is not None
    return info


def _store(directory: Path, source: str, data: bytes, queue: str) -> str:
    """Writes the file (in a thread); its name."""
    directory.mkdir(parents=True, exist_ok=True)
    meta = directory / SNIPS_META
    if not meta.exists():
        # the queue decides the retention (`vidline recordings prune`), also
        # when no recording manifest sits next to the snips
        meta.write_text(json.dumps({"queue": queue}), encoding="utf-8")
    existing = sum(1 for p in directory.iterdir() if p.suffix == ".png")
    if existing >= MAX_PER_INTERACTION:
        raise PngError(f"This interaction already has {MAX_PER_INTERACTION} snips.")
    name = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{secrets.token_hex(4)}-{source}.png"
    fd = os.open(directory / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return name


async def _read_body(request: web.Request) -> bytes | None:
    """The body, or None when it is over MAX_BYTES (read as a stream: the
    app's client_max_size is for small forms)."""
    if (request.content_length or 0) > MAX_BYTES:
        return None
    parts, size = [], 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            return None
        parts.append(chunk)
    return b"".join(parts)


async def post_snip(request: web.Request) -> web.Response:
    state = request.app[STATE]
    session = current_session(request)
    if session is None:
        return json_error(401, "not_logged_in", None, "Log in first.")
    if not _same_origin(request) or not session.csrf_ok(request.headers.get("X-CSRF-Token")):
        return json_error(403, "csrf", "csrf_token", "Missing or wrong CSRF token.")
    interaction_id = request.match_info["id"]
    interaction = state.interactions.get(interaction_id) \
        if ID_RE.fullmatch(interaction_id) else None
    if (interaction is None or interaction.agent is None
            or interaction.agent.username != session.username
            or interaction.state not in (State.CONNECTED, State.ENDED)):
        return json_error(404, "not_found", "id", "No call of yours with that id.")
    source = request.query.get("source", "")
    if source not in SOURCES:
        return json_error(400, "invalid", "source", "source must be one of: "
                          + ", ".join(SOURCES) + ".")
    if request.content_type != "image/png":
        return json_error(415, "unsupported_media_type", "body", "Send image/png.")
    data = await _read_body(request)
    if data is None:
        return json_error(413, "body_too_large", "body",
                          f"A snip may be at most {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        info = check_png(data)
        directory = snips_dir(Path(state.config.recording.directory), interaction.id,
                              interaction.created_at)
        name = await asyncio.to_thread(_store, directory, source, data,
                                       interaction.queue or interaction.route.queue)
    except PngError as exc:
        return json_error(400, "invalid", "body", str(exc))
    except OSError:
        return json_error(507, "storage", None, "The snip could not be stored.")
    entry = {"file": name, "size": len(data), "width": info.width, "height": info.height,
             "source": source}
    state.journal.note(interaction.id, SNIP, entry)
    return web.json_response({"interaction": interaction.id, **entry}, status=201,
                             headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/agent/api/interactions/{id}/snips", post_snip)
