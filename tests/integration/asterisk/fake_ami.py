"""An in-process AMI peer on 127.0.0.1 port 0 for adapter tests.

It is not a model of Asterisk: it answers Login/Ping/Logoff and, for the
rest, plays back what a test scripts, which is cut from the real transcripts
(tests/fixtures/asterisk) with only ActionIDs rewritten. It records every
byte each connection sent, so tests assert on the wire.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from vidline.pbx.asterisk.codec import AmiMessage, AmiParser

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
FULLY_BOOTED = (b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 95\r\n"
                b"LastReload: 95\r\nStatus: Fully Booted\r\n\r\n")

Handler = Callable[["Conn", AmiMessage], "Awaitable[None] | None"]


async def eventually(predicate: Callable[[], object], within: float = 5.0) -> None:
    """Wait until ``predicate()`` is true; TimeoutError after ``within`` s."""
    for _ in range(int(within / 0.005) + 1):
        if predicate():
            return
        await asyncio.sleep(0.005)
    raise TimeoutError(f"condition not met within {within} s")


def with_action_id(blocks: list[bytes], old: str, new: str) -> bytes:
    """Transcript blocks with ``ActionID: old`` rewritten to ``new``."""
    return b"".join(blocks).replace(f"ActionID: {old}\r\n".encode(),
                                    f"ActionID: {new}\r\n".encode())


def empty_list(action_id: str, complete: str) -> bytes:
    return (f"Response: Success\r\nActionID: {action_id}\r\nEventList: start\r\n"
            f"Message: will follow\r\n\r\nEvent: {complete}\r\nActionID: {action_id}\r\n"
            "EventList: Complete\r\nListItems: 0\r\n\r\n").encode()


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received = bytearray()
        self.actions: list[AmiMessage] = []
        self.closed = asyncio.Event()

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def reply(self, msg: AmiMessage, text: str) -> None:
        self.send(f"Response: Success\r\nActionID: {msg.action_id}\r\n{text}\r\n\r\n".encode())

    def close(self) -> None:
        self.writer.close()

    def named(self, action: str) -> list[AmiMessage]:
        return [a for a in self.actions if a.get("Action").lower() == action.lower()]


class FakeAmi:
    def __init__(self) -> None:
        self.conns: list[Conn] = []
        self.new_conn = asyncio.Condition()
        self.handlers: dict[str, Handler] = {
            "login": self._login,
            "ping": lambda c, m: c.reply(m, "Ping: Pong\r\nTimestamp: 1795736461.916223"),
            "logoff": self._logoff,
            "queuestatus": lambda c, m: c.send(empty_list(m.action_id, "QueueStatusComplete")),
            "coreshowchannels": lambda c, m: c.send(
                empty_list(m.action_id, "CoreShowChannelsComplete")),
        }
        self.accept_banner = True
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for conn in self.conns:
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def conn(self, index: int, within: float = 5.0) -> Conn:
        async def wait() -> Conn:
            async with self.new_conn:
                await self.new_conn.wait_for(lambda: len(self.conns) > index)
            return self.conns[index]
        return await asyncio.wait_for(wait(), within)

    async def action(self, conn: Conn, name: str, count: int = 1,
                     within: float = 5.0) -> AmiMessage:
        await eventually(lambda: len(conn.named(name)) >= count, within)
        return conn.named(name)[count - 1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Conn(reader, writer)
        async with self.new_conn:
            self.conns.append(conn)
            self.new_conn.notify_all()
        parser = AmiParser(expect_banner=False)
        try:
            if not self.accept_banner:
                return
            writer.write(BANNER)
            while data := await reader.read(65536):
                conn.received += data
                for msg in parser.feed(data):
                    assert isinstance(msg, AmiMessage)
                    conn.actions.append(msg)
                    handler = self.handlers.get(msg.get("Action").lower())
                    result = handler(conn, msg) if handler else None
                    if result is not None:
                        await result
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            conn.closed.set()
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    def _login(conn: Conn, msg: AmiMessage) -> None:
        conn.reply(msg, "Message: Authentication accepted")
        conn.send(FULLY_BOOTED)

    @staticmethod
    def _logoff(conn: Conn, msg: AmiMessage) -> None:
        conn.send(f"Response: Goodbye\r\nActionID: {msg.action_id}\r\n"
                  "Message: Thanks for all the fish.\r\n\r\n".encode())
        conn.close()
