"""The customer widget embedded in another site (its own origin, one tag):
data- attributes, the JS API, kiosk mode."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_widget import TIMEOUT_MS, start, wait_text

pytestmark = [pytest.mark.browser]


@pytest.fixture
async def site() -> AsyncIterator[Any]:
    """The operator's own web site, on another origin than vidline: each page
    embeds the widget with one tag (``site.pages[path] = attributes``)."""
    from aiohttp import web

    pages: dict[str, str] = {}
    widget: list[str] = []

    async def page(request: web.Request) -> web.Response:
        attributes = pages.get(request.path)
        if attributes is None:
            raise web.HTTPNotFound()
        html = ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                "<link rel='icon' href='data:,'></head><body><h1>Shop</h1>"
                f"<script src='{widget[0]}' {attributes}></script></body></html>")
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get("/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    class Site:
        url = f"http://127.0.0.1:{port}"

        def __init__(self) -> None:
            self.pages = pages

        def use(self, runtime: Any) -> None:
            widget[:] = [f"{runtime.base_url}/widget/vidline.js"]

    try:
        yield Site()
    finally:
        await runner.cleanup()


async def embed(page: Any, site: Any, runtime: Any, attributes: str, query: str = "") -> None:
    site.use(runtime)
    site.pages["/shop"] = attributes
    await page.goto(f"{site.url}/shop{query}")
    await page.wait_for_selector("#vl-widget[data-state=form]", state="attached",
                                 timeout=TIMEOUT_MS)


async def test_device_check_always_waits_for_the_customer(
    browser: Any, site: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context()).new_page()
    await embed(page, site, runtime, "data-device-check='always'")
    await page.click("#vl-submit")
    await page.wait_for_selector("#vl-devices[data-state=ok]", timeout=TIMEOUT_MS)
    assert await page.is_visible("#vl-call")
    assert list(runtime.service.store) == []
    await page.click("#vl-devices-back")  # changed their mind: the camera goes off
    await page.wait_for_selector("#vl-widget[data-state=form]", timeout=TIMEOUT_MS)
    assert await page.evaluate(
        "() => document.getElementById('vl-preview').srcObject") is None
    await page.click("#vl-submit")
    await page.click("#vl-call")
    await wait_text(page, "#vl-position", "1 of 1 in line")


async def test_kiosk_resets_after_inactivity_and_after_a_call(
    browser: Any, site: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context(viewport={"width": 1024, "height": 768})).new_page()
    await embed(page, site, runtime,
                "data-kiosk-mode data-kiosk-reset='1' data-kiosk-after-call='1'"
                " data-categories='sales,billing'", "?kiosk=Lobby%202")
    box = await page.evaluate(
        "() => { const r = document.getElementById('vl-widget').getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height]; }")
    assert box == [0, 0, 1024, 768]  # the whole screen
    assert await page.evaluate(
        "() => document.getElementById('vl-submit').getBoundingClientRect().height") >= 64
    # the site offers two of the three configured topics, in its order
    assert await page.eval_on_selector_all("#vl-category option", "o => o.map((x) => x.value)") \
        == ["sales", "billing"]

    await page.fill("#vl-customer-id", "walk-in-7")
    await page.wait_for_function(
        "() => document.getElementById('vl-customer-id').value === ''", timeout=TIMEOUT_MS)
    assert await page.get_attribute("#vl-widget", "data-resets") == "1"

    # a call: in line it never resets; after the call it goes back to the start
    await page.fill("#vl-customer-id", "walk-in-8")
    await page.click("#vl-submit")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    [interaction] = list(runtime.service.store)
    assert interaction.context.kiosk_location == "Lobby 2"
    assert interaction.context.page_url == f"{site.url}/shop?kiosk=Lobby%202"
    await page.wait_for_timeout(1500)  # longer than the idle timeout: still in line
    assert await page.get_attribute("#vl-widget", "data-state") == "queued"
    await page.click("#vl-hangup")
    await page.wait_for_selector("#vl-widget[data-state=ended]", timeout=TIMEOUT_MS)
    await page.wait_for_selector("#vl-widget[data-state=form][data-resets='2']",
                                 timeout=TIMEOUT_MS)
    assert await page.input_value("#vl-customer-id") == ""


async def test_js_api_context_and_events(
    browser: Any, site: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context()).new_page()
    await embed(page, site, runtime,
                "data-hidden data-customer-id='C-1042' data-categories='billing'"
                " data-extra='{\"plan\":\"gold\"}'")
    assert not await page.is_visible("#vl-widget")
    # one topic offered: no picker; the site knows the customer: no number field
    states = await page.evaluate("""async () => {
        window.seen = [];
        Vidline.on("state", (e) => window.seen.push(e.state));
        await Vidline.open({ phone: "+15551234" });
        return [document.getElementById('vl-category-field').hidden,
                document.getElementById('vl-customer-id-field').hidden,
                document.getElementById('vl-phone-field').hidden, Vidline.state]; }""")
    assert states == [True, True, True, "form"]
    assert await page.is_visible("#vl-widget")
    await page.evaluate("() => Vidline.call()")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    [interaction] = list(runtime.service.store)
    ctx = interaction.context
    assert (ctx.customer_id, ctx.phone, ctx.category) == ("C-1042", "+15551234", "billing")
    assert dict(ctx.extra) == {"plan": "gold"}
    await page.evaluate("() => Vidline.hangup()")
    await page.wait_for_selector("#vl-widget[data-state=ended]", timeout=TIMEOUT_MS)
    seen = await page.evaluate("() => window.seen")
    assert seen[0] == "devices" and seen[-1] == "ended" and "queued" in seen, seen
