"""The call relay-only through Debian's coturn on loopback: both browsers and
the bridge may only use TURN relay candidates, with TURN REST credentials
that vidline derives from coturn's static-auth-secret."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_control_plane_e2e import open_agent, open_customer
from tests.browser.test_media_e2e import TIMEOUT_MS, video_flows
from tests.conftest import make_config
from vidline.config import IceServerConfig, MediaConfig

pytestmark = [pytest.mark.browser]
ALICE = "PJSIP/1001"

SELECTED_PAIR = """async (name) => {
  const stats = await window[name].pc.getStats();
  let pair = null;
  stats.forEach((s) => { if (s.type === "transport" && s.selectedCandidatePairId)
    pair = stats.get(s.selectedCandidatePairId); });
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId), remote = stats.get(pair.remoteCandidateId);
  return { local: local.candidateType, remote: remote.candidateType,
           bytes: pair.bytesReceived };
}"""


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclasses.dataclass
class Turn:
    port: int
    secret: str
    log: Path


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Turn]:
    binary = shutil.which("turnserver")
    if binary is None:
        pytest.fail("coturn is not installed: run scripts/setup.sh --tests")
    turn = Turn(_free_udp_port(), secrets.token_hex(16), tmp_path / "turn.log")
    proc = subprocess.Popen([
        binary, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
        f"--listening-port={turn.port}", "--use-auth-secret",
        f"--static-auth-secret={turn.secret}", "--realm=vidline.test", "--no-tls",
        "--no-dtls", "--no-cli", "--allow-loopback-peers", "--simple-log",
        f"--log-file={turn.log}", f"--pidfile={tmp_path / 'turn.pid'}",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield turn
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(5)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_relay_only_call_through_coturn(
    browser: Any, runtime_factory: Any, tmp_path: Path, coturn: Turn
) -> None:
    config = make_config(f"sqlite:///{tmp_path}/vidline.db")
    config = dataclasses.replace(config, media=MediaConfig(
        ice_servers=(IceServerConfig(urls=(f"turn:127.0.0.1:{coturn.port}?transport=udp",)),),
        turn_secret=coturn.secret, turn_ttl=600, relay_only=True))
    runtime = await runtime_factory(config)
    ctl = runtime.sandbox.control
    agent = await open_agent(browser, runtime)
    customer = await open_customer(browser, runtime, "cust-relay", "+15550042")
    await ctl.wait_for(lambda: ctl.ringing(ALICE))
    assert await ctl.answer(ALICE)
    await customer.wait_for_selector("#vl-media[data-state=live]", timeout=TIMEOUT_MS)
    await agent.wait_for_selector("#media[data-state=live]", timeout=TIMEOUT_MS)

    for page, element, name in ((agent, "customer-video", "vidlinePanelMedia"),
                                (customer, "vl-remote-video", "vidlineMedia")):
        seen = await video_flows(page, element, name)
        assert seen["probe"]["change"] > 0.5, seen
        after = max(s["framesDecoded"] for s in seen["after"])
        assert after > max(s["framesDecoded"] for s in seen["before"]), seen
        pair = await page.evaluate(SELECTED_PAIR, name)
        assert pair is not None and pair["local"] == "relay" and pair["remote"] == "relay", pair
    # relay candidates on both ends exist only because coturn accepted the REST
    # credential vidline derived from its secret (a wrong one gets 401 and no relay)

    # hang up while coturn still runs: closing frees the TURN allocations
    bridge = runtime.media.bridges[customer_id(runtime)]
    await customer.click("#vl-hangup")
    await ctl.wait_for(lambda: bridge.closed and not bridge.tasks, timeout=15)


def customer_id(runtime: Any) -> str:
    [interaction] = list(runtime.service.store)
    return str(interaction.id)
