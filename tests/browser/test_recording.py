"""Recording end to end: a real Chromium call with a known clip and a tone,
recorded by the bridge without touching the video; the set decoded with
PyAV; the playback page seeked; access control and the audit log (MariaDB)."""

from __future__ import annotations

import itertools
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import av
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.media_probe import tone_share, write_tone_wav
from tests.browser.recording_media import (
    CLIP_SIZE,
    center_luma,
    clip_index,
    recording_config,
    write_clip_y4m,
)
from tests.browser.test_control_plane_e2e import open_agent, open_customer
from tests.browser.test_media_e2e import CodecCalls
from tests.conftest import make_config, mariadb_rows
from vidline.recording.paths import snips_dir

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 20_000
CUSTOMER_TONE = 1000
CALL_SECONDS = 10.0
CHAT_TEXT = "Where is my parcel <b>now</b>?"


@pytest.fixture
async def clip_browser(tmp_path: Path) -> Any:
    from playwright.async_api import async_playwright

    wav = write_tone_wav(tmp_path / "tone.wav", CUSTOMER_TONE)
    clip = write_clip_y4m(tmp_path / "clip.y4m")
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}",
            f"--use-file-for-fake-video-capture={clip}",
            "--autoplay-policy=no-user-gesture-required"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


def rrweb_snapshot(ts: int, title: str) -> list[dict[str, Any]]:
    """The two events rrweb starts a recording with: a page with one <h1>."""
    h1 = {"type": 2, "tagName": "h1", "attributes": {"id": "title"}, "id": 6,
          "childNodes": [{"type": 3, "textContent": title, "id": 7}]}
    html = {"type": 2, "tagName": "html", "attributes": {}, "id": 3, "childNodes": [
        {"type": 2, "tagName": "head", "attributes": {}, "childNodes": [], "id": 4},
        {"type": 2, "tagName": "body", "attributes": {}, "childNodes": [h1], "id": 5}]}
    node = {"type": 0, "id": 1, "childNodes": [
        {"type": 1, "name": "html", "publicId": "", "systemId": "", "id": 2}, html]}
    return [{"type": 4, "data": {"href": "https://shop.example/", "width": 800,
                                 "height": 600}, "timestamp": ts},
            {"type": 2, "data": {"node": node, "initialOffset": {"left": 0, "top": 0}},
             "timestamp": ts}]


def rrweb_text(ts: int, text: str) -> dict[str, Any]:
    return {"type": 3, "timestamp": ts, "data": {
        "source": 0, "texts": [{"id": 7, "value": text}], "attributes": [], "removes": [],
        "adds": []}}


async def login(browser: Any, runtime: Any, user: str) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{runtime.agent_url}login")
    await page.fill("#username", user)
    await page.fill("#password", f"{user}-pass")
    await page.click("#login-submit")
    await page.wait_for_load_state()
    return page


