"""Who may play a recording, the signed links that carry that decision, and
the audit log of every playback and download.

Agents see the sets of their own calls, supervisors every set. The page
that decides (logged-in session) hands out links signed with an HMAC of
the server's secret key over (user, interaction, file, expiry): a ``<video>``
element, a download manager or a supervisor's colleague can fetch them
without the session cookie, but only for ``link_ttl`` seconds and only that
file; every fetch names the user it was signed for in the audit log.

The audit log is a table in the reporting database
(``vidline_recording_access``), written from a thread: one row per page
opened (``play``), per download and per first fetch of a media file.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime
from typing import Any

from vidline.reporting.db import Database

AUDIT_TABLE = "vidline_recording_access"
_SCHEMA = {
    "mysql": f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
        id bigint(20) NOT NULL AUTO_INCREMENT PRIMARY KEY,
        time datetime(6) NOT NULL,
        username varchar(80) NOT NULL,
        role varchar(16) NOT NULL,
        interaction_id varchar(64) NOT NULL,
        action varchar(16) NOT NULL,
        file varchar(160) DEFAULT NULL,
        client varchar(64) DEFAULT NULL,
        KEY {AUDIT_TABLE}_interaction (interaction_id, time)
    ) DEFAULT CHARSET=utf8mb4""",
    "sqlite": f"""CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
        id integer PRIMARY KEY AUTOINCREMENT,
        time text NOT NULL,
        username varchar(80) NOT NULL,
        role varchar(16) NOT NULL,
        interaction_id varchar(64) NOT NULL,
        action varchar(16) NOT NULL,
        file varchar(160) DEFAULT NULL,
        client varchar(64) DEFAULT NULL
    )""",
}


def may_see(username: str, role: str, owner: str | None) -> bool:
    return role == "supervisor" or (owner is not None and owner == username)


class Signer:
    def __init__(self, secret_key: str, ttl: int, clock: Any = time.time) -> None:
        # a key of its own, derived: a link signature never doubles as anything else
        self._key = hmac.new(secret_key.encode(), b"vidline-recording-links",
                             hashlib.sha256).digest()
        self.ttl = ttl
        self.clock = clock

    def _mac(self, user: str, role: str, interaction_id: str, name: str, expires: int) -> str:
        message = "\n".join((user, role, interaction_id, name, str(expires))).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:40]

    def sign(self, user: str, role: str, interaction_id: str, name: str) -> dict[str, str]:
        """The query parameters of a link to ``name`` in the set."""
        expires = int(self.clock()) + self.ttl
        return {"u": user, "r": role, "e": str(expires),
                "s": self._mac(user, role, interaction_id, name, expires)}

    def check(self, query: Any, interaction_id: str, name: str) -> tuple[str, str] | str:
        """(user, role) of a valid link; else the reason it is refused."""
        user, role, expires, sig = (query.get(k, "") for k in ("u", "r", "e", "s"))
        if not (user and role and expires.isdigit() and sig):
            return "the link is not signed"
        good = self._mac(user, role, interaction_id, name, int(expires))
        if not hmac.compare_digest(good, sig):
            return "the link's signature is wrong"
        if int(expires) < self.clock():
            return "the link has expired"
        return user, role


class AuditLog:
    def __init__(self, url: str) -> None:
        self.db = Database(url, timeout=10)
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            self.db.execute(_SCHEMA[self.db.dialect])
            self._ready = True

    def write(self, username: str, role: str, interaction_id: str, action: str,
              file: str | None, client: str | None, at: float | None = None) -> None:
        """Blocking: call in a thread."""
        self._ensure()
        when = datetime.fromtimestamp(time.time() if at is None else at)
        self.db.execute(
            f"INSERT INTO {AUDIT_TABLE} (time, username, role, interaction_id, action, file,"
            " client) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (when.isoformat(sep=" ", timespec="microseconds"), username[:80], role[:16],
             interaction_id, action, file[:160] if file else None,
             client[:64] if client else None))

    def rows(self, interaction_id: str) -> list[tuple[Any, ...]]:
        self._ensure()
        return self.db.query(
            f"SELECT username, role, action, file FROM {AUDIT_TABLE} WHERE interaction_id = ?"
            " ORDER BY id", (interaction_id,))

    def close(self) -> None:
        self.db.close()
