"""Asterisk-format queue_log rows, for a PBX that writes none (FreeSWITCH).

Each function returns exactly what app_queue (Asterisk 22) writes for that
event, field by field (shared/asterisk/*.db.txt): the callid is the
interaction id (Asterisk's Uniqueid of the leg, shared/asterisk I), ``agent``
is the member name or ``NONE``, and the data fields are Asterisk's:

    VIDEOCHAT       session | category | customer id   (the dialplan's QueueLog)
    ENTERQUEUE      url | caller number | position
    RINGNOANSWER    ring time in milliseconds
    RINGCANCELED    ring time in milliseconds
    CONNECT         hold time s | agent leg's uniqueid | ring time s
    COMPLETECALLER  hold time s | talk time s | original position
    COMPLETEAGENT   hold time s | talk time s | original position
    ABANDON         position | original position | wait s
    EXITWITHTIMEOUT position | original position | wait s

Times are passed in (epoch seconds); nothing here reads the clock.
"""

from __future__ import annotations

from vidline.reporting.records import QueueLogRecord, db_time


def _row(key: str, when: float, callid: str, queue: str, agent: str, event: str,
         *data: str | int) -> QueueLogRecord:
    return QueueLogRecord(key, db_time(when), callid, queue, agent, event,
                          tuple(str(d) for d in data))


def videochat(key: str, when: float, callid: str, queue: str, session: str,
              category: str | None, customer_id: str | None) -> QueueLogRecord:
    return _row(key, when, callid, queue, "NONE", "VIDEOCHAT", session, category or "",
                customer_id or "")


def enterqueue(key: str, when: float, callid: str, queue: str, url: str,
               caller_number: str | None, position: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, "NONE", "ENTERQUEUE", url, caller_number or "",
                position)


def ringnoanswer(key: str, when: float, callid: str, queue: str, member: str,
                 ring_ms: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, member, "RINGNOANSWER", ring_ms)


def ringcanceled(key: str, when: float, callid: str, queue: str, member: str,
                 ring_ms: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, member, "RINGCANCELED", ring_ms)


def connect(key: str, when: float, callid: str, queue: str, member: str, hold: int,
            agent_uniqueid: str, ring: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, member, "CONNECT", hold, agent_uniqueid, ring)


def complete(key: str, when: float, callid: str, queue: str, member: str, by_agent: bool,
             hold: int, talk: int, original_position: int) -> QueueLogRecord:
    event = "COMPLETEAGENT" if by_agent else "COMPLETECALLER"
    return _row(key, when, callid, queue, member, event, hold, talk, original_position)


def abandon(key: str, when: float, callid: str, queue: str, position: int,
            original_position: int, wait: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, "NONE", "ABANDON", position, original_position, wait)


def exit_with_timeout(key: str, when: float, callid: str, queue: str, position: int,
                      original_position: int, wait: int) -> QueueLogRecord:
    return _row(key, when, callid, queue, "NONE", "EXITWITHTIMEOUT", position,
                original_position, wait)
