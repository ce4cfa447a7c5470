"""The media bridge end to end: a customer page and an agent panel in real
Chromium (fake camera, a 1 kHz tone as the customer's microphone), the
sandbox PBX over real AudioSocket, vidline's aiortc bridge in between."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.media_probe import (
    CANVAS_PROBE,
    FRAMES_DECODED,
    spectrum,
    tone_share,
    write_tone_wav,
)
from tests.browser.test_control_plane_e2e import open_agent, open_customer
from tests.conftest import make_config

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 15_000
MOH_HZ = (392, 494)  # the sandbox's music on hold
AGENT_TONE = 800  # the sandbox's first agent
CUSTOMER_TONE = 1000


@pytest.fixture
async def tone_browser(tmp_path: Path) -> Any:
    from playwright.async_api import async_playwright

    wav = write_tone_wav(tmp_path / "tone.wav", CUSTOMER_TONE)
    args = [*CHROMIUM_ARGS, f"--use-file-for-fake-audio-capture={wav}",
            "--autoplay-policy=no-user-gesture-required"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=args)
        try:
            yield browser
        finally:
            await browser.close()


class CodecCalls:
    """Counts every video decode and encode aiortc does in this process."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from aiortc.codecs import h264, vpx

        self.calls: dict[str, int] = {}
        for cls, method in ((vpx.Vp8Decoder, "decode"), (vpx.Vp8Encoder, "encode"),
                            (h264.H264Decoder, "decode"), (h264.H264Encoder, "encode")):
            name = f"{cls.__name__}.{method}"
            original = getattr(cls, method)
            self.calls[name] = 0

            def counted(*args: Any, _orig: Any = original, _name: str = name) -> Any:
                self.calls[_name] += 1
                return _orig(*args)

            monkeypatch.setattr(cls, method, counted)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


async def video_flows(page: Any, element_id: str, stats_name: str) -> dict[str, Any]:
    """Wait until the element shows a moving picture, and frames are decoded."""
    await page.wait_for_function(
        "(id) => { const v = document.getElementById(id); return v && v.videoWidth > 0; }",
        arg=element_id, timeout=TIMEOUT_MS)
    probe = await page.evaluate(CANVAS_PROBE, element_id)
    first = await page.evaluate(FRAMES_DECODED, stats_name)
    await asyncio.sleep(1.0)
    second = await page.evaluate(FRAMES_DECODED, stats_name)
    assert probe is not None
    return {"probe": probe, "before": first, "after": second}


def open_udp_sockets() -> int:
    """UDP sockets this process holds (aioice's candidates, TURN allocations)."""
    import os

    inodes = set()
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        with open(name) as f:
            for line in list(f)[1:]:
                inodes.add(line.split()[9])
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            count += 1
    return count


