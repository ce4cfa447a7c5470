"""FreeSWITCH configuration documents the sandbox applies when given them
(``SandboxPbx(config, fs_dialplan=[...])`` takes dialplans and these alike):
``callcenter.conf`` (queue params, agents' params, tiers: what ``vidline
dialplan`` renders as callcenter_vidline.conf.xml) and ``cdr_csv.conf``
(the template). Without them the sandbox builds the same tables from the
vidline config (see callcenter.CallCenter._build).

Agents' contacts are kept for the listings only: every agent is rung
through the lab's loopback contact, the one recorded shape of agent legs.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from vidline.pbx.sandbox.esl.ccmodel import CcQueue, CcTier

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.callcenter import CallCenter
    from vidline.pbx.sandbox.esl.cdr import CdrCsv

_QUEUE_INTS = {"max-wait-time": "max_wait_time",
               "max-wait-time-with-no-agent": "max_wait_time_with_no_agent",
               "max-wait-time-with-no-agent-time-reached":
                   "max_wait_time_with_no_agent_time_reached",
               "discard-abandoned-after": "discard_abandoned_after"}
_AGENT_INTS = {"max-no-answer": "max_no_answer", "wrap-up-time": "wrap_up_time",
               "reject-delay-time": "reject_delay_time", "busy-delay-time": "busy_delay_time",
               "no-answer-delay-time": "no_answer_delay_time"}


def is_configuration(root: ET.Element) -> bool:
    return root.tag == "configuration"


def apply(root: ET.Element, cc: CallCenter, cdr: CdrCsv) -> None:
    name = root.get("name", "")
    if name == "callcenter.conf":
        _callcenter(root, cc)
    elif name == "cdr_csv.conf":
        _cdr_csv(root, cdr)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or "")
    except ValueError:
        return default


def _callcenter(root: ET.Element, cc: CallCenter) -> None:
    for q in root.iter("queue"):
        qname = q.get("name", "")
        if not qname:
            continue
        queue = cc.queues.setdefault(qname, CcQueue(qname))
        for param in q.iter("param"):
            key, value = param.get("name", ""), param.get("value", "")
            if key == "strategy":
                queue.strategy = value
            elif key == "moh-sound":
                queue.moh_sound = value
            elif key in _QUEUE_INTS:
                setattr(queue, _QUEUE_INTS[key], _int(value, getattr(queue, _QUEUE_INTS[key])))
    for a in root.iter("agent"):
        agent = cc.agents.get(a.get("name", ""))
        if agent is None:
            continue  # an agent the vidline config does not know has no phone here
        agent.contact = a.get("contact", agent.contact)
        agent.status = a.get("status", agent.status)
        for key, attr in _AGENT_INTS.items():
            if a.get(key) is not None:
                setattr(agent, attr, _int(a.get(key), getattr(agent, attr)))
    # merged with the tiers the vidline config implies (agents' queues, agent-<ext>):
    # a real switch has those too, from the conf or added at runtime (pass2 J)
    for t in root.iter("tier"):
        tier_queue, agent_name = t.get("queue", ""), t.get("agent", "")
        if agent_name not in cc.agents or tier_queue not in cc.queues:
            continue
        tier = next((x for x in cc.tiers if (x.queue, x.agent) == (tier_queue, agent_name)),
                    None)
        if tier is None:
            tier = CcTier(tier_queue, agent_name)
            cc.tiers.append(tier)
        tier.level = _int(t.get("level"), tier.level)
        tier.position = _int(t.get("position"), tier.position)


def _cdr_csv(root: ET.Element, cdr: CdrCsv) -> None:
    wanted = next((p.get("value") for p in root.iter("param")
                   if p.get("name") == "default-template"), None)
    for template in root.iter("template"):
        if wanted is None or template.get("name") == wanted:
            cdr.template = (template.text or "").strip()
            return
