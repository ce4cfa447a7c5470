"""End-to-end control-plane figures, three processes on loopback:

    sandbox PBX  <-AMI/AudioSocket->  vidline (server)  <-HTTP/WS->  load (this process)

* request -> first position update: POST /api/v1/interactions, open the
  status WebSocket, until the first ``queued`` status with a position, for N
  customers arriving together (agents paused, so they all wait);
* memory per waiting customer: the vidline process's RSS growth with N
  customers waiting (their AudioSocket legs, WebSockets and interactions),
  divided by N;
* AgentConnect -> agent pop: the AgentConnect event's own Timestamp (written
  by the sandbox) to the moment the agent's WebSocket delivers the
  ``connected`` pop, read by the agents' panels in a fourth process; the
  baseline is the same event reaching a plain AMI client in the load
  process, i.e. what the transport alone costs. The pop is also cut at
  three stamps taken inside vidline (AMI read, agent hub, WebSocket sent);
* CPU seconds per phase, from /proc (arrival, waiting, popping): unlike
  the latencies, little moved by other work on the machine;
* what a pop can queue behind in vidline's event loop while popping: the
  loop's lag on a 5 ms timer, the iterations that took over 2 ms of CPU
  (thread time, so not inflated by a busy machine) and the full garbage
  collections.

The customers' WebSockets offer permessage-deflate as Chromium does
(``--ws-compress 0`` not to).

Used by bench/control_plane.py; also runnable alone:
    .venv/bin/python bench/control_plane_e2e.py --customers 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))
sys.path.insert(0, str(ROOT))

CONFIG = """
categories = ["billing"]
[server]
host = "127.0.0.1"
port = 0
requests_per_minute = 100000
[asterisk]
username = "vidline"
secret = "bench-secret"
port = {ami_port}
[audiosocket]
listen_port = 0
[database]
url = "sqlite:///{db}"
[routing]
default_queue = "support"
[sandbox]
enabled = {sandbox}
ami_port = 0
auto_answer = true
auto_answer_after = 0.05
[[sandbox.queues]]
name = "support"
strategy = "rrmemory"
ring_timeout = 15
retry = 1
"""
AGENT = """
[[agents]]
username = "agent{i}"
password_hash = "{hash}"
interface = "PJSIP/{ext}"
member_name = "Agent {i}"
queues = ["support"]
"""


def config_text(agents: int, ami_port: int, db: str, sandbox: bool, pw_hash: str) -> str:
    text = CONFIG.format(ami_port=ami_port, db=db, sandbox="true" if sandbox else "false")
    return text + "".join(AGENT.format(i=i, hash=pw_hash, ext=2000 + i) for i in range(agents))


def parse(text: str) -> Any:
    import tomllib

    from vidline.config import parse_config

    return parse_config(tomllib.loads(text))


# -- the two server roles ---------------------------------------------------

async def role_sandbox(text: str) -> None:
    from vidline.pbx.sandbox.pbx import SandboxPbx

    pbx = SandboxPbx(parse(text), use_db=False)
    await pbx.start()
    print(json.dumps({"ami_port": pbx.ami_port}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await pbx.close()


async def role_server(text: str) -> None:
    from vidline.app import settle_heap, start

    config = parse(text)
    trace = install_trace()
    runtime = await start(config)
    settle_heap()  # as `vidline serve` does
    lag = asyncio.create_task(sample_loop_lag(trace))
    print(json.dumps({"url": runtime.base_url}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    lag.cancel()
    await runtime.close()
    print(json.dumps(trace), flush=True)


def install_trace() -> dict[str, Any]:
    """Wrap the three steps of a pop inside vidline with wall-clock stamps,
    keyed by interaction id: the AgentConnect read off the AMI socket, the
    pop handed to the agent hub, the pop written to the agent's WebSocket.
    Patched on the classes before start() so the runtime's objects use them."""
    from aiohttp import web

    from vidline.agents.hub import AgentHub
    from vidline.pbx.asterisk.adapter import AsteriskAdapter

    trace: dict[str, Any] = {"read": {}, "hub": {}, "sent": {}, "lag": [], "gc": [],
                             "iterations": []}
    gc_started = [0.0]

    def gc_pause(phase: str, info: dict[str, int]) -> None:
        # CPU time of the collection (thread time: not inflated by a busy machine)
        if phase == "start":
            gc_started[0] = time.thread_time()
        else:
            trace["gc"].append((time.time(), info["generation"],
                                time.thread_time() - gc_started[0]))

    gc.callbacks.append(gc_pause)
    on_message, pop, send_json = AsteriskAdapter._on_message, AgentHub.pop, \
        web.WebSocketResponse.send_json

    def traced_on_message(self: Any, msg: Any) -> None:
        if msg.event == "AgentConnect":
            trace["read"].setdefault(msg.get("Uniqueid"), time.time())
        on_message(self, msg)

    def traced_pop(self: Any, username: str, message: dict[str, Any]) -> None:
        if message.get("phase") == "connected":
            trace["hub"].setdefault(message["interaction"]["id"], time.time())
        pop(self, username, message)

    async def traced_send_json(self: Any, data: Any, *args: Any, **kwargs: Any) -> None:
        await send_json(self, data, *args, **kwargs)
        if isinstance(data, dict) and data.get("type") == "pop" and (
                data.get("phase") == "connected"):
            trace["sent"].setdefault(data["interaction"]["id"], time.time())

    run_once = asyncio.base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]
    iterations: list[tuple[float, float]] = trace["iterations"]

    def traced_run_once(self: Any) -> None:
        # CPU of one loop iteration: what a pop read in it can wait behind,
        # on an idle machine; counted in thread time, so a busy one does not
        # inflate it. Only the long ones are kept.
        started = time.thread_time()
        run_once(self)
        cpu = time.thread_time() - started
        if cpu > 0.002:
            iterations.append((time.time(), cpu))

    asyncio.base_events.BaseEventLoop._run_once = traced_run_once  # type: ignore[attr-defined]
    AsteriskAdapter._on_message = traced_on_message  # type: ignore[method-assign]
    AgentHub.pop = traced_pop  # type: ignore[method-assign]
    web.WebSocketResponse.send_json = traced_send_json  # type: ignore[method-assign]
    return trace


