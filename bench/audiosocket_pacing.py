"""AudioSocket server cost and pacing: N legs on loopback, peers in another process.

    python bench/audiosocket_pacing.py [--legs 1,50,200] [--seconds 5] [--peer-audio]

The peers (a plain selector loop in a child process, like Asterisk's
chan_audiosocket: UUID first, then reading) timestamp every frame they get;
the server process reports its own CPU time. With --peer-audio the peers
also send 20 ms frames back, as Asterisk does for a bridged call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time

from vidline.audiosocket.leg import AudioLeg
from vidline.audiosocket.server import AudioSocketServer

PEERS = r"""
import json, selectors, socket, sys, time, uuid
from vidline.audiosocket.codec import FrameDecoder, encode_audio, encode_uuid
port, n, seconds, talk = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4] == "1"
sel = selectors.DefaultSelector()
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_uuid(uuid.uuid4()))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, (FrameDecoder(), []))
    socks.append(s)
frame = encode_audio(8000, bytes(320))
end = time.monotonic() + seconds
next_send = time.monotonic()
while time.monotonic() < end:
    for key, _ in sel.select(0.002):
        decoder, times = key.data
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            continue
        now = time.monotonic()
        times.extend(now for _ in decoder.feed(data))
    if talk and time.monotonic() >= next_send:
        next_send += 0.020
        for s in socks:
            try:
                s.send(frame)
            except BlockingIOError:
                pass
gaps = []
counts = []
for key in list(sel.get_map().values()):
    times = key.data[1][25:]  # skip the connection burst
    counts.append(len(times))
    gaps += [b - a for a, b in zip(times, times[1:])]
print(json.dumps({"gaps": gaps, "counts": counts}))
"""


class Sink:
    def on_connected(self, leg: AudioLeg) -> None: ...
    def on_audio(self, leg: AudioLeg, pcm: bytes) -> None: ...
    def on_dtmf(self, leg: AudioLeg, digit: str) -> None: ...
    def on_closed(self, leg: AudioLeg, reason: str) -> None: ...


async def run(legs: int, seconds: float, talk: bool) -> str:
    sink = Sink()
    server = AudioSocketServer("127.0.0.1", 0, 8000, lambda call: sink,
                               max_connections=legs + 10)
    await server.start()
    peers = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PEERS,
        str(server.port), str(legs), str(seconds), "1" if talk else "0",
        stdout=subprocess.PIPE)
    await asyncio.sleep(1.0)  # connections settle
    cpu0, wall0 = time.process_time(), time.monotonic()
    await asyncio.sleep(seconds - 1.5)
    cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0)
    skipped = sum(leg.stats.ticks_skipped for leg in server.legs.values())
    out, _ = await peers.communicate()
    await server.close()
    result = json.loads(out)
    gaps_ms = sorted(g * 1000 for g in result["gaps"])
    p99 = gaps_ms[int(len(gaps_ms) * 0.99)]
    return (f"{legs:4d} legs{' +peer audio' if talk else ''}: server {cpu * 100:5.1f}% of a core, "
            f"frame gap mean {statistics.mean(gaps_ms):.2f} ms, stdev "
            f"{statistics.pstdev(gaps_ms):.2f} ms, p99 {p99:.2f} ms, max {gaps_ms[-1]:.2f} ms, "
            f"ticks skipped {skipped}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legs", default="1,50,200")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--peer-audio", action="store_true")
    args = parser.parse_args()
    for n in (int(x) for x in args.legs.split(",")):
        print(asyncio.run(run(n, args.seconds, args.peer_audio)), flush=True)


if __name__ == "__main__":
    main()
