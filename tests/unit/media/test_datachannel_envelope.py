"""The data channel envelope and the bridge's relay of it: pieces under the
limit, joined under a cap, co-browsing kinds only from the side that may
send them, journal entries for the recorder; and the JavaScript side
(frontend/src/envelope.js) agreeing with the Python side byte for byte."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vidline.media.datachannel import (
    ChannelRelay,
    EnvelopeError,
    Reassembler,
    chunk_message,
)

REPO = Path(__file__).resolve().parents[3]


class FakeChannel:
    def __init__(self) -> None:
        self.readyState = "open"
        self.sent: list[str | bytes] = []
        self.handlers: dict[str, Any] = {}

    def on(self, name: str) -> Any:
        def register(fn: Any) -> Any:
            self.handlers[name] = fn
            return fn
        return register

    def send(self, data: str | bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        self.readyState = "closed"


def relay_pair(max_bytes: int = 1024, **kw: Any) -> tuple[ChannelRelay, FakeChannel, FakeChannel,
                                                          list[tuple[str, dict[str, Any]]]]:
    relay = ChannelRelay(max_bytes, **kw)
    notes: list[tuple[str, dict[str, Any]]] = []
    relay.on_note = lambda kind, data: notes.append((kind, data))
    customer, agent = FakeChannel(), FakeChannel()
    relay.attach("customer", customer)
    relay.attach("agent", agent)
    return relay, customer, agent, notes


def join(texts: list[str | bytes]) -> list[dict[str, Any]]:
    joiner = Reassembler()
    out = []
    for text in texts:
        assert isinstance(text, str)
        obj = json.loads(text)
        if obj["t"] == "chunk":
            whole = joiner.feed(obj)
            if whole is not None:
                out.append(json.loads(whole))
        else:
            out.append(obj)
    return out


TRICKY = 'é"\\\n\x01ü😀' * 300  # escapes, 2-, 3- and 4-byte characters


@pytest.mark.parametrize("max_bytes", [256, 1000, 65536])
def test_chunks_stay_under_the_limit_and_join_back(max_bytes: int) -> None:
    message = {"t": "cobrowse-events", "events": [{"text": TRICKY, "n": i} for i in range(5)]}
    text = json.dumps(message, ensure_ascii=False)
    pieces = chunk_message(text, max_bytes, "m1")
    assert all(len(p.encode()) <= max_bytes for p in pieces)
    assert len(pieces) > 1 or len(text.encode()) <= max_bytes
    assert join(list(pieces)) == [message]


def test_reassembler_refuses_disorder_oversize_and_too_many_at_once() -> None:
    joiner = Reassembler(max_message=100, max_pending=2)
    with pytest.raises(EnvelopeError, match="out of order"):
        joiner.feed({"t": "chunk", "id": "a", "i": 1, "n": 3, "d": "x"})
    joiner.feed({"t": "chunk", "id": "b", "i": 0, "n": 3, "d": "x" * 60})
    with pytest.raises(EnvelopeError, match="over 100 bytes"):
        joiner.feed({"t": "chunk", "id": "b", "i": 1, "n": 3, "d": "x" * 60})
    with pytest.raises(EnvelopeError, match="id"):
        joiner.feed({"t": "chunk", "id": "", "i": 0, "n": 2, "d": "x"})
    with pytest.raises(EnvelopeError, match="whole numbers"):
        joiner.feed({"t": "chunk", "id": "c", "i": True, "n": 2, "d": "x"})
    joiner.feed({"t": "chunk", "id": "c", "i": 0, "n": 2, "d": "x"})
    joiner.feed({"t": "chunk", "id": "d", "i": 0, "n": 2, "d": "x"})
    with pytest.raises(EnvelopeError, match="at once"):
        joiner.feed({"t": "chunk", "id": "e", "i": 0, "n": 2, "d": "x"})
    assert joiner.feed({"t": "chunk", "id": "c", "i": 1, "n": 2, "d": "y"}) == "xy"


def test_relay_joins_notes_and_rechunks_for_the_far_side() -> None:
    _relay, customer, agent, notes = relay_pair(max_bytes=512)
    agent.handlers["message"](json.dumps({"t": "cobrowse-request"}))
    assert [json.loads(t) for t in customer.sent] == [{"t": "cobrowse-request"}]
    events = {"t": "cobrowse-events", "events": [{"type": 2, "data": "ü" * 2000}]}
    for piece in chunk_message(json.dumps(events), 700, "x9"):  # the browser's own limit
        customer.handlers["message"](piece)
    assert all(len(str(p).encode()) <= 512 for p in agent.sent)
    assert join(agent.sent) == [events]
    customer.handlers["message"](json.dumps({"t": "cobrowse-state", "on": True}))
    assert [kind for kind, _ in notes] == ["cobrowse"] * 3
    assert [data["action"] for _, data in notes] == ["request", "events", "on"]
    assert notes[1][1]["events"] == events["events"]


def test_relay_refuses_co_browsing_kinds_from_the_wrong_side() -> None:
    relay, customer, agent, notes = relay_pair()
    fake = [{"t": "cobrowse-events", "events": []}, {"t": "cobrowse-state", "on": True}]
    for message in fake:
        agent.handlers["message"](json.dumps(message))
    customer.handlers["message"](json.dumps({"t": "cobrowse-highlight", "rect": {}}))
    customer.handlers["message"](json.dumps({"t": "cobrowse-pointer", "x": 1, "y": 1}))
    assert customer.sent == [] and agent.sent == [] and notes == []
    assert relay.refused == 4
    # the agent may end co-browsing; its pointer is relayed but not journaled
    agent.handlers["message"](json.dumps({"t": "cobrowse-state", "on": False}))
    agent.handlers["message"](json.dumps({"t": "cobrowse-pointer", "x": 3, "y": 4}))
    assert len(customer.sent) == 2
    assert notes == [("cobrowse", {"action": "off", "from": "agent"})]


def test_relay_passes_non_envelope_text_and_bytes_as_before() -> None:
    _relay, customer, agent, notes = relay_pair(max_bytes=1024)
    customer.handlers["message"]("hello")
    customer.handlers["message"]("ü" * 1000)  # 2000 bytes: raw parts
    customer.handlers["message"](b"\x00" * 1500)
    assert agent.sent[0] == "hello"
    assert "".join(str(p) for p in agent.sent[1:3]) == "ü" * 1000
    assert agent.sent[3:] == [b"\x00" * 1024, b"\x00" * 476]
    assert notes == []


def test_a_broken_piece_is_dropped_and_the_relay_goes_on() -> None:
    relay, customer, agent, _notes = relay_pair()
    customer.handlers["message"](json.dumps({"t": "chunk", "id": "a", "i": 5, "n": 2, "d": ""}))
    customer.handlers["message"](json.dumps({"t": "chunk", "id": "b", "i": 0, "n": 1,
                                             "d": "not json"}))
    customer.handlers["message"](json.dumps({"t": "cobrowse-state", "on": True}))
    assert relay.refused == 2
    assert [json.loads(t) for t in agent.sent] == [{"t": "cobrowse-state", "on": True}]


NODE_ROUND_TRIP = """
import { encode, Joiner } from "./frontend/src/envelope.js";
import { readFileSync } from "node:fs";
const input = JSON.parse(readFileSync(0, "utf8"));
const joiner = new Joiner();
const out = { pieces: encode(input.message, input.max), joined: [] };
for (const p of input.python) { const m = joiner.feed(p); if (m) out.joined.push(m); }
process.stdout.write(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node (scripts/setup.sh)")
def test_javascript_and_python_envelopes_agree(tmp_path: Path) -> None:
    message = {"t": "cobrowse-events", "events": [{"text": TRICKY + "\ud800x"}]}
    python_pieces = chunk_message(json.dumps(message), 900, "py1")
    script = tmp_path / "round.mjs"
    script.write_text(NODE_ROUND_TRIP.replace("./frontend", (REPO / "frontend").as_uri()))
    result = subprocess.run(
        ["node", str(script)], input=json.dumps(
            {"message": message, "max": 900, "python": python_pieces}),
        capture_output=True, text=True, timeout=60, check=True)
    out = json.loads(result.stdout)
    assert len(out["pieces"]) > 1
    assert all(len(p.encode("utf-8", "surrogatepass")) <= 900 for p in out["pieces"])
    assert join(out["pieces"]) == [message]  # JS pieces joined by Python
    assert out["joined"] == [message]  # Python pieces joined by JS


def test_the_cap_holds_across_messages_being_joined_at_once() -> None:
    joiner = Reassembler(max_message=100, max_pending=4)
    joiner.feed({"t": "chunk", "id": "a", "i": 0, "n": 2, "d": "x" * 60})
    with pytest.raises(EnvelopeError, match="over 100 bytes"):
        joiner.feed({"t": "chunk", "id": "b", "i": 0, "n": 2, "d": "x" * 60})
    assert joiner.feed({"t": "chunk", "id": "a", "i": 1, "n": 2, "d": "y" * 30}) \
        == "x" * 60 + "y" * 30


def test_a_lone_surrogate_in_a_piece_is_refused_not_raised() -> None:
    relay, customer, agent, _notes = relay_pair()
    customer.handlers["message"]('{"t":"chunk","id":"s","i":0,"n":2,"d":"\\ud800"}')
    assert relay.refused == 1 and agent.sent == []


def test_a_snapshot_of_megabytes_chunks_and_joins() -> None:
    html = '<p class="x">Grüße</p>\n' * 200_000
    text = json.dumps({"t": "cobrowse-events", "events": [{"type": 2, "data": {"html": html}}]},
                      ensure_ascii=False)
    pieces = chunk_message(text, 65536, "big")
    assert all(len(p.encode()) <= 65536 for p in pieces)
    full = [len(p.encode()) for p in pieces[:-1]]
    assert sum(full) / len(full) > 60000  # near-full pieces, not tiny ones
    assert join(list(pieces))[0]["events"][0]["data"]["html"] == html
