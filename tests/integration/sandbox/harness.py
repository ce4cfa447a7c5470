"""A raw AMI client and a minimal AudioSocket server for the sandbox tests."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from vidline.audiosocket.codec import FrameDecoder, Kind, encode
from vidline.config import Config, parse_config
from vidline.pbx.asterisk.codec import AmiMessage, AmiParser, encode_message

HASH = "scrypt$16384$8$1$c2FsdHNhbHQ=$" + "A" * 43 + "="


def lab_config(db_url: str = "sqlite:///unused.db", **sandbox: Any) -> Config:
    """The lab's queues.conf and agents (shared/asterisk/conf)."""
    queues = [
        {"name": "sales", "strategy": "rrmemory"},
        {"name": "support", "strategy": "linear"},
        {"name": "kiosk", "strategy": "ringall"},
        {"name": "overflow", "strategy": "ringall", "ring_timeout": 1, "retry": 1},
    ]
    agents = [
        {"username": "alice", "password_hash": HASH, "interface": "Local/1001@agents",
         "member_name": "Agent Alice", "queues": ["sales", "support"]},
        {"username": "bob", "password_hash": HASH, "interface": "Local/1002@agents",
         "member_name": "Agent Bob", "queues": ["sales", "support"]},
        {"username": "carol", "password_hash": HASH, "interface": "Local/1003@agents",
         "member_name": "Agent Carol", "queues": ["kiosk"]},
    ]
    return parse_config({
        "asterisk": {"username": "vidline", "secret": "vidline"},
        "database": {"url": db_url},
        "routing": {"default_queue": "support"},
        "agents": agents,
        "sandbox": {"enabled": True, "ami_port": 0, "auto_answer": False,
                    "queues": queues, **sandbox},
    })


class AmiClient:
    def __init__(self) -> None:
        self.messages: list[AmiMessage] = []
        self.banner = ""
        self._parser = AmiParser(expect_banner=True)
        self._task: asyncio.Task[None] | None = None
        self._new = asyncio.Event()
        self.eof = asyncio.Event()

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
            for item in self._parser.feed(data):
                if isinstance(item, AmiMessage):
                    self.messages.append(item)
                else:
                    self.banner = item.text
            self._new.set()

    def send_raw(self, data: bytes) -> None:
        self.writer.write(data)

    def send(self, headers: list[tuple[str, str]]) -> None:
        self.writer.write(encode_message(headers))

    async def wait(self, pred: Any, timeout: float = 10.0) -> AmiMessage:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for m in self.messages:
                    if pred(m):
                        return m
                self._new.clear()
                await self._new.wait()

    async def response(self, action_id: str) -> AmiMessage:
        return await self.wait(lambda m: m.response and m.action_id == action_id)

    async def event(self, name: str, **fields: str) -> AmiMessage:
        return await self.wait(lambda m: m.event == name and all(
            m.get(k) == v for k, v in fields.items()))

    async def login(self, events: str = "on") -> None:
        self.send([("Action", "Login"), ("ActionID", "login"), ("Username", "vidline"),
                   ("Secret", "vidline"), ("Events", events)])
        await self.response("login")

    async def close(self) -> None:
        self.writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


@dataclass
class AsSession:
    uuid: uuid.UUID | None = None
    kinds: dict[int, int] = field(default_factory=dict)
    audio: bytearray = field(default_factory=bytearray)
    writer: asyncio.StreamWriter | None = None
    closed_by_pbx: asyncio.Event = field(default_factory=asyncio.Event)


class AudioSocketServer:
    """Accepts the sandbox's AudioSocket legs, sends paced silence, records audio."""

    def __init__(self) -> None:
        self.sessions: list[AsSession] = []
        self.arrived = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AsSession(writer=writer)
        self.sessions.append(session)
        decoder = FrameDecoder()
        sender = asyncio.create_task(self._send(writer))
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for frame in decoder.feed(data):
                    session.kinds[frame.kind] = session.kinds.get(frame.kind, 0) + 1
                    if frame.kind == Kind.UUID:
                        session.uuid = frame.uuid
                        self.arrived.set()
                    elif frame.kind in (Kind.AUDIO_8K, Kind.AUDIO_16K):
                        session.audio += frame.payload
        except ConnectionError:
            pass
        session.closed_by_pbx.set()
        sender.cancel()
        writer.close()

    async def _send(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not writer.is_closing():
                writer.write(encode(Kind.AUDIO_8K, bytes(320)))
                await asyncio.sleep(0.02)

    def find(self, call_uuid: str) -> AsSession:
        return next(s for s in self.sessions if str(s.uuid) == call_uuid)

    async def close(self) -> None:
        for s in self.sessions:
            if s.writer is not None:
                s.writer.close()
        self.server.close()
