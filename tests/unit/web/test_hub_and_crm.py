"""AgentHub delivery/holding and CRM link rendering."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from vidline.agents.hub import AgentHub, PopQueue, PopQueueClosed
from vidline.config import ConfigError, CrmConfig
from vidline.context.model import InteractionContext
from vidline.crm.links import CrmLinks


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def pop(iid: str, phase: str) -> dict[str, Any]:
    return {"type": "pop", "phase": phase, "interaction": {"id": iid, "context": {}}}


def drain(connection: Any) -> list[tuple[str, str]]:
    out = []
    while not connection.queue.empty():
        message = connection.queue.get_nowait()
        out.append((message["interaction"]["id"], message["phase"]))
    return out


async def test_live_agent_gets_pops_at_once() -> None:
    hub = AgentHub()
    connection = hub.attach("alice", "s1")
    hub.pop("alice", pop("i1", "ringing"))
    hub.pop("bob", pop("i2", "ringing"))
    assert drain(connection) == [("i1", "ringing")]


async def test_absent_agent_gets_the_latest_phase_when_the_panel_opens() -> None:
    hub = AgentHub()
    hub.pop("alice", pop("i1", "ringing"))
    hub.pop("alice", pop("i2", "ringing"))
    hub.pop("alice", pop("i1", "connected"))  # supersedes i1 ringing
    connection = hub.attach("alice", "s1")
    assert drain(connection) == [("i2", "ringing"), ("i1", "connected")]
    # a reload sees what is still in progress again
    hub.detach(connection)
    again = hub.attach("alice", "s1")
    assert drain(again) == [("i2", "ringing"), ("i1", "connected")]


async def test_ended_is_replayed_once_if_never_delivered_and_dropped_once_delivered() -> None:
    hub = AgentHub()
    hub.pop("alice", pop("i1", "ringing"))
    hub.pop("alice", pop("i1", "ended"))
    first = hub.attach("alice", "s1")
    assert drain(first) == [("i1", "ended")]
    assert hub.pending("alice") == []
    hub.pop("alice", pop("i2", "connected"))
    hub.pop("alice", pop("i2", "ended"))  # delivered live: nothing kept
    assert drain(first) == [("i2", "connected"), ("i2", "ended")]
    assert hub.pending("alice") == []


async def test_pending_pops_expire_and_are_bounded() -> None:
    clock = Clock()
    hub = AgentHub(ttl=60, ended_ttl=10, max_per_agent=3, clock=clock)
    hub.pop("alice", pop("old", "ringing"))
    hub.pop("alice", pop("gone", "ended"))
    clock.now = 11
    assert [m["interaction"]["id"] for m in hub.pending("alice")] == ["old"]
    clock.now = 61
    assert hub.pending("alice") == []
    for i in range(5):
        hub.pop("alice", pop(f"i{i}", "ringing"))
    assert [m["interaction"]["id"] for m in hub.pending("alice")] == ["i2", "i3", "i4"]


async def test_slow_panel_is_cut_off_not_buffered_forever() -> None:
    hub = AgentHub(queue_size=2)
    connection = hub.attach("alice", "s1")
    for i in range(3):
        hub.pop("alice", pop(f"i{i}", "ringing"))
    assert connection.overflowed and connection.closed.is_set()


async def test_presence_is_sent_to_new_panels_and_logout_closes_the_session() -> None:
    hub = AgentHub()
    hub.set_presence("alice", True, "Lunch")
    a = hub.attach("alice", "s1")
    b = hub.attach("alice", "s2")
    assert a.queue.get_nowait() == {"type": "presence", "paused": True, "reason": "Lunch"}
    hub.close_session("s1")
    assert a.closed.is_set() and not b.closed.is_set()


TEMPLATE = "https://crm.example.com/find?id={{ customer_id }}&phone={{ phone }}&k={{ extra.k }}"


@pytest.mark.parametrize(("value", "escaped"), [
    ("a&admin=1", "a%26admin%3D1"),
    ('x"><script>', "x%22%3E%3Cscript%3E"),
    ("javascript:alert(1)", "javascript%3Aalert%281%29"),
    ("../../etc#frag", "..%2F..%2Fetc%23frag"),
    ("a b\r\nc", "a%20b%0D%0Ac"),
])
def test_every_value_is_url_escaped(value: str, escaped: str) -> None:
    links = CrmLinks(CrmConfig(url_template=TEMPLATE))
    url = links.url_for(InteractionContext(customer_id="c1", phone="123", extra={"k": value}))
    assert url == f"https://crm.example.com/find?id=c1&phone=123&k={escaped}"


def test_filters_cannot_bypass_the_escaping() -> None:
    links = CrmLinks(CrmConfig(url_template="https://crm.example.com/?q={{ extra.k|upper }}"
                               "&r={{ extra.k|safe }}"))
    url = links.url_for(InteractionContext(extra={"k": "a&b"}))
    assert url == "https://crm.example.com/?q=A%26B&r=a%26b"


@pytest.mark.parametrize("template", [
    "{{ page_url }}",  # the value would become the whole URL
    "javascript:alert({{ customer_id }})",
    "{{ extra.k }}://evil.example/",
    "",
])
def test_a_result_that_is_not_an_http_url_is_dropped(template: str) -> None:
    links = CrmLinks(CrmConfig(url_template=template))
    context = InteractionContext(customer_id="c1", page_url="javascript:alert(1)",
                                 extra={"k": "javascript"})
    assert links.url_for(context) is None


def test_the_sandbox_refuses_attribute_tricks_at_start() -> None:
    with pytest.raises(ConfigError) as err:
        CrmLinks(CrmConfig(
            url_template="https://crm.example.com/?x={{ customer_id.__class__.__mro__ }}"))
    assert "unsafe" in err.value.problem


def test_a_template_error_at_render_time_gives_no_link() -> None:
    links = CrmLinks(CrmConfig(
        url_template="https://crm.example.com/?x={% if customer_id %}{{ 1 // 0 }}{% endif %}"))
    assert links.url_for(InteractionContext()) == "https://crm.example.com/?x="
    assert links.url_for(InteractionContext(customer_id="c1")) is None


def test_a_broken_template_stops_the_start_naming_the_key() -> None:
    with pytest.raises(ConfigError) as err:
        CrmLinks(CrmConfig(url_template="https://crm.example.com/?id={{ customer_id "))
    assert err.value.key == "crm.url_template"


def test_frame_origin_only_when_the_template_fixes_it() -> None:
    assert CrmLinks(CrmConfig(url_template=TEMPLATE)).frame_origin() == \
        "https://crm.example.com"
    assert CrmLinks(CrmConfig(url_template="https://{{ extra.t }}.crm.example/")
                    ).frame_origin() is None
    assert CrmLinks(CrmConfig(url_template="https://crm.example.com{{ extra.p }}")
                    ).frame_origin() is None
    assert CrmLinks(CrmConfig(url_template="https://crm.example.com")).frame_origin() == \
        "https://crm.example.com"


async def test_missed_is_terminal_like_ended() -> None:
    hub = AgentHub()
    hub.pop("bob", pop("i1", "ringing"))
    hub.pop("bob", pop("i1", "missed"))  # alice answered: bob's ring is over
    first = hub.attach("bob", "s1")
    assert drain(first) == [("i1", "missed")]
    hub.detach(first)
    assert drain(hub.attach("bob", "s2")) == []


async def test_pop_queue_get_is_a_future_done_at_once_when_a_pop_waits() -> None:
    queue = PopQueue(2)
    waiting = queue.get()  # a Future, not a coroutine: no task to wrap it in
    assert isinstance(waiting, asyncio.Future) and not waiting.done()
    queue.put_nowait(pop("i1", "ringing"))
    assert waiting.result() == pop("i1", "ringing") and queue.empty()
    queue.put_nowait(pop("i2", "connected"))
    ready = queue.get()
    assert ready.done() and ready.result() == pop("i2", "connected")
    cancelled = queue.get()
    cancelled.cancel()  # a get() given up on takes nothing
    queue.put_nowait(pop("i3", "ended"))
    queue.put_nowait(pop("i4", "ended"))
    with pytest.raises(asyncio.QueueFull):
        queue.put_nowait(pop("i5", "ended"))
    assert [queue.get_nowait()["interaction"]["id"] for _ in range(queue.qsize())] == ["i3", "i4"]
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_closed_pop_queue_fails_waiting_and_later_gets() -> None:
    queue = PopQueue(2)
    waiting = queue.get()
    queue.put_nowait(pop("i1", "ringing"))
    queue.put_nowait(pop("i2", "ringing"))
    queue.close()
    assert waiting.result() == pop("i1", "ringing")  # it had its message already
    with pytest.raises(PopQueueClosed):
        await queue.get()  # even with one still queued: the socket closes at once
    idle = PopQueue(1)
    parked = idle.get()
    idle.close()
    with pytest.raises(PopQueueClosed):
        await parked
