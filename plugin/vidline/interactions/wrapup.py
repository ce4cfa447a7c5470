"""Wrap-up of an interaction: the agent's notes and a disposition from the
configured list, without I/O.

A wrap-up is a draft (autosaved while the agent types, editable) until the
agent saves it; then it is final: it goes to the journal (``wrapup``; the
reporting database gets it as an event row) and can no longer change. After
-call *time* (holding the agent back from the next call) is the PBX's job,
e.g. Asterisk's queue ``wrapuptime``; vidline does not invent one.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_RECORDS = 5000
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


class WrapupError(ValueError):
    def __init__(self, status: int, code: str, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.field, self.message = status, code, field, message


@dataclass(frozen=True, slots=True)
class Wrapup:
    interaction: str
    agent: str
    disposition: str | None
    notes: str
    saved: bool
    updated_at: float

    def wire(self) -> dict[str, Any]:
        return {"interaction": self.interaction, "disposition": self.disposition,
                "notes": self.notes, "saved": self.saved,
                "updated_at": int(self.updated_at * 1000)}

    def journal(self) -> dict[str, Any]:
        return {"disposition": self.disposition, "notes": self.notes, "agent": self.agent}


def clean_notes(raw: object, limit: int) -> str:
    if not isinstance(raw, str):
        raise WrapupError(400, "invalid", "notes", "notes must be a string")
    notes = _UNWANTED.sub("", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(notes) > limit:
        raise WrapupError(400, "invalid", "notes", f"notes have at most {limit} characters")
    return notes


class Wrapups:
    def __init__(self, dispositions: tuple[str, ...], max_notes: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.dispositions = dispositions
        self.max_notes = max_notes
        self._clock = clock
        self._records: OrderedDict[str, Wrapup] = OrderedDict()

    def get(self, interaction_id: str) -> Wrapup | None:
        return self._records.get(interaction_id)

    def update(self, interaction_id: str, agent: str, body: object) -> Wrapup:
        """Store a draft, or the final wrap-up when ``body["final"]``; raises
        :class:`WrapupError` naming the field."""
        if not isinstance(body, dict):
            raise WrapupError(400, "invalid", "body", "send a JSON object")
        current = self._records.get(interaction_id)
        if current is not None and current.saved:
            raise WrapupError(409, "already_saved", None,
                              "this wrap-up is saved and can no longer change")
        final = body.get("final", False)
        if not isinstance(final, bool):
            raise WrapupError(400, "invalid", "final", "final must be true or false")
        disposition = body.get("disposition")
        if disposition is not None and disposition not in self.dispositions:
            raise WrapupError(400, "invalid", "disposition",
                              "disposition must be one of: " + ", ".join(self.dispositions))
        if final and disposition is None:
            raise WrapupError(400, "invalid", "disposition", "choose a disposition to save")
        notes = clean_notes(body.get("notes", ""), self.max_notes)
        record = Wrapup(interaction_id, agent, disposition, notes, final, self._clock())
        self._records.pop(interaction_id, None)
        self._records[interaction_id] = record
        while len(self._records) > MAX_RECORDS:
            self._records.popitem(last=False)
        return record
