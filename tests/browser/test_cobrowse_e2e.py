"""Co-browsing end to end: the customer's page (the widget page, with a form
of its own) recorded by rrweb in real Chromium, masked there, streamed over
the data channel through vidline's bridge, replayed live in the agent's
panel; the agent's pointer and highlight drawn back on the customer's page.

Every data channel payload is captured twice: as the customer's page sends
it (RTCDataChannel.send) and as the bridge's relay receives it from either
side. Typed secrets must be in none of them."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_control_plane_e2e import open_agent
from tests.browser.test_snip_e2e import decode_png, journaled_runtime
from vidline.recording.paths import snips_dir
from vidline.web.app import STATE

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 15_000
PASSWORD = "Hunter2-PASSWORD-q7"
MASKED_INPUT = "MASKED-INPUT-9876"
MASKED_TEXT = "ACCOUNT-4242-SECRET"
BLOCKED_TEXT = "BLOCKED-TEXT-7777"
BLOCKED_VALUE = "BLOCKED-VALUE-5555"
BLOCKED_TYPED = "BLOCKED-TYPED-2468"
MASKED_LATER = "ACCOUNT-1357-CHANGED"  # set while co-browsing: a text mutation
PLAIN_INPUT = "PLAIN-INPUT-3131"  # an ordinary field: masked too (all inputs are)
UNMASKED = "search-term-visible"  # data-vidline-unmask: the capture's positive control
SECRETS = (PASSWORD, MASKED_INPUT, MASKED_TEXT, BLOCKED_TEXT, BLOCKED_VALUE, BLOCKED_TYPED,
           MASKED_LATER, PLAIN_INPUT)

CAPTURE_SENDS = """
window.__sent = [];
const original = RTCDataChannel.prototype.send;
RTCDataChannel.prototype.send = function (data) {
  window.__sent.push(typeof data === "string" ? data : "[binary]");
  return original.call(this, data);
};
"""

# the site's own content around the widget: what co-browsing is for
SITE_FORM = """() => {
  const main = document.querySelector("main");
  const form = document.createElement("section");
  form.id = "site";
  form.innerHTML = `
    <h2 id="cb-heading" class="error">Your account</h2>
    <p id="cb-counter">start</p>
    <label>Password <input id="cb-password" type="password"></label>
    <label>Card <input id="cb-masked" type="text" data-vidline-mask></label>
    <label>Name <input id="cb-plain" type="text"></label>
    <label>Search <input id="cb-search" type="search" data-vidline-unmask></label>
    <p id="cb-masked-text" data-vidline-mask>ACCOUNT-4242-SECRET</p>
    <div id="cb-blocked" class="promo" data-vidline-block>
      <span>BLOCKED-TEXT-7777</span><input id="cb-blocked-input" value="BLOCKED-VALUE-5555">
    </div>
    <button id="cb-target" type="button">Pay now</button>
    <img id="cb-evil" src="/no-such-image.png" alt="" onerror="top.__pwned = 1">
    <svg><a id="cb-svg-link" href="javascript:top.__pwned = 2"><text y="10">x</text></a></svg>`;
  main.prepend(form);
  // a stylesheet of the site's own (any same-origin one: rrweb inlines its text)
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = "/agent/static/panel.css";  // .error { color: #b3261e }
  document.head.append(link);
  return new Promise((resolve) => link.addEventListener("load", resolve));
}"""

IN_REPLAY = """([selector, text]) => {
  const frame = document.querySelector("#cobrowse-view iframe");
  const doc = frame && frame.contentDocument;
  const el = doc && doc.querySelector(selector);
  return !!el && el.textContent === text;
}"""


async def open_customer_page(browser: Any, runtime: Any) -> Any:
    bundles = ("widget/cobrowse.js", "agent/cobrowse.js")
    static = runtime.runner.app[STATE].static
    assert all(b in static for b in bundles), "build them: scripts/setup.sh (npm ci, build)"
    context = await browser.new_context()
    await context.add_init_script(CAPTURE_SENDS)
    page = await context.new_page()
    await page.goto(runtime.customer_url)
    await page.evaluate(SITE_FORM)
    await page.fill("#vl-customer-id", "cust-cb")
    await page.fill("#vl-phone", "+15550042")
    await page.select_option("#vl-category", "billing")
    await page.click("#vl-submit")
    return page


async def test_cobrowse_replays_live_masks_and_blocks(
    browser: Any, runtime_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vidline.media.datachannel import ChannelRelay

    relayed: list[tuple[str, str]] = []
    original = ChannelRelay.receive

    def capture(self: ChannelRelay, side: str, message: str | bytes) -> None:
        relayed.append((side, message if isinstance(message, str) else repr(message)))
        original(self, side, message)

    monkeypatch.setattr(ChannelRelay, "receive", capture)
    runtime, entries = await journaled_runtime(runtime_factory, tmp_path)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    logs: list[str] = []
    agent.on("console", lambda m: logs.append(m.text))
    customer = await open_customer_page(browser, runtime)
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#tool-cobrowse:not([hidden])", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)

    # typed before co-browsing starts: must not be in the first snapshot either
    await customer.type("#cb-password", PASSWORD[:8])
    await customer.type("#cb-plain", PLAIN_INPUT)

    # the agent asks, the customer sees the question and accepts
    await agent.click("#cobrowse-request")
    await agent.wait_for_selector("#cobrowse-state[data-state=asked]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-cobrowse-consent:not([hidden])", timeout=TIMEOUT_MS)
    await customer.click("#vl-cobrowse-accept")
    await customer.wait_for_selector("#vl-cobrowse-on:not([hidden])", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#cobrowse-state[data-state=on]", timeout=TIMEOUT_MS)
    await agent.wait_for_function(IN_REPLAY, arg=["#cb-counter", "start"], timeout=TIMEOUT_MS)

    # the replay is sandboxed: no scripts of the customer's page can run in it
    # (the broken image's onerror handler came along in the recording)
    sandbox = await agent.evaluate(
        "() => document.querySelector('#cobrowse-view iframe').getAttribute('sandbox')")
    assert sandbox == "allow-same-origin"
    await agent.wait_for_function("""() => { const img = document.querySelector(
        '#cobrowse-view iframe').contentDocument.getElementById('cb-evil');
        return img && img.complete; }""", timeout=TIMEOUT_MS)
    assert await agent.evaluate("() => window.__pwned") is None
    csp = (await agent.request.get(runtime.agent_url)).headers["content-security-policy"]
    assert "script-src 'self';" in csp, csp

    # typing while co-browsing is on
    await customer.type("#cb-password", PASSWORD[8:])
    await customer.type("#cb-masked", MASKED_INPUT)
    await customer.type("#cb-search", UNMASKED)
    await customer.type("#cb-blocked-input", BLOCKED_TYPED)
    await customer.evaluate("""(v) => {
      document.getElementById('cb-masked-text').textContent = v;
      document.getElementById('cb-blocked').append(v); }""", MASKED_LATER)

    # a DOM change on the customer's page is in the agent's replay within a second
    for n in range(3):
        text = f"changed-{n}"
        started = time.monotonic()
        await customer.evaluate(
            "(t) => { document.getElementById('cb-counter').textContent = t; }", text)
        await agent.wait_for_function(IN_REPLAY, arg=["#cb-counter", text], timeout=1000)
        print(f"replay latency {n}: {1000 * (time.monotonic() - started):.0f} ms")

    # what the agent sees: the search term (unmasked), masks everywhere else,
    # an empty box where the blocked element is
    replay = await agent.evaluate("""() => {
      const doc = document.querySelector("#cobrowse-view iframe").contentDocument;
      const value = (id) => doc.getElementById(id).value;
      const blocked = doc.querySelector(".promo");  // a blocked element keeps no id
      return { password: value("cb-password"), masked: value("cb-masked"),
               plain: value("cb-plain"), search: value("cb-search"),
               maskedText: doc.getElementById("cb-masked-text").textContent,
               headingColor: getComputedStyle(doc.getElementById("cb-heading")).color,
               blockedChildren: blocked ? blocked.childNodes.length : -1,
               blockedHTML: blocked ? blocked.outerHTML : "",
               blockedWidth: blocked ? blocked.getBoundingClientRect().width : -1 };
    }""")
    await agent.wait_for_function(
        """(v) => document.querySelector('#cobrowse-view iframe').contentDocument
             .getElementById('cb-search').value === v""", arg=UNMASKED, timeout=TIMEOUT_MS)
    assert replay["password"] == "********", replay
    assert replay["headingColor"] == "rgb(179, 38, 30)", replay  # the page's own styles
    assert set(replay["masked"]) == {"*"} and set(replay["plain"]) == {"*"}, replay
    assert replay["maskedText"] == "*" * len(MASKED_LATER), replay
    assert replay["blockedChildren"] == 0, replay
    assert "BLOCKED" not in replay["blockedHTML"], replay
    real = await customer.evaluate(
        "() => document.getElementById('cb-blocked').getBoundingClientRect().width")
    assert replay["blockedWidth"] == real, replay  # an empty box of the same size

    await agent.screenshot(path=str(tmp_path / "agent-cobrowse.png"), full_page=True)

    # the agent's pointer and a highlight appear on the customer's page
    view = await agent.query_selector("#cobrowse-view")
    await view.scroll_into_view_if_needed()
    box = await view.bounding_box()
    await agent.mouse.move(box["x"] + 30, box["y"] + 30)
    await agent.mouse.move(box["x"] + 40, box["y"] + 45)
    await customer.wait_for_function(
        """() => { const p = document.querySelector('#vl-cobrowse-overlay [data-part=pointer]');
                   return p && p.style.display === 'block'; }""", timeout=TIMEOUT_MS)
    target = await customer.evaluate("""() => {
      const r = document.getElementById('cb-target').getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 }; }""")
    scale = await agent.evaluate("""() => {
      const m = getComputedStyle(document.querySelector('#cobrowse-view > div')).transform;
      return m === 'none' ? 1 : new DOMMatrix(m).a; }""")
    await agent.mouse.click(box["x"] + target["x"] * scale, box["y"] + target["y"] * scale)
    highlight = await customer.wait_for_function("""() => {
      const h = document.querySelector('#vl-cobrowse-overlay [data-part=highlight]');
      const t = document.getElementById('cb-target').getBoundingClientRect();
      if (!h || h.style.display !== 'block') return null;
      return { left: parseFloat(h.style.left), top: parseFloat(h.style.top),
               tl: t.left, tt: t.top }; }""", timeout=TIMEOUT_MS)
    spot = await highlight.json_value()
    await customer.screenshot(path=str(tmp_path / "customer-cobrowse.png"))
    assert abs(spot["left"] - spot["tl"]) < 2 and abs(spot["top"] - spot["tt"]) < 2, spot

    # the snipping tool takes the co-browsing view too: drawn from the replay's
    # DOM, the customer's viewport at its size, the heading in the page's red
    await agent.select_option("#snip-source", "cobrowse")
    await agent.click("#snip-take")
    await agent.wait_for_selector("#snip-canvas[data-stage=select]", timeout=TIMEOUT_MS)
    await agent.click("#snip-all")
    await agent.click("#snip-save")
    await agent.wait_for_selector("#snip-status[data-state=saved]", timeout=TIMEOUT_MS)
    [snip] = [e for e in entries if e.kind == "snip"]
    viewport = customer.viewport_size
    assert (snip.data["width"], snip.data["height"], snip.data["source"]) == \
        (viewport["width"], viewport["height"], "cobrowse"), snip.data
    png = (snips_dir(tmp_path / "rec", interaction.id, interaction.created_at)
           / snip.data["file"]).read_bytes()
    _w, _h, rows = decode_png(png)
    reds = sum(1 for row in rows for i in range(0, len(row), 4)
               if abs(row[i] - 179) < 40 and row[i + 1] < 90 and row[i + 2] < 90)
    assert reds > 50, reds  # the heading's text, drawn in the page's own colour

    assert await agent.evaluate("() => window.__pwned") is None

    # the customer stops: the agent sees it
    await customer.click("#vl-cobrowse-stop")
    await agent.wait_for_selector("#cobrowse-state[data-state=stopped]", timeout=TIMEOUT_MS)

    # no payload, as sent or as relayed, holds a secret; the search term
    # proves the capture saw the typed values at all
    sent = await customer.evaluate("() => window.__sent")
    payloads = sent + [text for _side, text in relayed]
    assert any(UNMASKED in p for p in sent)
    assert any(UNMASKED in text for side, text in relayed if side == "customer")
    for secret in SECRETS:
        for fragment in {secret, secret[:8], secret[-8:]}:
            leaks = [p[:200] for p in payloads if fragment in p]
            assert not leaks, (fragment, leaks)

    # the replay ran under the panel's CSP without a refusal (its scripts are
    # refused by the sandbox, as they should be)
    assert not [line for line in logs if "Content Security Policy" in line], logs
    # the journal has the session for the recorder: asked, on, the stream, off
    cobrowse = [e for e in entries if e.kind == "cobrowse"
                and e.interaction_id == interaction.id]
    actions = [e.data["action"] for e in cobrowse]
    assert actions[:2] == ["request", "on"], actions
    assert "events" in actions and "highlight" in actions and actions[-1] == "off", actions
    streamed = [ev for e in cobrowse if e.data["action"] == "events"
                for ev in e.data["events"]]
    assert any(ev["type"] == 2 for ev in streamed)  # the full snapshot


async def test_cobrowse_decline_and_agent_stop(browser: Any, runtime_factory: Any,
                                               tmp_path: Path) -> None:
    runtime, entries = await journaled_runtime(runtime_factory, tmp_path)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    customer = await open_customer_page(browser, runtime)
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#cobrowse-state[data-state=off]", timeout=TIMEOUT_MS)

    # the customer says no: the agent sees it, nothing was recorded
    await agent.click("#cobrowse-request")
    await customer.click("#vl-cobrowse-decline")
    await agent.wait_for_selector("#cobrowse-state[data-state=declined]", timeout=TIMEOUT_MS)
    assert await customer.evaluate("() => !document.getElementById('vl-cobrowse-overlay')")

    # asked again, yes; then the agent ends it: the customer's page stops
    # recording, its indicator and the overlay go
    await agent.click("#cobrowse-request")
    await customer.click("#vl-cobrowse-accept")
    await agent.wait_for_function(IN_REPLAY, arg=["#cb-counter", "start"], timeout=TIMEOUT_MS)
    await agent.click("#cobrowse-stop")
    await agent.wait_for_selector("#cobrowse-state[data-state=stopped]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-cobrowse-on", state="hidden", timeout=TIMEOUT_MS)
    assert await customer.evaluate("() => !document.getElementById('vl-cobrowse-overlay')")
    sent_before = await customer.evaluate("() => window.__sent.length")
    await customer.evaluate("() => { document.getElementById('cb-counter').textContent = 'x'; }")
    await customer.wait_for_timeout(500)  # a batch would have gone by now
    later = await customer.evaluate("(n) => window.__sent.slice(n)", sent_before)
    assert not any("cobrowse-events" in text for text in later), later

    actions = [e.data["action"] for e in entries if e.kind == "cobrowse"]
    assert actions[:3] == ["request", "off", "request"], actions
    assert "events" in actions and actions[-1] == "off", actions
    # reporting counts co-browsing, without the page stream in its rows
    [interaction] = list(runtime.service.store)
    assert await runtime.reporting.flush()
    with contextlib.closing(sqlite3.connect(tmp_path / "vidline.db")) as db:
        [(used,)] = db.execute("SELECT cobrowse_used FROM vidline_interactions WHERE id = ?",
                               (interaction.id,)).fetchall()
        rows = db.execute("SELECT data FROM vidline_interaction_events WHERE interaction_id = ?"
                          " AND kind = 'cobrowse'", (interaction.id,)).fetchall()
    assert used == 1
    assert len(rows) == len(actions) - actions.count("events")
    assert not any('"events"' in data for (data,) in rows), rows
