"""The sandbox's AMI server: Asterisk 22's manager protocol on loopback.

Input is read the way manager.c's get_input() reads it: a 1024-byte line
buffer, CRLF or a lone LF ends a line (FINDINGS G3); a line that does not
fit makes the whole action fail with "Failed to parse message: line too
long" (the buffer keeps its last byte, as Asterisk does). Each complete
action is then decoded by vidline's own AmiParser and answered with
encode_message, so the bytes on the wire are the ones Asterisk writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

import vidline.pbx.sandbox.actions as actions
from vidline.pbx.asterisk.codec import AmiMessage, AmiParser, encode_message

if TYPE_CHECKING:
    from vidline.pbx.sandbox.pbx import SandboxPbx

log = logging.getLogger(__name__)

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
INBUF = 1024  # sizeof(inbuf) - 1 in manager.c
MAX_HEADERS = 128  # AST_MAX_MANHEADERS
EVENT_CLASSES = ("system", "call", "log", "verbose", "command", "agent", "user", "config",
                 "dtmf", "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc",
                 "test", "security", "message")


def parse_event_mask(value: str) -> set[str]:
    """``Events:`` of Login and the Events action: on / off / a class list."""
    v = value.strip().lower()
    if v in ("on", "yes", "true", "all", "1"):
        return set(EVENT_CLASSES)
    if v in ("off", "no", "false", "0", ""):
        return set()
    return {c.strip() for c in v.split(",") if c.strip() in EVENT_CLASSES}


class LineReader:
    """manager.c get_input(): lines of at most 1023 bytes plus the end.

    Byte by byte, get_input appends each byte; a LF ends the line (a CR
    before it is dropped); a non-LF byte that fills the 1024-byte buffer
    discards the buffer but for that byte and marks the message too long.
    ``feed`` gets the same result a run of bytes at a time with bytes.find.
    """

    def __init__(self) -> None:
        self.buf = bytearray()
        self.too_long = False

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start, end = 0, len(data)
        while start < end:
            newline = data.find(b"\n", start)
            stop = end if newline < 0 else newline
            self._append(data, start, stop)
            if newline < 0:
                break
            line = bytes(self.buf)
            if line.endswith(b"\r"):
                line = line[:-1]
            lines.append(line)
            self.buf.clear()
            start = newline + 1
        return lines

    def _append(self, data: bytes, start: int, stop: int) -> None:
        """Append data[start:stop] (no LF in it) as get_input would."""
        count = stop - start
        first_full = INBUF - 1 - len(self.buf)  # index of the byte that fills the buffer
        if count <= first_full:
            self.buf += data[start:stop]
            return
        # Every INBUF - 1 bytes after the first, the buffer fills again: the
        # last of those fills keeps only the bytes from it on.
        last_full = first_full + (count - 1 - first_full) // (INBUF - 1) * (INBUF - 1)
        self.buf = bytearray(data[start + last_full:stop])
        self.too_long = True


class Session:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.username = ""
        self.events: set[str] = set(EVENT_CLASSES)
        self.closing = False
        self.started = time.time()

    def send(self, headers: list[tuple[str, str]]) -> None:
        if self.closing or self.writer.is_closing():
            return
        self.writer.write(encode_message(headers))

    def wants(self, headers: list[tuple[str, str]]) -> bool:
        if not self.authenticated:
            return False
        privilege = next((v for k, v in headers if k == "Privilege"), "")
        classes = {p for p in privilege.split(",") if p != "all"}
        return bool(classes & self.events)

    async def run(self) -> None:
        self.writer.write(BANNER)
        lines = LineReader()
        block: list[bytes] = []
        while not self.closing:
            data = await self.reader.read(4096)
            if not data:
                break
            for line in lines.feed(data):
                if line:
                    block.append(line)
                    continue
                if not block and not lines.too_long:
                    continue
                await self._message(block, lines.too_long)
                block = []
                lines.too_long = False
                if self.closing:
                    break
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

    async def _message(self, block: list[bytes], too_long: bool) -> None:
        parser = AmiParser(expect_banner=False)
        raw = b"\r\n".join(block[:MAX_HEADERS]) + b"\r\n\r\n"
        parsed = [m for m in parser.feed(raw) if isinstance(m, AmiMessage)]
        msg = parsed[0] if parsed else AmiMessage(())
        action_id = msg.get("ActionID")
        if len(block) > MAX_HEADERS:
            self.send(_error(action_id, "Too many lines in message or allocation failure"))
        elif too_long:
            self.send(_error(action_id, "Failed to parse message: line too long"))
        else:
            await actions.dispatch(self, msg)

    def close(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):
            self.writer.close()


def _error(action_id: str, message: str) -> list[tuple[str, str]]:
    headers = [("Response", "Error")]
    if action_id:
        headers.append(("ActionID", action_id))
    return [*headers, ("Message", message)]


class AmiServer:
    def __init__(self, pbx: SandboxPbx, *, username: str, secret: str,
                 auth_fail_delay: float) -> None:
        self.pbx = pbx
        self.username = username
        self.secret = secret
        self.auth_fail_delay = auth_fail_delay
        self.sessions: set[Session] = set()
        self.started = time.time()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = Session(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("sandbox AMI session failed")
        finally:
            self.sessions.discard(session)
            session.close()
            if task is not None:
                self._tasks.discard(task)

    def broadcast(self, headers: list[tuple[str, str]]) -> None:
        for session in list(self.sessions):
            if session.wants(headers):
                session.send(headers)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.sessions):
            session.close()
        # closing the transports ends each session's read loop; cancelling the
        # handler tasks instead would make asyncio log them as failed
        tasks = list(self._tasks)
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=2)
            for task in late:
                task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
