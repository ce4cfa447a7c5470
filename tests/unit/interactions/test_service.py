"""The interaction service against typed PBX events.

The PBX side here is a recorder of our own PbxAdapter seam (not an Asterisk
imitation): it keeps the calls the service makes and lets the test feed the
typed events that the Asterisk adapter produces from real AMI bytes (those
mappings are tested on the transcripts in tests/unit/asterisk).
"""

from __future__ import annotations

import asyncio

import pytest

from vidline.config import AgentConfig
from vidline.context.model import InteractionContext
from vidline.interactions.model import RouteDecision
from vidline.interactions.service import InteractionService, expected_wait
from vidline.interactions.state import EndReason, Event, State, TransitionError, next_state
from vidline.pbx import events as ev
from vidline.pbx.base import EventHandler, PbxError, PlaceCall

ALICE = AgentConfig("alice", "scrypt$x", "PJSIP/1001", "Agent Alice", ("support",))


class RecordingPbx:
    def __init__(self) -> None:
        self.handlers: list[EventHandler] = []
        self.placed: list[PlaceCall] = []
        self.hungup: list[str] = []
        self.paused: list[tuple[str, bool, str]] = []
        self.entries: list[ev.QueueEntry] = []
        self.summaries: list[ev.QueueSummary] = []
        self.fail_place = False

    def subscribe(self, handler: EventHandler) -> None:
        self.handlers.append(handler)

    def emit(self, event: ev.PbxEvent) -> None:
        for handler in self.handlers:
            handler(event)

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def place_call(self, call: PlaceCall) -> None:
        if self.fail_place:
            raise PbxError("link down")
        self.placed.append(call)

    async def hangup(self, interaction_id: str) -> None:
        self.hungup.append(interaction_id)

    async def queue_entries(self, queue: str | None = None) -> list[ev.QueueEntry]:
        return [e for e in self.entries if queue in (None, e.queue)]

    async def queue_summaries(self, queue: str | None = None) -> list[ev.QueueSummary]:
        return [s for s in self.summaries if queue in (None, s.queue)]

    async def pause_member(self, interface: str, paused: bool, reason: str = "",
                           queue: str | None = None) -> None:
        self.paused.append((interface, paused, reason))


class Directory:
    def by_interface(self, interface: str) -> AgentConfig | None:
        return ALICE if interface == ALICE.interface else None

    def by_username(self, username: str) -> AgentConfig | None:
        return ALICE if username == "alice" else None


class Hub:
    def __init__(self) -> None:
        self.pops: list[tuple[str, dict[str, object]]] = []
        self.presence: list[tuple[str, bool, str]] = []

    def set_presence(self, username: str, paused: bool, reason: str) -> None:
        self.presence.append((username, paused, reason))

    def pop(self, username: str, message: dict[str, object]) -> None:
        self.pops.append((username, message))


class Crm:
    def url_for(self, context: InteractionContext) -> str | None:
        return f"https://crm.example/c/{context.customer_id}"


@pytest.fixture
async def world() -> tuple[InteractionService, RecordingPbx, Hub]:
    pbx, hub = RecordingPbx(), Hub()
    service = InteractionService(
        pbx=pbx, router=lambda ctx: RouteDecision("support", 3, "category:billing"),
        agents=Directory(), notifier=hub, crm=Crm(),
        panel_url=lambda i: f"http://panel/agent/i/{i}", queue_timeout=90,
    )
    yield service, pbx, hub
    await service.close()


def join(i: str, position: int, count: int) -> ev.CallerJoined:
    return ev.CallerJoined(i, "support", position, count)


async def test_create_places_one_call_with_route_and_panel_url(world) -> None:
    service, pbx, _ = world
    interaction, token = await service.create(InteractionContext(customer_id="c1"), "127.0.0.1")
    assert len(pbx.placed) == 1
    call = pbx.placed[0]
    assert (call.interaction_id, call.queue, call.priority, call.queue_timeout) == (
        interaction.id, "support", 3, 90)
    assert call.panel_url == f"http://panel/agent/i/{interaction.id}"
    assert interaction.state is State.ORIGINATING
    assert service.authorise(interaction.id, token) is interaction
    assert service.authorise(interaction.id, token + "x") is None
    assert service.authorise("nope", token) is None