async def sample_loop_lag(trace: dict[str, Any], period: float = 0.005) -> None:
    """How late the server's event loop runs a 5 ms timer: what any callback
    (a pop among them) waits behind the work already queued."""
    loop = asyncio.get_running_loop()
    lags: list[tuple[float, float]] = trace["lag"]
    while True:
        due = loop.time() + period
        await asyncio.sleep(period)
        lags.append((time.time(), loop.time() - due))


async def role_agents(text: str) -> None:
    """The agents' panels, in a process of their own so that the customers'
    status traffic in the load process cannot delay reading a pop."""
    import aiohttp

    spec = json.loads(text)
    sessions, sockets = [], []
    for i in range(spec["agents"]):
        # unsafe: the cookie jar refuses cookies from IP hosts otherwise
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        sessions.append(http)
        sockets.append(await agent_login(http, spec["url"], f"agent{i}"))

    async def listen(ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for msg in ws:
                data = json.loads(msg.data)
                if data.get("type") == "pop" and data.get("phase") == "connected":
                    now = time.time()
                    print(json.dumps({"id": data["interaction"]["id"], "t": now}), flush=True)

    tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
    print(json.dumps({"ready": True}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()
    for ws, http in zip(sockets, sessions, strict=True):
        await ws.close()
        await http.close()


def spawn(role: str, text: str) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--role", role], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True, env={**os.environ, "VIDLINE_BENCH_CONFIG": text})
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"the {role} process did not start")
    return proc, json.loads(line)


def create_tables(url: str) -> None:
    """The reporting tables, as `vidline db` or the demo make them: the
    last-agent lookup on every arrival reads queue_log."""
    from vidline.reporting.db import Database
    from vidline.reporting.tables import ensure_reporting_schema

    database = Database(url)
    try:
        ensure_reporting_schema(database)
    finally:
        database.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def cpu_share(pid: int, seconds: float = 3.0) -> float:
    """Share of one core the process used over the next ``seconds``."""
    before = cpu_seconds(pid)
    await asyncio.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- the load side ------------------------------------------------------------

@dataclasses.dataclass
class Customer:
    id: str = ""
    ws: Any = None
    queued_after: float = 0.0
    connected: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


async def customer_arrives(http: Any, url: str, n: int, compress: int = 15) -> Customer:
    customer = Customer()
    started = time.perf_counter()
    async with http.post(f"{url}/api/v1/interactions",
                         json={"customer_id": f"c{n}", "category": "billing"}) as resp:
        created = await resp.json()
    customer.id = created["id"]
    # compress=15: offer permessage-deflate, as Chromium does
    customer.ws = await http.ws_connect(f"{created['ws_url']}?token={created['token']}",
                                        compress=compress)
    while True:
        message = await customer.ws.receive_json()
        if message.get("state") == "queued" and message.get("position"):
            customer.queued_after = time.perf_counter() - started
            return customer


async def follow(customer: Customer) -> None:
    with contextlib.suppress(Exception):
        while True:
            message = await customer.ws.receive_json()
            if message.get("state") == "connected":
                customer.connected.set()
                await customer.ws.send_json({"type": "hangup"})
            if message.get("state") == "ended":
                return


async def agent_login(http: Any, url: str, username: str) -> Any:
    origin = {"Origin": url}
    async with http.get(f"{url}/agent/login"):
        pass
    token = next(c.value for c in http.cookie_jar if c.key.startswith("vidline_login"))
    async with http.post(f"{url}/agent/login", json={"username": username, "password": "bench"},
                         headers={**origin, "X-CSRF-Token": token}) as resp:
        session = await resp.json()
    return await http.ws_connect(f"{url}/agent/ws?csrf={session['csrf_token']}", headers=origin)


@dataclasses.dataclass
class Pops:
    target: int
    times: dict[str, float] = dataclasses.field(default_factory=dict)
    enough: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)


async def run_load(args: argparse.Namespace) -> list[tuple[str, str]]:
    import aiohttp

    from tests.ami_observer import AmiObserver
    from vidline.agents.passwords import hash_password
    from vidline.pbx.asterisk.codec import encode_action

    pw_hash = hash_password("bench")
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/bench.db"
        create_tables(f"sqlite:///{db}")
        sandbox, info = spawn("sandbox", config_text(args.agents, 5038, db, True, pw_hash))
        server, served = spawn("server", config_text(args.agents, info["ami_port"], db, False,
                                                     pw_hash))
        url = served["url"]
        observer = AmiObserver()
        try:
            await observer.connect("127.0.0.1", info["ami_port"], "vidline", "bench-secret")
            assert observer._writer is not None
            for i in range(args.agents):  # everyone waits until all have arrived
                observer._writer.write(encode_action("QueuePause", f"p{i}", [
                    ("Interface", f"PJSIP/{2000 + i}"), ("Paused", "true"), ("Reason", "bench")]))
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as http:
                agents, _ = spawn("agents", json.dumps({"url": url, "agents": args.agents}))
                pops = Pops(target=min(args.pops, args.customers))
                loop = asyncio.get_running_loop()

                def read_pops() -> None:
                    assert agents.stdout is not None
                    for line in agents.stdout:
                        pop = json.loads(line)
                        pops.times.setdefault(pop["id"], pop["t"])
                        if len(pops.times) >= pops.target:
                            loop.call_soon_threadsafe(pops.enough.set)

                reader = loop.run_in_executor(None, read_pops)
                await asyncio.sleep(0.5)
                base_rss = rss_kib(server.pid)
                cpu0 = (cpu_seconds(server.pid), cpu_seconds(sandbox.pid))
                gate = asyncio.Semaphore(args.concurrency)

                async def arrive(n: int) -> Customer:
                    async with gate:
                        return await customer_arrives(http, url, n, args.ws_compress)

                customers = await asyncio.gather(*(arrive(n) for n in range(args.customers)))
                cpu1 = (cpu_seconds(server.pid), cpu_seconds(sandbox.pid))
                await asyncio.sleep(1.0)  # let every AudioSocket leg settle
                waiting_rss = rss_kib(server.pid)
                vidline_cpu, sandbox_cpu = await asyncio.gather(
                    cpu_share(server.pid), cpu_share(sandbox.pid))
                followers = [asyncio.create_task(follow(c)) for c in customers]
                cpu2 = (cpu_seconds(server.pid), cpu_seconds(sandbox.pid))
                pop_start = time.time()
                for i in range(args.agents):
                    observer._writer.write(encode_action("QueuePause", f"u{i}", [
                        ("Interface", f"PJSIP/{2000 + i}"), ("Paused", "false")]))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pops.enough.wait(), args.timeout)
                pop_end = time.time()
                cpu3 = (cpu_seconds(server.pid), cpu_seconds(sandbox.pid))
                for customer in customers:  # the rest leave the line
                    with contextlib.suppress(Exception):
                        await customer.ws.send_json({"type": "hangup"})
                await asyncio.wait(followers, timeout=20)
                for task in followers:
                    task.cancel()
                assert agents.stdin is not None
                agents.stdin.close()
                await reader
                agents.wait(30)
        finally:
            await observer.close()
            for proc in (server, sandbox):
                assert proc.stdin is not None
                proc.stdin.close()
            assert server.stdout is not None  # its trace: read before it can fill the pipe
            trace = json.loads(server.stdout.read() or "{}")
            for proc in (server, sandbox):
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

    connects = {m.get("Uniqueid"): float(m.get("Timestamp"))
                for m in observer.events("AgentConnect")}
    seen = {m.get("Uniqueid"): t for m, t in observer.arrivals if m.event == "AgentConnect"}
    pop_ms = [(t - connects[i]) * 1000 for i, t in pops.times.items() if i in connects]
    ami_ms = [(seen[i] - connects[i]) * 1000 for i in seen if i in connects]
    queued_ms = [c.queued_after * 1000 for c in customers]
    per_customer = (waiting_rss - base_rss) / max(1, args.customers)
    # CPU seconds per phase: counted by the kernel per process, so (unlike
    # the latencies) little moved by what else the machine runs
    n, connected = max(1, args.customers), max(1, len(pop_ms))
    pop_secs = max(pop_end - pop_start, 1e-3)
    arrive_ms = [(cpu1[k] - cpu0[k]) * 1000 / n for k in (0, 1)]
    pop_cpu = [cpu3[k] - cpu2[k] for k in (0, 1)]
    per_connect = [pop_cpu[k] * 1000 / connected for k in (0, 1)]
    steps = pop_steps(trace, connects, pops.times)
    lags = [lag * 1000 for t, lag in trace.get("lag", []) if pop_start <= t <= pop_end]
    full_gc = [cpu * 1000 for t, gen, cpu in trace.get("gc", []) if gen == 2]
    busy = sorted((cpu * 1000 for t, cpu in trace.get("iterations", [])
                   if pop_start <= t <= pop_end), reverse=True)
    full_gc_popping = [cpu * 1000 for t, gen, cpu in trace.get("gc", [])
                       if gen == 2 and pop_start <= t <= pop_end]
    return [
        ("customers waiting at once", str(args.customers)),
        ("request -> first position", f"p50 {pct(queued_ms, .5):.1f} ms, "
                                      f"p99 {pct(queued_ms, .99):.1f} ms"),
        ("memory per waiting customer", f"{per_customer:.1f} KiB of vidline RSS "
                                        f"(target < 200 KiB: {per_customer / 200:.2f} of it)"),
        ("CPU while they wait", f"vidline {vidline_cpu:.0%} of a core, "
                                f"sandbox PBX {sandbox_cpu:.0%} "
                                f"({vidline_cpu * 1e6 / n:.0f} / {sandbox_cpu * 1e6 / n:.0f} "
                                f"us per customer per s)"),
        ("CPU per arrival", f"vidline {arrive_ms[0]:.2f} ms, sandbox PBX {arrive_ms[1]:.2f} ms"),
        ("CPU while popping, per connect", f"vidline {per_connect[0]:.1f} ms, sandbox PBX "
                                           f"{per_connect[1]:.1f} ms ({connected} connects in "
                                           f"{pop_secs:.1f} s, the waiting customers' audio "
                                           f"included)"),
        ("AgentConnect -> agent pop", f"p50 {pct(pop_ms, .5):.1f} ms, p99 {pct(pop_ms, .99):.1f} ms"
                                      f" over {len(pop_ms)} connects (target p99 < 50 ms)"),
        *((f"  {label}", f"p50 {pct(v, .5):.1f} ms, p99 {pct(v, .99):.1f} ms")
          for label, v in steps),
        ("vidline loop lag while popping", f"p50 {pct(lags, .5):.1f} ms, p99 {pct(lags, .99):.1f}"
                                           f" ms, max {max(lags, default=float('nan')):.1f} ms"),
        ("vidline loop iterations > 2 ms CPU", f"{len(busy) / pop_secs:.1f}/s while popping; "
                                               f"longest {', '.join(f'{b:.0f}' for b in busy[:5])}"
                                               f" ms"),
        ("vidline full GC (CPU)", f"{len(full_gc)} in the run, max "
                                  f"{max(full_gc, default=0):.1f} ms; {len(full_gc_popping)} while "
                                  f"popping, max {max(full_gc_popping, default=0):.1f} ms"),
        ("baseline: AgentConnect -> AMI client", f"p50 {pct(ami_ms, .5):.1f} ms, "
                                                 f"p99 {pct(ami_ms, .99):.1f} ms"),
        ("ratio pop/AMI delivery (p50)", f"{pct(pop_ms, .5) / max(pct(ami_ms, .5), 1e-3):.1f}x"),
        ("ratio pop/AMI delivery (p99)", f"{pct(pop_ms, .99) / max(pct(ami_ms, .99), 1e-3):.1f}x"),
    ]


