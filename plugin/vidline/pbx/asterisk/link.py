"""One logged-in AMI connection, on panoramisk 1.4's AMIProtocol and Action.

Kept from panoramisk: ``AMIProtocol`` (transport plumbing and the
ActionID -> Action registry) and ``Action`` (futures, EventList completion:
"will follow" ... ``*Complete``). Each of its defects (shared/DESIGN.md) is
handled here, at the boundary:

(a) ``AMIProtocol.data_received`` decodes every TCP chunk on its own with
    errors='ignore': a UTF-8 character split across two reads vanishes.
    ``_Protocol.data_received`` frames bytes with vidline's codec and decodes
    whole messages only.
(b) ``Action.multi`` reads ``self['async']``: an Originate without Async that
    Asterisk answers "Originate successfully queued" raises KeyError inside
    data_received, and asyncio then closes the link. ``_Action.multi`` never
    indexes a missing header.
(c) ``AMIProtocol.close`` parks unanswered actions in
    ``Manager.awaiting_actions`` and ``Manager`` sends them again after the next
    FullyBooted: an Originate could run twice. ``_Protocol.close`` fails their
    futures with :class:`LinkLost` instead; whether the leg exists is then
    decided by the adapter's resync, never by resending.
(d) ``Manager.ping`` never waits for the Pong, so a half-open link goes unseen.
    :meth:`AmiLink.request` always has a timeout; the adapter's keepalive
    closes the link when a Ping gets no answer in time.
(e) An ``as_list`` action answered by a lone ``Response: Error`` never
    completes in panoramisk (it waits for a second message); here it resolves.

``Manager`` is not used at all: besides (c) and (d) it reconnects after a
fixed delay with no backoff and takes a dict whose ``__str__`` writes any
CR/LF it is given. Writing goes through :func:`codec.encode_message`, which
refuses CR, LF and NUL and lines of 1024 bytes or more.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from vidline.pbx.asterisk.codec import (
    AmiBanner,
    AmiMessage,
    AmiParser,
    AmiProtocolError,
    encode_message,
)

log = logging.getLogger(__name__)

_action_ids = itertools.count(1)


def next_action_id() -> str:
    # Unique for the process's life, so an answer from an old connection can
    # never match an action of a new one.
    return f"vidline-{next(_action_ids)}"


class LinkLost(ConnectionError):
    """The AMI connection closed before the action was answered."""


class LoginFailed(ConnectionError):
    """Asterisk refused the Login (wrong user or secret, or not permitted)."""


class _Action(actions.Action):
    """(b): an Originate without Async is answered once; never index a missing header."""

    @property
    def multi(self) -> bool:
        if self.as_list is None and "async" not in self:
            message = str(self.responses[0].get("message", "")).lower()
            if message.endswith("successfully queued"):
                return False
        return bool(super().multi)


class _Listed:
    """An event inside a list answer, kept as vidline's message only: it
    neither starts nor ends the list, so panoramisk's Action need not read
    it, and a panoramisk Message for each of 500 QueueEntry events cost more
    than parsing them (~8 ms of the event loop every poll)."""

    __slots__ = ("ami",)

    def __init__(self, msg: AmiMessage) -> None:
        self.ami = msg


def _ends_list(msg: AmiMessage) -> bool:
    """panoramisk's Action.completed for a list action, on vidline's message."""
    return (msg.event.endswith("Complete") or msg.get("SubEvent") in ("End", "Exec")
            or msg.response in ("Success", "Error", "Fail", "Failure"))


def _to_panoramisk(msg: AmiMessage) -> Any:
    headers: dict[str, Any] = {}
    for key, value in msg.headers:
        if key in headers:
            previous = headers[key]
            headers[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            headers[key] = value
    pmsg = Message(headers)
    pmsg.ami = msg  # the ordered original, handed back to vidline
    return pmsg


class _Protocol(AMIProtocol):
    closed: bool = False

    def __init__(self, on_event: Callable[[AmiMessage], None]) -> None:
        super().__init__()
        loop = asyncio.get_running_loop()
        self._on_event = on_event
        self._parser = AmiParser()
        self.banner: asyncio.Future[str] = loop.create_future()
        self.lost: asyncio.Future[str] = loop.create_future()
        self.lost_reason = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.log = log

    def data_received(self, data: bytes) -> None:
        # (a): frame on bytes, decode whole messages
        try:
            items = self._parser.feed(data)
        except AmiProtocolError as exc:
            self.abort(f"protocol error: {exc}")
            return
        for item in items:
            if isinstance(item, AmiBanner):
                self.version = item.text.partition("/")[2]
                if not self.banner.done():
                    self.banner.set_result(item.text)
            else:
                self._route(item)

    def _route(self, msg: AmiMessage) -> None:
        action = self.responses.get(msg.action_id) if self.responses else None
        # Async results (OriginateResponse) share the Originate's ActionID but
        # are events: only list actions collect events.
        if action is None or (not action.as_list and "Event" in msg):
            self._on_event(msg)
            return
        if action.as_list and action.responses and not _ends_list(msg):
            action.responses.append(_Listed(msg))
            return
        pmsg = _to_panoramisk(msg)
        if action.as_list and not action.responses and msg.response in ("Error", "Fail"):
            action.responses.append(pmsg)  # (e)
            done = True
            if not action.future.done():
                action.future.set_result([pmsg])
        else:
            done = bool(action.add_message(pmsg))
        if done:
            self.responses.pop(action.id, None)

    def send_headers(
        self, headers: Sequence[tuple[str, str]], as_list: bool
    ) -> asyncio.Future[Any]:
        data = encode_message(headers)  # raises before anything is registered
        fields = {k: v for k, v in headers if k.lower() in ("action", "actionid", "async")}
        action = _Action(fields, as_list=as_list)
        if self.closed:
            action.future.set_exception(LinkLost(self.lost_reason or "the AMI link is closed"))
            return action.future
        self.responses[action.id] = action
        self.transport.write(data)
        return action.future

    def close(self) -> None:
        # (c): fail what is unanswered; nothing is kept for a later replay
        reason = self.lost_reason or "the AMI link closed"
        for action in {id(a): a for a in self.responses.values()}.values():
            if not action.future.done():
                action.future.set_exception(LinkLost(reason))
        self.responses.clear()
        if not self.closed:
            self.closed = True
            self.transport.close()

    def abort(self, reason: str) -> None:
        if not self.lost_reason:
            self.lost_reason = reason
        self.close()
        self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost_reason:
            self.lost_reason = (f"connection lost: {exc}" if exc
                                else "Asterisk closed the connection")
        self.close()
        if not self.lost.done():
            self.lost.set_result(self.lost_reason)
        if not self.banner.done():
            self.banner.set_exception(LinkLost(self.lost_reason))


class AmiLink:
    """A connected, logged-in AMI session. Create with :meth:`open`."""

    def __init__(self, protocol: _Protocol, banner: str) -> None:
        self._protocol = protocol
        self.banner = banner

    @classmethod
    async def open(
        cls,
        host: str,
        port: int,
        *,
        username: str,
        secret: str,
        events: str,
        within: float,
        on_event: Callable[[AmiMessage], None],
    ) -> AmiLink:
        """Connect, read the banner and log in; raises OSError, TimeoutError,
        :class:`LinkLost` or :class:`LoginFailed`."""
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: _Protocol(on_event), host, port), within)
        link = cls(protocol, "")
        try:
            link.banner = await asyncio.wait_for(asyncio.shield(protocol.banner), within)
            reply = await link.request(
                "Login", [("Username", username), ("Secret", secret), ("Events", events)],
                within=within)
        except BaseException:
            link.abort("login did not complete")
            raise
        if reply[0].response != "Success":
            link.abort("login refused")
            raise LoginFailed(reply[0].get("Message") or "Login refused")
        return link

    @property
    def lost(self) -> asyncio.Future[str]:
        """Resolves with the reason once the connection is gone."""
        return self._protocol.lost

    @property
    def is_open(self) -> bool:
        return not self._protocol.closed

    def send(
        self, headers: Sequence[tuple[str, str]], *, as_list: bool = False
    ) -> asyncio.Future[Any]:
        """Write one action now (``Action`` and ``ActionID`` first in
        ``headers``); the future resolves with panoramisk Message(s), each
        carrying the original as ``.ami`` (in a list answer, the messages
        between the first and the last are only holders of ``.ami``), or
        fails with :class:`LinkLost`."""
        return self._protocol.send_headers(headers, as_list)

    async def request(
        self,
        action: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        as_list: bool = False,
        within: float,
    ) -> list[AmiMessage]:
        """Send an action and wait for its whole answer (every message of an
        EventList when ``as_list``). Raises TimeoutError or LinkLost."""
        future = self.send([("Action", action), ("ActionID", next_action_id()), *headers],
                           as_list=as_list)
        return await wait_answer(future, within)

    def abort(self, reason: str) -> None:
        self._protocol.abort(reason)


async def wait_answer(future: asyncio.Future[Any], within: float) -> list[AmiMessage]:
    try:
        result = await asyncio.wait_for(asyncio.shield(future), within)
    except BaseException:
        # Nobody will read it now; keep asyncio from reporting the exception later.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        raise
    items = result if isinstance(result, list) else [result]
    return [item.ami for item in items]
