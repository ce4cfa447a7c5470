"""The audio of a FreeSWITCH customer leg: ESL ``unicast`` over UDP, core only.

Theory of operation (shared/freeswitch FINDINGS E and pass2 I). The customer
leg is a loopback pair: the a-leg is the queue member, the b-leg parks. An
ESL ``sendmsg <b-uuid>`` with ``call-command: unicast`` makes FreeSWITCH
bind ``local-ip:local-port`` and exchange raw L16 little-endian mono (no RTP
header; 8 kHz, 320-byte packets every 20 ms) with ``remote-ip:remote-port``:
what FreeSWITCH sends is what the member hears (music on hold, then the
agent), what it receives is the member's voice (what the agent hears).

vidline binds one UDP socket per call (port 0) and names it as the remote;
FreeSWITCH's local port comes from a configured range, one per live call.
A :class:`UnicastLeg` looks to the interaction's handler exactly like an
AudioSocket leg (``on_connected``/``on_audio``/``on_closed``, ``set_source``),
so the same media bridge feeds it. Frames go out on the shared 20 ms
:class:`~vidline.audiosocket.clock.PacingClock`, silence until a source is
attached: FreeSWITCH has no media timeout, a missing frame is silence for
the agent. Only datagrams from FreeSWITCH's local port are taken (the
socket is reachable by anyone who can reach the host). The stream stops
silently on a FreeSWITCH restart (G): the leg ends with the channel's
hangup, which the adapter reports.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from vidline.audiosocket.clock import PacingClock
from vidline.audiosocket.leg import AudioSource

log = logging.getLogger(__name__)

FRAME_MS = 20

# What the adapter passes to start the stream: (b-uuid, headers) -> None;
# raises when FreeSWITCH refuses.
SendUnicast = Callable[[str, list[tuple[str, str]]], Awaitable[None]]
Resolve = Callable[[uuid.UUID], Any]  # AudioLegs.resolve: a LegAudio handler or None


@dataclass(slots=True)
class UnicastStats:
    frames_sent: int = 0
    source_frames_sent: int = 0
    frames_received: int = 0
    audio_bytes_received: int = 0
    foreign_datagrams: int = 0  # not from FreeSWITCH's local port: ignored
    odd_datagrams: int = 0


class UnicastLeg(asyncio.DatagramProtocol):
    """One call's UDP audio with FreeSWITCH."""

    def __init__(self, interaction_id: str, handler: Any, sample_rate: int,
                 peer: tuple[str, int], on_finished: Callable[[UnicastLeg], None],
                 on_started: Callable[[UnicastLeg], None] = lambda _leg: None) -> None:
        self.interaction_id = interaction_id
        self.sample_rate = sample_rate
        self.frame_bytes = sample_rate // 1000 * FRAME_MS * 2
        self.peer = peer
        self.stats = UnicastStats()
        self.close_reason: str | None = None
        self._handler = handler
        self._on_finished = on_finished
        self._on_started = on_started
        self._source: AudioSource | None = None
        self._silence = bytes(self.frame_bytes)
        self._transport: asyncio.DatagramTransport | None = None
        self._started = False
        self._closed = asyncio.Event()
        try:
            self._peer_ip: str | None = str(ipaddress.ip_address(peer[0]))
        except ValueError:
            self._peer_ip = None  # a host name: filter on the port only

    # -- the AudioSocket leg interface used by the media bridge -------------

    @property
    def source(self) -> AudioSource | None:
        return self._source

    def set_source(self, source: AudioSource | None) -> None:
        self._source = source

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    @property
    def local_port(self) -> int:
        assert self._transport is not None
        return int(self._transport.get_extra_info("sockname")[1])

    def hangup(self) -> None:
        self.close("hangup")

    def close(self, reason: str = "closed") -> None:
        """Stop the audio (idempotent); ``on_closed`` goes to the handler once."""
        if self.closed:
            return
        self.close_reason = self.close_reason or reason
        self._closed.set()
        if self._transport is not None:
            self._transport.close()
        if self._started:
            try:
                self._handler.on_closed(self, self.close_reason)
            except Exception:
                log.exception("unicast %s: on_closed failed", self.interaction_id)
        self._on_finished(self)

    async def wait_closed(self) -> None:
        await self._closed.wait()

    # -- asyncio ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # the loop's datagram transport does not subclass DatagramTransport
        self._transport = cast(asyncio.DatagramTransport, transport)

    @property
    def started(self) -> bool:
        return self._started

    def start(self) -> None:
        """FreeSWITCH accepted the unicast (or its audio arrived although the
        answer was lost with the ESL link): greet the handler, send at once."""
        if self.closed or self._started:
            return
        self._started = True
        self._on_started(self)
        try:
            self._handler.on_connected(self)
        except Exception:
            log.exception("unicast %s: on_connected failed", self.interaction_id)
        self.tick(0.0, 0)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.closed:
            return
        if addr[1] != self.peer[1] or (self._peer_ip is not None and addr[0] != self._peer_ip):
            self.stats.foreign_datagrams += 1
            return
        if not self._started:
            self.start()
        if not data or len(data) % 2:
            self.stats.odd_datagrams += 1
            return
        self.stats.frames_received += 1
        self.stats.audio_bytes_received += len(data)
        try:
            self._handler.on_audio(self, data)
        except Exception:
            log.exception("unicast %s: on_audio failed", self.interaction_id)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable while FreeSWITCH is restarting: not fatal,
        # the channel's hangup ends the leg
        log.debug("unicast %s: %s", self.interaction_id, exc)

    def tick(self, late: float, missed: int) -> None:
        transport = self._transport
        if transport is None or self.closed:
            return
        frame = self._silence
        if self._source is not None:
            try:
                pcm = self._source.read_frame()
            except Exception:
                log.exception("unicast %s: source failed, back to silence", self.interaction_id)
                self._source, pcm = None, None
            if pcm:
                frame = bytes(pcm[: self.frame_bytes]).ljust(self.frame_bytes, b"\0")
                self.stats.source_frames_sent += 1
        transport.sendto(frame, self.peer)
        self.stats.frames_sent += 1


