"""The AudioSocket server against real TCP peers on loopback, seen from the peer."""

from __future__ import annotations

import asyncio
import itertools
import socket
import statistics
import time
import uuid
from collections.abc import Callable

from vidline.audiosocket.codec import (
    Frame,
    Kind,
    encode,
    encode_audio,
    encode_dtmf,
    encode_uuid,
)
from vidline.audiosocket.server import AudioSocketServer

from .conftest import Peer, Recorder

Serve = Callable[..., AudioSocketServer]


def audio_frames(peer: Peer, kind: int = Kind.AUDIO_8K) -> list[tuple[float, Frame]]:
    return [(t, f) for t, f in peer.frames if f.kind == kind]


class Counter:
    """A source with distinct frames: byte value = tick number, None every 4th tick."""

    def __init__(self, size: int = 320) -> None:
        self.size = size
        self.calls = 0

    def read_frame(self) -> bytes | None:
        self.calls += 1
        if self.calls % 4 == 0:
            return None
        return bytes([self.calls % 256]) * self.size


async def test_unknown_uuid_is_refused(serve: Serve) -> None:
    asked: list[uuid.UUID] = []

    def resolve(call: uuid.UUID) -> Recorder | None:
        asked.append(call)
        return None

    server = serve(resolve)
    await server.start()
    call = uuid.uuid4()
    peer = await Peer.connect(server.port, call)
    await peer.wait_eof(2.0)
    assert asked == [call]
    assert peer.frames == []  # not a single byte, just the close
    assert call not in server.legs


async def test_known_uuid_gets_paced_silence(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    call = uuid.uuid4()
    peer = await Peer.connect(server.port, call)
    await peer.read_until(lambda p: len(p.frames) >= 1, 1.0)
    first = peer.frames[0][0]
    await peer.read_until(lambda p: p.frames[-1][0] - first >= 2.0, 5.0)
    in_one_second = [f for t, f in peer.frames if t - first < 1.0]
    assert 47 <= len(in_one_second) <= 53
    assert all(f.kind == Kind.AUDIO_8K and f.payload == bytes(320) for _, f in peer.frames)
    assert [leg.uuid for leg in rec.legs] == [call]
    assert server.legs[call] is rec.legs[0]
    # Jitter of the arrival times around the ideal 20 ms grid.
    times = [t for t, _ in peer.frames]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    offsets = [t - first - i * 0.020 for i, t in enumerate(times)]
    print(f"\npacing over {len(times)} frames: gap mean {statistics.mean(gaps) * 1000:.3f} ms, "
          f"gap stdev {statistics.pstdev(gaps) * 1000:.3f} ms, max gap {max(gaps) * 1000:.2f} ms, "
          f"drift at end {offsets[-1] * 1000:.2f} ms, "
          f"max |offset| {max(map(abs, offsets)) * 1000:.2f} ms, "
          f"server max late {rec.legs[0].stats.max_late_s * 1000:.2f} ms")
    # Absolute deadlines: no accumulated delay after 100 frames.
    assert abs(offsets[-1]) < 0.010
    peer.close()


async def test_source_frames_replace_silence(serve: Serve) -> None:
    source = Counter()
    rec = Recorder(source=source)
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 12, 2.0)
    payloads = [f.payload for _, f in peer.frames[:12]]
    expected = [bytes(320) if n % 4 == 0 else bytes([n]) * 320 for n in range(1, 13)]
    assert payloads == expected
    # Detaching goes back to silence.
    rec.legs[0].set_source(None)
    peer.frames.clear()
    await peer.read_until(lambda p: len(p.frames) >= 5, 1.0)
    assert all(f.payload == bytes(320) for _, f in peer.frames[1:])
    peer.close()


