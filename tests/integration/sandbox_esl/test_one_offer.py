"""One free agent is offered to one member at a time (mod_callcenter marks
it Receiving and offers it to the first member by score, then position);
the others keep waiting until the agent is free again."""

from __future__ import annotations

import pytest

from tests.integration.sandbox_esl.harness import running

ORIGINATE = ("bgapi originate {{origination_uuid={uuid},vidline_session=s{n},"
             "origination_caller_id_number=555000{n}}}loopback/customer_device/default "
             "&callcenter(support@default)")
UUIDS = [f"66666666-0000-4000-8000-00000000000{n}" for n in (1, 2, 3)]


@pytest.mark.parametrize("strategy", ["ringall", "leastrecent"])
async def test_one_free_agent_is_offered_to_the_first_member_only(strategy: str) -> None:
    queues = [{"name": "support", "strategy": strategy}, {"name": "sales"}]
    async with running(queues=queues) as (pbx, client):
        ctl = pbx.control
        for agent in ("1001@default", "1002@default"):
            await client.command(f"api callcenter_config agent set status {agent} 'On Break'")
        for n, uuid in enumerate(UUIDS, 1):
            await client.command(ORIGINATE.format(uuid=uuid, n=n))
            await client.wait(lambda m, u=uuid: m.name == "member-queue-start"
                              and m.get("CC-Member-Session-UUID") == u)
        await client.command("api callcenter_config agent set status 1001@default 'Available'")
        offer = await client.wait(lambda m: m.name == "agent-offering")
        assert offer.get("CC-Member-Session-UUID") == UUIDS[0]
        assert ctl.fs.agent_state("1001@default") == "Receiving"
        assert await ctl.answer("1001@default")
        start = await client.wait(lambda m: m.name == "bridge-agent-start")
        assert start.get("CC-Member-Session-UUID") == UUIDS[0]
        offers = [m for m in client.events() if m.name == "agent-offering"]
        assert [m.get("CC-Member-Session-UUID") for m in offers] == [UUIDS[0]]
        assert ctl.fs.members("support@default") == UUIDS[1:]

        # the agent hangs up: the second in line is offered, the third waits
        mark = len(client.messages)
        assert await ctl.agent_hangup("1001@default")
        offer = await client.wait(lambda m: m.name == "agent-offering", start=mark)
        assert offer.get("CC-Member-Session-UUID") == UUIDS[1]
        assert await ctl.answer("1001@default")
        start = await client.wait(lambda m: m.name == "bridge-agent-start", start=mark)
        assert start.get("CC-Member-Session-UUID") == UUIDS[1]
        offers = [m for m in client.events(mark) if m.name == "agent-offering"]
        assert [m.get("CC-Member-Session-UUID") for m in offers] == [UUIDS[1]]
        assert ctl.fs.members("support@default") == UUIDS[2:]


async def test_ring_all_agents_answering_together_one_wins_the_other_is_cancelled() -> None:
    queues = [{"name": "support", "strategy": "ringall"}, {"name": "sales"}]
    async with running(queues=queues) as (pbx, client):
        ctl = pbx.control
        await client.command(ORIGINATE.format(uuid=UUIDS[0], n=1))
        await ctl.wait_for(lambda: ctl.ringing("1001@default") and ctl.ringing("1002@default"))
        # both pick up in the same instant (the demo's auto-answer does that)
        assert pbx.endpoints["user/1001"].answer() and pbx.endpoints["user/1002"].answer()
        start = await client.wait(lambda m: m.name == "bridge-agent-start")
        winner = start.get("CC-Agent")
        loser = ({"1001@default", "1002@default"} - {winner}).pop()
        fail = await client.wait(lambda m: m.name == "bridge-agent-fail")
        assert (fail.get("CC-Agent"), fail.get("CC-Hangup-Cause")) == (loser, "ORIGINATOR_CANCEL")
        # no reject delay for the one that lost the race: free for the next call
        assert ctl.fs.agent_state(loser) == "Waiting"
        assert pbx.fs is not None and pbx.fs.cc.agents[loser].ready_time == 0