def pop_steps(trace: dict[str, Any], connects: dict[str, float],
              shown: dict[str, float]) -> list[tuple[str, list[float]]]:
    """The pop latency cut at the server's stamps: sandbox -> vidline's AMI
    read, read -> agent hub, hub -> agent WebSocket written, written -> the
    agent's panel process."""
    marks = [connects, trace.get("read", {}), trace.get("hub", {}), trace.get("sent", {}), shown]
    labels = ["sandbox -> vidline AMI read", "AMI read -> agent hub",
              "agent hub -> WebSocket sent", "WebSocket -> agent process"]
    steps = []
    for label, before, after in zip(labels, marks, marks[1:], strict=False):
        steps.append((label, [(after[i] - before[i]) * 1000 for i in after if i in before]))
    return steps


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=500, help="customers waiting at once")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--pops", type=int, default=200, help="connects to time")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--ws-compress", type=int, default=15, choices=(0, *range(9, 16)),
                        help="customers offer permessage-deflate with these window bits, "
                             "as browsers do (0: not offered)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--role", choices=("sandbox", "server", "agents"))
    add_arguments(parser)
    args = parser.parse_args()
    if args.role:
        runner = {"sandbox": role_sandbox, "server": role_server, "agents": role_agents}[args.role]
        asyncio.run(runner(os.environ["VIDLINE_BENCH_CONFIG"]))
        return 0
    for label, value in asyncio.run(run_load(args)):
        print(f"  {label:36} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
