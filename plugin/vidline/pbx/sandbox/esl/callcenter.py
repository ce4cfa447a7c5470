"""mod_callcenter over the shared sandbox core: members wait with music on
hold, agents (the core's AgentEndpoints, rung and answered through the
control API or auto-answer) are offered calls by the queue's strategy.

Theory of operation: ``run_member`` is the ``callcenter`` application on the
member's channel (member-queue-start, members-count, then wait). One
dispatcher task, woken on every change and every 100 ms like
mod_callcenter's agent dispatch thread, offers each waiting member (highest
score first: cc_base_score + seconds since the call started) to a free agent
(status Available, state Waiting, ready_time passed, tier Ready/No Answer)
chosen by the strategy; ``offers.offer`` runs the agent's leg. A member
killed while waiting leaves with Cancel/BREAK_OUT; a bridged one ends
through the offer (bridge-agent-end, member-queue-end Terminated).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid as uuidlib
from typing import TYPE_CHECKING

from vidline.pbx.sandbox import tasks
from vidline.pbx.sandbox.agents import extension_of
from vidline.pbx.sandbox.esl import offers
from vidline.pbx.sandbox.esl.ccmodel import STRATEGY_NAMES, CcAgent, CcMember, CcQueue, CcTier
from vidline.pbx.sandbox.esl.fschannels import FsChannel, Headers, channel_block, variables

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch

CC = "mod_callcenter.c"
SUBCLASS = "callcenter::info"


class CallCenter:
    def __init__(self, fs: FsSwitch) -> None:
        self.fs = fs
        self.queues: dict[str, CcQueue] = {}
        self.agents: dict[str, CcAgent] = {}
        self.tiers: list[CcTier] = []
        self.members: list[CcMember] = []
        self.done: dict[str, asyncio.Event] = {}  # member uuid -> left the queue
        self.bridged: dict[str, CcMember] = {}  # session uuid -> its member while bridged
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._offers: set[asyncio.Task[None]] = set()
        self._initial: dict[str, str] = {}
        self._build()

    def _build(self) -> None:
        fs, config = self.fs, self.fs.pbx.config
        dom = fs.domain
        for q in config.sandbox.queues:
            name = f"{q.name}@{dom}"
            self.queues[name] = CcQueue(name, STRATEGY_NAMES.get(q.strategy, q.strategy),
                                        ring_timeout=q.ring_timeout)
        for agent in config.agents:
            ext = extension_of(agent.interface)
            endpoint = fs.pbx.endpoints[agent.interface.lower()]
            name = f"{ext}@{dom}"
            self.agents[name] = CcAgent(
                name, endpoint, f"[leg_timeout=15,vidline_agent={ext}]loopback/agent_answer/{dom}")
            for pos, queue in enumerate(agent.queues, 1):
                qname = f"{queue}@{dom}"
                self.queues.setdefault(qname, CcQueue(qname))
                self.tiers.append(CcTier(qname, name, position=pos))
            # the per-agent queue of the preferred-agent recipe (pass2 J, agent-1002@default:
            # leave after max-wait-time, or 3 s (+3) when the agent is Logged Out)
            own = f"agent-{ext}@{dom}"
            self.queues[own] = CcQueue(own, max_wait_time=config.routing.last_agent_timeout,
                                       max_wait_time_with_no_agent=3,
                                       max_wait_time_with_no_agent_time_reached=3)
            self.tiers.append(CcTier(own, name))

    def start(self) -> None:
        self._task = self.fs.pbx.spawn(self._dispatch())
        self._initial = {name: a.status for name, a in self.agents.items()}

    def reset_runtime(self) -> None:
        """After a restart: agents as configured (statuses set at runtime are lost)."""
        for name, agent in self.agents.items():
            agent.status = self._initial.get(name, "Available")
            agent.state, agent.ready_time, agent.uuid = "Waiting", 0, ""
        self.wake()

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await tasks.stop([task], grace=0)
        # the switch's channels are killed by now: each offer ends its own way
        await tasks.stop(list(self._offers))

    def wake(self) -> None:
        self._wake.set()

    # ---- events ---------------------------------------------------------
    def event(self, calling: tuple[str, int], cc: Headers, ch: FsChannel | None = None,
              only: list[str] | None = None) -> None:
        head = self.fs.head.head("CUSTOM", (CC, *calling), SUBCLASS)
        body: Headers = []
        if ch is not None:  # switch_channel_event_set_data(): Hangup-Cause only in the block
            body = [*channel_block(ch), *variables(ch, only)]
        self.fs.emit("CUSTOM", [*head, *body, *cc], SUBCLASS)

    def members_count(self, queue: str) -> None:
        self.event(("cc_queue_count", 878), [
            ("CC-Queue", queue), ("CC-Action", "members-count"),
            ("CC-Count", str(self.count(queue, waiting=True))),
            ("CC-Selection", "Single-Queue")])

    def count(self, queue: str, waiting: bool = False) -> int:
        """The members-count event counts the members waiting (A, B); the api
        ``queue count members`` every row, stale Abandoned ones too (D)."""
        rows = self.listed(queue)
        if waiting:
            return sum(1 for m in rows if m.state in ("Waiting", "Trying"))
        return len(rows)

    def listed(self, queue: str) -> list[CcMember]:
        now = time.time()
        q = self.queues.get(queue)
        keep = q.discard_abandoned_after if q else 60
        self.members = [m for m in self.members
                        if m.state != "Abandoned" or now - m.abandoned_epoch < keep]
        return [m for m in self.members if m.queue == queue]

    def set_state(self, agent: CcAgent, state: str) -> None:
        agent.state = state
        self.event(("cc_agent_update", 1067), [
            ("CC-Agent", agent.name), ("CC-Action", "agent-state-change"),
            ("CC-Agent-State", state)])
        self.wake()

    def set_status(self, agent: CcAgent, status: str) -> None:
        agent.status = status
        agent.last_status_change = int(time.time())
        self.event(("cc_agent_update", 1043), [
            ("CC-Agent", agent.name), ("CC-Action", "agent-status-change"),
            ("CC-Agent-Status", status)])
        self.wake()

    # ---- the member side --------------------------------------------------
    async def run_member(self, ch: FsChannel, queue_name: str) -> None:
        queue = self.queues.get(queue_name)
        if queue is None:
            return  # mod_callcenter: "Queue not found", the dialplan goes on
        now = time.time()
        member = CcMember(queue_name, str(uuidlib.uuid4()), ch.uuid, ch.cid_num, ch.cid_name,
                          system_epoch=ch.created, joined_epoch=now,
                          base_score=_int(ch.getvar("cc_base_score")))
        ch.setvar("cc_side", "member")
        ch.setvar("cc_member_uuid", member.uuid)
        ch.setvar("cc_queue_joined_epoch", str(int(now)))
        ch.setvar("cc_queue", queue_name)
        ch.application, ch.application_data = "callcenter", queue_name
        done = self.done[member.uuid] = asyncio.Event()
        self.members.append(member)
        self.event(("callcenter_function", 3113), [
            ("CC-Queue", queue_name), ("CC-Action", "member-queue-start"),
            *_member_ids(member)], ch)
        self.members_count(queue_name)
        audio = self.fs.audio.get(ch.uuid)
        if audio is not None:
            audio.mode = audio.MOH
        self.wake()
        killed = self.fs.killed[ch.uuid]
        try:
            while not done.is_set():
                reason = self._timeout_reason(queue, member)
                if reason and member.state == "Waiting":
                    self._cancel(ch, member, reason)
                    return
                waiters = {asyncio.ensure_future(done.wait()), asyncio.ensure_future(killed.wait())}
                # only a queue with wait limits needs a clock; others sleep until an event
                timed = queue.max_wait_time or queue.max_wait_time_with_no_agent
                _, pending = await asyncio.wait(waiters, timeout=0.1 if timed else None,
                                                return_when=asyncio.FIRST_COMPLETED)
                for w in pending:
                    w.cancel()
                if killed.is_set() and member.state in ("Waiting", "Trying"):
                    self._cancel(ch, member, "BREAK_OUT")
                    return
                if killed.is_set():
                    # bridged away from its dialplan: the leg hangs up now, the
                    # offer writes bridge-agent-end and member-queue-end after (A)
                    return
        finally:
            self.done.pop(member.uuid, None)

    def _timeout_reason(self, queue: CcQueue, member: CcMember) -> str:
        now = time.time()
        if queue.max_wait_time and now - member.joined_epoch >= queue.max_wait_time:
            return "TIMEOUT"
        if queue.max_wait_time_with_no_agent:
            if self._has_agent(queue):
                queue.no_agent_since = 0.0
            elif not queue.no_agent_since:
                queue.no_agent_since = now
            elif (now - queue.no_agent_since >= queue.max_wait_time_with_no_agent
                  and now - member.joined_epoch >= queue.max_wait_time_with_no_agent_time_reached):
                return "NO_AGENT_TIMEOUT"
        return ""

    def _has_agent(self, queue: CcQueue) -> bool:
        # an agent On Break still counts; only Logged Out ones do not (FINDINGS pass2 J)
        return any(t.queue == queue.name and self.agents[t.agent].status != "Logged Out"
                   for t in self.tiers if t.agent in self.agents)

    def _cancel(self, ch: FsChannel, member: CcMember, reason: str) -> None:
        queue = self.queues[member.queue]
        member.state, member.abandoned_epoch = "Abandoned", int(time.time())
        member.session_uuid = ""
        queue.calls_abandoned += 1
        ch.setvar("cc_queue_canceled_epoch", str(member.abandoned_epoch))
        ch.setvar("cc_cause", "cancel")
        ch.setvar("cc_cancel_reason", reason)
        self.event(("callcenter_function", 3274), [
            ("CC-Queue", member.queue), ("CC-Action", "member-queue-end"),
            ("CC-Member-Leaving-Time", str(member.abandoned_epoch)),
            ("CC-Member-Joined-Time", str(int(member.joined_epoch))),
            ("CC-Cause", "Cancel"), ("CC-Cancel-Reason", reason),
            ("CC-Member-UUID", member.uuid), ("CC-Member-Session-UUID", ch.uuid),
            ("CC-Member-CID-Name", member.cid_name),
            ("CC-Member-CID-Number", member.cid_number)], ch)
        self.members_count(member.queue)
        audio = self.fs.audio.get(ch.uuid)
        if audio is not None:
            audio.mode = audio.SILENCE

    def channel_gone(self, ch: FsChannel) -> None:
        self.wake()

    # ---- the dispatcher ---------------------------------------------------
    async def _dispatch(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            self._wake.clear()
            self.dispatch_once()

    def dispatch_once(self) -> None:
        now = time.time()
        waiting = [m for m in self.members if m.state == "Waiting" and not m.offering]
        waiting.sort(key=lambda m: (-m.score(now), m.joined_epoch))
        for member in waiting:
            ch = self.fs.find(member.session_uuid)
            if ch is None or self.fs.killed[ch.uuid].is_set():
                continue
            agents = self.free_agents(self.queues[member.queue], now)
            if not agents:
                continue
            member.offering = True
            member.state = "Trying"
            # dialled here, not in the task: the agents are Receiving (not
            # free) for the members after this one in the same pass
            legs = offers.dial(self, member, ch, agents)
            task = self.fs.pbx.spawn(offers.offer(self, member, ch, legs))
            self._offers.add(task)
            task.add_done_callback(self._offers.discard)

    def free_agents(self, queue: CcQueue, now: float) -> list[CcAgent]:
        tiers = [t for t in self.tiers if t.queue == queue.name
                 and t.state in ("Ready", "No Answer") and t.agent in self.agents]
        free = [(t, self.agents[t.agent]) for t in tiers]
        free = [(t, a) for t, a in free
                if a.status in ("Available", "Available (On Demand)") and a.state == "Waiting"
                and a.ready_time <= now and a.endpoint.available]
        if not free:
            return []
        s = queue.strategy
        if s in ("ring-all", "ring-progressively"):
            free.sort(key=lambda p: (p[0].level, p[0].position))
            return [a for _, a in free]
        if s == "agent-with-least-talk-time":
            free.sort(key=lambda p: (p[0].level, p[1].talk_time, p[0].position))
        elif s == "agent-with-fewest-calls":
            free.sort(key=lambda p: (p[0].level, p[1].calls_answered, p[0].position))
        elif s == "random":
            random.shuffle(free)
            free.sort(key=lambda p: p[0].level)
        elif s == "round-robin":
            free.sort(key=lambda p: (p[0].level, p[0].position <= queue.rr_position,
                                     p[0].position))
            queue.rr_position = free[0][0].position
        elif s in ("top-down", "sequentially-by-agent-order"):
            free.sort(key=lambda p: (p[0].level, p[0].position))
        else:  # longest-idle-agent: idle since the last bridge ended; a failed
            # offer changes nothing, so the same agent is tried again (failed_first_try)
            free.sort(key=lambda p: (p[0].level, p[1].last_bridge_end, p[0].position))
        return [free[0][1]]

    def agent_of(self, name: str) -> CcAgent | None:
        agent = self.agents.get(name)
        if agent is None and "@" not in name:
            agent = next((a for a in self.agents.values()
                          if a.endpoint.interface.lower() == name.lower()), None)
        return agent


def _member_ids(member: CcMember) -> Headers:
    return [("CC-Member-UUID", member.uuid), ("CC-Member-Session-UUID", member.session_uuid),
            ("CC-Member-CID-Name", member.cid_name),
            ("CC-Member-CID-Number", member.cid_number)]


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
