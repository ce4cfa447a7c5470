"""FreeswitchAdapter against an in-process ESL peer replaying the events of
the real FreeSWITCH run A (shared/freeswitch), over real loopback sockets:
the bytes written, the typed events, reconnect + resync, keepalive."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.asterisk.fake_ami import eventually
from tests.integration.freeswitch.fake_esl import Conn, FakeEsl, encode, event_bytes
from tests.unit.freeswitch.transcripts import events
from vidline.config import AgentConfig, FreeswitchConfig
from vidline.context.model import InteractionContext
from vidline.pbx import events as ev
from vidline.pbx.base import PbxError, PlaceCall
from vidline.pbx.freeswitch.adapter import FreeswitchAdapter
from vidline.pbx.freeswitch.codec import EslEvent

A_ID = "b312bfb7-2e55-41c0-82ce-f4539a644f89"
AGENTS = (AgentConfig("alice", "x", "user/1001", "Agent Alice", ("support",)),)
MEMBERS_HEADER = ("queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|"
                  "joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|"
                  "skill_score|serving_agent|serving_system|state|score\n")


def a_events() -> list[EslEvent]:
    out = []
    for e in events("A_answered.esl.txt"):
        if e.name == "BACKGROUND_JOB":
            continue
        headers = tuple((k, A_ID if v == "sessA-0001" else v) for k, v in e.headers)
        out.append(dataclasses.replace(e, headers=headers))
    return out


def job_done(job: str, body: str) -> bytes:
    return event_bytes([("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", job),
                        ("Job-Command", "originate")], body)


def call(iid: str = A_ID, **kw: Any) -> PlaceCall:
    ctx = InteractionContext(customer_id="cust-1042", phone="5551234", category="billing",
                             kiosk_location="Hall 2, ${evil}")
    return dataclasses.replace(PlaceCall(iid, "support", 0, 120, ctx, ""), **kw)


@pytest.fixture
async def peer() -> AsyncIterator[FakeEsl]:
    fake = FakeEsl()
    await fake.start()
    yield fake
    await fake.close()


def make(peer: FakeEsl, **cfg: Any) -> tuple[FreeswitchAdapter, list[Any]]:
    config = FreeswitchConfig(port=peer.port, reconnect_min=0.05, reconnect_max=0.2,
                              command_timeout=1.0, **cfg)
    adapter = FreeswitchAdapter(config, AGENTS, ["support"])
    got: list[Any] = []
    adapter.subscribe(got.append)
    return adapter, got


async def test_login_subscribes_custom_last_and_refuses_a_bad_password(peer: FakeEsl) -> None:
    adapter, got = make(peer)
    await adapter.start()
    conn = await peer.wait_conns(1)
    assert conn.commands[:2] == ["auth ClueCon", "event plain CHANNEL_CREATE CHANNEL_ANSWER "
                                 "CHANNEL_BRIDGE CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB "
                                 "CUSTOM callcenter::info"]
    assert isinstance(got[0], ev.LinkUp)
    await adapter.close()
    assert "exit" in conn.commands
    bad, _ = make(peer, password="wrong")
    with pytest.raises(PbxError, match="invalid"):
        await bad.start()


async def test_answered_call_events_and_bytes(peer: FakeEsl) -> None:
    def answer(conn: Conn, job: str, _cmd: str) -> None:
        # reply, job result and every event of run A in one write
        conn.send(job_done(job, f"+OK {A_ID}\n") + b"".join(encode(e) for e in a_events()))

    peer.on_bgapi = answer
    adapter, got = make(peer)
    await adapter.start()
    await adapter.place_call(call())
    await adapter.place_call(call())  # idempotent
    await eventually(lambda: any(isinstance(e, ev.AgentCompleted) for e in got))
    originates = [c for c in peer.all_commands() if c.startswith("bgapi originate")]
    assert len(originates) == 1
    cmd = originates[0]
    assert cmd.startswith(f"bgapi originate {{origination_uuid={A_ID},vidline_session={A_ID},")
    assert cmd.endswith("}loopback/vidline_park/vidline vidline_queue XML vidline")
    assert "vidline_kiosk=Hall%202%2C%20%24%7Bevil%7D" in cmd and "${" not in cmd
    mine = [type(e).__name__ for e in got if getattr(e, "interaction_id", None) == A_ID]
    assert mine == ["LegOriginated", "CallerJoined", "AgentRinging", "CallerLeft",
                    "AgentConnected", "LegHungUp", "AgentCompleted"]
    ringing = next(e for e in got if isinstance(e, ev.AgentRinging))
    assert (ringing.interface, ringing.member_name) == ("user/1001", "Agent Alice")
    await adapter.close()


async def test_refused_originate_is_leg_failed(peer: FakeEsl) -> None:
    peer.on_bgapi = lambda conn, job, _c: conn.send(job_done(job, "-ERR NO_ROUTE_DESTINATION\n"))
    adapter, got = make(peer)
    await adapter.start()
    await adapter.place_call(call())
    await eventually(lambda: any(isinstance(e, ev.LegFailed) for e in got))
    failed = next(e for e in got if isinstance(e, ev.LegFailed))
    assert failed.reason == "-ERR NO_ROUTE_DESTINATION"
    await adapter.place_call(call())  # finished ids stay placed
    assert len([c for c in peer.all_commands() if c.startswith("bgapi")]) == 1
    await adapter.close()


async def test_link_drop_while_waiting_resyncs_without_originating_twice(
        peer: FakeEsl) -> None:
    joined = [e for e in a_events() if e.cc_action in ("member-queue-start", "")
              and e.name in ("CHANNEL_CREATE", "CUSTOM")][:3]
    peer.on_bgapi = lambda conn, job, _c: conn.send(b"".join(encode(e) for e in joined))
    adapter, got = make(peer)
    await adapter.start()
    await adapter.place_call(call())
    await eventually(lambda: any(isinstance(e, ev.CallerJoined) for e in got))
    row = f"support@default|single_box|m1|{A_ID}|5551234|x|1|1795737463|0|0|0|0|0|||Waiting|9\n"
    peer.apis["callcenter_config queue list members"] = lambda _c: MEMBERS_HEADER + row + "+OK\n"
    alive = json.dumps({"row_count": 1, "rows": [{"uuid": A_ID}]})
    peer.apis["show channels as json"] = lambda _c: alive
    peer.conn.drop()
    await eventually(lambda: any(isinstance(e, ev.QueueEntry) for e in got))
    kinds = [type(e).__name__ for e in got]
    assert kinds.count("LinkDown") == 1 and kinds.count("LinkUp") == 2
    entry = next(e for e in got if isinstance(e, ev.QueueEntry))
    assert (entry.interaction_id, entry.queue, entry.position) == (A_ID, "support", 1)
    assert not any(isinstance(e, ev.LegHungUp | ev.LegFailed) for e in got)
    second = peer.conns[1].commands
    assert not any(c.startswith("bgapi") for c in second)
    assert "api callcenter_config queue list members support@default" in second
    assert "api show channels as json" in second
    await adapter.close()


async def test_leg_gone_while_down_is_reported(peer: FakeEsl) -> None:
    peer.on_bgapi = lambda conn, job, _c: conn.send(encode(a_events()[0]))  # CHANNEL_CREATE
    adapter, got = make(peer)
    await adapter.start()
    await adapter.place_call(call())
    other = "2b2f8f0a-6a8e-4d43-9a35-0d4b4c3f2d11"
    peer.on_bgapi = None  # never answered: the drop comes first
    await adapter.place_call(call(other))
    await eventually(lambda: any(isinstance(e, ev.LegOriginated) for e in got))
    peer.apis["show channels as json"] = lambda _c: '{"row_count":0}'
    peer.conn.drop()
    await eventually(lambda: sum(isinstance(e, ev.LegHungUp | ev.LegFailed) for e in got) == 2)
    hung = next(e for e in got if isinstance(e, ev.LegHungUp))
    failed = next(e for e in got if isinstance(e, ev.LegFailed))
    assert (hung.interaction_id, hung.cause) == (A_ID, 0)
    assert failed.interaction_id == other and failed.reason.startswith("lost")
    await adapter.close()


async def test_half_open_link_is_closed_by_the_keepalive(peer: FakeEsl) -> None:
    adapter, got = make(peer, ping_interval=0.1)
    await adapter.start()
    conn = await peer.wait_conns(1)
    conn.silent = True
    await eventually(lambda: any(isinstance(e, ev.LinkDown) for e in got), within=5)
    down = next(e for e in got if isinstance(e, ev.LinkDown))
    assert "api status" in down.reason
    await peer.wait_conns(2)
    await eventually(lambda: [type(e) for e in got].count(ev.LinkUp) == 2)
    await adapter.close()


async def test_hangup_pause_and_status(peer: FakeEsl) -> None:
    peer.apis["uuid_kill"] = lambda _c: "-ERR No such channel!\n"
    peer.apis["callcenter_config agent set status"] = lambda _c: "+OK\n"
    adapter, _ = make(peer)
    await adapter.start()
    await adapter.hangup(A_ID)  # already gone: what the caller wanted
    await adapter.pause_member("user/1001", True, "lunch")
    await adapter.pause_member("user/1001", False)
    with pytest.raises(PbxError):
        await adapter.hangup("1; api fsctl shutdown")
    with pytest.raises(PbxError):
        await adapter.pause_member("user/1001 'x", True)
    sent = peer.conn.commands
    assert f"api uuid_kill {A_ID} NORMAL_CLEARING" in sent
    assert "api callcenter_config agent set status 1001@default 'On Break'" in sent
    assert "api callcenter_config agent set status 1001@default Available" in sent
    assert not any("fsctl" in c for c in sent)
    await adapter.close()


async def test_commands_time_out(peer: FakeEsl) -> None:
    adapter, _ = make(peer)
    await adapter.start()
    peer.conn.silent = True
    loop = asyncio.get_running_loop()
    start = loop.time()
    with pytest.raises(PbxError, match="no answer"):
        await adapter.queue_entries("support")
    assert loop.time() - start < 3
    await adapter.close()


async def test_disconnect_notice_closes_and_reconnects(peer: FakeEsl) -> None:
    adapter, got = make(peer)
    await adapter.start()
    conn = await peer.wait_conns(1)
    notice = b"Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
    # what FreeSWITCH sends on "fsctl shutdown restart" (pass2 G), then it keeps
    # the socket open ~1 s: vidline must not wait for the close
    conn.send(b"Content-Type: text/disconnect-notice\nContent-Length: %d\n\n" % len(notice)
              + notice)
    await eventually(lambda: any(isinstance(e, ev.LinkDown) for e in got), within=1)
    down = next(e for e in got if isinstance(e, ev.LinkDown))
    assert down.reason.startswith("FreeSWITCH disconnected: Disconnected, goodbye.")
    await peer.wait_conns(2)
    await eventually(lambda: [type(e) for e in got].count(ev.LinkUp) == 2)
    await adapter.close()
