"""mod_callcenter's tables (queues, agents, tiers, members) as the sandbox
keeps them, and the pipe-separated listings ``callcenter_config`` prints
(column lists copied from D_while_waiting / D_during_A)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from vidline.pbx.sandbox.agents import AgentEndpoint

AGENT_STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
AGENT_STATES = ("Idle", "Waiting", "Receiving", "In a queue call")
TIER_STATES = ("Unknown", "No Answer", "Ready", "Offering", "Active Inbound", "Standby")

# app_queue strategy names of the shared sandbox config -> mod_callcenter's
STRATEGY_NAMES = {"ringall": "ring-all", "leastrecent": "longest-idle-agent",
                  "fewestcalls": "agent-with-fewest-calls", "random": "random",
                  "rrmemory": "round-robin", "linear": "top-down"}


@dataclass
class CcQueue:
    name: str  # support@default
    strategy: str = "longest-idle-agent"
    moh_sound: str = "local_stream://moh"
    time_base_score: str = "system"
    max_wait_time: int = 0
    max_wait_time_with_no_agent: int = 0
    max_wait_time_with_no_agent_time_reached: int = 5
    discard_abandoned_after: int = 60
    calls_answered: int = 0
    calls_abandoned: int = 0
    ring_timeout: int = 15  # the agents' leg_timeout when they ring for this queue
    rr_position: int = 0
    no_agent_since: float = 0.0

    def row(self) -> str:
        return "|".join([
            self.name, self.strategy, self.moh_sound, self.time_base_score, "false", "300",
            "true", "false", str(self.discard_abandoned_after), "false",
            str(self.max_wait_time), str(self.max_wait_time_with_no_agent),
            str(self.max_wait_time_with_no_agent_time_reached), "", str(self.calls_answered),
            str(self.calls_abandoned), "0", "true", "On Break"])


QUEUE_COLUMNS = ("name|strategy|moh_sound|time_base_score|tier_rules_apply|tier_rule_wait_second|"
                 "tier_rule_wait_multiply_level|tier_rule_no_agent_no_wait|"
                 "discard_abandoned_after|abandoned_resume_allowed|max_wait_time|"
                 "max_wait_time_with_no_agent|max_wait_time_with_no_agent_time_reached|"
                 "record_template|calls_answered|calls_abandoned|ring_progressively_delay|"
                 "skip_agents_with_external_calls|agent_no_answer_status")


@dataclass
class CcAgent:
    name: str  # 1001@default
    endpoint: AgentEndpoint
    contact: str
    status: str = "Available"
    state: str = "Waiting"
    max_no_answer: int = 3
    wrap_up_time: int = 0
    reject_delay_time: int = 5
    busy_delay_time: int = 5
    no_answer_delay_time: int = 0
    last_bridge_start: int = 0
    last_bridge_end: int = 0
    last_offered_call: int = 0
    last_status_change: int = field(default_factory=lambda: int(time.time()))
    no_answer_count: int = 0
    calls_answered: int = 0
    talk_time: int = 0
    ready_time: int = 0
    uuid: str = ""  # the agent's leg while in a queue call

    def row(self) -> str:
        return "|".join([
            self.name, "single_box", self.uuid, "callback", self.contact, self.status,
            self.state, str(self.max_no_answer), str(self.wrap_up_time),
            str(self.reject_delay_time), str(self.busy_delay_time),
            str(self.no_answer_delay_time), str(self.last_bridge_start),
            str(self.last_bridge_end), str(self.last_offered_call),
            str(self.last_status_change), str(self.no_answer_count), str(self.calls_answered),
            str(self.talk_time), str(self.ready_time), "0"])


AGENT_COLUMNS = ("name|instance_id|uuid|type|contact|status|state|max_no_answer|wrap_up_time|"
                 "reject_delay_time|busy_delay_time|no_answer_delay_time|last_bridge_start|"
                 "last_bridge_end|last_offered_call|last_status_change|no_answer_count|"
                 "calls_answered|talk_time|ready_time|external_calls_count")


@dataclass
class CcTier:
    queue: str
    agent: str
    state: str = "Ready"
    level: int = 1
    position: int = 1

    def row(self) -> str:
        return f"{self.queue}|{self.agent}|{self.state}|{self.level}|{self.position}"


TIER_COLUMNS = "queue|agent|state|level|position"


@dataclass(eq=False)
class CcMember:
    queue: str
    uuid: str  # the member uuid (not the session's)
    session_uuid: str
    cid_number: str
    cid_name: str
    system_epoch: float
    joined_epoch: float
    base_score: int = 0
    bridge_epoch: int = 0
    abandoned_epoch: int = 0
    serving_agent: str = ""
    state: str = "Waiting"  # Waiting, Trying, Answered, Abandoned
    offering: bool = False

    def score(self, now: float) -> int:
        return int(now - self.system_epoch) + self.base_score

    def row(self, now: float) -> str:
        return "|".join([
            self.queue, "single_box", self.uuid, self.session_uuid, self.cid_number,
            self.cid_name, str(int(self.system_epoch)), str(int(self.joined_epoch)), "0",
            str(self.bridge_epoch), str(self.abandoned_epoch), str(self.base_score), "0",
            self.serving_agent, "single_box" if self.serving_agent else "", self.state,
            str(self.score(now))])


MEMBER_COLUMNS = ("queue|instance_id|uuid|session_uuid|cid_number|cid_name|system_epoch|"
                  "joined_epoch|rejoined_epoch|bridge_epoch|abandoned_epoch|base_score|"
                  "skill_score|serving_agent|serving_system|state|score")


def listing(columns: str, rows: list[str]) -> str:
    return "\n".join([columns, *rows]) + "\n+OK\n"