async def test_misframed_and_failing_sources(serve: Serve) -> None:
    class Odd:
        def __init__(self) -> None:
            self.calls = 0

        def read_frame(self) -> bytes | None:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("bridge bug")
            return b"\x07" * 100  # short: padded to a whole 20 ms

    rec = Recorder(source=Odd())
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 6, 2.0)
    payloads = [f.payload for _, f in peer.frames[:6]]
    padded = b"\x07" * 100 + bytes(220)
    # After the exception the source is dropped: silence, and the leg lives on.
    assert payloads == [padded, padded, bytes(320), bytes(320), bytes(320), bytes(320)]
    assert rec.legs[0].source is None and rec.closed == []
    peer.close()


async def test_client_frames_reach_the_handler_in_order(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    sent = [i.to_bytes(2, "little") * 160 for i in range(200)]
    for chunk in range(0, 200, 20):
        await peer.send(b"".join(encode_audio(8000, pcm) for pcm in sent[chunk : chunk + 20]))
        await asyncio.sleep(0.005)
    await rec.wait_audio(200, 2.0)
    assert rec.audio == sent
    assert rec.legs[0].stats.audio_bytes_received == 200 * 320
    peer.close()


async def test_dtmf_error_and_foreign_frames(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec, sample_rate=16000)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.send(encode_dtmf("1") + encode(Kind.DTMF, b"#") + encode(Kind.DTMF, b"z")
                    + encode(Kind.ERROR, b"\x02")  # Asterisk's "frame forwarding error"
                    + encode_audio(8000, bytes(320))  # wrong rate for this server: dropped
                    + encode(0x42, b"??")  # unknown kind: ignored
                    + encode_audio(16000, b"\x01" * 640))
    await rec.wait_audio(1, 2.0)
    assert rec.dtmf == ["1", "#"]
    assert rec.audio == [b"\x01" * 640]
    stats = rec.legs[0].stats
    assert (stats.errors_received, stats.frames_ignored) == (1, 3)
    assert rec.closed == []  # none of that ends the call
    peer.close()


async def test_client_close_is_noticed_quickly(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    call = uuid.uuid4()
    peer = await Peer.connect(server.port, call)
    await peer.read_until(lambda p: len(p.frames) >= 3, 1.0)
    closed_at = time.monotonic()
    peer.close()
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    reason, noticed = rec.closed[0]
    assert reason == "peer closed"
    assert noticed - closed_at < 0.100
    print(f"\nclose noticed after {(noticed - closed_at) * 1000:.2f} ms")
    assert call not in server.legs
    assert rec.legs[0].closed


async def test_client_reset_is_noticed(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 2, 1.0)
    await peer.send(encode_audio(8000, bytes(320)))
    peer.writer.transport.abort()  # RST with unread data on our side
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    assert rec.closed[0][0] in ("peer reset", "peer closed")
    assert len(rec.closed) == 1


async def test_hangup_sends_0x00_then_closes(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec, hangup_grace=0.3)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 3, 1.0)
    asked = time.monotonic()
    rec.legs[0].hangup()
    eof_at = await peer.wait_eof(2.0)  # this peer, unlike Asterisk, does not close itself
    kinds = [f.kind for _, f in peer.frames]
    assert kinds[-1] == Kind.HANGUP and peer.frames[-1][1].payload == b""
    assert set(kinds[:-1]) == {Kind.AUDIO_8K}  # 0x00 is the last frame on the wire
    assert 0.25 <= eof_at - asked < 1.0
    async with asyncio.timeout(1.0):
        await rec.legs[0].wait_closed()
    assert [r for r, _ in rec.closed] == ["hangup"]


async def test_hangup_answered_by_a_close_like_asterisk(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)  # default grace 0.5 s
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 2, 1.0)
    asked = time.monotonic()
    rec.legs[0].hangup()
    await peer.read_until(lambda p: p.frames[-1][1].kind == Kind.HANGUP, 1.0)
    peer.close()  # Asterisk closes ~3 ms after the 0x00
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    assert rec.closed[0][0] == "hangup"
    assert rec.closed[0][1] - asked < 0.2  # ended by the peer's close, not the grace


