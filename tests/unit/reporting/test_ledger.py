"""Rows from domain events, no database: the typed events of real Asterisk
22 runs (shared/asterisk A and C transcripts) through a Ledger give the
queue_log lines that Asterisk itself wrote for those calls, and the
interaction row and event rows follow the lifecycle."""

from __future__ import annotations

import json
from typing import Any

from tests.unit.asterisk.transcripts import messages
from vidline.context.model import InteractionContext
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import EndReason, Event, State
from vidline.pbx import events as ev
from vidline.pbx.asterisk.events import to_event
from vidline.reporting.ledger import Ledger
from vidline.reporting.records import EventRow, InteractionRow, QueueLogRecord

A_ID = "48066c0a-28d7-44df-b5f9-ea5b75cfb7ee"
C_ID = "3c0c6fc3"  # prefix: the C transcript's leg


def interaction(iid: str, queue: str = "support") -> Interaction:
    ctx = InteractionContext(customer_id="cust-1042", phone="5551234", category="billing")
    return Interaction(iid, ctx, RouteDecision(queue, 3, "category:billing"), b"")


def run(transcript: str, iid_prefix: str, end: EndReason,
        queue: str = "support") -> tuple[Interaction, list[Any]]:
    evs: list[Any] = [e for m in messages(transcript) if (e := to_event(m)) is not None]
    ids = {str(e.interaction_id) for e in evs if getattr(e, "interaction_id", None)}
    iid = next(i for i in ids if i.startswith(iid_prefix))
    it = interaction(iid, queue)
    ledger = Ledger(iid, write_queue_log=True)
    now = 1795736256.0
    out: list[Any] = ledger.feed(it, Event.PLACE, now)
    for e in evs:
        if getattr(e, "interaction_id", None) != iid:
            continue
        now += 0.5
        out += ledger.feed(it, e, now)
        if isinstance(e, ev.CallerJoined):
            it.state, it.queue, it.position = State.QUEUED, e.queue, e.position
            it.times["queued"] = now
            out += ledger.feed(it, Event.JOINED, now)
        elif isinstance(e, ev.AgentConnected):
            it.state, it.agent = State.CONNECTED, AgentRef("alice", e.interface, e.member_name)
            it.times["connected"] = now
            out += ledger.feed(it, Event.CONNECT, now)
    it.state, it.end_reason = State.ENDED, end
    it.times["ended"] = now + 0.5
    out += ledger.feed(it, Event.END, now + 0.5)
    return it, out


def lines(out: list[Any], callid: str) -> list[str]:
    # the lab's Originate had no ChannelId: Asterisk's callid was its own uniqueid
    return ["|".join([callid, *r.file_line().split("|")[2:]])
            for r in out if isinstance(r, QueueLogRecord)]


def test_answered_complete_agent_like_asterisk_A() -> None:
    it, out = run("A_answered_completeagent.ami.txt", A_ID, EndReason.AGENT_LEFT)
    assert lines(out, "1795736256.0") == [
        f"1795736256.0|support|NONE|VIDEOCHAT|{it.id}|billing|cust-1042",
        "1795736256.0|support|NONE|ENTERQUEUE||5551234|1",
        "1795736256.0|support|Agent Alice|CONNECT|0|1795736256.1|0",
        "1795736256.0|support|Agent Alice|COMPLETEAGENT|0|5|1",
    ]
    keys = [r.key for r in out if isinstance(r, QueueLogRecord)]
    assert keys == [f"{it.id}:q{n}" for n in range(1, 5)]


def test_abandon_like_asterisk_C() -> None:
    it, out = run("C_moh_abandon.ami.txt", C_ID, EndReason.ABANDONED, "sales")
    assert lines(out, "1795736301.9") == [
        f"1795736301.9|sales|NONE|VIDEOCHAT|{it.id}|billing|cust-1042",
        "1795736301.9|sales|NONE|ENTERQUEUE||5551234|1",
        "1795736301.9|sales|NONE|ABANDON|1|1|8",
    ]


def test_no_queue_log_rows_when_the_pbx_writes_them() -> None:
    it = interaction(A_ID)
    ledger = Ledger(A_ID, write_queue_log=False)
    out = ledger.feed(it, ev.CallerJoined(A_ID, "support", 1, 1), 1.0)
    assert not [r for r in out if isinstance(r, QueueLogRecord)]


def test_interaction_row_and_events_follow_the_lifecycle() -> None:
    it, out = run("A_answered_completeagent.ami.txt", A_ID, EndReason.AGENT_LEFT)
    events = [r for r in out if isinstance(r, EventRow)]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.kind for e in events if e.kind in ("created", "queued", "connected", "ended")] \
        == ["created", "queued", "connected", "ended"]
    assert json.loads(events[-1].data)["outcome"] == "agent_left"
    last = dict([r for r in out if isinstance(r, InteractionRow)][-1].values)
    assert (last["id"], last["outcome"], last["queue"], last["agent_member"]) == (
        it.id, "agent_left", "support", "Agent Alice")
    assert (last["customer_id"], last["phone"], last["route_reason"]) == (
        "cust-1042", "5551234", "category:billing")
    assert last["talk_seconds"] == round(it.times["ended"] - it.times["connected"], 3)
    notes = Ledger(it.id, write_queue_log=False)
    notes.note(it, "chat_message", {}, 1.0)
    snapshot = notes.note(it, "recording", {"ref": "rec/1.webm"}, 2.0)[1]
    assert isinstance(snapshot, InteractionRow)
    row = dict(snapshot.values)
    assert (row["chat_messages"], row["recording_ref"]) == (1, "rec/1.webm")


def test_cobrowsing_is_a_flag_and_its_page_stream_no_row() -> None:
    it = interaction("7d1f6a52-0a0e-4c1e-9d43-6f4f5a1b2c3d")
    ledger = Ledger(it.id, write_queue_log=False)
    asked = ledger.note(it, "cobrowse", {"action": "request", "from": "agent"}, 1.0)
    assert dict(asked[1].values)["cobrowse_used"] == 0  # asked is not used
    ledger.note(it, "cobrowse", {"action": "on", "from": "customer"}, 2.0)
    for n in range(300):  # the rrweb batches of a long session: none becomes a row
        assert ledger.note(it, "cobrowse", {"action": "events", "events": [{"n": n}]},
                           3.0 + n) == []
    rows = ledger.note(it, "cobrowse", {"action": "off", "from": "customer"}, 400.0)
    event, snapshot = rows
    assert isinstance(event, EventRow) and isinstance(snapshot, InteractionRow)
    assert dict(snapshot.values)["cobrowse_used"] == 1  # tinyint(1): a flag, not a count


def test_the_wrap_up_disposition_lands_on_the_interaction_row() -> None:
    it = interaction("7d1f6a52-0a0e-4c1e-9d43-6f4f5a1b2c3e")
    ledger = Ledger(it.id, write_queue_log=False)
    rows = ledger.note(it, "wrapup", {"disposition": "Resolved", "notes": "n", "agent": "a"},
                       1.0)
    assert dict(rows[1].values)["disposition"] == "Resolved"
    later = ledger.feed(it, Event.END, 2.0)  # later rows keep it
    row = next(r for r in later if isinstance(r, InteractionRow))
    assert dict(row.values)["disposition"] == "Resolved"
