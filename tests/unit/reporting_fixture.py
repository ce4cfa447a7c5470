"""A day of queue_log rows, written the way Asterisk writes them, with every
figure of the report worked out by hand in tests/unit/test_report.py.

Service levels: support 20 s (the default), sales 30 s.

  P0 phone support  11-26 23:50  answered, wait 5, talk 10   (before the range)
  P1 phone support  09:00  answered, wait 10, talk 100
  P2 phone support  09:10  answered, wait 30, talk 200
  P3 phone support  09:20  abandoned after 45
  P4 phone sales    10:05  answered, wait 25, talk 60
  P5 phone support  10:50  still waiting (no end row)
  V1 video billing   support 09:30  answered, wait 5, talk 300
  V2 video billing   agent-1002 10:00 timed out after 12 (the last agent did
                     not answer), then support 10:00:12 answered, wait 8, talk 120
  V3 video technical support 10:20  timed out after 120
  V4 video sales     sales 10:40  answered, wait 40, talk 50
"""

from __future__ import annotations

from datetime import datetime

from vidline.reporting.report import QueueLogRow

D = "2026-11-27"
RAW: list[tuple[str, ...]] = [
    ("2026-11-26 23:50:00", "100.0", "support", "NONE", "ENTERQUEUE", "", "5550000", "1"),
    ("2026-11-26 23:50:05", "100.0", "support", "Agent Alice", "CONNECT", "5", "100.01", "2"),
    ("2026-11-26 23:50:15", "100.0", "support", "Agent Alice", "COMPLETECALLER", "5", "10", "1"),
    # noise a report must ignore: pauses, ring attempts
    (f"{D} 08:59:00", "NONE", "NONE", "PJSIP/1001", "PAUSEALL", "Lunch"),
    (f"{D} 09:00:00", "100.1", "support", "NONE", "ENTERQUEUE", "", "5550001", "1"),
    (f"{D} 09:00:05", "100.1", "support", "Agent Bob", "RINGNOANSWER", "5000"),
    (f"{D} 09:00:10", "100.1", "support", "Agent Alice", "CONNECT", "10", "100.11", "3"),
    (f"{D} 09:01:50", "100.1", "support", "Agent Alice", "COMPLETECALLER", "10", "100", "1"),
    (f"{D} 09:10:00", "100.2", "support", "NONE", "ENTERQUEUE", "", "5550002", "1"),
    (f"{D} 09:10:30", "100.2", "support", "Agent Bob", "CONNECT", "30", "100.21", "4"),
    (f"{D} 09:13:50", "100.2", "support", "Agent Bob", "COMPLETEAGENT", "30", "200", "1"),
    (f"{D} 09:20:00", "100.3", "support", "NONE", "ENTERQUEUE", "", "5550003", "1"),
    (f"{D} 09:20:45", "100.3", "support", "NONE", "ABANDON", "1", "1", "45"),
    (f"{D} 09:30:00", "v-1", "support", "NONE", "VIDEOCHAT", "v-1", "billing", "c-1"),
    (f"{D} 09:30:00", "v-1", "support", "NONE", "ENTERQUEUE", "", "", "1"),
    (f"{D} 09:30:05", "v-1", "support", "Agent Alice", "CONNECT", "5", "100.31", "1"),
    (f"{D} 09:35:05", "v-1", "support", "Agent Alice", "COMPLETECALLER", "5", "300", "1"),
    (f"{D} 10:00:00", "v-2", "support", "NONE", "VIDEOCHAT", "v-2", "billing", "c-2"),
    (f"{D} 10:00:00", "v-2", "agent-1002", "NONE", "ENTERQUEUE", "", "5550002", "1"),
    (f"{D} 10:00:10", "v-2", "agent-1002", "Agent Bob", "RINGNOANSWER", "10000"),
    (f"{D} 10:00:12", "v-2", "agent-1002", "NONE", "EXITWITHTIMEOUT", "1", "1", "12"),
    (f"{D} 10:00:12", "v-2", "support", "NONE", "ENTERQUEUE", "", "5550002", "1"),
    (f"{D} 10:00:20", "v-2", "support", "Agent Alice", "CONNECT", "8", "100.41", "2"),
    (f"{D} 10:02:20", "v-2", "support", "Agent Alice", "COMPLETEAGENT", "8", "120", "1"),
    (f"{D} 10:05:00", "100.5", "sales", "NONE", "ENTERQUEUE", "", "5550005", "1"),
    (f"{D} 10:05:25", "100.5", "sales", "Agent Bob", "CONNECT", "25", "100.51", "1"),
    (f"{D} 10:06:25", "100.5", "sales", "Agent Bob", "COMPLETECALLER", "25", "60", "1"),
    (f"{D} 10:20:00", "v-3", "support", "NONE", "VIDEOCHAT", "v-3", "technical", ""),
    (f"{D} 10:20:00", "v-3", "support", "NONE", "ENTERQUEUE", "", "", "1"),
    (f"{D} 10:22:00", "v-3", "support", "NONE", "EXITWITHTIMEOUT", "1", "1", "120"),
    (f"{D} 10:40:00", "v-4", "sales", "NONE", "VIDEOCHAT", "v-4", "sales", "c-4"),
    (f"{D} 10:40:00", "v-4", "sales", "NONE", "ENTERQUEUE", "", "", "1"),
    (f"{D} 10:40:40", "v-4", "sales", "Agent Bob", "CONNECT", "40", "100.61", "1"),
    (f"{D} 10:41:30", "v-4", "sales", "Agent Bob", "COMPLETECALLER", "40", "50", "1"),
    (f"{D} 10:50:00", "100.6", "support", "NONE", "ENTERQUEUE", "", "5550006", "1"),
]


def db_rows() -> list[tuple[str, ...]]:
    """(time, callid, queuename, agent, event, data1..data5), every data filled."""
    return [(*row, *[""] * (10 - len(row))) for row in RAW]


def rows() -> list[QueueLogRow]:
    return [QueueLogRow.from_db(row) for row in db_rows()]


START = datetime(2026, 11, 27)
END = datetime(2026, 11, 28)
SERVICE_LEVELS = {"sales": 30}


def service_level_of(queue: str) -> int:
    return SERVICE_LEVELS.get(queue, 20)
