"""AMI -> typed events on the real Asterisk 22.10.1 transcripts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.unit.asterisk.transcripts import messages
from vidline.pbx.asterisk.events import leg_channel, leg_id, to_event, uuid_from_channel
from vidline.pbx.events import (
    AgentCompleted,
    AgentConnected,
    AgentNoAnswer,
    AgentRinging,
    CallerAbandoned,
    CallerJoined,
    CallerLeft,
    LegFailed,
    LegHungUp,
    LegOriginated,
    MemberPaused,
    QueueEntry,
    QueueSummary,
)

A_ID = "48066c0a-28d7-44df-b5f9-ea5b75cfb7ee"
I_ID = "053c0f04-cbe8-4943-a9e0-db543c31983e"


def events(name: str, **kwargs: Any) -> list[Any]:
    return [e for m in messages(name) if (e := to_event(m, **kwargs)) is not None]


def kinds(evs: list[Any]) -> list[str]:
    return [type(e).__name__ for e in evs]


def test_answered_complete_agent_A() -> None:
    evs = events("A_answered_completeagent.ami.txt")
    channel = f"AudioSocket/127.0.0.1:9093-{A_ID}"
    assert evs == [
        LegOriginated(A_ID, channel),
        CallerJoined(A_ID, "support", 1, 1),
        AgentRinging(A_ID, "support", "Local/1001@agents", "Agent Alice",
                     "Local/1001@agents-00000000;1"),
        CallerLeft(A_ID, "support", 1, 0),
        AgentConnected(A_ID, "support", "Local/1001@agents", "Agent Alice",
                       "Local/1001@agents-00000000;1", 0, 0, "1795736256.1"),
        AgentCompleted(A_ID, "support", "Local/1001@agents", "Agent Alice", 0, 5, "agent"),
        LegHungUp(A_ID, channel, 16, "Normal Clearing"),
    ]


def test_channelid_is_uniqueid_I_and_agent_legs_are_not_customer_legs() -> None:
    msgs = messages("I_channelid_is_uniqueid.ami.txt")
    hangups = [m for m in msgs if m.event == "Hangup"]
    assert len(hangups) == 3  # the customer leg and the two halves of the agent's Local channel
    evs = events("I_channelid_is_uniqueid.ami.txt")
    assert [e for e in evs if isinstance(e, LegHungUp)] == [
        LegHungUp(I_ID, f"AudioSocket/127.0.0.1:9094-{I_ID}", 16, "Normal Clearing")]
    assert kinds(evs) == ["LegOriginated", "CallerJoined", "AgentRinging", "CallerLeft",
                          "AgentConnected", "LegHungUp", "AgentCompleted"]
    # Here AgentComplete came with no Channel, Uniqueid or Dest* headers at all
    assert evs[-1] == AgentCompleted(None, "support", "Local/1001@agents", "Agent Alice",
                                     0, 4, "caller")


def test_agent_complete_without_channel_uses_dest_linkedid_J() -> None:
    msgs = messages("J_audiosocket_slin16.ami.txt")
    complete = next(m for m in msgs if m.event == "AgentComplete")
    assert "Uniqueid" not in complete and "Channel" not in complete
    event = to_event(complete)
    assert isinstance(event, AgentCompleted)
    assert event.interaction_id == "a14d709a-2b66-4947-8142-4da1873f824a"
    assert (event.talk_time, event.reason) == (5, "caller")


def test_agent_complete_without_any_id_B2() -> None:
    evs = events("B2_completecaller_hangup_frame.ami.txt")
    assert kinds(evs)[-2:] == ["LegHungUp", "AgentCompleted"]
    assert evs[-1].interaction_id is None and evs[-1].reason == "caller"


def test_abandon_with_moh_C_abandon_before_leave() -> None:
    evs = [e for e in events("C_moh_abandon.ami.txt") if not isinstance(e, MemberPaused)]
    iid = "3c0c6fc3-025b-46e4-b3c8-2e87ed0f3c86"
    assert evs[1:] == [
        CallerJoined(iid, "sales", 1, 1),
        QueueEntry(iid, "sales", 1, 4),
        CallerAbandoned(iid, "sales", 1, 1, 8),
        CallerLeft(iid, "sales", 1, 0),
        LegHungUp(iid, f"AudioSocket/127.0.0.1:9093-{iid}", 0, "Unknown"),
    ]
    paused = [e for e in events("C_moh_abandon.ami.txt") if isinstance(e, MemberPaused)]
    assert [(p.member_name, p.paused, p.reason) for p in paused] == [
        ("Agent Alice", True, "lab-C-abandon"), ("Agent Bob", True, "lab-C-abandon"),
        ("Agent Alice", False, ""), ("Agent Bob", False, "")]


def test_preferred_agent_D_and_fallback_D2() -> None:
    d = events("D_preferred_agent_1002.ami.txt")
    ringing = [e for e in d if isinstance(e, AgentRinging)]
    assert [(e.queue, e.member_name) for e in ringing] == [("agent-1002", "Agent Bob")]
    d2 = events("D2_preferred_agent_paused_fallback.ami.txt")
    joined = [e.queue for e in d2 if isinstance(e, CallerJoined)]
    # JOINEMPTY on the paused agent's queue gives no join event at all
    assert joined == ["support"]
    assert [e.member_name for e in d2 if isinstance(e, AgentConnected)] == ["Agent Alice"]


def test_two_callers_positions_E() -> None:
    evs = events("E_two_callers_single_paused_agent.ami.txt")
    first, second = "6f5ac83c-7c95-4909-bda2-6204fda1d364", "9d8b5223-b8b0-4799-856f-4de933f5f9be"
    assert [e for e in evs if isinstance(e, CallerJoined)] == [
        CallerJoined(first, "kiosk", 1, 1), CallerJoined(second, "kiosk", 2, 2)]
    # No event tells caller 2 it moved up; the next QueueStatus does.
    assert [e for e in evs if isinstance(e, QueueEntry)] == [
        QueueEntry(first, "kiosk", 1, 3), QueueEntry(second, "kiosk", 2, 2),
        QueueEntry(second, "kiosk", 1, 5)]
    assert [e for e in evs if isinstance(e, QueueSummary)] == [
        QueueSummary("kiosk", 1, 0, 2, 0, 0, 3)]
    assert [e.hold_time for e in evs if isinstance(e, AgentConnected)] == [5, 10]


def test_resync_after_drop_F_core_show_channel_carries_the_variables() -> None:
    iid = "7d33b521-d76d-4561-b87b-a8b91994614a"
    conn1 = events("F_ami_drop_resync.conn1.ami.txt")
    assert kinds(conn1)[-2:] == ["LegOriginated", "CallerJoined"]
    msgs = messages("F_ami_drop_resync.ami.txt")
    entry = next(m for m in msgs if m.event == "QueueEntry")
    assert to_event(entry) == QueueEntry(iid, "sales", 1, 4)
    assert not any(k.startswith("ChanVariable") for k, _ in entry.headers)
    channel = leg_channel(next(m for m in msgs if m.event == "CoreShowChannel"))
    assert channel is not None and channel.interaction_id == iid
    # C-escaped on the wire ("checkout\?step=2"), the original once decoded
    assert channel.variables["VIDLINE_PAGE_URL"] == \
        "https://shop.example.com/checkout?step=2&kiosk=k07"
    assert channel.variables["VIDLINE_SESSION"] == "vs-F-7d33b521"


def test_refused_audiosocket_H_is_matched_by_action_id() -> None:
    iid = "3b29b466-bedb-4a75-85d0-e5bf3395cb16"
    response = next(m for m in messages("H_audiosocket_refused.ami.txt")
                    if m.event == "OriginateResponse")
    assert response.get("Uniqueid") == "<unknown>"
    assert to_event(response, originates={"vl-49": iid}) == LegFailed(iid, "8")
    # The ActionID wins over anything in the message.
    other = "00000000-0000-4000-8000-000000000000"
    assert to_event(response, originates={"vl-49": other}) == LegFailed(other, "8")


def test_ring_no_answer_is_milliseconds_first_pass_06() -> None:
    # First-pass customer legs are Local channels, not vidline's: by default
    # they are someone else's callers and map to nothing per leg.
    name = "first-pass/06_ringnoanswer_then_abandon_overflow.txt"
    assert events(name) == []

    def local_leg(h: Mapping[str, str]) -> str | None:
        # the ;2 half is the one in the queue
        channel = h.get("Channel", "")
        return h.get("Uniqueid") if channel.startswith("Local/s@vidline") and \
            channel.endswith(";2") else None

    evs = events(name, resolve=local_leg)
    assert [e for e in evs if isinstance(e, AgentNoAnswer)] == [
        AgentNoAnswer("1795735835.28", "overflow", "Local/2001@agents", "Agent NoAnswer", 5000)]
    assert kinds(evs) == ["CallerJoined", "AgentRinging", "AgentNoAnswer", "AgentRinging",
                          "CallerAbandoned", "CallerLeft", "LegHungUp"]


def test_queue_summary_idle_first_pass_00() -> None:
    evs = events("first-pass/00_queuestatus_queuesummary_idle.txt")
    assert [(s.queue, s.logged_in, s.available) for s in evs] == [
        ("overflow", 0, 0), ("support", 2, 2), ("sales", 2, 2)]


def test_leg_id_forms() -> None:
    assert leg_id({"Uniqueid": I_ID}) == I_ID
    assert leg_id({"Uniqueid": "1795736256.0",
                   "Channel": f"AudioSocket/127.0.0.1:9093-{A_ID}"}) == A_ID
    assert leg_id({"Uniqueid": "1795736256.1", "Channel": "Local/1001@agents-00000000;1"}) is None
    assert uuid_from_channel(f"AudioSocket/[::1]:9093/{A_ID}/c(slin16)") == A_ID
    assert uuid_from_channel(f"PJSIP/{A_ID}") is None
