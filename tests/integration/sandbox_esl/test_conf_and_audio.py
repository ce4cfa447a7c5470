"""The sandbox given the lab's own FreeSWITCH configuration (callcenter.conf,
cdr_csv.conf, the dialplan) lists its agents as the real one did (D), writes
mod_cdr_csv lines to Master.csv, and streams unicast audio over TCP too."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import socket
from pathlib import Path

from tests.integration.sandbox_esl.harness import (
    FIXTURES,
    SUBSCRIBE,
    EslClient,
    lab_config,
    load_transcript,
)
from vidline.pbx.sandbox.pbx import SandboxPbx

CONF = [FIXTURES / "conf" / n for n in ("callcenter.conf.xml", "cdr_csv.conf.xml", "default.xml")]


async def test_lab_configuration_and_cdr_file(tmp_path: Path) -> None:
    pbx = SandboxPbx(lab_config(cdr_csv_dir=str(tmp_path)), use_db=False,
                     fs_dialplan=[str(p) for p in CONF])
    await pbx.start()
    client = EslClient()
    try:
        await client.login(pbx.esl_port)
        await client.command(SUBSCRIBE)
        agents = (await client.command("api callcenter_config agent list")).body.decode()
        real = next(m.body.decode() for m in load_transcript("D_while_waiting.esl.txt")
                    if m.body.startswith(b"name|instance_id"))
        # name, instance, uuid, type, contact, status, state, max_no_answer, wrap_up_time,
        # reject_delay_time, busy_delay_time, no_answer_delay_time as the lab's config gives
        for ours, theirs in zip(agents.splitlines()[1:3], real.splitlines()[1:3], strict=True):
            assert ours.split("|")[:5] == theirs.split("|")[:5]
            assert ours.split("|")[7:12] == theirs.split("|")[7:12]
        queues = (await client.command("api callcenter_config queue list")).body.decode()
        assert "sales@default|longest-idle-agent|tone_stream://%(1000,4000,440);loops=-1|" \
            in queues
        await client.command("bgapi originate {origination_uuid=33333333-0000-4000-8000-"
                             "000000000001,vidline_session=sessQ}loopback/customer_device/default"
                             " queue_support XML default")
        await client.wait(lambda m: m.name == "member-queue-start")
        await client.command("api uuid_kill 33333333-0000-4000-8000-000000000001")
        await client.wait(lambda m: m.name == "CHANNEL_HANGUP_COMPLETE"
                          and m.get("Channel-Name") == "loopback/customer_device-a")
        await pbx.control.fs.flush_cdr()
        lines = (tmp_path / "Master.csv").read_text().splitlines()
        member = next(line for line in lines if "customer_device-a" in line)
        fields = member.strip('"').split('","')
        assert fields[0] == "33333333-0000-4000-8000-000000000001"
        assert fields[10:14] == ["support@default", "cancel", "BREAK_OUT", ""]
        assert fields[14] == "sessQ"
    finally:
        await client.close()
        await pbx.close()


async def test_unicast_over_tcp() -> None:
    pbx = SandboxPbx(lab_config(), use_db=False)
    await pbx.start()
    client = EslClient()
    got = bytearray()
    connected = asyncio.Event()

    async def vidline_side(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        writer.write(b"\x01\x00" * 160 * 10)  # 10 frames of what the customer says
        while data := await reader.read(4096):
            got.extend(data)
        writer.close()

    server = await asyncio.start_server(vidline_side, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await client.login(pbx.esl_port)
        await client.command(SUBSCRIBE)
        await client.command("bgapi originate {origination_uuid=44444444-0000-4000-8000-"
                             "000000000001}loopback/customer_park/default "
                             "&callcenter(sales@default)")
        start = await client.wait(lambda m: m.name == "member-queue-start")
        b_leg = start.get("variable_other_loopback_leg_uuid")
        reply = await client.command(
            f"sendmsg {b_leg}\ncall-command: unicast\nlocal-ip: 127.0.0.1\nlocal-port: 0\n"
            f"remote-ip: 127.0.0.1\nremote-port: {port}\ntransport: tcp")
        assert reply.headers["Reply-Text"] == "+OK"
        await asyncio.wait_for(connected.wait(), 5)
        ctl = pbx.control
        await ctl.wait_for(lambda: len(got) >= 320 * 10)
        await ctl.wait_for(lambda: len(ctl.fs.audio_in(b_leg)) == 320 * 10)
        assert ctl.fs.audio_in(b_leg) == b"\x01\x00" * 1600
    finally:
        await client.close()
        await pbx.close()
        server.close()


async def test_16k_loopback_sends_640_byte_frames() -> None:
    """pass2 I2: with the global loopback_initial_codec=L16@16000h the legs
    are L16 at 16 kHz and the unicast packets 640 bytes, 50 a second."""
    config = lab_config()
    config = dataclasses.replace(
        config, audiosocket=dataclasses.replace(config.audiosocket, sample_rate=16000))
    pbx = SandboxPbx(config, use_db=False)
    await pbx.start()
    client = EslClient()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    got: list[bytes] = []
    try:
        await client.login(pbx.esl_port)
        await client.command(SUBSCRIBE)
        codec = await client.command("api global_getvar loopback_initial_codec")
        assert codec.body == b"L16@16000h"
        await client.command("bgapi originate {origination_uuid=66666666-0000-4000-8000-"
                             "000000000001}loopback/customer_park/default "
                             "&callcenter(sales@default)")
        start = await client.wait(lambda m: m.name == "member-queue-start")
        assert start.get("Channel-Read-Codec-Rate") == "16000"
        b_leg = start.get("variable_other_loopback_leg_uuid")
        assert (await client.command(f"api uuid_getvar {b_leg} read_rate")).body == b"16000"
        await client.command(
            f"sendmsg {b_leg}\ncall-command: unicast\nlocal-ip: 127.0.0.1\nlocal-port: 0\n"
            f"remote-ip: 127.0.0.1\nremote-port: {peer.getsockname()[1]}\ntransport: udp")
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10):
            while len(got) < 10:
                got.append(await loop.sock_recv(peer, 4096))
        assert {len(g) for g in got} == {640}
    finally:
        peer.close()
        await client.close()
        await pbx.close()


def crossings(frame: bytes) -> int:
    samples = memoryview(frame).cast("h")
    return sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))


async def test_unicast_carries_hold_music_then_the_agent() -> None:
    """pass2 I: while queued the peer gets hold music, once bridged the
    agent's voice (the sandbox agent 1001's 800 Hz tone: 32 zero crossings in
    a 20 ms frame at 8 kHz); what vidline sends is what the agent hears."""
    pbx = SandboxPbx(lab_config(), use_db=False)
    await pbx.start()
    client = EslClient()
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    loop = asyncio.get_running_loop()
    ctl = pbx.control
    try:
        await client.login(pbx.esl_port)
        await client.command(SUBSCRIBE)
        await client.command("api callcenter_config agent set status 1002@default 'On Break'")
        await client.command("bgapi originate {origination_uuid=77777777-0000-4000-8000-"
                             "000000000001}loopback/customer_park/default "
                             "&callcenter(support@default)")
        start = await client.wait(lambda m: m.name == "member-queue-start")
        b_leg = start.get("variable_other_loopback_leg_uuid")
        local = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        local.bind(("127.0.0.1", 0))
        fs_port = local.getsockname()[1]
        local.close()
        await client.command(
            f"sendmsg {b_leg}\ncall-command: unicast\nlocal-ip: 127.0.0.1\n"
            f"local-port: {fs_port}\nremote-ip: 127.0.0.1\n"
            f"remote-port: {peer.getsockname()[1]}\ntransport: udp")
        held = [await loop.sock_recv(peer, 4096) for _ in range(10)]
        assert any(max(f) for f in held)  # music, not silence
        assert ctl.ringing("1001@default")
        await ctl.answer("1001@default")
        await client.wait(lambda m: m.name == "bridge-agent-start")
        voice: list[bytes] = []
        async with asyncio.timeout(10):
            while len(voice) < 10:
                frame = await loop.sock_recv(peer, 4096)
                if 28 <= crossings(frame) <= 36:
                    voice.append(frame)
                peer.sendto(b"\x10\x00" * 160, ("127.0.0.1", fs_port))
        await ctl.wait_for(lambda: len(ctl.fs.audio_in(b_leg)) >= 320 * 5)
        assert set(ctl.fs.audio_in(b_leg)) == {0x10, 0x00}
    finally:
        peer.close()
        await client.close()
        await pbx.close()
