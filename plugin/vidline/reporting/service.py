"""Reporting as the composition root sees it: the writer thread and the
observer that feeds it, built from the config, with one stop path."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vidline.config import Config
from vidline.reporting.db import Database
from vidline.reporting.observer import ReportingObserver
from vidline.reporting.tables import ensure_reporting_schema, ensure_vidline_tables
from vidline.reporting.writer import ReportWriter

# seconds one MySQL read or write may take before the link counts as broken
DB_TIMEOUT = 10.0


@dataclass
class Reporting:
    writer: ReportWriter
    observer: ReportingObserver

    async def flush(self) -> bool:
        """Until everything so far is stored or spooled; True if the spool is empty."""
        return await self.writer.flush()

    async def close(self) -> None:
        await self.writer.close()


def start_reporting(config: Config, panel_url: Callable[[str], str]) -> Reporting | None:
    """The running writer, or None when ``[reporting] enabled = false``.
    Raises SpoolLocked when another vidline uses the same spool directory."""
    settings = config.reporting
    if not settings.enabled:
        return None
    queue_log = settings.writes_queue_log(config.pbx)
    # the writer creates what it writes to: vidline's own tables, and
    # queue_log only when it writes queue_log rows (the PBX's tables are
    # otherwise `vidline db init`'s business, never a side effect of a start)
    writer = ReportWriter(
        Database(config.database.url, timeout=DB_TIMEOUT), Path(settings.spool_dir),
        queue_size=settings.queue_size, batch_size=settings.batch_size,
        retry=settings.retry_min, retry_max=settings.retry_max,
        spool_max_bytes=settings.spool_max_mb * 1024 * 1024,
        prepare=ensure_reporting_schema if queue_log else ensure_vidline_tables)
    observer = ReportingObserver(writer, write_queue_log=queue_log, panel_url=panel_url)
    writer.start()
    return Reporting(writer, observer)
