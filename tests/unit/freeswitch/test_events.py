"""ESL events of the real FreeSWITCH runs -> typed PBX events (Tracker), and
through the reporting Ledger -> the queue_log rows Asterisk wrote for the same
scenario (shared/asterisk A and C), field by field."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.unit.freeswitch.transcripts import events
from vidline.context.model import InteractionContext
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import EndReason, Event, State
from vidline.pbx import events as ev
from vidline.pbx.freeswitch.codec import EslEvent
from vidline.pbx.freeswitch.events import ParkedHalf, Tracker
from vidline.reporting.ledger import Ledger
from vidline.reporting.records import QueueLogRecord

A_ID = "b312bfb7-2e55-41c0-82ce-f4539a644f89"
A_AGENT_UUID = "231ec4ba-e420-48aa-a7a3-27facf74debb"
MEMBERS = {"1001": ("PJSIP/1001", "Agent Alice"), "1002": ("PJSIP/1002", "Agent Bob")}


def agent_ref(name: str) -> tuple[str, str]:
    return MEMBERS.get(name.partition("@")[0], (f"callcenter/{name}", name))


def as_vidline(event: EslEvent, sessions: dict[str, str]) -> EslEvent:
    """The lab named its sessions (sessA-0001); vidline's session is the leg's
    uuid. Same events, the variable rewritten."""
    headers = tuple((k, sessions.get(v, v) if k == "variable_vidline_session" else v)
                    for k, v in event.headers)
    return dataclasses.replace(event, headers=headers)


def pbx_events(name: str, sessions: dict[str, str],
               hangups: tuple[str, ...] = ()) -> list[Any]:
    tracker = Tracker(agent_ref)
    for session in hangups:
        tracker.hangup_requested(session)
    out: list[Any] = []
    for event in events(name):
        out += tracker.feed(as_vidline(event, sessions))
    return out


def test_answered_call_A() -> None:
    out = pbx_events("A_answered.esl.txt", {"sessA-0001": A_ID})
    mine = [e for e in out if getattr(e, "interaction_id", None) == A_ID]
    kinds = [type(e).__name__ for e in mine]
    assert kinds == ["LegOriginated", "ParkedHalf", "ParkedHalf", "CallerJoined",
                     "AgentRinging", "CallerLeft", "AgentConnected", "LegHungUp",
                     "AgentCompleted"]
    assert mine[0] == ev.LegOriginated(A_ID, "loopback/customer_device-a")
    assert isinstance(mine[1], ParkedHalf) and not mine[1].answered and mine[2].answered
    assert mine[3] == ev.CallerJoined(A_ID, "support", 1, 1)
    assert mine[4] == ev.AgentRinging(A_ID, "support", "PJSIP/1001", "Agent Alice", "")
    assert mine[5] == ev.CallerLeft(A_ID, "support", 1, 0)
    assert mine[6] == ev.AgentConnected(A_ID, "support", "PJSIP/1001", "Agent Alice",
                                        "loopback/agent_tone-a", 0, 0, A_AGENT_UUID)
    assert mine[7] == ev.LegHungUp(A_ID, "loopback/customer_device-a", 16, "NORMAL_CLEARING")
    assert mine[8] == ev.AgentCompleted(A_ID, "support", "PJSIP/1001", "Agent Alice", 0, 5,
                                        "agent")


def test_abandon_B_and_presence() -> None:
    b1 = "85d40322-2372-4745-a341-387081a653de"  # B1, uuid_kill'ed
    out = pbx_events("B_abandon.esl.txt", {}, hangups=(b1,))
    paused = [e for e in out if isinstance(e, ev.MemberPaused)]
    assert paused[0] == ev.MemberPaused("", "PJSIP/1001", "Agent Alice", True, "On Break")
    abandoned = [e for e in out if isinstance(e, ev.CallerAbandoned)]
    assert abandoned[0].interaction_id == b1
    assert (abandoned[0].queue, abandoned[0].position, abandoned[0].original_position) == \
        ("support", 1, 1)
    assert abandoned[0].hold_time == 5  # CC-Member-Leaving-Time - Joined-Time
    assert len(abandoned) == 2  # B2: the customer's device hung up, also BREAK_OUT


def test_ring_no_answer_from_the_failed_first_try() -> None:
    out = pbx_events("failed_first_try_A.esl.txt", {})
    fails = [e for e in out if isinstance(e, ev.AgentNoAnswer)]
    assert len(fails) == 6  # bridge-agent-fail x6 (FINDINGS)
    assert all(4000 <= f.ring_time_ms <= 6000 for f in fails)  # ~5 s loopback wait


def _ledger_lines(out: list[Any], iid: str, end: EndReason) -> list[str]:
    ctx = InteractionContext(customer_id="cust-1042", phone="5551234", category="billing")
    it = Interaction(iid, ctx, RouteDecision("support", 0, "category:billing"), b"")
    ledger = Ledger(iid, write_queue_log=True)
    now = 1795737463.0
    rows: list[Any] = ledger.feed(it, Event.PLACE, now)
    for e in out:
        if getattr(e, "interaction_id", None) != iid or isinstance(e, ParkedHalf):
            continue
        now += 0.5
        rows += ledger.feed(it, e, now)
        if isinstance(e, ev.CallerJoined):
            it.state, it.queue, it.position = State.QUEUED, e.queue, e.position
            it.times["queued"] = now
            rows += ledger.feed(it, Event.JOINED, now)
        elif isinstance(e, ev.AgentConnected):
            it.state, it.agent = State.CONNECTED, AgentRef("alice", e.interface, e.member_name)
            it.times["connected"] = now
            rows += ledger.feed(it, Event.CONNECT, now)
    it.state, it.end_reason = State.ENDED, end
    rows += ledger.feed(it, Event.END, now + 0.5)
    return ["|".join(r.file_line().split("|")[2:]) for r in rows
            if isinstance(r, QueueLogRecord)]


def test_queue_log_like_asterisk_A() -> None:
    out = pbx_events("A_answered.esl.txt", {"sessA-0001": A_ID})
    # shared/asterisk/A_answered_completeagent.db.txt, after the callid:
    #   support|NONE|VIDEOCHAT|<session>|billing|cust-1042
    #   support|NONE|ENTERQUEUE||5551234|1
    #   support|Agent Alice|CONNECT|0|<agent leg uniqueid>|0
    #   support|Agent Alice|COMPLETEAGENT|0|5|1
    assert _ledger_lines(out, A_ID, EndReason.AGENT_LEFT) == [
        f"support|NONE|VIDEOCHAT|{A_ID}|billing|cust-1042",
        "support|NONE|ENTERQUEUE||5551234|1",
        f"support|Agent Alice|CONNECT|0|{A_AGENT_UUID}|0",
        "support|Agent Alice|COMPLETEAGENT|0|5|1",
    ]


def test_queue_log_like_asterisk_C_abandon() -> None:
    b1 = "85d40322-2372-4745-a341-387081a653de"  # B1, uuid_kill'ed
    out = pbx_events("B_abandon.esl.txt", {}, hangups=(b1,))
    lines = _ledger_lines(out, b1, EndReason.ABANDONED)
    # shared/asterisk C: sales|NONE|ABANDON|1|1|8 (position, original, wait s)
    assert lines[:2] == [f"support|NONE|VIDEOCHAT|{b1}|billing|cust-1042",
                         "support|NONE|ENTERQUEUE||5551234|1"]
    assert lines[2] == "support|NONE|ABANDON|1|1|5"
    assert len(lines) == 3
