"""vidline killed with SIGKILL mid-call: the recording written so far plays."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import av
import pytest

from tests.browser.recording_media import CLIP_SIZE
from tests.browser.test_recording import clip_browser  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser]

TIMEOUT_MS = 20_000
REPO = Path(__file__).resolve().parents[2]


class Url:
    def __init__(self, urls: dict[str, str]) -> None:
        self.base_url = urls["base"]
        self.customer_url = urls["customer"]
        self.agent_url = urls["agent"]


async def wait_until(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


def last_media_time(path: Path) -> float:
    """Seconds of media PyAV reads from the file (the last packet's end)."""
    last = 0.0
    with av.open(str(path)) as container:
        for packet in container.demux():
            if packet.pts is not None and packet.time_base is not None:
                last = max(last, float(packet.pts * packet.time_base))
    return last


async def test_sigkill_mid_call_leaves_playable_files(
    clip_browser: Any, tmp_path: Path  # noqa: F811
) -> None:
    from tests.browser.test_control_plane_e2e import open_agent, open_customer

    root = tmp_path / "recordings"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.browser.recording_server", str(root),
        str(tmp_path / "vidline.db"), cwd=REPO, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        server = Url(json.loads(line))
        agent = await open_agent(clip_browser, server)
        customer = await open_customer(clip_browser, server, "cust-3", "+15550003")
        await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
        [directory] = list(root.glob("*/*/*/*"))
        manifest_path = directory / "recording.json"

        def media_seconds() -> float:
            manifest = json.loads(manifest_path.read_text())
            track = next((t for t in manifest["tracks"] if t["name"] == "customer-camera"), None)
            if track is None:
                return 0.0
            return time.time() - manifest["started_at"] - track["offset"]

        await wait_until(lambda: media_seconds() >= 6.0, 30)
        assert (await customer.evaluate("() => 1")) == 1  # the call is still up
        recorded = media_seconds()
        os.kill(proc.pid, signal.SIGKILL)
        await proc.wait()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "recording"  # it never got to finish
    for name in ("customer-camera", "customer-audio"):
        got = last_media_time(directory / f"{name}.webm")
        print(f"{name}: {got:.2f} s readable of {recorded:.2f} s recorded at the kill")
        assert recorded - 3.0 <= got <= recorded + 0.5, (name, got, recorded)
    with av.open(str(directory / "customer-camera.webm")) as container:
        frames = list(container.decode(video=0))
    assert len(frames) > 100 and (frames[-1].width, frames[-1].height) == CLIP_SIZE
    with av.open(str(directory / "customer-audio.webm")) as container:
        assert sum(f.samples for f in container.decode(audio=0)) > 48000 * 4
    assert (directory / "timeline.jsonl").read_text().count('"state"') >= 2
