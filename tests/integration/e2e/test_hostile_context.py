"""Hostile context through the whole product: customer API -> interaction
service -> AMI adapter -> the bytes on the AMI socket -> the sandbox PBX ->
CDR rows in MariaDB.

A recording TCP proxy sits between vidline and the sandbox's AMI port, so the
assertions are on every byte vidline wrote to the PBX, as Asterisk would read
them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from typing import Any

import aiohttp
import pytest

from tests.conftest import make_config, mariadb_rows
from vidline.pbx.asterisk.codec import AmiMessage, AmiParser
from vidline.pbx.asterisk.variables import VARIABLE_NAMES
from vidline.pbx.sandbox.pbx import SandboxPbx

pytestmark = pytest.mark.mariadb

HOSTILE = [
    "\r\nAction: Originate",
    "a\r\n\r\nAction: Ping",
    "a\nAction: Ping",
    "x\rEvents: off",
    "1,VIDLINE_KIOSK=injected",
    'quote"s and \'single\'',
    "${SHELL(id)}",
    "$(id)",
    "`id`",
    "<script>alert(1)</script>",
    "a|b;c\\d",
    "x" * 10_000,
    "caf\u00e9 \u2615 \u202eevil",
    "\x00nul",
]
FIELDS = ["customer_id", "phone", "kiosk_location", "category", "page_url"]
ALLOWED_ACTIONS = {"Login", "Originate", "Ping", "QueueStatus", "QueueSummary",
                   "CoreShowChannels", "Hangup", "Logoff", "QueuePause", "Events"}
ORIGINATE_HEADERS = {"Action", "ActionID", "Channel", "ChannelId", "Context", "Exten",
                     "Priority", "CallerID", "Timeout", "Async", "Variable"}


class RecordingProxy:
    """Forwards one TCP port to another and keeps every client->server byte."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = bytearray()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, record: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    if record:
                        self.sent += data
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for task in (pipe(reader, up_writer, True), pipe(up_reader, writer, False)):
            t = asyncio.create_task(task)
            self.tasks.add(t)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def body_for(field: str, value: str) -> dict[str, Any]:
    body: dict[str, Any] = {"customer_id": "cust-1", "phone": "+15551234",
                            "category": "billing", "page_url": "https://shop.example/p"}
    if field == "page_url":
        value = "https://shop.example/p?q=" + value
    body[field] = value
    return body


async def test_no_customer_value_reaches_an_ami_header_unescaped(
    runtime_factory: Any, mariadb_url: str
) -> None:
    config = make_config(mariadb_url)
    sandbox = SandboxPbx(config)
    await sandbox.start()
    proxy = RecordingProxy(sandbox.ami_port)
    proxy_port = await proxy.start()
    config = dataclasses.replace(
        config,
        sandbox=dataclasses.replace(config.sandbox, enabled=False),
        asterisk=dataclasses.replace(config.asterisk, port=proxy_port),
        server=dataclasses.replace(config.server, requests_per_minute=100_000),
    )
    try:
        runtime = await runtime_factory(config)
        accepted: dict[str, tuple[str, str]] = {}
        refused = 0
        async with aiohttp.ClientSession() as http:
            url = f"{runtime.base_url}/api/v1/interactions"
            for field in FIELDS:
                for value in HOSTILE:
                    async with http.post(url, json=body_for(field, value)) as resp:
                        answer = await resp.json()
                        if resp.status == 201:
                            accepted[answer["id"]] = (field, value)
                        else:
                            assert 400 <= resp.status < 500, (field, value, resp.status)
                            assert answer["field"] in (field, "body"), (field, value, answer)
                            refused += 1
            # invalid UTF-8 cannot be written as JSON text: send the raw bytes
            raw = json.dumps(body_for("kiosk_location", "KIOSK")).encode().replace(
                b"KIOSK", b"k\xff\xfe")
            async with http.post(url, data=raw,
                                 headers={"Content-Type": "application/json"}) as resp:
                answer = await resp.json()
                assert resp.status == 400 and answer["field"] in ("kiosk_location", "body")
        assert refused > 0 and accepted, "the table must exercise both outcomes"

        service = runtime.service
        await sandbox.control.wait_for(lambda: all(
            service.get(i).state.value not in ("created", "originating") for i in accepted))

        wire = bytes(proxy.sent)
        # no bare CR or LF anywhere: every line ends in CRLF
        assert wire.count(b"\n") == wire.count(b"\r\n") == wire.count(b"\r")
        assert max(len(line) for line in wire.split(b"\r\n")) <= 1022
        messages = [m for m in AmiParser(expect_banner=False).feed(wire)
                    if isinstance(m, AmiMessage)]
        originates: list[AmiMessage] = []
        for message in messages:
            actions = message.get_all("Action")
            assert len(actions) == 1, message
            assert actions[0] in ALLOWED_ACTIONS, message
            if actions[0] == "Originate":
                originates.append(message)
        for message in originates:
            assert {name for name, _ in message.headers} <= ORIGINATE_HEADERS, message
            for assignment in message.get_all("Variable"):
                name, _, value = assignment.partition("=")
                assert name.removeprefix("__") in VARIABLE_NAMES
                assert not set(value) & set(",\"'\\$`{}()|;<> \x00"), assignment
        assert sorted(m.get("ChannelId") for m in originates) == sorted(accepted)

        # CDR rows are written when the calls end
        for interaction_id in accepted:
            await service.leave(interaction_id)
        await sandbox.control.wait_for(
            lambda: all(service.get(i).state.value == "ended" for i in accepted))
        await sandbox.control.flush_db()
        for interaction_id, (field, value) in accepted.items():
            rows = mariadb_rows(mariadb_url, "SELECT * FROM cdr WHERE uniqueid = %s",
                                (interaction_id,))
            assert len(rows) == 1, (field, value)
            row = rows[0]
            assert row["vidline_session"] == interaction_id
            for column in ("vidline_customer_id", "vidline_phone", "vidline_page_url",
                           "vidline_kiosk", "vidline_category"):
                text = row[column] or ""
                assert "\r" not in text and "\n" not in text and "," not in text, (column, text)
            if field == "kiosk_location":
                # what the agent sees is the exact text, the CDR the encoded form
                assert service.get(interaction_id).context.kiosk_location == value
    finally:
        await proxy.close()
        await sandbox.close()