def live_peer_connections() -> list[Any]:
    from aiortc import RTCPeerConnection

    gc.collect()
    return [o for o in gc.get_objects()
            if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"]


async def test_voice_video_both_ways_without_transcoding(
    tone_browser: Any, runtime_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codecs = CodecCalls(monkeypatch)
    udp_before = open_udp_sockets()
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/vidline.db"))
    ctl = runtime.sandbox.control
    agent = await open_agent(tone_browser, runtime)
    await runtime.service.set_paused("alice", True, "briefing")  # queued first: MOH
    await agent.wait_for_selector("#presence-state[data-paused=true]", timeout=TIMEOUT_MS)

    customer = await open_customer(tone_browser, runtime, "cust-7", "+15550007")
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)
    await customer.wait_for_function(
        "() => { const a = document.getElementById('vl-remote-audio');"
        " return a && a.srcObject; }", timeout=TIMEOUT_MS)

    # queued: the customer hears music on hold, and the PBX hears the customer
    moh = await spectrum(customer, "vl-remote-audio", [*MOH_HZ, AGENT_TONE, 1500])
    assert moh["at"]["392"] > moh["at"]["1500"] + 20, moh
    assert moh["at"]["494"] > moh["at"]["1500"] + 20, moh
    await ctl.wait_for(lambda: len(ctl.audio_in(interaction.id)) >= 8000 * 2 * 2, timeout=10)
    heard = ctl.audio_in(interaction.id)[-8000 * 2:]  # the last second at the agent's end
    assert tone_share(heard, 8000, CUSTOMER_TONE) > 0.5
    assert tone_share(heard, 8000, 700.0) < 0.05

    await runtime.service.set_paused("alice", False, "")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)

    # connected: the agent's tone replaces the music
    await asyncio.sleep(0.5)
    talk = await spectrum(customer, "vl-remote-audio", [*MOH_HZ, AGENT_TONE, 1500])
    assert talk["at"]["800"] > talk["at"]["1500"] + 20, talk
    assert talk["at"]["800"] > talk["at"]["392"] + 20, talk

    # video both ways: the customer's camera at the agent, the agent's at the customer
    at_agent = await video_flows(agent, "customer-video", "vidlinePanelMedia")
    at_customer = await video_flows(customer, "vl-remote-video", "vidlineMedia")
    for seen in (at_agent, at_customer):
        probe = seen["probe"]
        assert (probe["width"], probe["height"]) == (640, 480), probe
        assert probe["std"] > 5 and probe["change"] > 0.5, probe  # a moving picture
        before = {s["mid"]: s["framesDecoded"] for s in seen["before"]}
        after = {s["mid"]: s["framesDecoded"] for s in seen["after"]}
        first_mid = min(after, key=lambda m: int(m) if m and m.isdigit() else 99)
        assert after[first_mid] > before.get(first_mid, 0) + 5, seen
    # ... and the bridge never decoded or encoded a video frame to get it there
    assert codecs.total == 0, codecs.calls
    bridge = runtime.media.bridges[interaction.id]
    assert bridge.forward[("customer", "camera")].frames_forwarded > 30
    assert bridge.forward[("agent", "camera")].frames_forwarded > 30

    # screen sharing, each way, renegotiated on the running call
    await customer.click("#vl-share")
    await customer.wait_for_selector("#vl-share[data-sharing=true]", timeout=TIMEOUT_MS)
    shared = await video_flows(agent, "customer-screen", "vidlinePanelMedia")
    assert shared["probe"]["width"] > 0 and shared["probe"]["std"] > 1, shared
    await agent.click("#share-button")
    await agent.wait_for_selector("#share-button[data-sharing=true]", timeout=TIMEOUT_MS)
    shared = await video_flows(customer, "vl-remote-screen", "vidlineMedia")
    assert shared["probe"]["width"] > 0, shared
    at_agent = await video_flows(agent, "customer-video", "vidlinePanelMedia")
    assert at_agent["probe"]["change"] > 0.5  # the camera went on through it all
    await customer.click("#vl-share")  # stop: renegotiated again, the call stays up
    await customer.wait_for_selector("#vl-share[data-sharing=false]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    assert codecs.total == 0, codecs.calls

    # the customer leaves: the interaction ends and the bridge lets go of everything
    tasks = bridge.tasks
    await customer.click("#vl-hangup")
    await customer.wait_for_selector("#vl-status[data-state=ended]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#media[data-state=ended]", timeout=TIMEOUT_MS)
    await ctl.wait_for(lambda: not runtime.media.bridges and bridge.closed and not bridge.tasks)
    assert all(t.done() for t in tasks)
    # pc.close() finishes a moment after the bridge has let go of it
    await ctl.wait_for(lambda: live_peer_connections() == [], timeout=10)
    await ctl.wait_for(lambda: open_udp_sockets() <= udp_before, timeout=5)
    # the interaction's record counts the two screen shares
    assert await runtime.reporting.flush()
    with contextlib.closing(sqlite3.connect(tmp_path / "vidline.db")) as db:
        [(shares,)] = db.execute("SELECT screen_shares FROM vidline_interactions WHERE id = ?",
                                 (interaction.id,)).fetchall()
    assert shares == 2


LISTEN = """(name) => { window.got = []; window[name].channel.addEventListener("message",
  (e) => window.got.push(e.data)); }"""


async def test_chat_channel_and_closing_either_page(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime = await runtime_factory(make_config(f"sqlite:///{tmp_path}/vidline.db"))
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    customer = await open_customer(browser, runtime, "cust-8", "+15550008")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)
    bridge = runtime.media.bridges[interaction.id]

    # text both ways over the data channels, through the bridge
    for page, name in ((agent, "vidlinePanelMedia"), (customer, "vidlineMedia")):
        await page.wait_for_function(f"() => window.{name}.channel.readyState === 'open'",
                                     timeout=TIMEOUT_MS)
        await page.evaluate(LISTEN, name)
    await ctl.wait_for(lambda: len(bridge.channels.channels) == 2)
    await customer.evaluate("() => window.vidlineMedia.send('Hello, I need help')")
    await agent.wait_for_function("() => window.got.includes('Hello, I need help')",
                                  timeout=TIMEOUT_MS)
    long_text = "ü" * 70000  # 140 kB: more than one message may carry
    await agent.evaluate("(t) => window.vidlinePanelMedia.send(t)", long_text)
    await customer.wait_for_function("(n) => window.got.join('').length === n",
                                     arg=len(long_text), timeout=TIMEOUT_MS)
    assert await customer.evaluate("() => window.got.join('')") == long_text

    # the customer reloads the page mid-call: a new peer connection replaces the
    # old one and the agent's picture goes on (the forwarded clock keeps going)
    old_pc = bridge.pcs["customer"]
    before = await agent.evaluate(FRAMES_DECODED, "vidlinePanelMedia")
    await customer.reload()
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await ctl.wait_for(lambda: bridge.pcs.get("customer") not in (None, old_pc))
    assert old_pc.connectionState == "closed"
    await asyncio.sleep(2)
    seen = await video_flows(agent, "customer-video", "vidlinePanelMedia")
    decoded = {s["mid"]: s["framesDecoded"] for s in before}
    assert any(s["framesDecoded"] > decoded.get(s["mid"], 0) + 30 for s in seen["after"]), seen
    assert seen["probe"]["change"] > 0.5, seen

    # the agent closes the panel: its leg goes, the call (voice via the PBX) stays
    await agent.close()
    await ctl.wait_for(lambda: "agent" not in bridge.pcs, timeout=60)
    assert not bridge.closed and ctl.in_call(ALICE)

    # the customer closes the page: after the reconnect grace the interaction
    # ends and the bridge lets go of everything
    await customer.close()
    await ctl.wait_for(lambda: bridge.closed and not runtime.media.bridges, timeout=30)
    assert runtime.service.get(interaction.id).end_reason.value == "customer_left"
    await ctl.wait_for(lambda: not bridge.tasks)
    # pc.close() finishes a moment after the bridge has let go of it
    await ctl.wait_for(lambda: live_peer_connections() == [], timeout=10)


DECODED_CODECS = """async (name) => {
  const stats = await window[name].pc.getStats();
  const out = [];
  stats.forEach((s) => { if (s.type === "inbound-rtp" && s.kind === "video" && s.framesDecoded)
    out.push(stats.get(s.codecId).mimeType); });
  return out;
}"""


async def test_h264_when_configured_is_forwarded_as_is(
    browser: Any, runtime_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    from vidline.config import MediaConfig

    codecs = CodecCalls(monkeypatch)
    config = make_config(f"sqlite:///{tmp_path}/vidline.db")
    config = dataclasses.replace(config, media=MediaConfig(video_codec="H264"))
    runtime = await runtime_factory(config)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    customer = await open_customer(browser, runtime, "cust-9", "+15550009")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    for page, element, name in ((agent, "customer-video", "vidlinePanelMedia"),
                                (customer, "vl-remote-video", "vidlineMedia")):
        seen = await video_flows(page, element, name)
        assert seen["probe"]["change"] > 0.5 and seen["probe"]["width"] == 640, seen
        assert await page.evaluate(DECODED_CODECS, name) == ["video/H264"]
    assert codecs.total == 0, codecs.calls