async def test_lifecycle_status_and_pops(world) -> None:
    service, pbx, hub = world
    interaction, _ = await service.create(InteractionContext(customer_id="c1"), "x")
    stream = service.subscribe(interaction.id)
    assert (await anext(stream))["state"] == "originating"
    i = interaction.id
    pbx.entries = [ev.QueueEntry(i, "support", 1, 0)]  # what QueueStatus polls will say
    pbx.emit(ev.LegOriginated(i, f"AudioSocket/127.0.0.1:9093-{i}"))
    pbx.emit(join(i, 1, 1))
    assert await anext(stream) == {"type": "status", "state": "queued", "position": 1,
                                   "count": 1, "expected_wait": None}
    pbx.emit(ev.AgentRinging(i, "support", "PJSIP/1001", "Agent Alice", "PJSIP/1001-01"))
    assert (await anext(stream))["state"] == "ringing"
    pbx.emit(ev.CallerLeft(i, "support", 1, 0))
    pbx.emit(ev.AgentConnected(i, "support", "PJSIP/1001", "Agent Alice", "PJSIP/1001-01", 2, 1))
    connected = await anext(stream)
    assert connected == {"type": "status", "state": "connected", "agent": "Agent Alice"}
    pbx.emit(ev.AgentCompleted(i, "support", "PJSIP/1001", "Agent Alice", 2, 30, "agent"))
    pbx.emit(ev.LegHungUp(i, "AudioSocket/x", 16, "Normal Clearing"))
    assert await anext(stream) == {"type": "status", "state": "ended", "reason": "agent_left"}
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    phases = [m["phase"] for user, m in hub.pops if user == "alice"]
    assert phases == ["ringing", "connected", "ended"]
    pop = hub.pops[0][1]["interaction"]
    assert pop["crm_url"] == "https://crm.example/c/c1"  # type: ignore[index]
    assert pop["context"]["customer_id"] == "c1"  # type: ignore[index]


async def test_second_caller_moves_up_when_first_connects(world) -> None:
    service, pbx, _ = world
    first, _ = await service.create(InteractionContext(), "x")
    second, _ = await service.create(InteractionContext(), "x")
    pbx.emit(join(first.id, 1, 1))
    pbx.emit(join(second.id, 2, 2))
    assert (second.position, second.count) == (2, 2)
    assert first.count == 2  # the first sees the line grow behind it
    pbx.emit(ev.CallerLeft(first.id, "support", 1, 1))
    assert (second.position, second.count) == (1, 1)


async def test_moves_in_line_are_sent_together_once_each(world) -> None:
    service, pbx, hub = world
    first, _ = await service.create(InteractionContext(), "x")
    second, _ = await service.create(InteractionContext(), "x")
    pbx.entries = [ev.QueueEntry(second.id, "support", 1, 0)]
    pbx.emit(join(first.id, 1, 1))
    pbx.emit(join(second.id, 2, 2))
    stream = service.subscribe(second.id)
    assert (await anext(stream))["position"] == 2
    # the first is answered: Leave moves the second up, AgentConnect pops the agent
    pbx.emit(ev.CallerLeft(first.id, "support", 1, 1))
    pbx.emit(ev.AgentConnected(first.id, "support", "PJSIP/1001", "Agent Alice", "c", 0, 0))
    assert [m["phase"] for _, m in hub.pops] == ["connected"]  # at once
    pbx.entries.append(ev.QueueEntry("phone-caller", "support", 2, 0))
    pbx.emit(ev.CallerJoined("phone-caller", "support", 2, 2))  # a phone call joins behind
    update = await asyncio.wait_for(anext(stream), 1.0)
    assert (update["position"], update["count"]) == (1, 2)  # one message with both moves
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(stream), 0.3)


async def test_customer_leaving_while_queued_is_an_abandon(world) -> None:
    service, pbx, hub = world
    interaction, _ = await service.create(InteractionContext(), "x")
    i = interaction.id
    pbx.emit(ev.LegOriginated(i, "AudioSocket/x"))
    pbx.emit(join(i, 1, 1))
    await service.leave(i)
    assert pbx.hungup == [i]
    pbx.emit(ev.CallerAbandoned(i, "support", 1, 1, 4))
    pbx.emit(ev.LegHungUp(i, "AudioSocket/x", 16, "Normal Clearing"))
    assert (interaction.state, interaction.end_reason) == (State.ENDED, EndReason.ABANDONED)
    assert hub.pops == []  # no agent was involved


