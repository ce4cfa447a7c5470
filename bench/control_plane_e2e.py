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
  process, i.e. what the transport alone costs.

Used by bench/control_plane.py; also runnable alone:
    .venv/bin/python bench/control_plane_e2e.py --customers 500
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
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
    from vidline.app import start

    config = parse(text)
    runtime = await start(config)
    print(json.dumps({"url": runtime.base_url}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await runtime.close()


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


async def customer_arrives(http: Any, url: str, n: int) -> Customer:
    customer = Customer()
    started = time.perf_counter()
    async with http.post(f"{url}/api/v1/interactions",
                         json={"customer_id": f"c{n}", "category": "billing"}) as resp:
        created = await resp.json()
    customer.id = created["id"]
    customer.ws = await http.ws_connect(f"{created['ws_url']}?token={created['token']}")
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
                gate = asyncio.Semaphore(args.concurrency)

                async def arrive(n: int) -> Customer:
                    async with gate:
                        return await customer_arrives(http, url, n)

                customers = await asyncio.gather(*(arrive(n) for n in range(args.customers)))
                await asyncio.sleep(1.0)  # let every AudioSocket leg settle
                waiting_rss = rss_kib(server.pid)
                vidline_cpu, sandbox_cpu = await asyncio.gather(
                    cpu_share(server.pid), cpu_share(sandbox.pid))
                followers = [asyncio.create_task(follow(c)) for c in customers]
                for i in range(args.agents):
                    observer._writer.write(encode_action("QueuePause", f"u{i}", [
                        ("Interface", f"PJSIP/{2000 + i}"), ("Paused", "false")]))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(pops.enough.wait(), args.timeout)
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
    return [
        ("customers waiting at once", str(args.customers)),
        ("request -> first position", f"p50 {pct(queued_ms, .5):.1f} ms, "
                                      f"p99 {pct(queued_ms, .99):.1f} ms"),
        ("memory per waiting customer", f"{per_customer:.1f} KiB of vidline RSS "
                                        f"(target < 200 KiB: {per_customer / 200:.2f} of it)"),
        ("CPU while they wait", f"vidline {vidline_cpu:.0%} of a core, "
                                f"sandbox PBX {sandbox_cpu:.0%}"),
        ("AgentConnect -> agent pop", f"p50 {pct(pop_ms, .5):.1f} ms, p99 {pct(pop_ms, .99):.1f} ms"
                                      f" over {len(pop_ms)} connects (target p99 < 50 ms)"),
        ("baseline: AgentConnect -> AMI client", f"p50 {pct(ami_ms, .5):.1f} ms, "
                                                 f"p99 {pct(ami_ms, .99):.1f} ms"),
        ("ratio pop/AMI delivery (p50)", f"{pct(pop_ms, .5) / max(pct(ami_ms, .5), 1e-3):.1f}x"),
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customers", type=int, default=500, help="customers waiting at once")
    parser.add_argument("--agents", type=int, default=5)
    parser.add_argument("--pops", type=int, default=200, help="connects to time")
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight")
    parser.add_argument("--timeout", type=float, default=120.0)


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
