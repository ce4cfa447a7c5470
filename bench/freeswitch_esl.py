"""FreeSWITCH side costs: the ESL codec on the real transcript bytes, and N
unicast audio legs (UDP both ways, 20 ms frames) with the peer in another
process, as FreeSWITCH would be.

    python bench/freeswitch_esl.py [--legs 1,50,200] [--seconds 5]

Prints JSON: codec MB/s and events/s (frame + decode of every event), and per
leg count the vidline process's CPU share and the frames it got.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from vidline.pbx.freeswitch.codec import EVENT_PLAIN, EslParser, decode_event
from vidline.pbx.freeswitch.unicast import UnicastAudio

TRANSCRIPT = Path(__file__).resolve().parents[1] / "tests/fixtures/freeswitch/A_answered.esl.txt"

PEER = r"""
import socket, sys, time, selectors
ports = [int(p) for p in sys.argv[1].split(",")]
base, seconds = int(sys.argv[2]), float(sys.argv[3])
sel = selectors.DefaultSelector()
socks = []
for i, port in enumerate(ports):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", base + i)); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append((s, port))
frame, got = bytes(320), 0
start = time.monotonic(); tick = 0
while time.monotonic() - start < seconds:
    tick += 1
    for s, port in socks:
        s.sendto(frame, ("127.0.0.1", port))
    while True:
        wait = start + tick * 0.02 - time.monotonic()
        if wait <= 0:
            break
        for key, _ in sel.select(wait):
            while True:
                try:
                    key.fileobj.recv(2048); got += 1
                except BlockingIOError:
                    break
print(got)
"""


def codec() -> dict[str, float]:
    data = TRANSCRIPT.read_bytes() * 20
    start = time.perf_counter()
    events = 0
    parser = EslParser()
    for i in range(0, len(data), 1460):  # TCP-sized reads
        for msg in parser.feed(data[i:i + 1460]):
            if msg.content_type == EVENT_PLAIN:
                decode_event(msg.body)
                events += 1
    took = time.perf_counter() - start
    return {"mb_per_s": round(len(data) / took / 1e6, 1), "events_per_s": round(events / took)}


class Sink:
    frames = 0

    def on_connected(self, leg: Any) -> None: ...

    def on_audio(self, leg: Any, pcm: bytes) -> None:
        Sink.frames += 1

    def on_closed(self, leg: Any, reason: str) -> None: ...


async def legs(n: int, seconds: float, base: int) -> dict[str, Any]:
    audio = UnicastAudio(lambda u: Sink(), listen_host="127.0.0.1", advertise_host="127.0.0.1",
                         fs_host="127.0.0.1", fs_ports=(base, base + n - 1))

    async def send(_b: str, _h: list[tuple[str, str]]) -> None:
        return None

    for i in range(n):
        await audio.attach(f"00000000-0000-4000-8000-{i:012d}", "b", send)
    ports = ",".join(str(leg.local_port) for leg in audio.legs.values())
    Sink.frames = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    peer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PEER, ports, str(base), str(seconds),
        stdout=subprocess.PIPE)
    out, _ = await peer.communicate()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await audio.close()
    return {"legs": n, "cpu_share_of_core": round(cpu / wall, 4),
            "frames_in": Sink.frames, "frames_at_peer": int(out or 0),
            "expected_each_way": int(n * seconds / 0.02)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--legs", default="1,50,200")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    result: dict[str, Any] = {"codec": codec(), "unicast": []}
    for n in (int(x) for x in args.legs.split(",")):
        base = random.randrange(20000, 60000 - n)  # FreeSWITCH-side ports: any free run
        result["unicast"].append(asyncio.run(legs(n, args.seconds, base)))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
