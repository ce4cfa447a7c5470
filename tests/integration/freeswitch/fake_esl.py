"""A tiny in-process ESL peer for the adapter's unit tier: it speaks the
transcripts' envelopes (auth/request, command/reply, api/response,
text/event-plain) on a real loopback socket, records every byte it receives,
and replays events it is given. Not a FreeSWITCH model: the sandbox's ESL
face is, for the integration tier."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from vidline.pbx.freeswitch.codec import EslEvent

Api = Callable[[str], str]


def event_bytes(headers: list[tuple[str, str]] | tuple[tuple[str, str], ...],
                body: str = "") -> bytes:
    """An event as FreeSWITCH writes it: URL-encoded values, optional body."""
    block = "".join(f"{k}: {quote(v, safe='')}\n" for k, v in headers
                    if k != "Content-Length")
    raw_body = body.encode()
    if raw_body:
        block += f"Content-Length: {len(raw_body)}\n"
    inner = block.encode() + b"\n" + raw_body
    return b"Content-Length: %d\nContent-Type: text/event-plain\n\n" % len(inner) + inner


def encode(event: EslEvent) -> bytes:
    return event_bytes(event.headers, event.body)


class Conn:
    def __init__(self, peer: FakeEsl, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.peer, self.reader, self.writer = peer, reader, writer
        self.received = bytearray()
        self.commands: list[str] = []
        self.silent = False  # a half-open link: read, never answer

    def send(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def reply(self, text: str, extra: str = "") -> None:
        self.send(f"Content-Type: command/reply\nReply-Text: {text}\n{extra}\n".encode())

    def api(self, body: str) -> None:
        raw = body.encode()
        self.send(b"Content-Type: api/response\nContent-Length: %d\n\n" % len(raw) + raw)

    def drop(self) -> None:
        self.writer.transport.abort()


class FakeEsl:
    def __init__(self, password: str = "ClueCon") -> None:
        self.password = password
        self.conns: list[Conn] = []
        self.apis: dict[str, Api] = {}
        self.on_bgapi: Callable[[Conn, str, str], None] | None = None
        self.connected = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._jobs = itertools.count(1)
        self._tasks: list[asyncio.Task[Any]] = []

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def conn(self) -> Conn:
        return self.conns[-1]

    def all_commands(self) -> list[str]:
        return [c for conn in self.conns for c in conn.commands]

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)

    async def close(self) -> None:
        for conn in self.conns:
            conn.drop()
        # let every handler see its EOF and end (a cancelled one upsets asyncio)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_conns(self, n: int, within: float = 5.0) -> Conn:
        async def until() -> None:
            while len(self.conns) < n:
                self.connected.clear()
                await self.connected.wait()
        await asyncio.wait_for(until(), within)
        return self.conns[n - 1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(self, reader, writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.append(task)
        self.conns.append(conn)
        self.connected.set()
        conn.send(b"Content-Type: auth/request\n\n")
        try:
            while True:
                block = await reader.readuntil(b"\n\n")
                conn.received += block
                command = block.decode().split("\n", 1)[0]
                conn.commands.append(block.decode().rstrip("\n"))
                if conn.silent:
                    continue
                self._answer(conn, command)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _answer(self, conn: Conn, command: str) -> None:
        if command.startswith("auth "):
            ok = command == f"auth {self.password}"
            conn.reply("+OK accepted" if ok else "-ERR invalid")
        elif command.startswith("event plain "):
            conn.reply("+OK event listener enabled plain")
        elif command.startswith("api "):
            cmd = command[4:]
            for prefix, handler in self.apis.items():
                if cmd.startswith(prefix):
                    conn.api(handler(cmd))
                    return
            conn.api("-ERR no reply\n" if not cmd.startswith("status") else "UP 0 years\n")
        elif command.startswith("bgapi "):
            job = str(uuid.UUID(int=next(self._jobs)))
            conn.reply(f"+OK Job-UUID: {job}", f"Job-UUID: {job}\n")
            if self.on_bgapi is not None:
                self.on_bgapi(conn, job, command[6:])
        elif command.startswith("sendmsg "):
            conn.reply("+OK")
        elif command == "exit":
            conn.reply("+OK bye")
        else:
            conn.reply("-ERR command not found")
