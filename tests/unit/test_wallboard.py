"""The wallboard: QueueStatus items as Asterisk 22 sends them -> typed
snapshot -> the message a supervisor's page renders; and the owned task that
pushes only changes."""

from __future__ import annotations

import asyncio
from typing import Any

from vidline.config import AgentConfig
from vidline.pbx import events as ev
from vidline.pbx.asterisk.status import queue_status_from
from vidline.pbx.status import QueueStatus
from vidline.reporting.wallboard import Wallboard, board

IID = "0b6e3a52-4a0c-4f7e-9c0e-6d1f2a3b4c5d"
ALICE = AgentConfig("alice", "x", "PJSIP/1001", "Agent Alice", ("support",),
                    display_name="Alice M.")
ITEMS: list[dict[str, str]] = [
    {"Event": "QueueParams", "Queue": "support", "Calls": "2"},
    {"Event": "QueueMember", "Queue": "support", "Name": "Agent Alice",
     "Location": "PJSIP/1001", "Status": "1", "Paused": "1", "PausedReason": "Lunch",
     "InCall": "0"},
    {"Event": "QueueMember", "Queue": "support", "Name": "Agent Bob", "Location": "PJSIP/1002",
     "Status": "6", "Paused": "0", "InCall": "0"},
    {"Event": "QueueMember", "Queue": "agent-1002", "Name": "Agent Bob",
     "Location": "PJSIP/1002", "Status": "6", "Paused": "0", "InCall": "0"},
    {"Event": "QueueMember", "Queue": "sales", "Name": "Agent Carol",
     "Location": "PJSIP/1003", "Status": "2", "Paused": "1", "InCall": "1"},
    {"Event": "QueueEntry", "Queue": "support", "Position": "2", "Uniqueid": "1795735766.7",
     "Channel": "PJSIP/trunk-00000007", "CallerIDNum": "15551234", "Wait": "40"},
    {"Event": "QueueEntry", "Queue": "support", "Position": "1", "Uniqueid": IID,
     "Channel": f"AudioSocket/127.0.0.1:9093/{IID}-00000001", "CallerIDNum": "<unknown>",
     "Wait": "75"},
]


def test_callers_of_both_kinds_and_agent_states() -> None:
    message = board(queue_status_from(ITEMS), [ALICE], ["support", "billing"])
    queues = {q["name"]: q for q in message["queues"]}
    assert sorted(queues) == ["billing", "sales", "support"]  # agent-1002 is empty
    assert queues["support"]["waiting"] == [
        {"kind": "video", "position": 1, "wait": 75, "caller": "", "id": IID},
        {"kind": "phone", "position": 2, "wait": 40, "caller": "15551234",
         "id": "1795735766.7"},
    ]
    assert (queues["support"]["video"], queues["support"]["phone"]) == (1, 1)
    agents = {a["interface"]: a for a in message["agents"]}
    assert agents["PJSIP/1001"] == {"name": "Alice M.", "interface": "PJSIP/1001",
                                    "state": "paused", "reason": "Lunch",
                                    "queues": ["support"]}
    assert agents["PJSIP/1002"]["state"] == "ringing"
    assert agents["PJSIP/1002"]["queues"] == ["support"]  # not its own agent-1002
    assert agents["PJSIP/1003"]["state"] == "in call"  # paused, but still talking


def test_a_caller_waiting_for_the_last_agent_shows_that_queue() -> None:
    items = [{"Event": "QueueEntry", "Queue": "agent-1002", "Position": "1",
              "Uniqueid": IID, "Wait": "3"}]
    names = [q["name"] for q in board(queue_status_from(items), [], ["support"])["queues"]]
    assert names == ["agent-1002", "support"]


class FakePbx:
    """Our own seam: a PbxAdapter that answers queue_status from a list."""

    def __init__(self) -> None:
        self.status = QueueStatus((), ())
        self.handlers: list[Any] = []
        self.calls = 0

    def subscribe(self, handler: Any) -> None:
        self.handlers.append(handler)

    async def queue_status(self, queue: str | None = None) -> QueueStatus:
        self.calls += 1
        return self.status


async def test_only_changes_are_pushed_and_events_trigger_a_snapshot() -> None:
    pbx = FakePbx()
    wallboard = Wallboard(pbx, [ALICE], ["support"], interval=3600)  # events only
    assert pbx.calls == 0  # nobody watches: no polling
    watcher = wallboard.watch()
    try:
        async with asyncio.timeout(5):
            first = await watcher.queue.get()
        assert first["queues"][0]["waiting"] == []
        pbx.status = queue_status_from(ITEMS)
        for handler in pbx.handlers:
            handler(ev.CallerJoined(IID, "support", 1, 2))
        async with asyncio.timeout(5):
            second = await watcher.queue.get()
        assert second["queues"][-1]["video"] == 1
        for handler in pbx.handlers:
            handler(ev.CallerJoined(IID, "support", 1, 2))  # nothing changed
        await asyncio.sleep(0.05)
        assert watcher.queue.empty()
        # a late watcher starts from the current board
        late = wallboard.watch()
        assert late.queue.get_nowait() == second
    finally:
        await wallboard.close()
    assert watcher.dropped.is_set()