async def test_leave_before_the_leg_exists_hangs_up_when_it_appears(world) -> None:
    service, pbx, _ = world
    interaction, _ = await service.create(InteractionContext(), "x")
    await service.leave(interaction.id)
    assert pbx.hungup == []
    pbx.emit(ev.LegOriginated(interaction.id, "AudioSocket/x"))
    for _ in range(5):
        await asyncio.sleep(0)
    assert pbx.hungup == [interaction.id]


async def test_place_failure_and_refused_leg_end_as_failed(world) -> None:
    service, pbx, _ = world
    pbx.fail_place = True
    interaction, _ = await service.create(InteractionContext(), "x")
    assert interaction.end_reason is EndReason.FAILED
    pbx.fail_place = False
    other, _ = await service.create(InteractionContext(), "x")
    pbx.emit(ev.LegFailed(other.id, "8"))
    assert (other.state, other.end_reason) == (State.ENDED, EndReason.FAILED)


async def test_replayed_events_cannot_move_an_interaction_backwards(world) -> None:
    service, pbx, _ = world
    interaction, _ = await service.create(InteractionContext(), "x")
    i = interaction.id
    pbx.emit(join(i, 1, 1))
    pbx.emit(ev.AgentConnected(i, "support", "PJSIP/1001", "Agent Alice", "c", 0, 0))
    pbx.emit(join(i, 1, 1))  # a duplicate after a reconnect
    pbx.emit(ev.AgentRinging(i, "support", "PJSIP/1001", "Agent Alice", "c"))
    assert interaction.state is State.CONNECTED


async def test_poll_updates_position_count_and_expected_wait(world) -> None:
    service, pbx, _ = world
    interaction, _ = await service.create(InteractionContext(), "x")
    pbx.emit(join(interaction.id, 2, 2))
    pbx.entries = [ev.QueueEntry("phone-caller", "support", 1, 30),
                   ev.QueueEntry(interaction.id, "support", 2, 10)]
    pbx.summaries = [ev.QueueSummary("support", 1, 0, 2, 20, 60, 30)]
    await service._refresh({"support"})
    assert (interaction.position, interaction.count, interaction.expected_wait) == (2, 2, 40)


async def test_pause_goes_to_the_agent_interface_and_pbx_pauses_reach_panels(world) -> None:
    service, pbx, hub = world
    pbx.emit(ev.MemberPaused("support", "PJSIP/1001", "Agent Alice", True, "lunch"))
    pbx.emit(ev.MemberPaused("support", "PJSIP/1999", "Agent Zed", True, "x"))
    assert hub.presence == [("alice", True, "lunch")]
    await service.set_paused("alice", True, "lunch")
    assert pbx.paused == [("PJSIP/1001", True, "lunch")]
    with pytest.raises(PbxError):
        await service.set_paused("mallory", True, "")


async def test_a_leg_that_never_joins_a_queue_is_given_up() -> None:
    pbx, hub = RecordingPbx(), Hub()
    service = InteractionService(
        pbx=pbx, router=lambda ctx: RouteDecision("support", 0, "default"),
        agents=Directory(), notifier=hub, crm=Crm(), panel_url=lambda i: i,
        queue_timeout=90, originate_timeout=0.05,
    )
    slow, _ = await service.create(InteractionContext(), "x")
    fine, _ = await service.create(InteractionContext(), "x")
    pbx.emit(join(fine.id, 1, 1))
    await asyncio.sleep(0.15)
    assert (slow.state, slow.end_reason) == (State.ENDED, EndReason.FAILED)
    assert pbx.hungup == [slow.id]
    assert fine.state is State.QUEUED
    await service.close()


def test_transition_table_refuses_unknown_moves() -> None:
    assert next_state(State.QUEUED, Event.RING) is State.RINGING
    with pytest.raises(TransitionError):
        next_state(State.ENDED, Event.JOINED)
    with pytest.raises(TransitionError):
        next_state(State.CONNECTED, Event.RING)


def test_expected_wait() -> None:
    summary = ev.QueueSummary("q", 2, 0, 3, 0, 90, 0)
    assert expected_wait(summary, 3) == 135
    assert expected_wait(ev.QueueSummary("q", 2, 2, 1, 0, 90, 0), 1) == 0
    assert expected_wait(ev.QueueSummary("q", 0, 0, 1, 0, 0, 0), 1) is None
    assert expected_wait(None, 1) is None