async def test_wideband_frames(serve: Serve) -> None:
    rec = Recorder(source=Counter(640))
    server = serve(lambda call: rec, sample_rate=16000)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 10, 1.0)
    assert {(f.kind, len(f.payload)) for _, f in peer.frames} == {(Kind.AUDIO_16K, 640)}
    assert peer.frames[0][1].payload == b"\x01" * 640
    peer.close()


async def test_silent_client_is_dropped_after_the_uuid_timeout(serve: Serve) -> None:
    asked: list[uuid.UUID] = []
    server = serve(lambda call: asked.append(call), uuid_timeout=0.3)
    await server.start()
    peer = await Peer.connect(server.port)  # never sends its UUID
    start = time.monotonic()
    eof_at = await peer.wait_eof(2.0)
    assert 0.25 <= eof_at - start < 1.0
    assert asked == [] and peer.frames == []


async def test_first_frame_must_be_the_uuid(serve: Serve) -> None:
    asked: list[uuid.UUID] = []
    server = serve(lambda call: asked.append(call))
    await server.start()
    peer = await Peer.connect(server.port)
    await peer.send(encode_audio(8000, bytes(320)) + encode_uuid(uuid.uuid4()))
    await peer.wait_eof(1.0)
    assert asked == [] and peer.frames == []


async def test_oversize_frame_closes_the_leg(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 1, 1.0)
    await peer.send(b"\x10\xff\xff")  # announces 65535 bytes, over the cap
    await peer.wait_eof(1.0)
    async with asyncio.timeout(1.0):
        await rec.closed_event.wait()
    assert rec.closed[0][0] == "protocol error"


async def test_second_connection_for_a_uuid_is_refused(serve: Serve) -> None:
    asked: list[uuid.UUID] = []
    recorders: list[Recorder] = []

    def resolve(call: uuid.UUID) -> Recorder:
        asked.append(call)
        recorders.append(Recorder())
        return recorders[-1]

    server = serve(resolve)
    await server.start()
    call = uuid.uuid4()
    first = await Peer.connect(server.port, call)
    await first.read_until(lambda p: len(p.frames) >= 2, 1.0)
    second = await Peer.connect(server.port, call)
    await second.wait_eof(1.0)
    assert second.frames == [] and asked == [call]
    first.frames.clear()
    await first.read_until(lambda p: len(p.frames) >= 3, 1.0)  # the first leg goes on
    assert not first.eof
    # Once the first leg ends, the same UUID may connect again (a new leg).
    first.close()
    async with asyncio.timeout(1.0):
        await recorders[0].closed_event.wait()
    third = await Peer.connect(server.port, call)
    await third.read_until(lambda p: len(p.frames) >= 1, 1.0)
    assert asked == [call, call]
    third.close()


async def test_gap_in_peer_audio_is_tolerated(serve: Serve) -> None:
    """Attended transfer: Asterisk sends nothing for seconds (pass3 L)."""
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.send(encode_audio(8000, b"\x01" * 320))
    await peer.read_for(1.5)  # no frames from the peer; ours keep coming
    # the point is that ours keep coming without the peer's: 75 when paced
    # exactly, fewer if a loaded machine made the clock skip ticks, never a burst
    assert 55 <= len(peer.frames) <= 78 and not peer.eof
    await peer.send(encode_audio(8000, b"\x02" * 320))
    await rec.wait_audio(2, 1.0)
    assert rec.audio == [b"\x01" * 320, b"\x02" * 320] and rec.closed == []
    peer.close()


async def test_a_stalled_loop_skips_ahead_instead_of_bursting(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec)
    await server.start()
    peer = await Peer.connect(server.port, uuid.uuid4())
    await peer.read_until(lambda p: len(p.frames) >= 5, 1.0)
    peer.frames.clear()
    await asyncio.sleep(0.1)
    time.sleep(0.3)  # noqa: ASYNC251 - stalls the whole loop on purpose: 15 ticks missed
    await peer.read_for(0.6)
    # Without skipping, the 15 missed frames would follow in a burst (about
    # 50 in 0.7 s of wall time); with it, about 35 (0.4 s paced + catch-up of <= 4).
    assert 30 <= len(peer.frames) <= 42, len(peer.frames)
    assert rec.legs[0].stats.ticks_skipped >= 10
    peer.close()


