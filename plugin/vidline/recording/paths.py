"""Where an interaction's files live: ``<root>/YYYY/MM/DD/<interaction id>/``
(UTC date of the interaction's creation), so a day's recordings prune as one
directory and no two interactions share a directory."""

from __future__ import annotations

import re
import time
from pathlib import Path

SNIPS_META = "meta.json"  # in snips/: {"queue": ...}, for the retention of snips alone

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def interaction_dir(root: Path, interaction_id: str, created_at: float) -> Path:
    """The directory for one interaction (not created here). The id must be a
    vidline interaction id (a UUID): nothing else ever becomes a path."""
    if not _ID.fullmatch(interaction_id):
        raise ValueError(f"not an interaction id: {interaction_id!r}")
    day = time.strftime("%Y/%m/%d", time.gmtime(created_at))
    return root / day / interaction_id


def snips_dir(root: Path, interaction_id: str, created_at: float) -> Path:
    return interaction_dir(root, interaction_id, created_at) / "snips"
