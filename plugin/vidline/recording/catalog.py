"""Reading recording sets back: find one by interaction id, list the newest,
and prune the old (``vidline recordings prune``). Blocking file system work:
the web handlers run it in a thread."""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vidline.recording.paths import SNIPS_META, interaction_dir
from vidline.recording.writer import MANIFEST

log = logging.getLogger(__name__)

ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DAY_RE = (re.compile(r"\d{4}"), re.compile(r"\d{2}"), re.compile(r"\d{2}"))
FILE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # a set's own file names


@dataclass(frozen=True, slots=True)
class RecordingSet:
    directory: Path
    manifest: dict[str, Any]

    @property
    def interaction_id(self) -> str:
        return self.directory.name

    @property
    def agent(self) -> str | None:
        agent = self.manifest.get("agent")
        return agent if isinstance(agent, str) else None

    def file(self, name: str) -> Path | None:
        """A file of the set by its name (``snips/<name>`` for a snip); None
        for anything that is not a plain name inside the set."""
        parts = name.split("/")
        if len(parts) > 2 or (len(parts) == 2 and parts[0] != "snips"):
            return None
        if not all(FILE_RE.fullmatch(p) for p in parts) or parts[-1].endswith(".tmp"):
            return None
        path = self.directory.joinpath(*parts)
        return path if path.is_file() else None

    def files(self) -> list[str]:
        names = sorted(p.name for p in self.directory.iterdir()
                       if p.is_file() and FILE_RE.fullmatch(p.name) and not p.name.endswith(".tmp"))
        snips = self.directory / "snips"
        if snips.is_dir():
            names += sorted(f"snips/{p.name}" for p in snips.iterdir()
                            if p.is_file() and FILE_RE.fullmatch(p.name)
                            and p.name != SNIPS_META)
        return names


def _read(directory: Path) -> RecordingSet | None:
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return RecordingSet(directory, manifest) if isinstance(manifest, dict) else None


def _days(root: Path) -> Iterator[Path]:
    """Day directories, newest first."""
    def children(path: Path, pattern: re.Pattern[str]) -> list[Path]:
        try:
            return sorted((p for p in path.iterdir() if p.is_dir() and pattern.fullmatch(p.name)),
                          reverse=True)
        except OSError:
            return []

    for year in children(root, DAY_RE[0]):
        for month in children(year, DAY_RE[1]):
            yield from children(month, DAY_RE[2])


def find(root: Path, interaction_id: str, created_at: float | None = None) -> RecordingSet | None:
    if not ID_RE.fullmatch(interaction_id):
        return None
    if created_at is not None:
        found = _read(interaction_dir(root, interaction_id, created_at))
        if found is not None:
            return found
    for day in _days(root):
        if (day / interaction_id).is_dir():
            return _read(day / interaction_id)
    return None


def newest(root: Path, limit: int, keep: Callable[[RecordingSet], bool]) -> list[RecordingSet]:
    out: list[RecordingSet] = []
    for day in _days(root):
        sets = [s for d in day.iterdir() if d.is_dir() and ID_RE.fullmatch(d.name)
                if (s := _read(d)) is not None and keep(s)]
        out += sorted(sets, key=lambda s: -float(s.manifest.get("started_at") or 0))
        if len(out) >= limit:
            break
    return out[:limit]


def _snips_only(directory: Path, retention_of: Callable[[str | None], int]
                ) -> tuple[int, float]:
    """(retention days, age reference) of a set that holds snips only."""
    snips = directory / "snips"
    try:
        meta = json.loads((snips / SNIPS_META).read_text(encoding="utf-8"))
        queue = meta.get("queue") if isinstance(meta, dict) else None
        newest = max(p.stat().st_mtime for p in snips.iterdir())
    except (OSError, ValueError):
        return 0, 0.0
    return (retention_of(queue) if isinstance(queue, str) else 0), newest


def prune(root: Path, retention_of: Callable[[str | None], int], *,
          now: float | None = None, dry_run: bool = False) -> list[Path]:
    """Delete every set older than its queue's retention (days; 0 keeps it
    forever); the age counts from the set's end (its start if it never
    ended: a crash). A directory without a readable manifest is kept (its
    queue, so its retention, is unknown). Empty day directories go."""
    now = time.time() if now is None else now
    removed: list[Path] = []
    for day in list(_days(root)):
        for directory in [d for d in day.iterdir() if d.is_dir() and ID_RE.fullmatch(d.name)]:
            found = _read(directory)
            if found is not None:
                meta = found.manifest
                days = retention_of(meta.get("queue") if isinstance(meta.get("queue"), str)
                                    else None)
                at = float(meta.get("ended_at") or meta.get("started_at") or 0)
            else:
                # snips saved while recording was off: their meta names the
                # queue; without it the retention is unknown and they stay
                days, at = _snips_only(directory, retention_of)
            if days <= 0 or now - at < days * 86400:
                continue
            removed.append(directory)
            if not dry_run:
                shutil.rmtree(directory, ignore_errors=True)
        if not dry_run:
            for path in (day, day.parent, day.parent.parent):
                try:
                    path.rmdir()  # only when empty
                except OSError:
                    break
    return removed
