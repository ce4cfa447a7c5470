"""The customer widget in real Chromium against the whole runtime (sandbox PBX
on loopback, SQLite): the device check, keyboard use, a phone-sized screen,
kiosk mode and the JS API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.conftest import make_config

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 10_000
# no --use-fake-ui-for-media-stream: permissions are what the context grants,
# the rest is denied (headless Chromium answers a prompt with "deny")
ASKING_ARGS = [a for a in CHROMIUM_ARGS if a != "--use-fake-ui-for-media-stream"]


@pytest.fixture
async def asking_browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ASKING_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def start(runtime_factory: Any, tmp_path: Path) -> Any:
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/vidline.db"))
    # nobody answers: the customer stays in line
    await runtime.service.set_paused("alice", True, "briefing")
    return runtime


async def wait_text(page: Any, selector: str, text: str) -> None:
    await page.wait_for_function(
        "([s, t]) => (document.querySelector(s)?.textContent || '').includes(t)",
        arg=[selector, text], timeout=TIMEOUT_MS)


async def test_device_check_explains_a_denied_camera_and_goes_on_without(
    asking_browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await asking_browser.new_context(permissions=[])).new_page()
    await page.goto(runtime.customer_url)
    await page.select_option("#vl-category", "technical")
    await page.click("#vl-submit")
    await page.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT_MS)
    assert await page.get_attribute("#vl-devices", "data-problem") == "denied"
    message = await page.text_content("#vl-devices-message")
    assert message == "Your browser is blocking the camera and microphone for this page."
    assert "address bar" in (await page.text_content("#vl-devices-help") or "")
    assert await page.is_visible("#vl-devices-retry")
    assert await page.text_content("#vl-devices-continue") == (
        "Continue without camera and microphone")
    assert not await page.is_visible("#vl-preview")
    assert list(runtime.service.store) == []  # no call placed behind the explanation

    # "Try again" checks again (still denied); then the customer goes on without
    await page.click("#vl-devices-retry")
    await page.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT_MS)
    await page.click("#vl-devices-continue")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    [interaction] = list(runtime.service.store)
    assert interaction.context.category == "technical"
    # the bridge takes a call that sends nothing: the customer hears the line
    await page.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    senders = await page.evaluate(
        "() => window.vidlineMedia.pc.getSenders().filter((s) => s.track).length")
    assert senders == 0
    assert await page.is_disabled("#vl-mute") and await page.is_disabled("#vl-camera")
    await page.click("#vl-hangup")
    await page.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)


async def test_camera_denied_microphone_allowed_offers_audio_only(
    asking_browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    context = await asking_browser.new_context(permissions=["microphone"])
    page = await context.new_page()
    await page.goto(runtime.customer_url)
    await page.click("#vl-check")
    await page.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT_MS)
    assert await page.text_content("#vl-devices-message") == (
        "Your browser is blocking the camera for this page.")
    assert await page.text_content("#vl-devices-continue") == "Continue with audio only"
    assert await page.is_visible("#vl-mic-level")  # the microphone works: its level shows
    await page.click("#vl-devices-continue")
    await page.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    kinds = await page.evaluate(
        "() => window.vidlineMedia.pc.getSenders().filter((s) => s.track)"
        ".map((s) => s.track.kind)")
    assert kinds == ["audio"]
    # mute works on the one track there is
    await page.click("#vl-mute")
    assert await page.get_attribute("#vl-mute", "aria-pressed") == "true"
    assert await page.evaluate(
        "() => window.vidlineMedia.pc.getSenders()[0].track.enabled") is False


async def test_no_camera_or_microphone_is_explained(
    runtime_factory: Any, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    runtime = await start(runtime_factory, tmp_path)
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            page = await (await browser.new_context()).new_page()
            await page.goto(runtime.customer_url)
            await page.click("#vl-check")
            await page.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT_MS)
            assert await page.get_attribute("#vl-devices", "data-problem") == "nodevice"
            assert await page.text_content("#vl-devices-message") == (
                "We could not find a camera and microphone.")
        finally:
            await browser.close()


# A camera held by another program cannot be made on demand: the browser's own
# error for it (NotReadableError, "Could not start video source") is played here
BUSY_CAMERA = """(() => {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (c) => (c && c.video
    ? Promise.reject(new DOMException("Could not start video source", "NotReadableError"))
    : real(c));
})()"""


async def test_busy_camera_is_explained_with_what_to_do(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(BUSY_CAMERA)
    await page.goto(runtime.customer_url)
    await page.click("#vl-submit")
    await page.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT_MS)
    assert await page.get_attribute("#vl-devices", "data-problem") == "busy"
    assert await page.text_content("#vl-devices-message") == (
        "Your camera is being used by another program.")
    assert "Close other programs" in (await page.text_content("#vl-devices-help") or "")
    assert await page.text_content("#vl-devices-continue") == "Continue with audio only"
    assert list(runtime.service.store) == []


async def test_device_check_preview_then_call(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context()).new_page()
    await page.goto(runtime.customer_url)
    await page.click("#vl-check")
    await page.wait_for_selector("#vl-devices[data-state=ok]", timeout=TIMEOUT_MS)
    # the fake camera's picture is in the preview, the meter follows the microphone
    await page.wait_for_function(
        "() => document.getElementById('vl-preview').videoWidth === 640", timeout=TIMEOUT_MS)
    assert list(runtime.service.store) == []
    await page.click("#vl-call")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    await page.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    kinds = await page.evaluate(
        "() => window.vidlineMedia.pc.getSenders().filter((s) => s.track)"
        ".map((s) => s.track.kind).sort()")
    assert kinds == ["audio", "video"]
    # the camera the check opened is the one the call sends: one capture, not two
    assert await page.evaluate(
        "() => document.getElementById('vl-preview').srcObject") is None


async def test_keyboard_only_path_to_a_call(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context()).new_page()
    await page.goto(runtime.customer_url)
    await page.wait_for_selector("#vl-category option", state="attached", timeout=TIMEOUT_MS)
    focused = ""
    for _ in range(10):  # from the top of the page: the site's own links come first
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.id")
        if focused == "vl-customer-id":
            break
    order = [focused]
    for _ in range(4):
        await page.keyboard.press("Tab")
        order.append(await page.evaluate("() => document.activeElement.id"))
    assert order == ["vl-customer-id", "vl-phone", "vl-category", "vl-check", "vl-submit"]
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("Shift+Tab")
    await page.keyboard.press("ArrowDown")  # the category picker: the second topic
    await page.keyboard.press("Tab")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    [interaction] = list(runtime.service.store)
    assert interaction.context.category == "technical"
    # the button that was pressed is gone: focus lands on the next thing to do
    assert await page.evaluate("() => document.activeElement.id") == "vl-hangup"
    labelled = await page.evaluate(
        """() => [...document.querySelectorAll(`#vl-widget button, #vl-widget input,
             #vl-widget select, #vl-widget video`)].filter((n) => {
               const named = n.getAttribute('aria-label') || n.labels?.length
                 || n.textContent.trim();
               return !named; }).map((n) => n.id)""")
    assert labelled == []
    await page.keyboard.press("Enter")  # leave the line
    await page.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    assert await page.evaluate("() => document.activeElement.id") == "vl-restart"


NO_OVERFLOW = """() => document.documentElement.scrollWidth <= window.innerWidth
  && [...document.querySelectorAll('#vl-widget *')].every((n) => {
    const r = n.getBoundingClientRect();
    return r.width === 0 || r.right <= window.innerWidth + 0.5; })"""


async def test_phone_sized_screen_has_no_horizontal_overflow(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    context = await browser.new_context(viewport={"width": 375, "height": 667},
                                        has_touch=True, is_mobile=True)
    page = await context.new_page()
    await page.goto(runtime.customer_url)
    await page.wait_for_selector("#vl-category option", state="attached", timeout=TIMEOUT_MS)
    assert await page.evaluate(NO_OVERFLOW)
    await page.click("#vl-check")
    await page.wait_for_selector("#vl-devices[data-state=ok]", timeout=TIMEOUT_MS)
    assert await page.evaluate(NO_OVERFLOW)
    await page.click("#vl-call")
    await wait_text(page, "#vl-position", "1 of 1 in line")
    await runtime.service.set_paused("alice", False, "")
    ctl = runtime.sandbox.control
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await page.wait_for_selector("#vl-chat", state="visible", timeout=TIMEOUT_MS)
    await page.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await page.fill("#vl-chat-input", "W" * 300)  # one long word must wrap, not widen
    await page.click("#vl-chat-send")
    await page.wait_for_selector("#vl-chat-log li[data-from=customer]", timeout=TIMEOUT_MS)
    assert await page.evaluate(NO_OVERFLOW)
    # touch targets a thumb can hit
    heights = await page.evaluate(
        "() => ['vl-mute', 'vl-camera', 'vl-share', 'vl-hangup', 'vl-chat-send']"
        ".map((id) => document.getElementById(id).getBoundingClientRect().height)")
    assert min(heights) >= 44, heights


async def test_german_catalogue_from_the_browser_language(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await start(runtime_factory, tmp_path)
    page = await (await browser.new_context(locale="de-AT")).new_page()
    await page.goto(runtime.customer_url)
    await page.wait_for_selector("#vl-category option", state="attached", timeout=TIMEOUT_MS)
    assert await page.text_content("#vl-submit") == "Video-Chat starten"
    assert await page.get_attribute("#vl-widget", "lang") == "de"
    assert await page.text_content("#vl-category option[value=billing]") == "Rechnung"
    await page.click("#vl-submit")
    await wait_text(page, "#vl-position", "Platz 1 von 1")