def png(width: int, height: int) -> bytes:
    """A gray PNG (what the snipping tool stores)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))

    rows = b"".join(b"\x00" + bytes([128]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                             0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def mono_samples(frames: list[Any]) -> bytes:
    resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
    return b"".join(bytes(out.planes[0])[: out.samples * 2]
                    for frame in frames for out in resampler.resample(frame))


async def test_a_recorded_call_decodes_and_plays_back_in_sync(
    clip_browser: Any, runtime_factory: Any, tmp_path: Path, mariadb_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codecs = CodecCalls(monkeypatch)
    root = tmp_path / "recordings"
    runtime = await runtime_factory(recording_config(make_config(mariadb_url), root))
    ctl = runtime.sandbox.control
    agent = await open_agent(clip_browser, runtime)
    customer = await open_customer(clip_browser, runtime, "cust-9", "+15550009")
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)
    iid = interaction.id
    await ctl.wait_for(lambda: ctl.ringing(ALICE), timeout=15)
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    agent_live = time.time()
    recorder = runtime.recordings.recorders[iid]
    tracks = recorder.writer.tracks

    # what is shared during the call, through the journal seam the chat and
    # the co-browse relay use
    await ctl.wait_for(lambda: "customer-camera" in tracks
                       and tracks["customer-camera"].last_ms > 2000, timeout=15)
    chat_at = time.time() - recorder.started_at
    runtime.journal.note(iid, "chat_message", {"from": "customer", "text": CHAT_TEXT, "id": 1})
    page_ts = int(time.time() * 1000)
    runtime.journal.note(iid, "cobrowse", {"action": "on", "from": "customer"})
    runtime.journal.note(iid, "cobrowse", {"action": "events", "from": "customer",
                                           "events": rrweb_snapshot(page_ts, "Checkout step 1")})
    step1_at = time.time() - recorder.started_at
    snips = snips_dir(root, iid, interaction.created_at)
    snips.mkdir(parents=True, exist_ok=True)
    (snips / "snip-1.png").write_bytes(png(8, 6))
    runtime.journal.note(iid, "snip", {"file": "snip-1.png", "width": 8, "height": 6,
                                       "source": "video"})
    await ctl.wait_for(lambda: tracks["customer-camera"].last_ms > 4500, timeout=15)
    runtime.journal.note(iid, "cobrowse", {"action": "events", "from": "customer",
                                           "events": [rrweb_text(page_ts + 2500,
                                                                 "Checkout step 2")]})
    step2_at = time.time() - recorder.started_at
    await ctl.wait_for(lambda: time.time() - agent_live >= CALL_SECONDS, timeout=30)
    # no codec of any kind on the recorder's video tracks, and none ran in aiortc
    video_tracks = [t for t in tracks.values() if t.kind == "video"]
    assert {t.name for t in video_tracks} >= {"customer-camera", "agent-camera"}
    assert all(t.stream.codec_context is None for t in video_tracks)
    assert codecs.total == 0, codecs.calls

    hung_up = time.time()  # the page stops sending on the click: take the time first
    await customer.click("#vl-hangup")
    await ctl.wait_for(lambda: not runtime.media.bridges, timeout=15)
    await ctl.wait_for(lambda: iid not in runtime.recordings.recorders, timeout=20)
    directory = recorder.directory
    assert directory == root / time.strftime("%Y/%m/%d", time.gmtime(interaction.created_at)) / iid

    # -- the set, decoded ---------------------------------------------------------
    import json

    manifest = json.loads((directory / "recording.json").read_text())
    assert manifest["status"] == "complete" and manifest["agent"] == "alice"
    by_name = {t["name"]: t for t in manifest["tracks"]}
    assert set(by_name) >= {"customer-camera", "agent-camera", "customer-audio", "pbx-audio"}
    # the call (answered to hung up) is in every track, within 5 % of its length;
    # the customer's tracks began earlier, in the queue
    call = hung_up - agent_live
    for name in ("customer-camera", "customer-audio", "agent-camera"):
        with av.open(str(directory / f"{name}.webm")) as container:
            assert container.duration is not None  # finalized: indexed, seekable
            length = container.duration / 1_000_000
        start = manifest["started_at"] + by_name[name]["offset"]
        covered = start + length - max(start, agent_live)
        print(f"{name}: {covered:.2f} s of the {call:.2f} s call")
        assert abs(covered - call) <= 0.05 * call, (name, covered, call)
        if name != "agent-camera":
            assert start < agent_live
    # lip sync: the customer's audio and video share the set's clock
    print("offsets", {n: t["offset"] for n, t in by_name.items()})
    assert abs(by_name["customer-camera"]["offset"] - by_name["customer-audio"]["offset"]) < 0.5

    with av.open(str(directory / "customer-camera.webm")) as container:
        frames = list(container.decode(video=0))
    assert (frames[0].width, frames[0].height) == CLIP_SIZE
    indexes = [clip_index(center_luma(f)) for f in frames[10:]]
    known = [k for k in indexes if k is not None]
    assert len(known) > 0.9 * len(indexes), indexes[:40]
    assert len(set(known)) >= 20  # the clip's frames, not one frozen picture
    steps = [(b - a) % 30 for a, b in itertools.pairwise(known)]
    assert sum(1 for s in steps if 1 <= s <= 3) > 0.8 * len(steps)  # in clip order

    with av.open(str(directory / "customer-audio.webm")) as container:
        pcm = mono_samples(list(container.decode(audio=0)))
    middle = pcm[len(pcm) // 2 - 8000: len(pcm) // 2 + 8000]  # one second
    assert tone_share(middle, 8000, CUSTOMER_TONE) > 0.5

    timeline = [json.loads(line) for line in
                (directory / "timeline.jsonl").read_text().splitlines()]
    kinds = [x["kind"] for x in timeline]
    assert "chat_message" in kinds and "cobrowse" in kinds
    assert [x["data"]["state"] for x in timeline if x["kind"] == "state"][-1] == "ended"

    # the reference is with the interaction
    assert await runtime.reporting.flush()
    [row] = mariadb_rows(mariadb_url, "SELECT recording_ref FROM vidline_interactions"
                         " WHERE id = %s", (iid,))
    assert row["recording_ref"] == manifest["ref"]

    # -- playback: seeked, the page shows what was current then -------------------
    alice = await login(clip_browser, runtime, "alice")
    await alice.goto(f"{runtime.agent_url}recordings/{iid}")
    await alice.wait_for_selector("#pb[data-ready=true]", timeout=TIMEOUT_MS)
    visible = "#pb-chat li:not([data-future=true])"
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", chat_at - 0.5)
    assert await alice.locator(visible).count() == 0
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", chat_at + 0.5)
    current = alice.locator("#pb-chat li[data-current=true] .text")
    assert await current.text_content() == CHAT_TEXT  # as text, not markup

    async def page_title() -> str:
        frame = alice.frame_locator("#cobrowse-view iframe")
        return await frame.locator("#title").text_content(timeout=TIMEOUT_MS) or ""

    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", step1_at + 0.3)
    await alice.wait_for_function("() => document.querySelector('#cobrowse-view iframe')",
                                  timeout=TIMEOUT_MS)
    assert await page_title() == "Checkout step 1"
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", step2_at + 0.3)
    await alice.wait_for_function(
        "() => document.querySelector('#cobrowse-view iframe')?.contentDocument"
        "?.getElementById('title')?.textContent === 'Checkout step 2'", timeout=TIMEOUT_MS)
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", step1_at + 0.3)
    await alice.wait_for_function(
        "() => document.querySelector('#cobrowse-view iframe')?.contentDocument"
        "?.getElementById('title')?.textContent === 'Checkout step 1'", timeout=TIMEOUT_MS)

    shown_snip = "#pb-snips li:not([data-future=true]) img"
    await alice.wait_for_function(
        "(s) => { const i = document.querySelector(s); return i && i.naturalWidth === 8; }",
        arg=shown_snip, timeout=TIMEOUT_MS)
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", chat_at - 0.5)
    assert await alice.locator(shown_snip).count() == 0

    # the videos play from the seeked point, in step with the page clock
    await alice.evaluate("(t) => window.vidlinePlayback.seek(t)", 2.0)
    await alice.click("#pb-play")
    await alice.wait_for_function(
        "() => { const v = document.getElementById('pb-customer');"
        " return v.videoWidth === 320 && !v.paused && v.currentTime > 0.5; }",
        timeout=TIMEOUT_MS)
    drift = await alice.evaluate(
        "() => { const v = document.getElementById('pb-customer');"
        " const off = JSON.parse(document.getElementById('pb-data').textContent).manifest"
        ".tracks.find((t) => t.name === 'customer-camera').offset;"
        " return Math.abs(window.vidlinePlayback.position() - off - v.currentTime); }")
    assert drift < 0.5
    await alice.click("#pb-play")

    # -- access control and the audit log -----------------------------------------
    url = f"{runtime.agent_url}recordings/{iid}"
    bob = await login(clip_browser, runtime, "bob")
    assert (await bob.request.get(url)).status == 403
    sue = await login(clip_browser, runtime, "sue")
    assert (await sue.request.get(url)).status == 200
    listing = f"{runtime.agent_url}recordings"
    assert iid in await (await sue.request.get(listing)).text()
    assert iid in await (await alice.request.get(listing)).text()
    assert iid not in await (await bob.request.get(listing)).text()
    signed = await alice.evaluate(
        "() => JSON.parse(document.getElementById('pb-data').textContent)"
        ".links['customer-camera.webm']")
    anonymous = await clip_browser.new_context()
    ok = await anonymous.request.get(runtime.base_url + signed, headers={"Range": "bytes=0-"})
    assert ok.status in (200, 206)
    tampered = signed.replace("customer-camera.webm", "agent-camera.webm")
    assert (await anonymous.request.get(runtime.base_url + tampered)).status == 403
    from vidline.web.recordings import RECORDINGS

    web_app = runtime.runner.app
    signer = web_app[RECORDINGS].signer
    monkeypatch.setattr(signer, "clock", lambda: time.time() - 3600)  # signed an hour ago
    stale = signer.sign("alice", "agent", iid, "customer-camera.webm")
    monkeypatch.undo()
    from urllib.parse import urlencode

    expired = await anonymous.request.get(
        f"{runtime.base_url}/agent/recordings/{iid}/f/customer-camera.webm?{urlencode(stale)}")
    assert expired.status == 403 and "expired" in (await expired.json())["message"]
    zipped = await anonymous.request.get(runtime.base_url + await alice.evaluate(
        "() => document.getElementById('pb-download').getAttribute('href')"))
    assert zipped.status == 200 and zipped.headers["content-type"] == "application/zip"
    await anonymous.close()

    rows = mariadb_rows(mariadb_url, "SELECT username, role, action, file FROM"
                        " vidline_recording_access WHERE interaction_id = %s ORDER BY id", (iid,))
    seen = [(r["username"], r["action"], r["file"]) for r in rows]
    assert ("alice", "play", None) in seen and ("sue", "play", None) in seen
    assert ("alice", "fetch", "customer-camera.webm") in seen
    assert ("alice", "download", "*.zip") in seen
    assert not any(r["username"] == "bob" for r in rows)
