"""Last-agent routing: a customer who spoke with an agent a few minutes ago
(by phone or by video) is offered to that agent first.

Theory of operation. The request's phone number and customer id are looked
up in the centre's own reporting tables, the way Asterisk wrote them:

- queue_log: a call's ``ENTERQUEUE`` row carries the caller id number in
  data2 and vidline's ``VIDEOCHAT`` row the customer id in data3; the
  ``CONNECT``/``COMPLETE*``/transfer rows of the same callid name the agent
  (the queue member name, or its interface when it has none);
- CDR: an ANSWERED row whose ``src``/``vidline_phone``/``vidline_customer_id``
  match names the agent's channel in ``dstchannel`` (``PJSIP/1002-0000002a``).

The newest contact within the window whose agent is in vidline's directory
wins; the decision keeps the routed queue and adds the agent's extension,
which the inbound context tries first through the one-member queue
``agent-<ext>`` (shared/asterisk FINDINGS "Preferred (last) agent"). The
PBX itself falls through at once when that agent is paused or busy.

The lookup blocks (pymysql/sqlite), so it runs in a thread with a short
timeout; it never fails a request: on any error the request is routed as
usual and the reason says why no agent was preferred.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from vidline.config import AgentConfig, RoutingConfig
from vidline.context.model import InteractionContext
from vidline.dialplan_render import agent_extension
from vidline.interactions.model import RouteDecision
from vidline.reporting.db import Database

log = logging.getLogger(__name__)

LOOKUP_TIMEOUT = 1.5  # seconds a request may wait for the lookup
MAX_IN_FLIGHT = 2  # lookups stuck on a hung database are never stacked beyond this
# rows that say an agent talked with the caller of that callid
AGENT_EVENTS = ("CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "TRANSFER",
                "BLINDTRANSFER", "ATTENDEDTRANSFER")
_CHANNEL_SUFFIX_RE = re.compile(r"(-[0-9a-fA-F]+)?(;\d)?$")
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True, slots=True)
class Contact:
    """One earlier contact with the customer: who handled it, when, how."""

    agent: str  # the queue_log agent field (member name or interface) or a CDR interface
    at: datetime
    kind: str  # "phone call" or "video chat"


def digits(phone: str | None) -> str:
    return "".join(c for c in phone or "" if c.isdigit())


def phone_forms(phone: str) -> list[str]:
    """The spellings of one number a caller id may carry (queried with IN so
    the database can use an index; compared as digits afterwards)."""
    d = digits(phone)
    return list(dict.fromkeys(f for f in (phone, d, f"+{d}", f"00{d}") if f))


def parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    text = str(value or "")
    for fmt in (_TIME_FORMAT, "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def channel_interface(channel: str) -> str:
    """``PJSIP/1002-0000002a`` -> ``PJSIP/1002``; ``Local/1002@agents-00000004;1``
    -> ``Local/1002@agents`` (the member interface the channel was dialled on)."""
    return _CHANNEL_SUFFIX_RE.sub("", channel, count=1)


def contacts_from_queue_log(rows: Iterable[Sequence[Any]], phone: str | None,
                            customer_id: str | None) -> list[Contact]:
    """``rows``: (time, callid, queuename, agent, event, data1, data2, data3)."""
    want = digits(phone)
    matched: set[str] = set()
    video: set[str] = set()
    agents: dict[tuple[str, str], datetime] = {}
    for when, callid, _queue, agent, event, _d1, data2, data3 in rows:
        if event == "ENTERQUEUE" and want and digits(data2) == want:
            matched.add(callid)
        elif event == "VIDEOCHAT":
            video.add(callid)
            if customer_id and data3 == customer_id:
                matched.add(callid)
        elif event in AGENT_EVENTS and agent and agent != "NONE":
            at = parse_time(when)
            key = (callid, agent)
            if at is not None and (key not in agents or agents[key] < at):
                agents[key] = at
    return [Contact(agent, at, "video chat" if callid in video else "phone call")
            for (callid, agent), at in agents.items() if callid in matched]


def contacts_from_cdr(rows: Iterable[Sequence[Any]], phone: str | None,
                      customer_id: str | None) -> list[Contact]:
    """``rows``: (end, src, dstchannel, disposition, vidline_customer_id, vidline_phone)."""
    want = digits(phone)
    found: list[Contact] = []
    for end, src, dstchannel, disposition, cdr_customer, cdr_phone in rows:
        if disposition != "ANSWERED" or not dstchannel:
            continue
        phone_match = bool(want) and want in (digits(src), digits(cdr_phone))
        customer_match = bool(customer_id) and cdr_customer == customer_id
        at = parse_time(end)
        if (phone_match or customer_match) and at is not None:
            kind = "video chat" if cdr_customer or cdr_phone else "phone call"
            found.append(Contact(channel_interface(str(dstchannel)), at, kind))
    return found


def newest_known(contacts: Iterable[Contact], resolve: Callable[[str], AgentConfig | None],
                 since: datetime) -> tuple[Contact, AgentConfig] | None:
    """The newest contact within the window whose agent vidline knows."""
    best: tuple[Contact, AgentConfig] | None = None
    for contact in contacts:
        agent = resolve(contact.agent)
        if agent is None or contact.at < since:
            continue
        if best is None or contact.at > best[0].at:
            best = (contact, agent)
    return best


def reason_text(extension: str, contact: Contact, now: datetime) -> str:
    minutes = max(0, int((now - contact.at).total_seconds() // 60))
    return f"last-agent:{extension} ({contact.kind} {minutes} min ago)"


def _stamp(db: Database, when: datetime) -> Any:
    # MariaDB compares datetime(6) with a datetime parameter natively (no
    # string conversion per row); SQLite stores the text form
    return when if db.dialect == "mysql" else when.strftime(_TIME_FORMAT)


def fetch_contacts(db: Database, since: datetime, phone: str | None,
                   customer_id: str | None) -> list[Contact]:
    """Blocking: the contacts in queue_log and CDR since ``since``."""
    stamp = _stamp(db, since)
    forms = phone_forms(phone) if phone else []
    contacts: list[Contact] = []
    where, params = [], []
    if forms:
        where.append(f"(event = 'ENTERQUEUE' AND data2 IN ({', '.join('?' * len(forms))}))")
        params += forms
    if customer_id:
        where.append("(event = 'VIDEOCHAT' AND data3 = ?)")
        params.append(customer_id)
    if not where:
        return []
    # Two plain queries, not one with a subquery: without an index on `time`
    # (Asterisk creates none) MariaDB ran the IN (subquery) form at ~5 full
    # scans; this is one scan when the customer is new, two when not.
    callids = [row[0] for row in db.query(
        f"SELECT callid FROM queue_log WHERE `time` >= ? AND ({' OR '.join(where)}) "
        "GROUP BY callid ORDER BY MAX(`time`) DESC LIMIT 50", (stamp, *params))]
    if callids:
        events = ", ".join(f"'{e}'" for e in ("ENTERQUEUE", "VIDEOCHAT", *AGENT_EVENTS))
        rows = db.query(
            "SELECT `time`, callid, queuename, agent, event, data1, data2, data3 FROM queue_log "
            f"WHERE `time` >= ? AND event IN ({events}) "
            f"AND callid IN ({', '.join('?' * len(callids))})", (stamp, *callids))
        contacts += contacts_from_queue_log(rows, phone, customer_id)
    contacts += _cdr_contacts(db, since, phone, customer_id, forms)
    return contacts


def _cdr_contacts(db: Database, since: datetime, phone: str | None, customer_id: str | None,
                  forms: list[str]) -> list[Contact]:
    columns = {c.lower() for c in db.columns("cdr")}
    if not columns:
        return []
    # the current layout has `end`; the legacy one only calldate (the call's
    # start: a call that began before the window and ended inside it is missed)
    end = "`end`" if "end" in columns else "calldate"
    where, params = [], []
    if forms:
        marks = ", ".join("?" * len(forms))
        where.append(f"src IN ({marks})")
        params += forms
        if "vidline_phone" in columns:
            where.append(f"vidline_phone IN ({marks})")
            params += forms
    if customer_id and "vidline_customer_id" in columns:
        where.append("vidline_customer_id = ?")
        params.append(customer_id)
    if not where:
        return []
    extra = [c if c in columns else "NULL" for c in ("vidline_customer_id", "vidline_phone")]
    rows = db.query(
        f"SELECT {end}, src, dstchannel, disposition, {extra[0]}, {extra[1]} FROM cdr "
        f"WHERE {end} >= ? AND disposition = 'ANSWERED' AND ({' OR '.join(where)})",
        (_stamp(db, since), *params))
    return contacts_from_cdr(rows, phone, customer_id)


class LastAgentRouter:
    """Adds the preferred agent to a route decision (see the module doc)."""

    def __init__(self, routing: RoutingConfig, database_url: str,
                 agents: Iterable[AgentConfig], *, timeout: float = LOOKUP_TIMEOUT,
                 clock: Callable[[], datetime] = datetime.now) -> None:
        self._routing = routing
        self._url = database_url
        self._timeout = timeout
        self._clock = clock  # local time: Asterisk writes queue_log and CDR times that way
        agents = list(agents)
        self._by_member = {a.member_name: a for a in agents}
        self._by_interface = {a.interface.casefold(): a for a in agents}
        self._in_flight = 0
        self._idle: list[Database] = []  # connections kept between lookups
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()

    def resolve(self, agent: str) -> AgentConfig | None:
        return self._by_member.get(agent) or self._by_interface.get(agent.casefold())

    async def prefer(self, context: InteractionContext, route: RouteDecision) -> RouteDecision:
        if not self._routing.last_agent or not (context.phone or context.customer_id):
            return route
        with self._lock:
            if self._in_flight >= MAX_IN_FLIGHT:
                return dataclasses.replace(
                    route, reason=f"{route.reason} (last-agent lookup skipped: database busy)")
            self._in_flight += 1
        try:
            found = await asyncio.wait_for(
                asyncio.to_thread(self._lookup, context.phone, context.customer_id),
                self._timeout)
        except Exception as exc:  # the request goes on whatever the database does
            log.warning("last-agent lookup failed: %s", exc or type(exc).__name__)
            what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {type(exc).__name__}"
            return dataclasses.replace(route, reason=f"{route.reason} (last-agent lookup {what})")
        if found is None:
            return route
        contact, agent = found
        extension = agent_extension(agent.interface)
        reason = reason_text(extension, contact, self._clock())
        return dataclasses.replace(route, preferred_agent=extension,
                                   preferred_timeout=self._routing.last_agent_timeout,
                                   reason=f"{reason}, then {route.reason}")

    def _lookup(self, phone: str | None,
                customer_id: str | None) -> tuple[Contact, AgentConfig] | None:
        try:
            since = self._clock() - timedelta(seconds=self._routing.last_agent_window)
            # each lookup holds its own connection (a hung one never holds up
            # the next request); a connection that worked is kept for the next,
            # since opening one costs as much as the lookup itself
            with self._lock:
                reused = self._idle.pop() if self._idle else None
            if reused is not None:
                try:
                    return self._query(reused, since, phone, customer_id)
                except Exception:  # e.g. the server closed it while idle (wait_timeout)
                    log.debug("last-agent lookup: a kept connection failed, opening another")
            return self._query(Database(self._url), since, phone, customer_id)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _query(self, db: Database, since: datetime, phone: str | None,
               customer_id: str | None) -> tuple[Contact, AgentConfig] | None:
        try:
            contacts = fetch_contacts(db, since, phone, customer_id)
        except Exception:
            db.close()
            raise
        with self._lock:
            self._idle.append(db)
        return newest_known(contacts, self.resolve, since)
