"""The recordings service: starts one :class:`CallRecorder` per media bridge,
feeds its timeline from the journal and the interaction's state changes, and
raises the alarm when a recording fails (a full disk) while the call goes on.

Wiring (the composition root): ``MediaBridges.on_bridge = service.attach``,
``journal.subscribe(service.on_entry)``, the service in the
InteractionService's observers, ``service.note = journal.note``.

The recording's reference (its directory relative to the configured root,
``YYYY/MM/DD/<interaction id>``) is noted in the journal as a ``recording``
entry when recording starts; reporting stores it with the interaction.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vidline.config import RecordingConfig
from vidline.interactions.journal import RECORDING, Entry
from vidline.interactions.model import Interaction
from vidline.interactions.state import Event, State
from vidline.recording.paths import interaction_dir
from vidline.recording.recorder import CallRecorder

log = logging.getLogger(__name__)

ALERT = "recording_alert"  # journal kind: reporting writes it as an event row
KEEP_ALERTS = 200


class RecordingService:
    def __init__(self, config: RecordingConfig, pcm_rate: int,
                 lookup: Callable[[str], Interaction | None],
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.root = Path(config.directory)
        self.pcm_rate = pcm_rate
        self.lookup = lookup
        self.clock = clock
        self.note: Callable[[str, str, dict[str, Any]], object] | None = None
        self.recorders: dict[str, CallRecorder] = {}
        # supervisor-visible: the latest failures, newest last
        self.alerts: deque[dict[str, Any]] = deque(maxlen=KEEP_ALERTS)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def enabled(self) -> bool:
        return self.config.enabled

    def ref(self, interaction: Interaction) -> str:
        return interaction_dir(Path(), interaction.id, interaction.created_at).as_posix()

    # -- the bridge's side --------------------------------------------------

    def attach(self, bridge: Any) -> None:
        """Give a new media bridge its recorder (MediaBridges.on_bridge)."""
        if not self.config.enabled or bridge.interaction_id in self.recorders:
            return
        interaction = self.lookup(bridge.interaction_id)
        if interaction is None:
            return
        self._loop = asyncio.get_running_loop()
        try:
            free = shutil.disk_usage(self._existing(self.root)).free
        except OSError as exc:
            self._alert(interaction.id, f"recording not started: {exc.strerror or exc}")
            return
        if free < self.config.min_free_mb * 1024 * 1024:
            self._alert(interaction.id, f"recording not started: only {free // 2**20} MB "
                        f"free in {self.root} (min_free_mb {self.config.min_free_mb})")
            return
        directory = self.root / self.ref(interaction)
        recorder = CallRecorder(
            directory, interaction.id, self._meta(interaction), pcm_rate=self.pcm_rate,
            on_error=lambda message: self._from_thread(interaction.id, message),
            clock=self.clock)
        self.recorders[interaction.id] = recorder
        for state, at in sorted(interaction.times.items(), key=lambda kv: kv[1]):
            recorder.note("state", {"state": state}, at)
        recorder.on_closed = lambda: self._spawn(self._finish(interaction.id, recorder))
        codec = getattr(getattr(bridge, "config", None), "video_codec", "VP8")
        if codec != "VP8":
            recorder.records_video = False
            self._alert(interaction.id, f"video not recorded: {codec} recording is not "
                        "supported yet (voice and timeline are)")
        bridge.attach_tap(recorder)
        if self.note is not None:
            self.note(interaction.id, RECORDING, {"ref": recorder.writer.meta["ref"]})

    def _existing(self, path: Path) -> Path:
        while not path.exists() and path.parent != path:
            path = path.parent
        return path

    def _meta(self, interaction: Interaction) -> dict[str, Any]:
        agent = interaction.agent
        return {"ref": self.ref(interaction), "created_at": interaction.created_at,
                "queue": interaction.queue or interaction.route.queue,
                "agent": agent.username if agent is not None else None,
                "agent_member": agent.member_name if agent is not None else None,
                "customer_id": interaction.context.customer_id}

    async def _finish(self, interaction_id: str, recorder: CallRecorder) -> None:
        await asyncio.to_thread(recorder.finish)
        if self.recorders.get(interaction_id) is recorder:
            del self.recorders[interaction_id]

    # -- the timeline ---------------------------------------------------------

    def on_entry(self, interaction: Interaction, entry: Entry) -> None:
        """Journal subscriber: every entry of a recorded call goes on its timeline."""
        recorder = self.recorders.get(interaction.id)
        if recorder is not None and entry.kind not in (RECORDING, ALERT):
            recorder.note(entry.kind, entry.data, entry.at)

    def interaction_changed(self, interaction: Interaction, change: Any) -> None:
        """InteractionService observer: state changes, and who the agent is."""
        recorder = self.recorders.get(interaction.id)
        if recorder is None or not isinstance(change, Event):
            return
        recorder.note("state", {"state": interaction.state.value,
                                "reason": interaction.end_reason.value
                                if interaction.end_reason else None})
        if interaction.state in (State.CONNECTED, State.QUEUED):
            recorder.update(**self._meta(interaction))

    # -- alerts ---------------------------------------------------------------

    def _from_thread(self, interaction_id: str, message: str) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._alert, interaction_id, message)

    def _alert(self, interaction_id: str, message: str) -> None:
        log.error("interaction %s: %s", interaction_id, message)
        self.alerts.append({"at": self.clock(), "interaction": interaction_id,
                            "message": message})
        if self.note is not None:
            self.note(interaction_id, ALERT, {"message": message})

    # -- tasks and the end ----------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """After the media bridges closed: every file finished."""
        for recorder in list(self.recorders.values()):
            recorder.close()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
