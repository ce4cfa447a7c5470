"""One authenticated ESL connection (inbound socket), on asyncio and the
sans-IO :mod:`~vidline.pbx.freeswitch.codec`.

Why not greenswitch (the design card's choice): greenswitch 0.0.19 URL-decodes
an event body before splitting it into lines, so a ``%0A`` inside a
customer's channel variable becomes a header of its own (a value
``x\\nCC-Action: bridge-agent-start`` overrode the real CC-Action in a trial);
``send()`` waits forever for a reply (no timeout: a half-open link hangs
every caller); a body that is not UTF-8 kills its reader greenlet silently;
nothing caps a message's size; and it has no reconnect. Each would need a
patch inside its reader loop, and it would bring gevent into an asyncio
process. This module is the small core the issue allows instead.

ESL answers commands in order: every ``api`` gets one ``api/response``,
every other command one ``command/reply``. A FIFO of futures matches them.
``bgapi`` is answered ``+OK Job-UUID: <id>`` at once and its result comes
later as a BACKGROUND_JOB event; the job is registered while the reply is
being handled, before any later byte is parsed, so the event can never
arrive unseen. Every wait has a timeout; a timed-out command leaves its
slot in the FIFO (the reply, if it ever comes, is dropped there), so the
replies after it still match.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from vidline.pbx.freeswitch.codec import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    EVENT_PLAIN,
    EslEvent,
    EslMessage,
    EslParser,
    EslProtocolError,
    decode_event,
    encode_command,
)

log = logging.getLogger(__name__)

# CUSTOM must come last: every word after it is read as a subclass (FINDINGS).
EVENTS = ("CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE "
          "BACKGROUND_JOB CUSTOM callcenter::info")


class LinkLost(ConnectionError):
    """The ESL connection closed before the command was answered."""


class AuthFailed(ConnectionError):
    """FreeSWITCH refused the password."""


class CommandFailed(Exception):
    """FreeSWITCH answered ``-ERR ...``."""


class _Protocol(asyncio.Protocol):
    def __init__(self, on_event: Callable[[EslEvent], None], max_message_bytes: int) -> None:
        loop = asyncio.get_running_loop()
        self._on_event = on_event
        self._parser = EslParser(max_message_bytes)
        self.transport: asyncio.Transport | None = None
        self.greeted: asyncio.Future[None] = loop.create_future()
        self.lost: asyncio.Future[str] = loop.create_future()
        self.lost_reason = ""
        self.closed = False
        # (reply future, job future for a bgapi) in the order the commands went out
        self.pending: collections.deque[
            tuple[asyncio.Future[EslMessage], asyncio.Future[str] | None]] = collections.deque()
        self.jobs: dict[str, asyncio.Future[str]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._parser.feed(data)
        except EslProtocolError as exc:
            self.abort(f"protocol error: {exc}")
            return
        for msg in messages:
            self._route(msg)

    def _route(self, msg: EslMessage) -> None:
        kind = msg.content_type
        if kind == EVENT_PLAIN:
            event = decode_event(msg.body)
            if event.name == "BACKGROUND_JOB":
                job = self.jobs.pop(event.get("Job-UUID"), None)
                if job is not None and not job.done():
                    job.set_result(event.body)
            try:
                self._on_event(event)
            except Exception:  # a consumer's bug must not take the link down
                log.exception("ESL event handler failed on %s", event.name)
        elif kind in (COMMAND_REPLY, API_RESPONSE):
            if not self.pending:
                log.warning("ESL: unexpected %s dropped", kind)
                return
            future, job = self.pending.popleft()
            if job is not None and not job.done():
                # registered now, before any later byte is parsed
                job_uuid = (msg.get("Job-UUID")
                            or msg.reply_text.partition("Job-UUID: ")[2]).strip()
                if job_uuid:
                    self.jobs[job_uuid] = job
                else:
                    job.set_result(msg.reply_text)  # refused at once (-ERR ...)
            if not future.done():  # a timed-out command's slot: drop its answer
                future.set_result(msg)
        elif kind == AUTH_REQUEST:
            if not self.greeted.done():
                self.greeted.set_result(None)
        elif kind == DISCONNECT_NOTICE:
            # FreeSWITCH closes ~1 s later (shutdown, G); no need to wait for it
            self.abort(f"FreeSWITCH disconnected: {msg.text.strip()[:80]}")
        else:
            log.debug("ESL: ignoring %s", kind or "a message without Content-Type")

    def send(self, data: bytes, *,
             job: asyncio.Future[str] | None = None) -> asyncio.Future[EslMessage]:
        future: asyncio.Future[EslMessage] = asyncio.get_running_loop().create_future()
        if self.closed or self.transport is None:
            for waiter in (future, job):
                if waiter is not None:
                    waiter.set_exception(LinkLost(self.lost_reason or "the ESL link is closed"))
            return future
        self.pending.append((future, job))
        self.transport.write(data)
        return future

    def close(self) -> None:
        reason = self.lost_reason or "the ESL link closed"
        while self.pending:
            future, job = self.pending.popleft()
            for waiter in (future, job):
                if waiter is not None and not waiter.done():
                    waiter.set_exception(LinkLost(reason))
        for job in self.jobs.values():
            if not job.done():
                job.set_exception(LinkLost(reason))
        self.jobs.clear()
        if not self.closed:
            self.closed = True
            if self.transport is not None:
                self.transport.close()

    def abort(self, reason: str) -> None:
        if not self.lost_reason:
            self.lost_reason = reason
        self.close()
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost_reason:
            self.lost_reason = (f"connection lost: {exc}" if exc
                                else "FreeSWITCH closed the connection")
        self.close()
        if not self.lost.done():
            self.lost.set_result(self.lost_reason)
        if not self.greeted.done():
            self.greeted.set_exception(LinkLost(self.lost_reason))


class EslLink:
    """A connected, authenticated, subscribed ESL session; :meth:`open` makes one."""

    def __init__(self, protocol: _Protocol) -> None:
        self._protocol = protocol
        self.bytes_sent = 0

    @classmethod
    async def open(cls, host: str, port: int, *, password: str, within: float,
                   on_event: Callable[[EslEvent], None],
                   max_message_bytes: int = 1024 * 1024) -> EslLink:
        """Connect, authenticate and subscribe; raises OSError, TimeoutError,
        :class:`LinkLost` or :class:`AuthFailed`."""
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(on_event, max_message_bytes), host, port),
            within)
        link = cls(protocol)
        try:
            await asyncio.wait_for(asyncio.shield(protocol.greeted), within)
            reply = await link.command(f"auth {password}", within=within)
            if not reply.startswith("+OK"):
                raise AuthFailed(reply or "auth refused")
            reply = await link.command(f"event plain {EVENTS}", within=within)
            if not reply.startswith("+OK"):
                raise LinkLost(f"event subscription refused: {reply}")
        except BaseException:
            link.abort("login did not complete")
            raise
        return link

    @property
    def lost(self) -> asyncio.Future[str]:
        return self._protocol.lost

    @property
    def is_open(self) -> bool:
        return not self._protocol.closed

    def _write(self, command: str, headers: Iterable[tuple[str, str]] = (),
               job: asyncio.Future[str] | None = None) -> asyncio.Future[EslMessage]:
        data = encode_command(command, headers)  # raises before anything is queued
        self.bytes_sent += len(data)
        return self._protocol.send(data, job=job)

    async def command(self, command: str, headers: Iterable[tuple[str, str]] = (),
                      *, within: float) -> str:
        """A command answered by ``command/reply``; returns its Reply-Text."""
        msg = await _wait(self._write(command, headers), within)
        return msg.reply_text

    async def api(self, command: str, *, within: float) -> str:
        """``api <command>``; returns the output. Raises CommandFailed on ``-ERR``."""
        msg = await _wait(self._write(f"api {command}"), within)
        text = msg.text
        if text.startswith("-ERR"):
            raise CommandFailed(text.strip())
        return text

    def bgapi(self, command: str) -> tuple[asyncio.Future[EslMessage], asyncio.Future[str]]:
        """Write ``bgapi <command>`` now. Returns the reply future and the job
        future (resolved with the BACKGROUND_JOB body, ``+OK ...``/``-ERR ...``)."""
        loop = asyncio.get_running_loop()
        job: asyncio.Future[str] = loop.create_future()
        reply = self._write(f"bgapi {command}", job=job)
        for future in (reply, job):  # nobody may read a failure: keep asyncio quiet
            future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return reply, job

    def abort(self, reason: str) -> None:
        self._protocol.abort(reason)


async def _wait(future: asyncio.Future[Any], within: float) -> Any:
    try:
        return await asyncio.wait_for(asyncio.shield(future), within)
    except BaseException:
        # nobody reads it now; keep asyncio from reporting it later
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        raise


async def close_quietly(link: EslLink, within: float) -> None:
    """``exit`` (FreeSWITCH answers +OK bye), then close."""
    if link.is_open:
        with contextlib.suppress(Exception):
            await link.command("exit", within=within)
    link.abort("closed by vidline")
