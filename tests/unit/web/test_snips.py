"""The snips endpoint against an in-process app: who may post, what a PNG
must look like, where it lands and what the journal hears."""

from __future__ import annotations

import dataclasses
import json
import struct
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.web.conftest import AGENT_REF, make_config
from tests.integration.web.test_agent_http import panel_csrf
from tests.integration.web.test_chat import agent, make_web
from vidline.interactions.state import State
from vidline.recording.paths import snips_dir
from vidline.web.snips import PngError, check_png


def png(width: int, height: int, rgba: bytes | None = None) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))
    row = rgba or b"\x10\x20\x30\xff" * width
    raw = b"".join(b"\x00" + row for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6,
                                                               0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_check_png_accepts_one_whole_png_only() -> None:
    good = png(3, 2)
    assert check_png(good).width == 3 and check_png(good).height == 2
    cases = {
        b"GIF89a" + good[6:]: "signature",
        good[:-5]: "cut short",
        good + b"x": "after its end",
        good[:30] + bytes([good[30] ^ 1]) + good[31:]: "damaged",
        png(9000, 1): "pixels",
        png(1, 1)[:8] + png(1, 1)[33:]: "header",  # IDAT first
    }
    for data, why in cases.items():
        with pytest.raises(PngError, match=why):
            check_png(data)


@pytest.fixture
async def snip_web(tmp_path: Path) -> AsyncIterator[Any]:
    config = make_config()
    config = dataclasses.replace(config, recording=dataclasses.replace(
        config.recording, directory=str(tmp_path)))
    web_ = await make_web(config)
    yield web_, web_.entries, tmp_path
    await web_.client.close()


async def test_snip_is_stored_for_the_owning_agent_and_journaled(snip_web: Any) -> None:
    web_, entries, root = snip_web
    iid = (await web_.create())["id"]
    path = f"/agent/api/interactions/{iid}/snips?source=video"
    image = png(4, 3)
    png_type = {"Content-Type": "image/png"}
    assert (await web_.client.post(path, data=image, headers=png_type)).status == 401
    ws = await agent(web_)  # logs in
    token = await panel_csrf(web_.client)
    headers = {**png_type, "X-CSRF-Token": token}
    no_csrf = await web_.client.post(path, data=image, headers=png_type)
    assert no_csrf.status == 403 and (await no_csrf.json())["field"] == "csrf_token"
    other_site = await web_.client.post(path, data=image,
                                        headers={**headers, "Origin": "https://evil.example"})
    assert other_site.status == 403
    # still queued: not this agent's call
    assert (await web_.client.post(path, data=image, headers=headers)).status == 404
    web_.fake.update(iid, state=State.CONNECTED, agent=AGENT_REF)

    bad_source = await web_.client.post(path.replace("video", "../x"), data=image,
                                        headers=headers)
    assert bad_source.status == 400 and (await bad_source.json())["field"] == "source"
    wrong_type = await web_.client.post(path, data=image, headers={
        "X-CSRF-Token": token, "Content-Type": "image/jpeg"})
    assert wrong_type.status == 415
    not_png = await web_.client.post(path, data=b"<svg onload=alert(1)>", headers=headers)
    assert not_png.status == 400 and (await not_png.json())["field"] == "body"
    huge = await web_.client.post(path, data=image + b"\0" * (9 * 1024 * 1024),
                                  headers=headers)
    assert huge.status == 413
    assert entries == []

    saved = await web_.client.post(path, data=image, headers=headers)
    assert saved.status == 201, await saved.text()
    body = await saved.json()
    assert (body["width"], body["height"], body["size"], body["source"]) == \
        (4, 3, len(image), "video")
    interaction = web_.fake.items[iid]
    stored = snips_dir(root, iid, interaction.created_at) / body["file"]
    assert stored.read_bytes() == image
    # the queue travels with the snips, for their retention without a recording
    meta = json.loads((stored.parent / "meta.json").read_text())
    assert meta == {"queue": interaction.queue or interaction.route.queue}
    assert [(e.kind, e.data) for e in entries] == [("snip", {
        "file": body["file"], "size": len(image), "width": 4, "height": 3, "source": "video"})]
    await ws.close()
