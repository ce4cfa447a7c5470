#!/usr/bin/env python3
"""Screenshots of the customer widget and every agent panel screen, for the README.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts the demo-like runtime in this process (the packaged demo config with
the sandbox PBX, SQLite in a temporary directory, ephemeral ports, nobody
auto-answering, plus a supervisor), drives Debian's Chromium through
playwright with a fake camera and microphone through one call (form, device
check, line, ringing, connected with chat and co-browsing, wrap-up), and
writes PNG files. Everything it starts it stops; nothing is left running.
A screen whose tool is not in the package (not built) is skipped with a note.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "plugin"))

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
        "--autoplay-policy=no-user-gesture-required", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        "--hide-scrollbars"]
ASKING = [a for a in ARGS if a != "--use-fake-ui-for-media-stream"]
TIMEOUT = 15_000
SAM_PASSWORD = "sam-screens"
ALICE, BOB = "PJSIP/1001", "PJSIP/1002"


def demo_config(tmp: Path) -> Any:
    from vidline.agents.passwords import hash_password
    from vidline.cli import load_demo_config
    from vidline.config import AgentConfig

    config = load_demo_config()
    sam = AgentConfig(username="sam", password_hash=hash_password(SAM_PASSWORD, n=1024),
                      interface="PJSIP/1009", member_name="Sam Super", queues=(),
                      role="supervisor")
    return dataclasses.replace(
        config,
        server=dataclasses.replace(config.server, port=0, public_url="http://127.0.0.1:0"),
        database=dataclasses.replace(config.database, url=f"sqlite:///{tmp}/vidline.db"),
        reporting=dataclasses.replace(config.reporting, spool_dir=str(tmp / "spool")),
        recording=dataclasses.replace(config.recording, enabled=True,
                                      directory=str(tmp / "recordings")),
        sandbox=dataclasses.replace(config.sandbox, auto_answer_after=None),
        agents=(*config.agents, sam),
    )


class Shots:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.taken: list[str] = []

    async def __call__(self, page: Any, name: str, *, full: bool = True) -> None:
        await page.wait_for_timeout(400)  # let videos paint a frame and fonts settle
        await page.screenshot(path=str(self.out / f"{name}.png"), full_page=full)
        self.taken.append(name)
        print(f"  {name}.png")


async def login(page: Any, url: str, username: str, password: str) -> None:
    await page.goto(url)
    await page.fill("#username", username)
    await page.fill("#password", password)
    await page.click("#login-submit")


async def run(out: Path) -> list[str]:
    from playwright.async_api import async_playwright

    from vidline.app import start

    shot = Shots(out)
    with tempfile.TemporaryDirectory(prefix="vidline-shots-") as tmp:
        runtime = await start(demo_config(Path(tmp)))
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                asking = await pw.chromium.launch(executable_path=CHROMIUM, args=ASKING)
                try:
                    await screens(runtime, browser, asking, shot)
                finally:
                    await asking.close()
                    await browser.close()
        finally:
            await runtime.close()
    return shot.taken


async def screens(runtime: Any, browser: Any, asking: Any, shot: Shots) -> None:
    base = runtime.base_url
    ctl = runtime.sandbox.control
    desk = {"viewport": {"width": 1280, "height": 860}}
    side = {"viewport": {"width": 560, "height": 900}}

    agent = await (await browser.new_context(**desk)).new_page()
    await agent.goto(f"{base}/agent/")
    await agent.fill("#username", "alice")
    await agent.fill("#password", "alice")
    await shot(agent, "panel-login")
    await agent.click("#login-submit")
    await agent.wait_for_selector("#conn-state[data-state=online]", timeout=TIMEOUT)
    await shot(agent, "panel-idle")
    await runtime.service.set_paused("bob", True, "Training")
    await runtime.service.set_paused("alice", True, "Briefing")

    customer = await (await browser.new_context(**side)).new_page()
    await customer.goto(f"{base}/")
    await customer.fill("#vl-customer-id", "C-1042")
    await customer.fill("#vl-phone", "+4930123456")
    await customer.select_option("#vl-category", "technical")
    await shot(customer, "widget-form")
    await customer.click("#vl-check")
    await customer.wait_for_selector("#vl-devices[data-state=ok]", timeout=TIMEOUT)
    await shot(customer, "widget-device-check")

    denied = await (await asking.new_context(permissions=[], **side)).new_page()
    await denied.goto(f"{base}/")
    await denied.click("#vl-check")
    await denied.wait_for_selector("#vl-devices[data-state=problem]", timeout=TIMEOUT)
    await shot(denied, "widget-device-denied")
    await denied.context.close()

    await customer.click("#vl-call")
    await customer.wait_for_selector("#vl-status[data-state=queued] #vl-position:not([hidden])",
                                     timeout=TIMEOUT)
    await shot(customer, "widget-queued")

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    await agent.wait_for_selector("#pop[data-phase=ringing]", timeout=TIMEOUT)
    await shot(agent, "panel-ringing")
    assert await ctl.answer(ALICE)
    await customer.wait_for_selector("#vl-status[data-state=connected]", timeout=TIMEOUT)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT)

    if await agent.query_selector("#chat-input"):
        await customer.fill("#vl-chat-input", "Hello! My router blinks red since this morning.")
        await customer.press("#vl-chat-input", "Enter")
        await agent.wait_for_selector("#chat-log li[data-from=customer]", timeout=TIMEOUT)
        await agent.fill("#chat-input", "Hi, I'm Alice. Let's have a look together.")
        await agent.click("#chat-send")
        await customer.wait_for_selector("#vl-chat-log li[data-from=agent]", timeout=TIMEOUT)
        await agent.type("#chat-input", "Could you")
    else:
        print("  (no chat tool in the panel: chat screens without messages)")

    if await agent.query_selector("#cobrowse-request"):
        await agent.click("#cobrowse-request")
        await customer.wait_for_selector("#vl-cobrowse-consent", state="visible",
                                         timeout=TIMEOUT)
        await shot(customer, "widget-cobrowse-consent")
        await customer.click("#vl-cobrowse-accept")
        await agent.wait_for_selector("#cobrowse-state[data-state=on]", timeout=TIMEOUT)
    else:
        print("  (no co-browsing tool in the panel: skipped the consent screen)")
    await customer.wait_for_function(
        "() => document.getElementById('vl-remote-video').videoWidth > 0", timeout=TIMEOUT)
    await shot(customer, "widget-connected")
    await agent.wait_for_function(
        "() => document.getElementById('customer-video').videoWidth > 0", timeout=TIMEOUT)
    await shot(agent, "panel-connected")

    if await agent.query_selector("#snip-take"):
        await agent.click("#snip-take")
        await agent.wait_for_selector("#snip-canvas", state="visible", timeout=TIMEOUT)
        await agent.locator("#tool-snip").scroll_into_view_if_needed()
        await shot(agent, "panel-snip")
        if await agent.is_visible("#snip-cancel"):
            await agent.click("#snip-cancel")

    # a second customer on a phone waits while the first call runs: the wallboard
    phone = await (await browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)).new_page()
    await phone.goto(f"{base}/")
    await phone.select_option("#vl-category", "billing")
    await phone.click("#vl-submit")
    await phone.wait_for_selector("#vl-status[data-state=queued] #vl-position:not([hidden])",
                                  timeout=TIMEOUT)
    await phone.locator("#vl-widget").scroll_into_view_if_needed()
    await shot(phone, "widget-phone", full=False)
    supervisor = await (await browser.new_context(**desk)).new_page()
    await login(supervisor, f"{base}/agent/supervisor", "sam", SAM_PASSWORD)
    await supervisor.wait_for_selector("#sv-conn-state[data-state=online]", timeout=TIMEOUT)
    await supervisor.wait_for_selector(".wb-caller[data-kind=video]", timeout=TIMEOUT)
    await shot(supervisor, "supervisor-wallboard")
    await phone.click("#vl-hangup")

    call_id = (await agent.text_content("#pop-id") or "").strip()
    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT)
    await shot(customer, "widget-ended")
    await agent.wait_for_selector("#pop[data-phase=ended]", timeout=TIMEOUT)
    if await agent.query_selector("#wrapup-form"):
        await agent.select_option("#wrapup-disposition", index=1)
        await agent.fill("#wrapup-notes", "Router reset remotely; blinking stopped.")
        await agent.locator("#tool-wrapup").scroll_into_view_if_needed()
    await shot(agent, "panel-wrapup")

    await recordings(supervisor, base, call_id, shot)

    kiosk = await (await browser.new_context(viewport={"width": 1280, "height": 800},
                                             has_touch=True)).new_page()
    await kiosk.goto(f"{base}/widget/kiosk.html?kiosk=lobby")
    await kiosk.wait_for_selector("#vl-widget[data-kiosk=true] #vl-category option",
                                  state="attached", timeout=TIMEOUT)
    await shot(kiosk, "widget-kiosk", full=False)


async def recordings(page: Any, base: str, call_id: str, shot: Shots) -> None:
    """The recordings list and the playback page, once the call's set is closed."""
    row = f"#rec-list tr[data-id='{call_id}']"
    for _ in range(30):
        response = await page.goto(f"{base}/agent/recordings")
        if response is None or response.status != 200:
            print("  (no recordings page: skipped)")
            return
        if await page.query_selector(row):
            break
        await page.wait_for_timeout(500)
    else:
        print("  (the call's recording did not appear: skipped)")
        return
    await shot(page, "panel-recordings")
    await page.goto(f"{base}/agent/recordings/{call_id}")
    await page.wait_for_selector("#pb", timeout=TIMEOUT)
    await page.wait_for_function(
        "() => document.getElementById('pb-seek').max > 0", timeout=TIMEOUT)
    await shot(page, "panel-playback")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    Path(args.out).mkdir(parents=True, exist_ok=True)
    print(f"screenshots into {args.out}:")
    taken = asyncio.run(run(Path(args.out)))
    print(f"{len(taken)} screenshots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
