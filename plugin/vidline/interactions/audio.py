"""The seam between the AudioSocket server and an interaction.

Asterisk connects to vidline's AudioSocket server for each customer leg and
sends the leg's UUID first; :meth:`AudioLegs.resolve` answers with a handler
when that UUID is a live interaction, so a stray or forged connection is
refused. The interaction's media bridge (``media``: ``attach_leg``,
``on_pbx_audio``, ``detach_leg``) becomes the leg's source and receives what
the PBX sends (music on hold, the agent's voice); without one the server
sends silence and the PBX audio is only counted here.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vidline.interactions.state import State
from vidline.interactions.store import InteractionStore

log = logging.getLogger(__name__)


@dataclass(slots=True)
class LegAudio:
    """What vidline holds of one interaction's PBX audio leg."""

    interaction_id: str
    leg: Any = None
    bytes_received: int = 0
    closed_reason: str | None = None
    dtmf: list[str] = field(default_factory=list)
    media: Any = None

    def on_connected(self, leg: Any) -> None:
        self.leg = leg
        if self.media is not None:
            self.media.attach_leg(leg)
        log.info("interaction %s: PBX audio leg connected", self.interaction_id)

    def on_audio(self, leg: Any, pcm: bytes) -> None:
        self.bytes_received += len(pcm)
        if self.media is not None:
            self.media.on_pbx_audio(pcm)

    def on_dtmf(self, leg: Any, digit: str) -> None:
        if len(self.dtmf) < 64:
            self.dtmf.append(digit)

    def on_closed(self, leg: Any, reason: str) -> None:
        self.closed_reason = reason
        if self.media is not None:
            self.media.detach_leg()
        log.info("interaction %s: PBX audio leg closed (%s)", self.interaction_id, reason)


class AudioLegs:
    def __init__(self, store: InteractionStore,
                 media_for: Callable[[str], Any] | None = None) -> None:
        self._store = store
        self._media_for = media_for
        self.legs: dict[str, LegAudio] = {}

    def resolve(self, leg_uuid: uuid.UUID) -> LegAudio | None:
        interaction_id = str(leg_uuid)
        interaction = self._store.get(interaction_id)
        if interaction is None or interaction.state is State.ENDED:
            log.warning("AudioSocket connection for unknown interaction %s refused", leg_uuid)
            return None
        if interaction_id in self.legs:
            return None
        audio = LegAudio(interaction_id)
        if self._media_for is not None:
            audio.media = self._media_for(interaction_id)
        self.legs[interaction_id] = audio
        return audio

    def release(self, interaction_id: str) -> None:
        self.legs.pop(interaction_id, None)
