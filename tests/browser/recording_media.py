"""Known fake media for the recording tests: a y4m clip for Chromium's fake
camera (frames of distinct, flat gray levels: each decoded frame tells which
clip frame it is) and the config with recording on."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

CLIP_SIZE = (320, 240)
CLIP_FRAMES = 30  # one second at 30 fps, looped by Chromium
CLIP_LEVELS = [40 + 5 * k for k in range(CLIP_FRAMES)]  # luma of frame k


def write_clip_y4m(path: Path) -> Path:
    width, height = CLIP_SIZE
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode())
        chroma = bytes([128]) * (width * height // 4)
        for level in CLIP_LEVELS:
            out.write(b"FRAME\n" + bytes([level]) * (width * height) + chroma + chroma)
    return path


def clip_index(luma: int, tolerance: int = 2) -> int | None:
    """Which clip frame a decoded (flat) frame of this luma is, if any."""
    for k, level in enumerate(CLIP_LEVELS):
        if abs(level - luma) <= tolerance:
            return k
    return None


def recording_config(config: Any, directory: Path) -> Any:
    """``config`` (tests.conftest.make_config) with recording on, and two
    more people: bob (an agent) and sue (a supervisor)."""
    from vidline.agents.passwords import hash_password

    alice = config.agents[0]
    bob = dataclasses.replace(alice, username="bob", interface="PJSIP/1002",
                              member_name="Agent Bob", queues=(),
                              password_hash=hash_password("bob-pass"))
    sue = dataclasses.replace(alice, username="sue", interface="PJSIP/1003",
                              member_name="Supervisor Sue", queues=(), role="supervisor",
                              password_hash=hash_password("sue-pass"))
    recording = dataclasses.replace(config.recording, enabled=True, directory=str(directory),
                                    min_free_mb=0, link_ttl=120)
    return dataclasses.replace(config, agents=(alice, bob, sue), recording=recording)


def center_luma(frame: Any) -> int:
    plane = frame.planes[0]
    row = frame.height // 2
    return bytes(plane)[row * plane.line_size + frame.width // 2]
