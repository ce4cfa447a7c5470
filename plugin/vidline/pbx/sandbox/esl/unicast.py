"""ESL ``unicast`` on a parked channel: raw L16 8 kHz mono, no RTP header,
320-byte frames every 20 ms, sent from ``local-ip:local-port`` to
``remote-ip:remote-port`` (FINDINGS E and pass2 I). UDP binds the local
port and sends datagrams; TCP binds it and connects to the remote (FreeSWITCH
is the client), the same frames as a byte stream.

What goes out is what the member leg hears (the shared core's music on hold
while queued, the agent's tone once bridged, silence after); what comes in is
what the agent hears, kept per member leg for the control API. FreeSWITCH
has no media timeout here: a peer that stops sending only makes the agent
hear silence. Frames are paced by the sandbox's shared PacingClock. With
the global ``loopback_initial_codec=L16@16000h`` (the sandbox sets it when
vidline's audiosocket.sample_rate is 16000) the frames are 640 bytes (I2).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from vidline.pbx.sandbox.esl.fschannels import FsChannel
from vidline.pbx.sandbox.esl.protocol import Command

if TYPE_CHECKING:
    from vidline.pbx.sandbox.channels import Audio
    from vidline.pbx.sandbox.esl.face import FsSwitch

log = logging.getLogger(__name__)


class Unicast(asyncio.DatagramProtocol, asyncio.Protocol):
    def __init__(self, fs: FsSwitch, ch: FsChannel, member: FsChannel, remote: tuple[str, int],
                 transport_kind: str) -> None:
        self.fs = fs
        self.ch = ch
        self.member = member
        self.remote = remote
        self.kind = transport_kind
        self.transport: asyncio.BaseTransport | None = None
        self.frames_out = 0
        self.bytes_in = 0
        self.closed = False
        self._partial = b""

    @property
    def audio(self) -> Audio | None:
        return self.fs.audio.get(self.member.uuid)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.fs.pbx.audio_clock.add(self)

    def tick(self, late: float, missed: int) -> None:
        transport, audio = self.transport, self.audio
        if self.closed or transport is None or audio is None or transport.is_closing():
            return
        frame = audio.next_pcm()
        if self.kind == "udp":
            cast(asyncio.DatagramTransport, transport).sendto(frame, self.remote)
        else:
            tcp = cast(asyncio.Transport, transport)
            if tcp.get_write_buffer_size() > 64 * 1024:
                return
            tcp.write(frame)
        self.frames_out += 1

    def _received(self, data: bytes) -> None:
        frames = self.fs.audio_in.get(self.member.uuid)
        self.bytes_in += len(data)
        if frames is None:
            return
        data = self._partial + data
        size = self.member.rate // 50 * 2  # 320 bytes at 8 kHz, 640 at 16 kHz
        cut = len(data) - len(data) % size if self.kind == "tcp" else len(data)
        self._partial = data[cut:]
        for i in range(0, cut, size):
            frames.append(data[i:i + size])

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self._received(data)

    def data_received(self, data: bytes) -> None:
        self._received(data)

    def error_received(self, exc: Exception) -> None:
        pass  # nobody listening on the remote port yet: FreeSWITCH sends on regardless

    def connection_lost(self, exc: Exception | None) -> None:
        self.fs.pbx.audio_clock.discard(self)

    def close(self) -> None:
        self.closed = True
        self.fs.pbx.audio_clock.discard(self)
        if self.transport is not None:
            self.transport.close()


def start_unicast(fs: FsSwitch, ch: FsChannel, cmd: Command) -> None:
    if ch.application != "park":
        log.warning("sandbox esl: unicast on %s, which is not parked: ignored", ch.name)
        return
    member = ch.peer or ch
    try:
        local = (cmd.header("local-ip") or "127.0.0.1", int(cmd.header("local-port") or 8025))
        remote = (cmd.header("remote-ip") or "127.0.0.1", int(cmd.header("remote-port") or 8026))
    except ValueError:
        log.warning("sandbox esl: unicast with a bad port on %s", ch.name)
        return
    kind = "tcp" if cmd.header("transport").lower() == "tcp" else "udp"
    old = fs.unicasts.pop(ch.uuid, None)
    if old is not None:
        old.close()
    uni = Unicast(fs, ch, member, remote, kind)
    fs.unicasts[ch.uuid] = uni
    fs.pbx.spawn(_open(fs, uni, local, remote, kind))


async def _open(fs: FsSwitch, uni: Unicast, local: tuple[str, int], remote: tuple[str, int],
                kind: str) -> None:
    loop = asyncio.get_running_loop()
    try:
        if kind == "udp":
            await loop.create_datagram_endpoint(lambda: uni, local_addr=local)
        else:
            await loop.create_connection(lambda: uni, remote[0], remote[1], local_addr=local)
    except OSError as exc:
        log.warning("sandbox esl: unicast %s %s -> %s failed: %s", kind, local, remote, exc)
        fs.unicasts.pop(uni.ch.uuid, None)
        return
    if uni.closed and uni.transport is not None:
        uni.transport.close()