async def test_peer_that_stops_reading_is_closed(serve: Serve) -> None:
    rec = Recorder()
    server = serve(lambda call: rec, sample_rate=16000, stall_timeout=0.3)
    call = uuid.uuid4()
    await server.start()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    sock.sendall(encode_uuid(call))
    try:
        # The leg's kernel send buffer holds ~1 s of audio (doubled by Linux),
        # then 0.3 s of frames are dropped before the leg gives up.
        started = time.monotonic()
        async with asyncio.timeout(8.0):
            await rec.closed_event.wait()
        assert rec.closed[0][0] == "peer not reading"
        assert rec.legs[0].stats.frames_dropped_out >= 15
        print(f"\nstalled peer closed after {time.monotonic() - started:.2f} s")
    finally:
        sock.close()


async def test_close_ends_every_leg_and_task(serve: Serve) -> None:
    recorders = [Recorder(), Recorder()]
    calls = [uuid.uuid4(), uuid.uuid4()]
    server = AudioSocketServer("127.0.0.1", 0, 8000, dict(zip(calls, recorders, strict=True)).get)
    await server.start()
    before = asyncio.all_tasks()
    peers = [await Peer.connect(server.port, c) for c in calls]
    lurker = await Peer.connect(server.port)  # still in the UUID handshake
    for peer in peers:
        await peer.read_until(lambda p: len(p.frames) >= 2, 1.0)
    assert len(server.legs) == 2
    await server.close()
    assert asyncio.all_tasks() == before
    assert [r.closed[0][0] for r in recorders] == ["server shutdown"] * 2
    for peer in [*peers, lurker]:
        await peer.wait_eof(1.0)
        peer.close()
    try:
        await Peer.connect(server.port, calls[0])
    except OSError:
        pass  # nothing listens any more
    else:
        raise AssertionError("server still accepts connections after close()")
    # Shutdown is a plain close, as Asterisk itself does: no 0x00 frame.
    assert all(f.kind == Kind.AUDIO_8K for p in peers for _, f in p.frames)


async def test_close_and_peer_hangup_frame(serve: Serve) -> None:
    recorders = [Recorder(), Recorder()]
    server = serve(lambda call: recorders[len([r for r in recorders if r.legs])])
    await server.start()
    closing = await Peer.connect(server.port, uuid.uuid4())
    await closing.read_until(lambda p: len(p.frames) >= 2, 1.0)
    recorders[0].legs[0].close()  # a plain close: what Asterisk reads as a hangup
    await closing.wait_eof(1.0)
    assert all(f.kind == Kind.AUDIO_8K for _, f in closing.frames)
    # A generic peer may send 0x00 itself (Asterisk never does): the server closes.
    hanging = await Peer.connect(server.port, uuid.uuid4())
    await hanging.read_until(lambda p: len(p.frames) >= 2, 1.0)
    await hanging.send(encode(Kind.HANGUP))
    await hanging.wait_eof(1.0)
    async with asyncio.timeout(1.0):
        await recorders[1].closed_event.wait()
    assert [r.closed[0][0] for r in recorders] == ["closed", "peer hangup"]


async def test_connection_cap(serve: Serve) -> None:
    server = serve(lambda call: None, max_connections=2, uuid_timeout=2.0)
    await server.start()
    waiting = [await Peer.connect(server.port) for _ in range(2)]
    extra = await Peer.connect(server.port)
    start = time.monotonic()
    await extra.wait_eof(1.0)
    assert time.monotonic() - start < 0.5  # refused at once, not after the UUID timeout
    for peer in waiting:
        await peer.read_for(0.1)
        assert not peer.eof
