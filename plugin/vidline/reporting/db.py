"""One small database handle for SQLite (the embedded default) and
MySQL/MariaDB (through pymysql), so callers write SQL once.

SQL uses ``?`` placeholders; the handle turns them into ``%s`` for pymysql.
Values always travel as parameters, never inside the SQL text. These calls
block: run them in a thread (the reporting writer, the sandbox's CDR writer),
never on the event loop.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import pymysql

T = TypeVar("T")

# Errors after which the connection is not worth keeping: the server went
# away, the link broke or the connect failed. The next call reconnects.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    pymysql.err.OperationalError, pymysql.err.InterfaceError, OSError)


@dataclass(frozen=True, slots=True)
class DbUrl:
    dialect: str  # "sqlite" or "mysql"
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = ""


def parse_db_url(url: str) -> DbUrl:
    """``sqlite:///relative.db``, ``sqlite:////abs/path.db`` or
    ``mysql://user:password@host:port/database``."""
    if url.startswith("sqlite:///"):
        return DbUrl("sqlite", path=url[len("sqlite:///"):])
    parts = urlsplit(url)
    if parts.scheme != "mysql" or not parts.path.strip("/"):
        raise ValueError(
            f"database url must be sqlite:///FILE or mysql://USER@HOST/DB, not {url!r}"
        )
    return DbUrl(
        "mysql",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.strip("/"),
    )


class Database:
    """A connection with ``?`` placeholders on both dialects. Thread-safe by
    a lock: one statement at a time."""

    def __init__(self, url: str, *, timeout: float | None = None) -> None:
        """``timeout``: seconds a MySQL read or write may take before the
        connection counts as broken (None: wait forever), so that a server
        that stopped answering without closing is noticed."""
        self.url = parse_db_url(url)
        self.dialect = self.url.dialect
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: Any = None

    def connect(self) -> None:
        if self._conn is not None:
            return
        if self.dialect == "sqlite":
            Path(self.url.path).parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(self.url.path, check_same_thread=False,
                                         isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
        else:
            self._conn = pymysql.connect(
                host=self.url.host, port=self.url.port, user=self.url.user,
                password=self.url.password, database=self.url.database,
                autocommit=True, charset="utf8mb4", connect_timeout=5,
                read_timeout=self.timeout, write_timeout=self.timeout,
            )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _sql(self, sql: str) -> str:
        # pymysql formats with %: a literal % must be doubled first
        return sql if self.dialect == "sqlite" else sql.replace("%", "%%").replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the last inserted row id."""
        with self._lock:
            self.connect()
            cur = self._conn.cursor()
            try:
                cur.execute(self._sql(sql), tuple(params))
                return int(cur.lastrowid or 0)
            except BaseException as exc:
                self._drop_if_broken(exc)
                raise
            finally:
                _close_quietly(cur)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            self.connect()
            cur = self._conn.cursor()
            try:
                cur.execute(self._sql(sql), tuple(params))
                return [tuple(row) for row in cur.fetchall()]
            except BaseException as exc:
                self._drop_if_broken(exc)
                raise
            finally:
                _close_quietly(cur)

    def _drop_if_broken(self, exc: BaseException) -> None:
        # a pymysql connection that lost its server stays unusable (every call
        # raises InterfaceError): forget it, the next call connects afresh.
        # InternalError covers a stream out of step ("packet sequence number
        # wrong") after a connection was cut mid-reply.
        if self.dialect == "mysql" and isinstance(
                exc, (*CONNECTION_ERRORS, pymysql.err.InternalError)):
            conn, self._conn = self._conn, None
            if conn is not None:
                _close_quietly(conn)

    def transaction(self, work: Callable[[Transaction], T]) -> T:
        """Run ``work`` in one transaction: committed when it returns, rolled
        back when it raises. A broken connection is dropped (and reopened by
        the next call)."""
        with self._lock:
            self.connect()
            conn = self._conn
            cur = conn.cursor()
            try:
                if self.dialect == "sqlite":
                    cur.execute("BEGIN IMMEDIATE")
                else:
                    conn.begin()
                result = work(Transaction(self, cur))
                conn.commit()
                return result
            except BaseException as exc:
                self._abandon(conn, exc)
                raise
            finally:
                _close_quietly(cur)

    def _abandon(self, conn: Any, exc: BaseException) -> None:
        if self.dialect == "mysql" and isinstance(
                exc, (*CONNECTION_ERRORS, pymysql.err.InternalError)):
            self._drop_if_broken(exc)  # the server rolls back what it had
            return
        try:
            conn.rollback()
        except Exception:
            self._drop_if_broken(pymysql.err.InterfaceError(0, "rollback failed"))

    def columns(self, table: str) -> list[str]:
        """Column names of ``table`` (empty when it does not exist)."""
        if self.dialect == "sqlite":
            return [row[1] for row in self.query(f"PRAGMA table_info({_ident(table)})")]
        rows = self.query(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [row[0] for row in rows]


    def column_lengths(self, table: str) -> dict[str, int]:
        """Declared maximum lengths of the character columns of ``table``
        (``varchar(80)`` -> 80), lower-cased names; other columns are absent."""
        if self.dialect == "sqlite":
            lengths: dict[str, int] = {}
            for row in self.query(f"PRAGMA table_info({_ident(table)})"):
                match = _VARCHAR_RE.search(str(row[2]))
                if match:
                    lengths[str(row[1]).lower()] = int(match.group(1))
            return lengths
        rows = self.query(
            "SELECT column_name, character_maximum_length FROM information_schema.columns "
            "WHERE table_schema = DATABASE() AND table_name = ? "
            "AND character_maximum_length IS NOT NULL",
            (table,),
        )
        return {str(name).lower(): int(size) for name, size in rows}


def _close_quietly(thing: Any) -> None:
    try:
        thing.close()
    except Exception:  # the connection may be gone already
        pass


class Transaction:
    """The statements of one :meth:`Database.transaction`."""

    def __init__(self, db: Database, cursor: Any) -> None:
        self.dialect = db.dialect
        self._db = db
        self._cur = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Returns the number of rows the statement changed."""
        self._cur.execute(self._db._sql(sql), tuple(params))
        return int(self._cur.rowcount)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self._cur.execute(self._db._sql(sql), tuple(params))
        return [tuple(row) for row in self._cur.fetchall()]

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        # pymysql turns an INSERT ... VALUES executemany into multi-row inserts
        self._cur.executemany(self._db._sql(sql), [tuple(r) for r in rows])

    @property
    def lastrowid(self) -> int:
        return int(self._cur.lastrowid or 0)


_VARCHAR_RE = re.compile(r"char\s*\(\s*(\d+)\s*\)", re.IGNORECASE)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"bad identifier {name!r}")
    return name
