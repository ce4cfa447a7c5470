"""AsteriskAdapter: vidline's PbxAdapter over AMI.

Theory of operation. One background task owns the connection: it logs in
(:class:`~vidline.pbx.asterisk.link.AmiLink`), emits LinkUp, resyncs, and
waits for the link to drop; then it emits LinkDown and reconnects with
exponential backoff (reconnect_min doubling up to reconnect_max). While up,
a keepalive sends Ping every ping_interval and closes the link when the
Pong is later than ping_timeout (a half-open TCP link otherwise looks fine).

A customer leg is one Originate of ``AudioSocket/host:port/<uuid>`` with
ChannelId = the interaction id. Each id is written to the socket at most
once for the adapter's life: a second place_call is a no-op, and nothing is
ever resent after a drop. What happened to an Originate whose answer was
lost with the link is found by the resync after reconnecting: QueueStatus
(emitted as QueueEntry events) plus CoreShowChannels, whose customer legs
(Uniqueid = interaction id, VIDLINE_* variables, shared/asterisk F) say which
legs still exist. A leg that was up and is gone was hung up while we could
not see it (a PBX restart sends no Hangup, shared/asterisk O): LegHungUp with
cause 0. A leg never confirmed and not there: LegFailed("lost").
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from vidline.config import INTERFACE_RE, NAME_RE, AsteriskConfig, AudioSocketConfig
from vidline.pbx.asterisk.codec import AmiEncodeError, AmiMessage
from vidline.pbx.asterisk.events import (
    LegChannel,
    leg_channel,
    leg_id,
    queue_summary,
    to_event,
)
from vidline.pbx.asterisk.link import AmiLink, LinkLost, next_action_id, wait_answer
from vidline.pbx.asterisk.status import queue_status_from
from vidline.pbx.asterisk.variables import (
    UUID_RE,
    audiosocket_channel_name,
    originate_headers,
)
from vidline.pbx.base import EventHandler, PbxError, PlaceCall, check_cdr_field
from vidline.pbx.events import (
    LegFailed,
    LegHungUp,
    LegOriginated,
    LinkDown,
    LinkUp,
    PbxEvent,
    QueueEntry,
    QueueSummary,
)
from vidline.pbx.reconnect import Backoff, LinkKeeper
from vidline.pbx.status import QueueStatus

log = logging.getLogger(__name__)

# Finished interaction ids kept so that placing one again stays a no-op.
_FINISHED_KEPT = 10_000
_REASON_RE = re.compile(r"[^A-Za-z0-9 ._:-]")


@dataclass(slots=True)
class _Leg:
    action_id: str
    link: AmiLink
    channel: str = ""
    confirmed: bool = False  # OriginateResponse Success, Newchannel or CoreShowChannel seen


class AsteriskAdapter:
    """``AsteriskAdapter(config.asterisk, config.audiosocket, panel_url)``.

    ``panel_url`` is used for calls whose PlaceCall.panel_url is empty.
    """

    def __init__(
        self,
        asterisk: AsteriskConfig,
        audiosocket: AudioSocketConfig,
        panel_url: str = "",
    ) -> None:
        self._cfg = asterisk
        self._audio = audiosocket
        self._panel_url = panel_url
        self._handlers: list[EventHandler] = []
        self._legs: dict[str, _Leg] = {}
        self._originates: dict[str, str] = {}  # Originate ActionID -> interaction id
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._keeper: LinkKeeper[AmiLink] = LinkKeeper(
            "vidline-ami", self._open, self._companions, self._down,
            Backoff(asterisk.reconnect_min, asterisk.reconnect_max, asterisk.ping_interval))

    # --- PbxAdapter -------------------------------------------------------

    def subscribe(self, handler: EventHandler) -> None:
        self._handlers.append(handler)

    async def start(self) -> None:
        """Log in once (PbxError if that fails), then keep the link up in the
        background until :meth:`close`."""
        await self._keeper.start()

    async def close(self) -> None:
        async def logoff(link: AmiLink) -> None:
            await link.request("Logoff", within=min(1.0, self._cfg.ping_timeout))

        await self._keeper.stop(logoff)

    async def place_call(self, call: PlaceCall) -> None:
        """Write the Originate once. The outcome arrives as LegOriginated or
        LegFailed; PbxError only when nothing could be sent (link down, bad id)."""
        iid = call.interaction_id
        if iid in self._legs or iid in self._finished:
            return
        link = await self._wait_link()
        if iid in self._legs or iid in self._finished:
            return  # placed by a concurrent call while this one waited
        if call.panel_url == "" and self._panel_url:
            call = PlaceCall(call.interaction_id, call.queue, call.priority, call.queue_timeout,
                             call.context, self._panel_url, call.preferred_agent,
                             call.preferred_timeout)
        action_id = next_action_id()
        try:
            headers = originate_headers(
                call,
                audiosocket_host=self._audio.connect_host,
                audiosocket_port=self._audio.listen_port,
                sample_rate=self._audio.sample_rate,
                context=self._cfg.context,
                exten=self._cfg.exten,
                timeout_ms=self._cfg.originate_timeout_ms,
                action_id=action_id,
            )
            # Registered in the same tick as the write: no await in between.
            future = link.send(headers)
        except (ValueError, AmiEncodeError) as exc:
            raise PbxError(f"cannot originate {iid!r}: {exc}") from exc
        self._legs[iid] = _Leg(action_id, link)
        self._originates[action_id] = iid
        try:
            reply = await wait_answer(future, self._cfg.ping_timeout)
        except (LinkLost, TimeoutError):
            return  # the resync after the reconnect decides
        if reply[0].response != "Success":
            self._finish(iid)
            self._emit(LegFailed(iid, f"refused: {reply[0].get('Message')}"))

    async def hangup(self, interaction_id: str) -> None:
        if not UUID_RE.fullmatch(interaction_id):
            raise PbxError(f"not an interaction id: {interaction_id!r}")
        leg = self._legs.get(interaction_id)
        channel = leg.channel if leg and leg.channel else audiosocket_channel_name(
            self._audio.connect_host, self._audio.listen_port, interaction_id)
        reply = await self._request("Hangup", [("Channel", channel), ("Cause", "16")])
        message = reply[0].get("Message")
        # Already gone is what the caller wanted.
        if reply[0].response != "Success" and "no such channel" not in message.lower():
            raise PbxError(f"Hangup of {channel} failed: {message}")

    async def set_cdr_field(self, interaction_id: str, name: str, value: str) -> None:
        check_cdr_field(name, value)
        leg = self._legs.get(interaction_id)
        if leg is None or not leg.channel:
            raise PbxError(f"no live leg for {interaction_id!r}")
        # Setvar writes through the CDR() function: no VarSet event, and
        # cdr_adaptive_odbc stores it in the column of the same name
        reply = await self._request("Setvar", [("Channel", leg.channel),
                                               ("Variable", f"CDR({name})"), ("Value", value)])
        if reply[0].response != "Success":
            raise PbxError(f"Setvar CDR({name}) on {leg.channel}: {reply[0].get('Message')}")

    async def queue_entries(self, queue: str | None = None) -> list[QueueEntry]:
        reply = await self._list("QueueStatus", queue)
        return [e for m in reply if m.event == "QueueEntry"
                if isinstance(e := to_event(m), QueueEntry)]

    async def queue_status(self, queue: str | None = None) -> QueueStatus:
        reply = await self._list("QueueStatus", queue)
        return queue_status_from(dict(m.headers) for m in reply)

    async def queue_summaries(self, queue: str | None = None) -> list[QueueSummary]:
        reply = await self._list("QueueSummary", queue)
        return [queue_summary(dict(m.headers)) for m in reply if m.event == "QueueSummary"]

    async def pause_member(
        self, interface: str, paused: bool, reason: str = "", queue: str | None = None
    ) -> None:
        if not INTERFACE_RE.fullmatch(interface):
            raise PbxError(f"not a queue member interface: {interface!r}")
        headers = [("Interface", interface), ("Paused", "true" if paused else "false"),
                   *self._queue_header(queue)]
        if reason:
            # Lands in queue_log, whose fields '|' separates
            headers.append(("Reason", _REASON_RE.sub("_", reason)[:80]))
        reply = await self._request("QueuePause", headers)
        if reply[0].response != "Success":
            raise PbxError(f"QueuePause {interface}: {reply[0].get('Message')}")

    # --- internals ---------------------------------------------------------

    @staticmethod
    def _queue_header(queue: str | None) -> list[tuple[str, str]]:
        if queue is None:
            return []
        if not NAME_RE.fullmatch(queue):
            raise PbxError(f"not a queue name: {queue!r}")
        return [("Queue", queue)]

    async def _list(self, action: str, queue: str | None) -> list[AmiMessage]:
        reply = await self._request(action, self._queue_header(queue), as_list=True)
        if reply[0].response != "Success":
            raise PbxError(f"{action}: {reply[0].get('Message')}")
        return reply

    async def _wait_link(self) -> AmiLink:
        link = await self._keeper.wait(self._cfg.ping_timeout)
        if link is None:
            raise PbxError("the AMI link is down")
        return link

    async def _request(
        self, action: str, headers: list[tuple[str, str]], *, as_list: bool = False
    ) -> list[AmiMessage]:
        link = await self._wait_link()
        try:
            return await link.request(action, headers, as_list=as_list,
                                      within=self._cfg.ping_timeout)
        except (LinkLost, TimeoutError) as exc:
            raise PbxError(f"{action}: no answer from Asterisk ({exc or 'timeout'})") from exc

    async def _open(self) -> AmiLink:
        cfg = self._cfg
        try:
            return await AmiLink.open(cfg.host, cfg.port, username=cfg.username,
                                      secret=cfg.secret, events=cfg.events,
                                      within=max(cfg.ping_timeout, 1.0),
                                      on_event=self._on_message)
        except (OSError, TimeoutError) as exc:
            raise PbxError(f"AMI login to {cfg.host}:{cfg.port} failed: "
                           f"{exc or type(exc).__name__}") from exc

    def _companions(self, link: AmiLink) -> list[Coroutine[Any, Any, None]]:
        """While ``link`` is up: LinkUp now, then keepalive and resync."""
        self._emit(LinkUp(link.banner))
        return [self._keepalive(link), self._resync(link)]

    def _down(self, reason: str) -> None:
        self._emit(LinkDown(reason))

    async def _keepalive(self, link: AmiLink) -> None:
        cfg = self._cfg
        while link.is_open:
            await asyncio.sleep(cfg.ping_interval)
            try:
                await link.request("Ping", within=cfg.ping_timeout)
            except TimeoutError:
                link.abort(f"no Pong within {cfg.ping_timeout:g} s")
                return
            except LinkLost:
                return

    async def _resync(self, link: AmiLink) -> None:
        timeout = max(self._cfg.ping_timeout, 1.0)
        try:
            status = await link.request("QueueStatus", as_list=True, within=timeout)
            channels = await link.request("CoreShowChannels", as_list=True, within=timeout)
        except (LinkLost, TimeoutError) as exc:
            log.warning("resync after login failed: %s", exc or "timeout")
            return
        if channels[0].response == "Success":
            alive = {lc.interaction_id: lc for m in channels if m.event == "CoreShowChannel"
                     if (lc := leg_channel(m)) is not None}
            self._reconcile(link, alive)
        else:
            # Without the channel list nothing can be concluded about lost legs.
            log.warning("CoreShowChannels refused (%s): the AMI user needs write=reporting",
                        channels[0].get("Message"))
        for msg in status:
            if msg.event == "QueueEntry" and isinstance(entry := to_event(msg), QueueEntry):
                self._emit(entry)

    def _reconcile(self, link: AmiLink, alive: dict[str, LegChannel]) -> None:
        for iid, leg in list(self._legs.items()):
            if leg.link is link:
                # Sent on this link, maybe after CoreShowChannels was answered:
                # the live events of this link tell its story.
                continue
            found = alive.get(iid)
            if found is not None:
                leg.link = link
                leg.channel = found.channel
                if not leg.confirmed:
                    leg.confirmed = True
                    self._emit(LegOriginated(iid, leg.channel))
            elif leg.confirmed:
                self._finish(iid)
                self._emit(LegHungUp(iid, leg.channel, 0, "gone while the AMI link was down"))
            else:
                self._finish(iid)
                self._emit(LegFailed(iid, "lost: the AMI link dropped before Asterisk answered"))

    def _on_message(self, msg: AmiMessage) -> None:
        event = to_event(msg, originates=self._originates)
        if event is None:
            if msg.event == "Newchannel":
                self._learn_channel(msg)
            return
        if isinstance(event, QueueSummary):
            return
        if isinstance(event, LegOriginated):
            leg = self._legs.get(event.interaction_id)
            if leg is not None:
                self._originates.pop(leg.action_id, None)
                leg.channel = event.channel
                if leg.confirmed:
                    return  # already announced by the resync
                leg.confirmed = True
        elif isinstance(event, LegFailed | LegHungUp):
            self._finish(event.interaction_id)
        self._emit(event)

    def _learn_channel(self, msg: AmiMessage) -> None:
        headers = dict(msg.headers)
        iid = leg_id(headers)
        leg = self._legs.get(iid) if iid else None
        if leg is not None:
            leg.channel = headers.get("Channel", leg.channel)

    def _finish(self, iid: str) -> None:
        leg = self._legs.pop(iid, None)
        if leg is not None:
            self._originates.pop(leg.action_id, None)
        self._finished[iid] = None
        while len(self._finished) > _FINISHED_KEPT:
            self._finished.popitem(last=False)

    def _emit(self, event: PbxEvent) -> None:
        for handler in self._handlers:
            try:
                handler(event)
            except Exception:
                # One broken subscriber must not take the AMI link down with it.
                log.exception("PBX event handler failed on %r", event)
