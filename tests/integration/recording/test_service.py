"""The recordings service on a real in-process bridge (aiortc peers over
loopback): it attaches at bridge creation, notes the reference and the
timeline, finishes the files when the bridge closes, and raises an alert
(the call going on) when the disk has no room."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.integration.media.test_bridge_peers import Peer, until
from tests.media_load import encode_clip
from vidline.config import MediaConfig, RecordingConfig
from vidline.context.model import InteractionContext
from vidline.interactions.journal import Journal
from vidline.interactions.model import AgentRef, Interaction, RouteDecision
from vidline.interactions.state import Event, State
from vidline.media import passthrough
from vidline.media.bridge import CallBridge
from vidline.recording.service import RecordingService

IID = "c0ffee00-0000-4000-8000-000000000002"


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Any, ...]]:
    passthrough.install()
    interaction = Interaction(IID, InteractionContext(customer_id="cust-5"),
                              RouteDecision("support", 0, "default"), b"")
    interaction.state, interaction.queue = State.QUEUED, "support"
    interaction.times["queued"] = interaction.created_at
    config = RecordingConfig(enabled=True, directory=str(tmp_path / "rec"), min_free_mb=0)
    service = RecordingService(config, 8000, lambda iid: interaction if iid == IID else None)
    journal = Journal(lambda iid: interaction if iid == IID else None)
    notes: list[tuple[str, dict[str, Any]]] = []
    journal.subscribe(lambda _i, entry: notes.append((entry.kind, entry.data)))
    journal.subscribe(service.on_entry)
    service.note = journal.note
    clip = encode_clip(320, 240, frames=30)
    customer, agent = Peer(clip, audio=True), Peer(clip, audio=False)
    bridge = CallBridge(IID, MediaConfig(), 8000)
    try:
        yield service, journal, notes, interaction, bridge, customer, agent
    finally:
        await customer.close()
        await agent.close()
        await bridge.close()
        await service.close()


async def test_a_call_is_recorded_with_its_timeline(setup: tuple[Any, ...]) -> None:
    service, journal, notes, interaction, bridge, customer, agent = setup
    service.attach(bridge)
    recorder = service.recorders[IID]
    assert notes == [("recording", {"ref": recorder.writer.meta["ref"]})]
    assert recorder.writer.meta["ref"].endswith(IID)
    await customer.connect(bridge, "customer")
    interaction.state = State.CONNECTED
    interaction.agent = AgentRef("alice", "PJSIP/1001", "Agent Alice")
    service.interaction_changed(interaction, Event.CONNECT)
    await agent.connect(bridge, "agent")
    for n in range(25):
        bridge.on_pbx_audio(bytes(320))  # the PBX leg: 0.5 s of silence
        del n
    tracks = recorder.writer.tracks
    await until(lambda: all(name in tracks and tracks[name].packets > 40 for name in (
        "customer-camera", "agent-camera", "customer-audio")), 15)
    journal.note(IID, "chat_message", {"from": "agent", "text": "hi", "id": 1})
    await bridge.close()
    await until(lambda: IID not in service.recorders, 15)
    manifest = json.loads((recorder.directory / "recording.json").read_text())
    assert manifest["status"] == "complete" and manifest["agent"] == "alice"
    assert {t["name"] for t in manifest["tracks"]} == {
        "customer-camera", "agent-camera", "customer-audio", "pbx-audio"}
    for name in ("customer-camera", "agent-camera"):
        with av.open(str(recorder.directory / f"{name}.webm")) as container:
            frames = list(container.decode(video=0))
        assert len(frames) > 40 and frames[0].width == 320
    lines = [json.loads(x) for x in (recorder.directory / "timeline.jsonl").read_text()
             .splitlines()]
    assert [x["kind"] for x in lines][:2] == ["state", "state"]  # queued, then connected
    assert ("chat_message", {"from": "agent", "text": "hi", "id": 1}) in [
        (x["kind"], x.get("data")) for x in lines]


async def test_no_room_on_disk_is_an_alert_and_the_call_goes_on(
    setup: tuple[Any, ...]
) -> None:
    service, _journal, notes, _interaction, bridge, customer, agent = setup
    service.config = dataclasses.replace(service.config, min_free_mb=10**9)  # a petabyte
    service.attach(bridge)
    assert IID not in service.recorders and bridge.tap is None
    [alert] = service.alerts
    assert alert["interaction"] == IID and "recording not started" in alert["message"]
    assert notes[-1][0] == "recording_alert"
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: agent.received.get(0, 0) > 20, 15)  # the call itself goes on


async def test_a_full_disk_mid_call_is_an_alert_and_the_call_goes_on(
    setup: tuple[Any, ...]
) -> None:
    import os

    service, _journal, notes, _interaction, bridge, customer, agent = setup
    service.attach(bridge)
    recorder = service.recorders[IID]
    recorder.directory.mkdir(parents=True, exist_ok=True)
    os.symlink("/dev/full", recorder.directory / "customer-camera.webm")  # no space left
    await customer.connect(bridge, "customer")
    await agent.connect(bridge, "agent")
    await until(lambda: bool(service.alerts), 15)
    assert service.alerts[0]["message"] == "recording stopped: the disk is full"
    assert ("recording_alert", {"message": "recording stopped: the disk is full"}) in notes
    before = agent.received.get(0, 0)
    await until(lambda: agent.received.get(0, 0) > before + 20, 15)  # the call goes on


async def test_h264_calls_keep_voice_and_timeline_and_say_so(setup: tuple[Any, ...]) -> None:
    service, _journal, notes, _interaction, _bridge, _customer, _agent = setup
    bridge = CallBridge(IID, MediaConfig(video_codec="H264"), 8000)
    try:
        service.attach(bridge)
        recorder = service.recorders[IID]
        assert not recorder.records_video and bridge.tap is recorder
        assert "video not recorded: H264" in service.alerts[0]["message"]
        assert [kind for kind, _ in notes] == ["recording_alert", "recording"]
    finally:
        await bridge.close()
