"""The seam between the interaction service and the reporting writer.

:class:`ReportingObserver` is an ``InteractionObserver``: the service calls it
on the event loop for every PBX event and lifecycle transition of an
interaction; it turns them into rows with the interaction's :class:`Ledger`
(pure, fast) and hands them to the writer thread (never blocks).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from vidline.interactions.model import Interaction
from vidline.interactions.state import Event, State
from vidline.pbx import events as ev
from vidline.reporting.ledger import Ledger
from vidline.reporting.records import Record

KEEP_ENDED = 10000  # ledgers of ended interactions kept for late notes


class Sink(Protocol):
    def submit(self, records: list[Record]) -> None: ...


class ReportingObserver:
    def __init__(self, sink: Sink, *, write_queue_log: bool,
                 panel_url: Callable[[str], str] = lambda _iid: "",
                 clock: Callable[[], float] = time.time) -> None:
        self._sink = sink
        self._write_queue_log = write_queue_log
        self._panel_url = panel_url
        self._clock = clock
        self._ledgers: dict[str, Ledger] = {}
        self._ended: OrderedDict[str, None] = OrderedDict()

    def _ledger(self, interaction: Interaction) -> Ledger:
        ledger = self._ledgers.get(interaction.id)
        if ledger is None:
            ledger = Ledger(interaction.id, self._write_queue_log,
                            self._panel_url(interaction.id))
            self._ledgers[interaction.id] = ledger
        return ledger

    def interaction_changed(self, interaction: Interaction,
                            change: Event | ev.PbxEvent) -> None:
        ledger = self._ledger(interaction)
        self._sink.submit(ledger.feed(interaction, change, self._clock()))
        if change is Event.END and interaction.state is State.ENDED:
            self._forget_old(interaction.id)

    def note(self, interaction: Interaction, kind: str,
             data: dict[str, Any] | None = None) -> None:
        """Record something shared during the interaction: ``chat_message``,
        ``snip``, ``screen_share``, ``cobrowse`` (counted), ``recording``
        (``data["ref"]`` becomes the recording reference), or any other kind
        (an event row only)."""
        ledger = self._ledger(interaction)
        self._sink.submit(ledger.note(interaction, kind, data or {}, self._clock()))

    def _forget_old(self, interaction_id: str) -> None:
        # an ended interaction's ledger stays a while for late notes (its
        # event seq must go on, not restart); the oldest ended go first
        self._ended[interaction_id] = None
        while len(self._ended) > KEEP_ENDED:
            old, _ = self._ended.popitem(last=False)
            self._ledgers.pop(old, None)
