"""The snipping tool end to end: the agent takes a still of the customer's
camera (Chromium's fake device, through vidline's bridge), selects a region
with the mouse, draws a box on it and saves it; the PNG on disk has exactly
the selected region's pixels, the box in red, and the journal has the snip."""

from __future__ import annotations

import base64
import dataclasses
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_control_plane_e2e import open_agent, open_customer
from tests.conftest import make_config
from vidline.recording.paths import snips_dir

pytestmark = [pytest.mark.browser]

ALICE = "PJSIP/1001"
TIMEOUT_MS = 15_000
RED = (0xE5, 0x28, 0x1E)

STILL = """() => {
  const c = document.getElementById("snip-canvas");
  const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  let bin = "";
  for (let i = 0; i < data.length; i += 8192) {
    bin += String.fromCharCode.apply(null, data.subarray(i, i + 8192));
  }
  return { width: c.width, height: c.height, rgba: btoa(bin) };
}"""


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGBA bytes) of an 8-bit, non-interlaced
    RGB or RGBA PNG (what Chromium's canvas.toBlob writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, kind = 8, b"", 0, 0, 6
    while pos < len(data):
        length, name = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if name == b"IHDR":
            width, height, depth, kind, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and kind in (2, 6) and interlace == 0
        elif name == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    bpp = 4 if kind == 6 else 3
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) \
                    & 0xFF
        prev = line
        if bpp == 3:
            rows.append(b"".join(bytes(line[i:i + 3]) + b"\xff" for i in range(0, stride, 3)))
        else:
            rows.append(bytes(line))
    return width, height, rows


async def journaled_runtime(runtime_factory: Any, tmp_path: Path) -> tuple[Any, list[Any]]:
    """vidline with the sandbox PBX, files under tmp_path/rec; every journal
    entry collected."""
    config = make_config(f"sqlite:///{tmp_path}/vidline.db")
    config = dataclasses.replace(config, recording=dataclasses.replace(
        config.recording, directory=str(tmp_path / "rec")))
    runtime = await runtime_factory(config)
    entries: list[Any] = []
    runtime.journal.subscribe(lambda _i, entry: entries.append(entry))
    return runtime, entries


async def test_snip_of_the_customer_video_saves_the_selected_pixels(
    browser: Any, runtime_factory: Any, tmp_path: Path
) -> None:
    runtime, entries = await journaled_runtime(runtime_factory, tmp_path)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    await open_customer(browser, runtime, "cust-snip", "+15550099")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#tool-snip:not([hidden])", timeout=TIMEOUT_MS)
    await agent.wait_for_function(
        "() => document.getElementById('customer-video').videoWidth > 0", timeout=TIMEOUT_MS)
    [interaction] = list(runtime.service.store)

    await agent.select_option("#snip-source", "video")
    await agent.click("#snip-take")
    await agent.wait_for_selector("#snip-canvas[data-stage=select]", timeout=TIMEOUT_MS)
    still = await agent.evaluate(STILL)
    width, height = still["width"], still["height"]
    assert (width, height) == (640, 480)
    frame = base64.b64decode(still["rgba"])
    assert len(set(frame[i] for i in range(0, len(frame), 997))) > 8  # a real picture

    # drag out a region: from 20 %/25 % to 70 %/80 % of the picture
    canvas = await agent.query_selector("#snip-canvas")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()
    await agent.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.25)
    await agent.mouse.down()
    await agent.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    await agent.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8)
    await agent.mouse.up()
    await agent.wait_for_selector("#snip-canvas[data-stage=annotate]", timeout=TIMEOUT_MS)
    x, y, w, h = map(int, (await canvas.get_attribute("data-region")).split(","))
    assert abs(x - width * 0.2) < 4 and abs(y - height * 0.25) < 4, (x, y)
    assert abs(w - width * 0.5) < 4 and abs(h - height * 0.55) < 4, (w, h)

    # a box annotation over the middle of the region
    await agent.click("#snip-tool-box")
    await canvas.scroll_into_view_if_needed()
    box = await canvas.bounding_box()  # the editor now shows the region only
    bx1, by1, bx2, by2 = 0.3, 0.3, 0.6, 0.7
    await agent.mouse.move(box["x"] + box["width"] * bx1, box["y"] + box["height"] * by1)
    await agent.mouse.down()
    await agent.mouse.move(box["x"] + box["width"] * bx2, box["y"] + box["height"] * by2)
    await agent.mouse.up()
    await agent.screenshot(path=str(tmp_path / "agent-snip.png"))
    await agent.click("#snip-save")
    await agent.wait_for_selector("#snip-status[data-state=saved]", timeout=TIMEOUT_MS)
    name = await agent.get_attribute("#snip-status", "data-file")
    await agent.wait_for_selector(f"#snip-list li[data-file='{name}']", timeout=TIMEOUT_MS)

    path = snips_dir(tmp_path / "rec", interaction.id, interaction.created_at) / name
    png = path.read_bytes()
    pw, ph, rows = decode_png(png)
    assert (pw, ph) == (w, h)
    # every pixel away from the box's outline is the still's own pixel
    line = max(2, round(min(w, h) / 120)) + 3
    left, top, right, bottom = w * bx1, h * by1, w * bx2, h * by2
    compared = red = 0
    for row in range(h):
        for col in range(w):
            got = rows[row][col * 4:col * 4 + 3]
            near_x = left - line <= col <= right + line and top - line <= row <= bottom + line
            inside = left + line <= col <= right - line and top + line <= row <= bottom - line
            if near_x and not inside:
                red += tuple(got) == RED
                continue
            offset = ((y + row) * width + x + col) * 4
            assert got == frame[offset:offset + 3], (row, col)
            compared += 1
    assert compared > w * h * 0.8
    assert red > 2 * (w * (bx2 - bx1) + h * (by2 - by1))  # the outline, in red

    [snip] = [e for e in entries if e.kind == "snip"]
    assert snip.data == {"file": name, "size": len(png), "width": w, "height": h,
                         "source": "video"}