class UnicastAudio:
    """All unicast legs of one adapter: the clock, the sockets, the ports."""

    def __init__(self, resolve: Resolve, *, listen_host: str, advertise_host: str,
                 fs_host: str, fs_ports: tuple[int, int], sample_rate: int = 8000) -> None:
        self._resolve = resolve
        self._listen_host = listen_host
        self._advertise = advertise_host
        self._fs_host = fs_host
        self._ports = range(fs_ports[0], fs_ports[1] + 1)
        self._next = 0
        self.sample_rate = sample_rate
        self.legs: dict[str, UnicastLeg] = {}
        self._clock = PacingClock(FRAME_MS / 1000)

    def _fs_port(self) -> int:
        used = {leg.peer[1] for leg in self.legs.values()}
        for _ in range(len(self._ports)):
            port = self._ports[self._next % len(self._ports)]
            self._next += 1
            if port not in used:
                return port
        raise RuntimeError("no free FreeSWITCH unicast port: widen unicast_fs_port_min/max")

    async def attach(self, interaction_id: str, b_uuid: str, send: SendUnicast) -> bool:
        """Open the call's socket and ask FreeSWITCH to stream; False when the
        interaction has no audio handler (ended, unknown) or it is attached."""
        leg = self.legs.get(interaction_id)
        if leg is not None and leg.started:
            return False
        if leg is None:
            # resolved once: AudioLegs hands an interaction's handler out once
            handler = self._resolve(uuid.UUID(interaction_id))
            if handler is None:
                return False
            loop = asyncio.get_running_loop()
            peer = (self._fs_host, self._fs_port())
            _, leg = await loop.create_datagram_endpoint(
                lambda: UnicastLeg(interaction_id, handler, self.sample_rate, peer,
                                   self._finished, self._clock.add),
                local_addr=(self._listen_host, 0))
            self.legs[interaction_id] = leg
        # the same ports when sent again: a stream already running stays valid
        headers = [("call-command", "unicast"), ("local-ip", leg.peer[0]),
                   ("local-port", str(leg.peer[1])), ("remote-ip", self._advertise),
                   ("remote-port", str(leg.local_port)), ("transport", "udp")]
        try:
            await send(b_uuid, headers)
        except ConnectionError:
            # the answer was lost with the link, maybe not the command: the leg
            # waits (its first datagram starts it); the resync sends it again
            raise
        except Exception as exc:
            leg.close(f"unicast refused: {exc}")
            raise
        leg.start()
        return True

    def detach(self, interaction_id: str, reason: str) -> None:
        leg = self.legs.get(interaction_id)
        if leg is not None:
            leg.close(reason)

    def _finished(self, leg: UnicastLeg) -> None:
        self._clock.discard(leg)
        if self.legs.get(leg.interaction_id) is leg:
            del self.legs[leg.interaction_id]

    async def close(self) -> None:
        for leg in list(self.legs.values()):
            leg.close("shutdown")
        await self._clock.close()
