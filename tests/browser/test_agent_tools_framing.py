"""The panel inside an iframe of the agent desktop (Chromium): an origin
listed in ``server.agent_frame_ancestors`` may frame it, and the agent logs
in and goes online inside the frame (same site, default SameSite=Strict
cookies); an origin not listed gets no panel."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.browser.test_control_plane_e2e import TIMEOUT_MS
from tests.conftest import make_config

pytestmark = [pytest.mark.browser, pytest.mark.mariadb]


@pytest.fixture
async def desktop() -> AsyncIterator[tuple[TestServer, dict[str, str]]]:
    """The agent desktop: a page that frames whatever ``/?src=`` says."""
    frames: dict[str, str] = {}

    async def page(request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=(
            "<!doctype html><title>desktop</title>"
            f'<iframe id="panel" src="{frames["src"]}" width="900" height="700"></iframe>'))

    app = web.Application()
    app.router.add_get("/", page)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    yield server, frames
    await server.close()


async def panel_frame(page: Any) -> Any:
    """The iframe's frame once it has loaded something (a page or an error)."""
    async with asyncio.timeout(10):
        while True:
            frame = next((f for f in page.frames if f is not page.main_frame), None)
            if frame is not None and frame.url not in ("", "about:blank"):
                return frame
            await asyncio.sleep(0.05)


async def test_listed_desktop_frames_the_panel_others_do_not(
    browser: Any, runtime_factory: Any, mariadb_url: str,
    desktop: tuple[TestServer, dict[str, str]],
) -> None:
    server, frames = desktop
    config = make_config(mariadb_url)
    allowed = f"http://127.0.0.1:{server.port}"
    config = dataclasses.replace(config, server=dataclasses.replace(
        config.server, agent_frame_ancestors=("'self'", allowed)))
    runtime = await runtime_factory(config)
    frames["src"] = runtime.agent_url

    page = await (await browser.new_context()).new_page()
    await page.goto(f"{allowed}/")
    frame = await panel_frame(page)
    await frame.wait_for_selector("#username", timeout=TIMEOUT_MS)
    await frame.fill("#username", "alice")
    await frame.fill("#password", "alice-pass")
    await frame.click("#login-submit")
    await frame.wait_for_selector("#conn-state[data-state=online]", timeout=TIMEOUT_MS)
    assert page.url == f"{allowed}/"  # the desktop stays; the panel lives in its frame

    # the same desktop page from an origin that is not listed: no panel
    other = await (await browser.new_context()).new_page()
    await other.goto(f"http://localhost:{server.port}/")
    blocked = await panel_frame(other)
    assert blocked.url.startswith("chrome-error://")
