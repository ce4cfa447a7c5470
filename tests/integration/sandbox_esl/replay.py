"""Replaying a recorded ESL session against the sandbox and digesting both.

The commands are the bytes of ``<name>.sent.txt`` (packets end with an empty
line). Before sending command i the replayer waits (bounded) until the
sandbox has sent as many events as the real server had before its reply to
command i, so commands land at the same point of the call as in the lab.
Channel uuids the lab client used (uuid_kill of a b-leg, sendmsg) are
mapped to the sandbox's: the n-th CHANNEL_CREATE of a channel name here is
the n-th of that name there.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from tests.integration.sandbox_esl.harness import FIXTURES, EslClient, Message, load_transcript

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
KEY_HEADERS = ("CC-Queue", "CC-Agent", "CC-Agent-State", "CC-Agent-Status", "CC-Count",
               "CC-Cause", "CC-Cancel-Reason", "CC-Hangup-Cause", "Hangup-Cause",
               "CC-Member-CID-Number", "CC-Member-CID-Name", "CC-Selection", "Other-Type",
               "CC-Agent-Type", "Job-Command", "Channel-State", "Channel-Call-State",
               "Answer-State", "Channel-HIT-Dialplan", "Call-Direction",
               "Caller-Caller-ID-Name", "Caller-Caller-ID-Number", "Caller-Destination-Number",
               "Other-Leg-Channel-Name")


def sent_commands(name: str) -> list[str]:
    text = (FIXTURES / name).read_bytes().decode()
    return [c for c in text.split("\n\n") if c.strip()]


def is_reply(m: Message) -> bool:
    return m.content_type in ("command/reply", "api/response")


def events_before_replies(messages: list[Message]) -> list[int]:
    """For each reply (in order): how many events came before it."""
    out, events = [], 0
    for m in messages:
        if m.content_type == "text/event-plain":
            events += 1
        elif is_reply(m):
            out.append(events)
    return out


class UuidMap:
    def __init__(self, real: list[Message]) -> None:
        self.real_creates = [(m.get("Channel-Name"), m.get("Unique-ID"))
                             for m in real if m.name == "CHANNEL_CREATE"]
        self.map: dict[str, str] = {}

    def learn(self, ours: list[Message]) -> None:
        mine = [(m.get("Channel-Name"), m.get("Unique-ID"))
                for m in ours if m.name == "CHANNEL_CREATE"]
        seen: dict[str, int] = {}
        for name, uuid in mine:
            n = seen.get(name, 0)
            seen[name] = n + 1
            real = [u for nm, u in self.real_creates if nm == name]
            if n < len(real):
                self.map.setdefault(real[n], uuid)

    def apply(self, text: str) -> str:
        return UUID_RE.sub(lambda m: self.map.get(m.group(0), m.group(0)), text)


async def replay(client: EslClient, name: str, *, settle: float = 5.0,
                 rewrite: Callable[[str], str] | None = None,
                 after: dict[str, Callable[[], Awaitable[None]]] | None = None) -> UuidMap:
    """``after``: command prefix -> what to await once its reply came (the
    lab's client paused there; e.g. listening to the unicast audio)."""
    real = load_transcript(f"{name}.esl.txt")
    uuids = UuidMap(real)
    before = events_before_replies(real)
    commands = sent_commands(f"{name}.sent.txt")
    for i, command in enumerate(commands):
        if i < len(before):
            with contextlib.suppress(TimeoutError):
                await client.wait(lambda m, n=before[i]: len(client.events()) >= n,
                                  timeout=settle)
        uuids.learn(client.events())
        text = uuids.apply(command)
        if rewrite is not None:
            text = rewrite(text)
        if command.startswith("exit"):
            # the lab closed only after the last event; so do we
            total = sum(1 for m in real if m.content_type == "text/event-plain")
            with contextlib.suppress(TimeoutError):
                await client.wait(lambda m, n=total: len(client.events()) >= n, timeout=settle)
        await client.command(text)
        for prefix, hook in (after or {}).items():
            if command.startswith(prefix):
                await hook()
    return uuids


def digest(messages: list[Message], uuids: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    """Event names, channel names, key headers and the vidline variables, in order."""
    out: list[tuple[Any, ...]] = []
    for m in messages:
        if m.content_type != "text/event-plain":
            continue
        keys = tuple((k, m.get(k)) for k in KEY_HEADERS if m.get(k))
        vidline = tuple(sorted((k, v) for k, v in m.event if k.startswith("variable_vidline")))
        out.append((m.name, m.get("Channel-Name"), keys, vidline))
    return out


async def agent_bot(ctl: Any, agents: list[str], hold: float = 0.05) -> None:
    """The lab's callback agents: answer at once, hang up ``hold`` s after
    the bridge (the lab's played a 5 s tone; a replay that sends commands
    during the call needs the call to last until they are sent)."""
    while True:
        for name in agents:
            if ctl.ringing(name):
                await ctl.answer(name)
            elif ctl.in_call(name):
                await asyncio.sleep(hold)
                await ctl.agent_hangup(name)
        await asyncio.sleep(0.01)


def canonical(messages: list[Message]) -> list[Message]:
    """Undo the orders that vary between real runs because FreeSWITCH ends
    each channel in its own thread: a loopback pair's two hangups (B1 reports
    a then b, B2/C2/E b then a) and when the agent's loopback contact
    reports its hangup (A at the end, C11 right after the bridge). Each
    customer b-leg hangup goes right after its a-leg's, each agent_answer
    hangup right before the agent_tone-a hangup that follows it."""
    events = [m for m in messages if m.content_type == "text/event-plain"]
    hangups = [m for m in events if m.name == "CHANNEL_HANGUP_COMPLETE"]
    b_legs = [m for m in hangups if m.get("Channel-Name").startswith("loopback/customer")
              and m.get("Channel-Name").endswith("-b")]
    answers = [m for m in hangups if m.get("Channel-Name").startswith("loopback/agent_answer")]
    rest = [m for m in events if m not in b_legs and m not in answers]
    for b in b_legs:
        a_uuid = b.get("variable_other_loopback_leg_uuid")
        at = next((i for i, m in enumerate(rest) if m.name == "CHANNEL_HANGUP_COMPLETE"
                   and m.get("Unique-ID") == a_uuid), None)
        if at is None:
            rest.append(b)
        else:
            rest.insert(at + 1, b)
    pending: list[Message] = []
    out: list[Message] = []
    order = {id(m): i for i, m in enumerate(events)}
    for m in rest:
        out.append(m)
    for ans in sorted(answers, key=lambda m: order[id(m)]):
        after = [i for i, m in enumerate(out) if order[id(m)] > order[id(ans)]
                 and m.name == "CHANNEL_HANGUP_COMPLETE"
                 and m.get("Channel-Name") == "loopback/agent_tone-a"]
        if after:
            out.insert(after[0], ans)
        else:
            pending.append(ans)
    return out + pending
