"""Agent panel sessions and the login throttle, both in memory.

Sessions: the cookie holds a random 256-bit id; the server keeps the user,
the expiry and the CSRF token (synchronizer pattern: the panel page carries
the token, every state-changing request must send it back). Nothing in the
cookie is trusted beyond being a lookup key, so no signing key is needed and
a restart logs everyone out.

Throttle: five failed logins for one username lock that username for five
minutes, whoever tries. Per client address the limit is higher (twenty):
a contact center's agents usually share one NAT address, and five typos
among fifty agents must not lock the whole floor out; twenty still stops one
address from walking through usernames.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

SESSION_TTL = 12 * 3600.0
MAX_SESSIONS = 10_000
USER_FAILURES = 5
CLIENT_FAILURES = 20
LOCKOUT_SECONDS = 300.0
WINDOW_SECONDS = 900.0  # failures older than this are forgotten
MAX_TRACKED = 10_000


@dataclass(slots=True)
class Session:
    id: str
    username: str
    csrf_token: str
    expires_at: float

    def csrf_ok(self, token: object) -> bool:
        return isinstance(token, str) and hmac.compare_digest(
            token.encode("utf-8", "surrogatepass"), self.csrf_token.encode())


class SessionStore:
    def __init__(self, *, ttl: float = SESSION_TTL, max_sessions: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._max = max_sessions
        self._clock = clock
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def create(self, username: str) -> Session:
        self._purge()
        session = Session(secrets.token_urlsafe(32), username, secrets.token_urlsafe(32),
                          self._clock() + self._ttl)
        self._sessions[session.id] = session
        while len(self._sessions) > self._max:
            self._sessions.popitem(last=False)  # the oldest login goes first
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id or len(session_id) > 100:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.expires_at <= self._clock():
            del self._sessions[session_id]
            return None
        return session

    def delete(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    def _purge(self) -> None:
        now = self._clock()
        for session_id, session in list(self._sessions.items()):
            if session.expires_at <= now:
                del self._sessions[session_id]


@dataclass(slots=True)
class _Failures:
    count: int
    first_at: float
    locked_until: float


class LoginThrottle:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._users: OrderedDict[str, _Failures] = OrderedDict()
        self._clients: OrderedDict[str, _Failures] = OrderedDict()

    def locked_for(self, username: str, client: str) -> float:
        """Seconds left on a lockout of this username or client, else 0."""
        now = self._clock()
        left = 0.0
        for table, key in ((self._users, username), (self._clients, client)):
            entry = table.get(key)
            if entry is not None and entry.locked_until > now:
                left = max(left, entry.locked_until - now)
        return left

    def failed(self, username: str, client: str) -> None:
        self._count(self._users, username, USER_FAILURES)
        self._count(self._clients, client, CLIENT_FAILURES)

    def succeeded(self, username: str) -> None:
        # only the username is cleared: one good login from a shared address
        # must not reset the count of someone guessing from the same address
        self._users.pop(username, None)

    def _count(self, table: OrderedDict[str, _Failures], key: str, limit: int) -> None:
        now = self._clock()
        entry = table.pop(key, None)
        if (entry is None or (entry.locked_until and entry.locked_until <= now)
                or now - entry.first_at > WINDOW_SECONDS):
            entry = _Failures(0, now, 0.0)
        entry.count += 1
        if entry.count >= limit:
            entry.locked_until = now + LOCKOUT_SECONDS
        table[key] = entry
        while len(table) > MAX_TRACKED:
            table.popitem(last=False)
