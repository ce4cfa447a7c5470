"""CDR columns known only while the call runs: the recording's reference
goes onto the customer's live leg (AMI Setvar CDR(vidline_recording) on
Asterisk, uuid_setvar on FreeSWITCH), so the PBX's own CDR row carries it
and reporting tools reading CDR find the recording without vidline's tables.
"""

from __future__ import annotations

import asyncio
import logging

from vidline.interactions.journal import RECORDING, Entry
from vidline.interactions.model import Interaction
from vidline.pbx.base import PbxAdapter, PbxError

log = logging.getLogger(__name__)


class LateCdrFields:
    def __init__(self, pbx: PbxAdapter) -> None:
        self._pbx = pbx
        self._tasks: set[asyncio.Task[None]] = set()

    def on_entry(self, interaction: Interaction, entry: Entry) -> None:
        """A journal subscriber."""
        ref = entry.data.get("ref")
        if entry.kind == RECORDING and isinstance(ref, str):
            task = asyncio.get_running_loop().create_task(
                self._set(interaction.id, "vidline_recording", ref))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _set(self, interaction_id: str, name: str, value: str) -> None:
        try:
            await self._pbx.set_cdr_field(interaction_id, name, value)
        except PbxError as exc:
            # the leg may be gone already; vidline_interactions keeps the reference
            log.warning("interaction %s: CDR %s not set: %s", interaction_id, name, exc)

    async def drain(self) -> None:
        """Wait for the fields being set now (tests, shutdown)."""
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
