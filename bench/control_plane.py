"""Control-plane benchmark: how fast vidline turns AMI bytes into typed events,
measured side by side with panoramisk 1.4's own parser in the same run.

    .venv/bin/python bench/control_plane.py [--file T.ami.txt ...] [--chunk 65536]

Both sides get the same bytes in the same TCP-sized chunks. vidline: the
sans-IO codec (AmiParser) plus the event mapping (events.to_event) that the
adapter runs on every message. panoramisk: AMIProtocol.data_received with a
Manager as factory (its Message parsing and its event dispatch, no
callbacks registered), which is what an application on panoramisk pays.

The transcript defaults to the 40-call load run with every event class on
(shared/asterisk/pass3/R1, 6 MB, 7.8k messages) when the shared directory is
there, else the transcripts in tests/fixtures/asterisk.

Sections are plain functions ``(args) -> list of (label, value)`` in
SECTIONS: the parse rate, then the end-to-end latency, CPU and memory figures
of bench/control_plane_e2e.py (500 customers waiting at once by default).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402
from panoramisk.manager import Manager  # noqa: E402

from vidline.pbx.asterisk.codec import AmiMessage, AmiParser  # noqa: E402
from vidline.pbx.asterisk.events import to_event  # noqa: E402

SHARED_R1 = ROOT.parent / "shared" / "asterisk" / "pass3" / "R1_load40_events_on.ami.txt"
FIXTURES = ROOT / "tests" / "fixtures" / "asterisk"

Section = Callable[[argparse.Namespace], list[tuple[str, str]]]


def default_transcripts() -> list[Path]:
    if SHARED_R1.exists():
        return [SHARED_R1]
    return sorted(p for p in FIXTURES.glob("*.ami.txt"))


def load(paths: list[Path]) -> bytes:
    """One AMI stream: the first file's banner, then every file's messages."""
    out = bytearray()
    for path in paths:
        data = path.read_bytes()
        if data.startswith(b"Asterisk Call Manager/"):
            banner_end = data.index(b"\r\n") + 2
            if not out:
                out += data[:banner_end]
            data = data[banner_end:]
        out += data
    return bytes(out)


def split(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run_vidline(chunks: list[bytes]) -> tuple[int, int]:
    """Returns (messages, typed events)."""
    parser = AmiParser()
    messages = typed = 0
    for chunk in chunks:
        for item in parser.feed(chunk):
            if isinstance(item, AmiMessage):
                messages += 1
                if to_event(item) is not None:
                    typed += 1
    return messages, typed


def run_adapter_path(chunks: list[bytes]) -> tuple[int, int]:
    """The adapter's whole receive path: link protocol (framing, ActionID
    routing) into AsteriskAdapter._on_message (mapping, leg bookkeeping,
    handler fan-out). Returns (messages, events emitted)."""
    from vidline.config import AsteriskConfig, AudioSocketConfig
    from vidline.pbx.asterisk.adapter import AsteriskAdapter
    from vidline.pbx.asterisk.link import _Protocol

    async def main() -> tuple[int, int]:
        adapter = AsteriskAdapter(AsteriskConfig(), AudioSocketConfig())
        emitted: list[object] = []
        adapter.subscribe(emitted.append)
        count = 0

        def on_event(msg: AmiMessage) -> None:
            nonlocal count
            count += 1
            adapter._on_message(msg)

        protocol = _Protocol(on_event)
        protocol.connection_made(_NullTransport())
        for chunk in chunks:
            protocol.data_received(chunk)
        return count, len(emitted)

    return asyncio.run(main())


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def run_panoramisk(chunks: list[bytes]) -> tuple[int, int]:
    """Returns (messages, 0): panoramisk has no typed events."""
    async def main() -> int:
        count = 0
        manager = Manager(loop=asyncio.get_running_loop())

        class Counting(AMIProtocol):  # type: ignore[misc]
            def handle_message(self, message: Any) -> None:
                nonlocal count
                count += 1
                super().handle_message(message)

        protocol = Counting()
        protocol.connection_made(_NullTransport())
        protocol.factory = manager
        protocol.encoding = "utf8"
        for chunk in chunks:
            protocol.data_received(chunk)
        # let the one FullyBooted callback panoramisk scheduled finish
        await asyncio.sleep(0)
        return count

    return asyncio.run(main()), 0


def best_rate(run: Callable[[list[bytes]], tuple[int, int]], chunks: list[bytes],
              repeat: int) -> tuple[float, int, int]:
    """Best of ``repeat`` runs: (messages per second, messages, typed events)."""
    best = float("inf")
    result = (0, 0)
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        result = run(chunks)
        best = min(best, time.perf_counter() - start)
    return result[0] / best, result[0], result[1]


def parse_rate(args: argparse.Namespace) -> list[tuple[str, str]]:
    paths = [Path(p) for p in args.file] if args.file else default_transcripts()
    data = load(paths)
    chunks = split(data, args.chunk)
    names = ", ".join(p.name for p in paths) if len(paths) <= 2 else f"{len(paths)} files"
    # alternate the two so neither gets a warmer machine
    v_rate = p_rate = 0.0
    v_msgs = v_typed = p_msgs = a_msgs = 0
    a_rate = 0.0
    for _ in range(args.rounds):
        rate, a_msgs, _ = best_rate(run_adapter_path, chunks, args.repeat)
        a_rate = max(a_rate, rate)
        rate, v_msgs, v_typed = best_rate(run_vidline, chunks, args.repeat)
        v_rate = max(v_rate, rate)
        rate, p_msgs, _ = best_rate(run_panoramisk, chunks, args.repeat)
        p_rate = max(p_rate, rate)
    return [
        ("transcript", f"{names} ({len(data) / 1e6:.2f} MB, {args.chunk}-byte reads)"),
        ("messages parsed", f"vidline {v_msgs}, panoramisk {p_msgs}, adapter {a_msgs}"),
        ("typed events (vidline)", str(v_typed)),
        ("vidline codec+events", f"{v_rate:,.0f} events/s"),
        ("vidline link+adapter path", f"{a_rate:,.0f} events/s"),
        ("panoramisk parser", f"{p_rate:,.0f} events/s"),
        ("ratio vidline/panoramisk", f"{v_rate / p_rate:.2f}x"),
    ]


def end_to_end(args: argparse.Namespace) -> list[tuple[str, str]]:
    if args.skip_e2e:
        return [("skipped", "--skip-e2e")]
    from bench.control_plane_e2e import run_load

    return asyncio.run(run_load(args))


SECTIONS: list[Section] = [parse_rate, end_to_end]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", action="append", help="AMI transcript(s) to parse")
    parser.add_argument("--chunk", type=int, default=65536, help="bytes per TCP read")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measurement (best)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds")
    parser.add_argument("--skip-e2e", action="store_true", help="only the parsing section")
    from bench.control_plane_e2e import add_arguments

    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    for section in SECTIONS:
        print(f"== {section.__name__}")
        for label, value in section(args):
            print(f"  {label:36} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
