"""A raw ESL client (no library: every byte is the test's) and the lab's
config for the sandbox's FreeSWITCH face."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vidline.config import Config, parse_config

if TYPE_CHECKING:
    from vidline.pbx.sandbox.pbx import SandboxPbx

HASH = "scrypt$16384$8$1$c2FsdHNhbHQ=$" + "A" * 43 + "="
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "freeswitch"
SUBSCRIBE = ("event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE "
             "CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB CUSTOM callcenter::info")


def lab_config(**sandbox: Any) -> Config:
    """The lab's callcenter.conf: support (1001, 1002) and sales (1002)."""
    agents = [
        {"username": "alice", "password_hash": HASH, "interface": "user/1001",
         "member_name": "Agent Alice", "queues": ["support"]},
        {"username": "bob", "password_hash": HASH, "interface": "user/1002",
         "member_name": "Agent Bob", "queues": ["sales", "support"]},
    ]
    queues = [{"name": "support", "strategy": "longest-idle-agent"},
              {"name": "sales", "strategy": "longest-idle-agent"}]
    return parse_config({
        "pbx": "freeswitch",
        "routing": {"default_queue": "support"},
        "agents": agents,
        "sandbox": {"enabled": True, "esl_port": 0, "esl_password": "vidline",
                    "auto_answer": False, "queues": queues, **sandbox},
    })


@dataclass
class Message:
    """One packet from the server: its outer headers, body, and for events
    the decoded event headers (in order) and the event's own body."""

    headers: dict[str, str]
    body: bytes = b""
    event: list[tuple[str, str]] = field(default_factory=list)
    event_body: str = ""

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def get(self, name: str) -> str:
        return next((v for k, v in self.event if k == name), "")

    @property
    def name(self) -> str:
        """CHANNEL_CREATE, ... or the CC-Action of a callcenter event."""
        if self.get("Event-Name") == "CUSTOM":
            return self.get("CC-Action") or self.get("Event-Subclass")
        return self.get("Event-Name")


def parse_stream(data: bytes) -> tuple[list[Message], bytes]:
    out: list[Message] = []
    while True:
        end = data.find(b"\n\n")
        if end < 0:
            return out, data
        head = data[:end].decode()
        headers = dict(line.split(": ", 1) for line in head.split("\n") if ": " in line)
        length = int(headers.get("Content-Length", "0"))
        if len(data) < end + 2 + length:
            return out, data
        body = data[end + 2:end + 2 + length]
        data = data[end + 2 + length:]
        msg = Message(headers, body)
        if headers.get("Content-Type") == "text/event-plain":
            text = body.decode()
            ev_head, _, rest = text.partition("\n\n")
            for line in ev_head.split("\n"):
                k, _, v = line.partition(": ")
                if k == "Content-Length":
                    continue
                msg.event.append((k, urllib.parse.unquote(v)))
            msg.event_body = rest
        out.append(msg)


def load_transcript(name: str) -> list[Message]:
    messages, _ = parse_stream((FIXTURES / name).read_bytes())
    return messages


class EslClient:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.raw = bytearray()
        self._buf = b""
        self._new = asyncio.Event()
        self.eof = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def connect(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.reader.read(65536)
            if not data:
                self.eof.set()
                self._new.set()
                return
            self.raw += data
            msgs, self._buf = parse_stream(self._buf + data)
            self.messages += msgs
            self._new.set()

    def send(self, text: str) -> None:
        self.writer.write(text.encode())

    async def wait(self, pred: Any, timeout: float = 10.0, start: int = 0) -> Message:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for m in self.messages[start:]:
                    if pred(m):
                        return m
                if self.eof.is_set():
                    raise ConnectionError("ESL socket closed")
                self._new.clear()
                await self._new.wait()

    async def command(self, text: str, timeout: float = 10.0) -> Message:  # noqa: ASYNC109
        """Send one command; the next command/reply or api/response after it."""
        start = len([m for m in self.messages if _is_reply(m)])
        self.send(text + "\n\n")
        async with asyncio.timeout(timeout):
            while True:
                replies = [m for m in self.messages if _is_reply(m)]
                if len(replies) > start:
                    return replies[start]
                if self.eof.is_set():
                    raise ConnectionError("ESL socket closed")
                self._new.clear()
                await self._new.wait()

    async def login(self, port: int, password: str = "vidline") -> None:
        await self.connect(port)
        await self.wait(lambda m: m.content_type == "auth/request")
        reply = await self.command(f"auth {password}")
        assert reply.headers["Reply-Text"] == "+OK accepted"

    def events(self, start: int = 0) -> list[Message]:
        return [m for m in self.messages[start:] if m.content_type == "text/event-plain"]

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, ConnectionError):
                pass


@contextlib.asynccontextmanager
async def running(**sandbox: Any) -> AsyncIterator[tuple[SandboxPbx, EslClient]]:
    """The sandbox on the lab config and a client logged in and subscribed."""
    from vidline.pbx.sandbox.pbx import SandboxPbx
    pbx = SandboxPbx(lab_config(**sandbox), use_db=False)
    await pbx.start()
    client = EslClient()
    try:
        await client.login(pbx.esl_port)
        await client.command(SUBSCRIBE)
        yield pbx, client
    finally:
        await client.close()
        await asyncio.wait_for(pbx.close(), 10)  # close never hangs (test_close)


def _is_reply(m: Message) -> bool:
    return m.content_type in ("command/reply", "api/response")
