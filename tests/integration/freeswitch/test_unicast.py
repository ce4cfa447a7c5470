"""UnicastAudio on real UDP sockets against a stand-in for FreeSWITCH's
unicast port: the sendmsg headers, 320-byte frames paced out from the first
tick (silence, then the source), FreeSWITCH's frames handed to the handler,
datagrams from anyone else ignored, and a stream whose ESL answer was lost
started by its first datagram."""

from __future__ import annotations

import asyncio
import socket
import uuid
from typing import Any

from tests.integration.asterisk.fake_ami import eventually
from vidline.pbx.freeswitch.unicast import UnicastAudio

IID = "6a0d1f8e-2b7c-4c3e-9f5a-1d2e3f4a5b6c"


class Handler:
    def __init__(self) -> None:
        self.connected = 0
        self.audio: list[bytes] = []
        self.closed: list[str] = []

    def on_connected(self, leg: Any) -> None:
        self.connected += 1

    def on_audio(self, leg: Any, pcm: bytes) -> None:
        self.audio.append(pcm)

    def on_closed(self, leg: Any, reason: str) -> None:
        self.closed.append(reason)


class Tone:
    def read_frame(self) -> bytes:
        return b"\x01\x02" * 160


def fs_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


async def test_stream_both_ways_and_foreign_datagrams() -> None:
    fs = fs_socket()
    port = fs.getsockname()[1]
    handler = Handler()
    audio = UnicastAudio(lambda u: handler if u == uuid.UUID(IID) else None,
                         listen_host="127.0.0.1", advertise_host="127.0.0.1",
                         fs_host="127.0.0.1", fs_ports=(port, port))
    sent: list[tuple[str, list[tuple[str, str]]]] = []

    async def send(b_uuid: str, headers: list[tuple[str, str]]) -> None:
        sent.append((b_uuid, headers))

    loop = asyncio.get_running_loop()
    try:
        assert await audio.attach(IID, "b-half", send)
        assert not await audio.attach(IID, "b-half", send)  # once
        leg = audio.legs[IID]
        headers = dict(sent[0][1])
        assert headers["call-command"] == "unicast" and headers["transport"] == "udp"
        assert (headers["local-ip"], headers["local-port"]) == ("127.0.0.1", str(port))
        assert int(headers["remote-port"]) == leg.local_port and handler.connected == 1

        first, _ = await asyncio.wait_for(loop.sock_recvfrom(fs, 2048), 2)
        assert first == bytes(320)  # silence at once, before any source
        leg.set_source(Tone())
        await eventually(lambda: leg.stats.source_frames_sent >= 3)
        data = b""
        while data != b"\x01\x02" * 160:
            data, _ = await asyncio.wait_for(loop.sock_recvfrom(fs, 2048), 2)

        await loop.sock_sendto(fs, b"\x10\x00" * 160, ("127.0.0.1", leg.local_port))
        stranger = fs_socket()
        await loop.sock_sendto(stranger, b"\x66\x66" * 160, ("127.0.0.1", leg.local_port))
        await eventually(lambda: handler.audio and leg.stats.foreign_datagrams == 1)
        assert handler.audio == [b"\x10\x00" * 160]
        stranger.close()

        audio.detach(IID, "hangup")
        audio.detach(IID, "hangup")
        assert handler.closed == ["hangup"] and leg.closed and IID not in audio.legs
    finally:
        await audio.close()
        fs.close()


async def test_lost_answer_then_first_datagram_starts_the_leg() -> None:
    fs = fs_socket()
    port = fs.getsockname()[1]
    handler = Handler()
    audio = UnicastAudio(lambda u: handler, listen_host="127.0.0.1",
                         advertise_host="127.0.0.1", fs_host="127.0.0.1",
                         fs_ports=(port, port))

    async def lost(b_uuid: str, headers: list[tuple[str, str]]) -> None:
        raise ConnectionError("the ESL link closed")

    loop = asyncio.get_running_loop()
    try:
        try:
            await audio.attach(IID, "b-half", lost)
        except ConnectionError:
            pass
        leg = audio.legs[IID]
        assert not leg.started and handler.connected == 0
        await loop.sock_sendto(fs, bytes(320), ("127.0.0.1", leg.local_port))
        await eventually(lambda: leg.started and handler.connected == 1)
        await asyncio.wait_for(loop.sock_recvfrom(fs, 2048), 2)  # now it sends too
    finally:
        await audio.close()
        fs.close()
    assert handler.closed == ["shutdown"]
