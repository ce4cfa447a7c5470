"""Shared fixtures: a real MariaDB database per test, and a whole vidline
runtime (sandbox PBX on loopback, ephemeral ports) built from a config."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pymysql
import pytest

MARIADB = {"host": os.environ.get("VIDLINE_TEST_MYSQL_HOST", "127.0.0.1"),
           "port": int(os.environ.get("VIDLINE_TEST_MYSQL_PORT", "3306")),
           "user": "root", "password": ""}


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """A fresh, uniquely named MariaDB database, dropped afterwards."""
    name = f"vidline_test_{secrets.token_hex(6)}"
    conn = pymysql.connect(**MARIADB, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield f"mysql://root@{MARIADB['host']}:{MARIADB['port']}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def mariadb_rows(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    database = url.rsplit("/", 1)[1]
    conn = pymysql.connect(**MARIADB, database=database,
                           cursorclass=pymysql.cursors.DictCursor)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())
    finally:
        conn.close()


TEST_CONFIG = """
categories = ["billing", "technical", "sales"]

[server]
host = "127.0.0.1"
port = 0

[asterisk]
username = "vidline"
secret = "s3cret"
ping_interval = 2.0
ping_timeout = 2.0

[audiosocket]
listen_port = 0

[database]
url = "{db_url}"

[reporting]
# one spool per runtime: two vidlines must not share one (it is locked)
spool_dir = "{spool_dir}"

[routing]
default_queue = "support"
queue_timeout = 120

[[routing.rules]]
category = "sales"
queue = "sales"
priority = 5

[crm]
url_template = "https://crm.example.com/customers?id={{{{ customer_id }}}}&phone={{{{ phone }}}}"

[sandbox]
enabled = true
ami_port = 0
auto_answer = {auto_answer}
auto_answer_after = {auto_answer_after}

[[sandbox.queues]]
name = "support"
strategy = "ringall"

[[sandbox.queues]]
name = "sales"
strategy = "rrmemory"

[[agents]]
username = "alice"
# password "alice-pass"
password_hash = "{alice_hash}"
interface = "PJSIP/1001"
member_name = "Agent Alice"
queues = ["support", "sales"]
"""


def make_config(db_url: str, *, auto_answer: float | None = None) -> Any:
    """The test config; ``auto_answer=None``: agents answer through the
    sandbox's control API only."""
    import tomllib

    from vidline.agents.passwords import hash_password
    from vidline.config import parse_config

    text = TEST_CONFIG.format(
        db_url=db_url,
        spool_dir=tempfile.mkdtemp(prefix="vidline-spool-"),
        auto_answer="false" if auto_answer is None else "true",
        auto_answer_after=auto_answer or 1.0,
        alice_hash=hash_password("alice-pass"),
    )
    return parse_config(tomllib.loads(text))


@pytest.fixture
async def runtime_factory() -> AsyncIterator[Any]:
    from vidline.app import start

    started: list[Any] = []

    async def factory(config: Any) -> Any:
        runtime = await start(config)
        started.append(runtime)
        return runtime

    yield factory
    for runtime in reversed(started):
        await runtime.close()
