"""Replays of real Asterisk 22.10.1 AudioSocket sessions (shared/asterisk).

Each ``audio/*.rx.wav`` is what the test server received from Asterisk over
the socket, i.e. what vidline's server receives. Rebuilt into frames after
the session's UUID frame, it must reach the handler byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vidline.audiosocket.codec import Kind, encode_audio, encode_uuid
from vidline.audiosocket.server import AudioSocketServer

from .conftest import Peer, Recorder

Serve = Callable[..., AudioSocketServer]
SHARED = Path(__file__).resolve().parents[4] / "shared" / "asterisk"
if not SHARED.is_dir():  # the repo checked out elsewhere
    SHARED = Path("/work/shared/asterisk")


def session(name: str) -> tuple[dict[str, Any], bytes]:
    path = next(SHARED.glob(f"**/{name}.audiosocket.json"))
    summary = json.loads(path.read_text())["sessions"][0]
    with wave.open(str(path.parent / summary["recording"])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 8000)
        pcm = wav.readframes(wav.getnframes())
    return summary, pcm


def frames_of(pcm: bytes, size: int = 320) -> bytes:
    return b"".join(encode_audio(8000, pcm[i : i + size]) for i in range(0, len(pcm), size))


@pytest.mark.parametrize("chunk", [None, 997, 3])
async def test_moh_abandon_session_reaches_the_handler_exactly(serve: Serve,
                                                               chunk: int | None) -> None:
    summary, pcm = session("C_moh_abandon")
    call = uuid.UUID(summary["uuid"])
    rec = Recorder()
    asked: list[uuid.UUID] = []

    def resolve(c: uuid.UUID) -> Recorder:
        asked.append(c)
        return rec

    server = serve(resolve)
    await server.start()
    wire = encode_uuid(call) + frames_of(pcm)
    peer = await Peer.connect(server.port)
    step = chunk or len(wire)
    for i in range(0, min(len(wire), 40 * step), step):  # odd reads on the server side
        await peer.send(wire[i : i + step])
        await asyncio.sleep(0)
    await peer.send(wire[min(len(wire), 40 * step) :])
    await rec.wait_audio(summary["frames_in_by_kind"]["0x10"], 10.0)
    await peer.read_until(lambda p: len(p.frames) >= 3, 1.0)
    peer.close()  # how Asterisk ends it
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    assert asked == [call]
    assert b"".join(rec.audio) == pcm
    assert len(rec.audio) == 400 and {len(a) for a in rec.audio} == {320}
    stats = rec.legs[0].stats
    assert stats.audio_bytes_received == summary["audio_bytes_in"] == 128000
    assert stats.frames_received == summary["frames_in_by_kind"]["0x10"]
    assert rec.closed[0][0] == "peer closed"
    # Meanwhile the peer got silence, as Asterisk would have.
    assert peer.frames and all(f.kind == Kind.AUDIO_8K for _, f in peer.frames)


async def test_attended_transfer_gap_does_not_end_the_leg(serve: Serve) -> None:
    """pass3 L: after 48,684 bytes Asterisk sent nothing for ~3.4 s, then the
    second agent's audio. The gap is replayed shortened: the server has no
    inactivity timeout at all, only the paced stream it keeps sending."""
    summary, pcm = session("L_attended_transfer")
    gap_at = summary["marks_s"]["transferer_hangup_audio_bytes_in"]
    assert gap_at == 48684 and len(pcm) == summary["audio_bytes_in"]
    rec = Recorder()
    server = serve(lambda c: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.UUID(summary["uuid"]))
    # Asterisk's frames are not all 320 bytes here (48,684 is not a multiple):
    # the last frame before the gap is short, and the server takes it as is.
    await peer.send(frames_of(pcm[:gap_at]))
    await rec.wait_audio(153, 5.0)
    peer.frames.clear()
    gap_start = time.monotonic()
    await peer.read_for(1.5)
    gap = time.monotonic() - gap_start
    assert not peer.eof and rec.closed == []
    assert abs(len(peer.frames) - gap * 50) <= 3  # our stream never paused
    await peer.send(frames_of(pcm[gap_at:]))
    await rec.wait_audio(153 + 275, 5.0)
    assert b"".join(rec.audio) == pcm
    peer.close()
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    assert rec.closed[0][0] == "peer closed"
