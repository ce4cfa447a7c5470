"""``vidline demo --pbx freeswitch``: the demo on the sandbox's ESL
(FreeSWITCH) face and SQLite; both pages are served and a customer's call
is answered by a demo agent (auto-answer) through mod_callcenter's events."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import aiohttp

SCRIPT = Path(sys.executable).parent / "vidline"


async def _call(base: str) -> list[str]:
    """Place a customer through the API; the status states until connected."""
    states: list[str] = []
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}api/v1/interactions", json={
                "customer_id": "cust-1", "phone": "+15550001", "category": "billing"}) as resp:
            assert resp.status == 201, await resp.text()
            body = await resp.json()
        async with http.ws_connect(f"{body['ws_url']}?token={body['token']}") as ws:
            async with asyncio.timeout(20):  # the demo agents answer after 3 s
                while "connected" not in states:
                    message = await ws.receive_json()
                    if message.get("type") == "status":
                        states.append(str(message["state"]))
            await ws.send_json({"type": "hangup"})
            async with asyncio.timeout(10):
                while "ended" not in states:
                    message = await ws.receive_json()
                    if message.get("type") == "status":
                        states.append(str(message["state"]))
    return states


def test_demo_on_the_freeswitch_face_serves_pages_and_connects_a_call(tmp_path: Path) -> None:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "vidline.cli"]
    proc = subprocess.Popen([*command, "demo", "--pbx", "freeswitch", "--port", "0"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("agent panel" in x for x in lines):
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
        assert any("sandbox PBX as freeswitch" in x for x in lines), lines
        urls = {x.split(":", 1)[0].strip(): x.split(":", 1)[1].strip()
                for x in lines if x.startswith("  ") and "http" in x}
        assert set(urls) >= {"customer page", "agent panel"}, lines
        for url in (urls["customer page"], urls["agent panel"]):
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200
                assert b"<html" in response.read().lower()
        states = asyncio.run(_call(urls["customer page"]))
        # (queued and ringing may both be over when the socket opens)
        assert states[-2:] == ["connected", "ended"], states
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    # vidline wrote the call's Asterisk-format queue_log rows itself (mod_callcenter
    # writes none) into the demo's SQLite database
    with sqlite3.connect(tmp_path / "var" / "vidline-demo.db") as db:
        events = [r[0] for r in db.execute("SELECT event FROM queue_log ORDER BY id")]
    assert events[:3] == ["VIDEOCHAT", "ENTERQUEUE", "CONNECT"], events
