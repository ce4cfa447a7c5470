"""Reading queue_log for a report and writing the figures as CSV or JSON.
The reads block: the CLI runs them directly, the web layer in a thread."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from vidline.config import ReportsConfig
from vidline.reporting.db import Database
from vidline.reporting.report import COLUMNS, Figures, QueueLogRow, report

_SELECT = ("SELECT `time`, callid, queuename, agent, event, data1, data2, data3, data4, data5 "
           "FROM queue_log")
_STAMP = "%Y-%m-%d %H:%M:%S.%f"


def parse_moment(text: str) -> datetime:
    """``2026-11-27``, ``2026-11-27 08:00`` or ``2026-11-27T08:00:00`` (local time,
    as Asterisk writes queue_log)."""
    for fmt in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S",
                "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError(f"not a date or time: {text!r} (use YYYY-MM-DD or 'YYYY-MM-DD HH:MM')")


def fetch_rows(db: Database, start: datetime | None, end: datetime | None) -> list[QueueLogRow]:
    """Every row of the calls that entered a queue in [start, end), including
    their rows after ``end`` (a call's end is part of it)."""
    where, params = ["event = 'ENTERQUEUE'"], []
    if start is not None:
        where.append("`time` >= ?")
        params.append(start.strftime(_STAMP))
    if end is not None:
        where.append("`time` < ?")
        params.append(end.strftime(_STAMP))
    sql = (f"{_SELECT} WHERE callid IN (SELECT callid FROM queue_log WHERE "
           f"{' AND '.join(where)}) ORDER BY `time`, id")
    return [QueueLogRow.from_db(row) for row in db.query(sql, params)]


def build_report(db: Database, reports: ReportsConfig, by: str,
                 start: datetime | None = None, end: datetime | None = None) -> list[Figures]:
    return report(fetch_rows(db, start, end), by, reports.service_level_of, start, end)


def as_json(rows: list[Figures], by: str, start: datetime | None,
            end: datetime | None) -> str:
    body: dict[str, Any] = {
        "by": by,
        "from": start.isoformat(sep=" ") if start else None,
        "to": end.isoformat(sep=" ") if end else None,
        "rows": [r.as_dict() for r in rows],
    }
    return json.dumps(body, indent=2) + "\n"


def as_csv(rows: list[Figures]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if v is None else v for v in (getattr(row, c) for c in COLUMNS)])
    return out.getvalue()
