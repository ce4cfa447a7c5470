"""The PbxAdapter's questions and orders to mod_callcenter (line, wallboard,
presence) over ``api callcenter_config``; a mixin of FreeswitchAdapter, which
provides ``_api`` (every command with its timeout, PbxError on failure)."""

from __future__ import annotations

import time
from collections.abc import Mapping

from vidline.config import INTERFACE_RE, AgentConfig, FreeswitchConfig
from vidline.pbx import events as ev
from vidline.pbx.base import PbxError
from vidline.pbx.freeswitch import status as st
from vidline.pbx.freeswitch.variables import fs_queue
from vidline.pbx.status import QueueStatus


def extension(interface: str) -> str:
    """``user/1001`` / ``PJSIP/1001`` / ``callcenter/1001@default`` -> ``1001``."""
    return interface.split("/", 1)[-1].split("@", 1)[0]


class CallcenterQueries:
    _cfg: FreeswitchConfig
    _agents: dict[str, AgentConfig]  # extension -> agent
    _queues: list[str]
    _legs: Mapping[str, object]  # vidline's live legs, by interaction id

    async def _api(self, command: str) -> str:
        raise NotImplementedError

    async def queue_entries(self, queue: str | None = None) -> list[ev.QueueEntry]:
        return st.queue_entries(await self._members(queue), time.time())

    async def queue_status(self, queue: str | None = None) -> QueueStatus:
        members = await self._members(queue)
        agents = st.table(await self._api("callcenter_config agent list"))
        tiers = st.table(await self._api("callcenter_config tier list"))
        if queue is not None:
            tiers = [t for t in tiers if t.get("queue") == self._fs_queue(queue)]
        return st.queue_status(members, agents, tiers, self._agent_ref, time.time(),
                               set(self._legs))

    async def queue_summaries(self, queue: str | None = None) -> list[ev.QueueSummary]:
        status = await self.queue_status(queue)
        return st.queue_summaries(status, [queue] if queue else self._queues)

    async def pause_member(self, interface: str, paused: bool, reason: str = "",
                           queue: str | None = None) -> None:
        # mod_callcenter's status is per agent, not per queue: ``queue`` is moot
        if not INTERFACE_RE.fullmatch(interface):
            raise PbxError(f"not a queue member interface: {interface!r}")
        agent = f"{extension(interface)}@{self._cfg.domain}"
        status = "'On Break'" if paused else "Available"
        await self._api(f"callcenter_config agent set status {agent} {status}")

    def _agent_ref(self, name: str) -> tuple[str, str]:
        agent = self._agents.get(name.partition("@")[0])
        if agent is None:
            return f"callcenter/{name}", name
        return agent.interface, agent.member_name

    def _fs_queue(self, queue: str) -> str:
        try:
            return fs_queue(queue, self._cfg.domain)
        except ValueError as exc:
            raise PbxError(str(exc)) from None

    async def _members(self, queue: str | None) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        for name in [queue] if queue is not None else self._queues:
            rows += st.table(await self._api(
                f"callcenter_config queue list members {self._fs_queue(name)}"))
        return rows

