"""The inbound ESL socket (mod_event_socket) on loopback.

Per connection: ``auth/request``, then ``auth <password>`` (``+OK accepted``
or ``-ERR invalid`` and the socket closes), ``event plain ...``, ``api``
(answered in order, an ``api originate`` holds the connection until it is
answered, as the listener thread does), ``bgapi`` (``+OK Job-UUID`` at once,
BACKGROUND_JOB to every listener subscribed to it when the job is done),
``sendmsg <uuid>`` (``call-command: unicast`` / ``hangup``), ``noevents``,
``exit`` (``+OK bye`` then the disconnect notice).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuidlib
from typing import TYPE_CHECKING

from vidline.pbx.sandbox import tasks
from vidline.pbx.sandbox.esl import commands
from vidline.pbx.sandbox.esl.fschannels import Headers
from vidline.pbx.sandbox.esl.protocol import (
    Command,
    CommandReader,
    ProtocolError,
    Subscription,
    api_response,
    auth_request,
    command_reply,
    disconnect_notice,
    plain_event,
)

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch

log = logging.getLogger(__name__)

MAX_UNSENT = 8 << 20  # a listener that stops reading is dropped, not buffered without end
JOB_AT = ("mod_event_socket.c", "api_exec", 1572)


class EslSession:
    def __init__(self, server: EslServer, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.subscription = Subscription()
        self.closed = False

    def send(self, data: bytes) -> None:
        if self.closed or self.writer.is_closing():
            return
        transport = self.writer.transport
        if transport.get_write_buffer_size() > MAX_UNSENT:
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        self.closed = True
        self.writer.close()

    async def run(self) -> None:
        parser = CommandReader()
        self.send(auth_request())
        try:
            while not self.closed:
                data = await self.reader.read(65536)
                if not data:
                    return
                for cmd in parser.feed(data):
                    await self.handle(cmd)
                    if self.closed:
                        return
        except (ProtocolError, ConnectionError):
            return
        finally:
            self.close()

    async def handle(self, cmd: Command) -> None:
        verb = cmd.verb
        fs = self.server.fs
        if not self.authenticated:
            if verb == "auth":
                if cmd.arg.strip() == self.server.password:
                    self.authenticated = True
                    self.send(command_reply("+OK accepted"))
                else:
                    self.send(command_reply("-ERR invalid"))
                    await self.writer.drain()
                    self.close()
            else:
                self.send(command_reply("-ERR command not found"))
            return
        if verb == "event":
            words = cmd.arg.split()
            if words and words[0].lower() in ("plain", "json", "xml"):
                fmt, words = words[0].lower(), words[1:]
            else:
                fmt = "plain"
            if fmt != "plain":
                self.send(command_reply("-ERR the sandbox speaks event plain only"))
                return
            if self.subscription.add(words):
                self.send(command_reply("+OK event listener enabled plain"))
            else:
                self.send(command_reply("-ERR no keys specified"))
        elif verb == "noevents":
            self.subscription = Subscription()
            self.send(command_reply("+OK no longer listening for events"))
        elif verb == "api":
            self.send(api_response(await commands.api(fs, cmd.arg)))
        elif verb == "bgapi":
            job = cmd.header("Job-UUID") or str(uuidlib.uuid4())
            self.send(command_reply(f"+OK Job-UUID: {job}", ("Job-UUID", job)))
            fs.pbx.spawn(self.server.background(job, cmd.arg))
        elif verb == "sendmsg":
            self.send(command_reply(commands.sendmsg(fs, cmd)))
        elif verb == "exit":
            self.send(command_reply("+OK bye"))
            self.send(disconnect_notice())
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
            self.close()
        else:
            self.send(command_reply("-ERR command not found"))


class EslServer:
    def __init__(self, fs: FsSwitch, password: str) -> None:
        self.fs = fs
        self.password = password
        self.sessions: set[EslSession] = set()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        self._server = await asyncio.start_server(self._accept, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = EslSession(self, reader, writer)
        self.sessions.add(session)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)
            if task is not None:
                self._tasks.discard(task)

    def broadcast(self, name: str, subclass: str, headers: Headers, body: str = "") -> None:
        data: bytes | None = None
        for session in list(self.sessions):
            if session.authenticated and session.subscription.wants(name, subclass):
                if data is None:
                    data = plain_event(headers, body)
                session.send(data)

    async def background(self, job: str, arg: str) -> None:
        name, _, rest = arg.strip().partition(" ")

        def done(result: str) -> None:
            head = self.fs.head.head("BACKGROUND_JOB", JOB_AT)
            self.broadcast("BACKGROUND_JOB", "", [
                *head, ("Job-UUID", job), ("Job-Command", name), ("Job-Command-Arg", rest)],
                result)

        await commands.api(self.fs, arg, done)

    async def shutdown_notice(self) -> None:
        """Stop listening; every listener gets the shutdown notice and is closed."""
        if self._server is not None:
            self._server.close()
            self._server = None
        text = b"The system is being shut down.\n"
        for session in list(self.sessions):
            session.send(b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n%s"
                         % (len(text), text))
            with contextlib.suppress(ConnectionError):
                await session.writer.drain()
            session.close()

    def drop_all(self) -> None:
        """Every listener loses its socket (a restart, an ESL link test)."""
        for session in list(self.sessions):
            session.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all()
        await tasks.stop(list(self._tasks), grace=0)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
            self._server = None
