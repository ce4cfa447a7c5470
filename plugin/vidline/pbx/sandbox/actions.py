"""AMI actions the sandbox answers, with Asterisk 22's response texts
(taken from the transcripts; the unsupported synchronous Originate says so).
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from vidline.pbx.asterisk.codec import AmiMessage
from vidline.pbx.sandbox.agents import AgentEndpoint
from vidline.pbx.sandbox.headers import channel_block, queue_member_list_block
from vidline.pbx.sandbox.queues import Member, Queue

if TYPE_CHECKING:
    from vidline.pbx.sandbox.ami_server import Session

H = list[tuple[str, str]]


def _resp(msg: AmiMessage, response: str, *extra: tuple[str, str]) -> H:
    headers: H = [("Response", response)]
    if msg.get("ActionID"):
        headers.append(("ActionID", msg.get("ActionID")))
    return [*headers, *extra]


def _ok(msg: AmiMessage, text: str) -> H:
    return _resp(msg, "Success", ("Message", text))


def _err(msg: AmiMessage, text: str) -> H:
    return _resp(msg, "Error", ("Message", text))


def _aid(msg: AmiMessage) -> H:
    return [("ActionID", msg.get("ActionID"))] if msg.get("ActionID") else []


def _true(value: str) -> bool:
    return value.strip().lower() in ("1", "yes", "true", "on", "y", "t")


async def dispatch(s: Session, msg: AmiMessage) -> None:
    from vidline.pbx.sandbox.ami_server import parse_event_mask

    action = msg.get("Action").strip()
    name = action.lower()
    if not action:
        s.send(_err(msg, "Missing action in request"))
        return
    if not s.authenticated and name not in ("login", "logoff", "challenge"):
        s.send(_err(msg, "Permission denied"))
        return
    if name == "login":
        await _login(s, msg, parse_event_mask)
    elif name == "logoff":
        s.send(_resp(msg, "Goodbye", ("Message", "Thanks for all the fish.")))
        await s.writer.drain()
        s.close()
    elif name == "ping":
        s.send(_resp(msg, "Success", ("Ping", "Pong"), ("Timestamp", f"{time.time():.6f}")))
    elif name == "events":
        s.events = parse_event_mask(msg.get("EventMask"))
        s.send(_resp(msg, "Success", ("Events", "On" if s.events else "Off")))
    elif name == "originate":
        _originate(s, msg)
    elif name == "hangup":
        _hangup(s, msg)
    elif name == "queuestatus":
        _queue_status(s, msg)
    elif name == "queuesummary":
        _queue_summary(s, msg)
    elif name == "queueadd":
        _queue_add(s, msg)
    elif name == "queueremove":
        _queue_remove(s, msg)
    elif name == "queuepause":
        _queue_pause(s, msg)
    elif name == "coreshowchannels":
        _core_show_channels(s, msg)
    elif name == "setvar":
        _setvar(s, msg)
    else:
        s.send(_err(msg, f"Invalid/unknown command: {action}. "
                         "Use Action: ListCommands to show available commands."))


async def _login(s: Session, msg: AmiMessage, parse_event_mask: object) -> None:
    server = s.server
    if msg.get("Username") != server.username or msg.get("Secret") != server.secret:
        # manager.c sleeps a second before refusing, then ends the session
        await asyncio.sleep(server.auth_fail_delay)
        s.send(_err(msg, "Authentication failed"))
        await s.writer.drain()
        s.close()
        return
    s.authenticated = True
    s.username = msg.get("Username")
    if "Events" in msg:
        s.events = parse_event_mask(msg.get("Events"))  # type: ignore[operator]
    s.send(_ok(msg, "Authentication accepted"))
    if "system" in s.events:
        uptime = str(int(time.time() - server.started))
        # FullyBooted carries no Timestamp (FINDINGS)
        s.send([("Event", "FullyBooted"), ("Privilege", "system,all"), ("Uptime", uptime),
                ("LastReload", uptime), ("Status", "Fully Booted")])


def _originate(s: Session, msg: AmiMessage) -> None:
    if not msg.get("Channel"):
        s.send(_err(msg, "Channel not specified"))
        return
    if not _true(msg.get("Async")):
        s.send(_err(msg, "Originate failed (the sandbox PBX supports only Async: true)"))
        return
    s.send(_ok(msg, "Originate successfully queued"))
    pbx = s.server.pbx
    pbx.spawn(pbx.originate(s, msg))


def _hangup(s: Session, msg: AmiMessage) -> None:
    channel = msg.get("Channel")
    if not channel:
        s.send(_err(msg, "No channel specified"))
        return
    pbx = s.server.pbx
    cause = int(msg.get("Cause")) if msg.get("Cause").isdigit() else 0
    if len(channel) > 1 and channel.startswith("/") and channel.endswith("/"):
        names = pbx.hangup_by_name(channel, cause)
        s.send(_resp(msg, "Success", ("EventList", "start"),
                     ("Message", "Channels hung up will follow")))
        for n in names:
            s.send([("Event", "ChannelHungup"), ("Channel", n), *_aid(msg)])
        s.send([("Event", "ChannelsHungupListComplete"), *_aid(msg), ("EventList", "Complete"),
                ("ListItems", str(len(names)))])
        return
    if not pbx.hangup_by_name(channel, cause):
        s.send(_err(msg, "No such channel"))
    else:
        s.send(_ok(msg, "Channel Hungup"))


def _setvar(s: Session, msg: AmiMessage) -> None:
    # manager.c action_setvar: a function such as CDR(x) is written through,
    # a plain variable set (with its VarSet event); no channel = a global
    variable, value = msg.get("Variable"), msg.get("Value")
    if not variable:
        s.send(_err(msg, "No variable specified"))
        return
    pbx = s.server.pbx
    name = msg.get("Channel")
    ch = next((c for n, c in pbx.channels.items() if n.lower() == name.lower()), None) \
        if name else None
    if name and ch is None:
        s.send(_err(msg, "No such channel"))
        return
    if ch is None:
        pbx.globals[variable] = value
    elif variable.upper().startswith("CDR(") and variable.endswith(")"):
        call = pbx.calls.get(ch.uniqueid)
        if call is not None:  # only the customer leg's CDR is the sandbox's to write
            call.cdr[variable[4:-1]] = value
    else:
        ch.setvar(variable, value)
        pbx.varset(ch, variable, value)
    s.send(_ok(msg, "Variable Set"))


def _queues(s: Session, msg: AmiMessage) -> list[Queue]:
    pbx = s.server.pbx
    wanted = msg.get("Queue")
    return [q for q in pbx.queues.values() if not wanted or q.name == wanted]


def _queue_status(s: Session, msg: AmiMessage) -> None:
    s.send(_resp(msg, "Success", ("EventList", "start"), ("Message", "Queue status will follow")))
    member_filter = msg.get("Member")
    items = 0
    now = time.monotonic()
    for q in _queues(s, msg):
        s.send([("Event", "QueueParams"), ("Queue", q.name), ("Max", "0"),
                ("Strategy", q.strategy), ("Calls", str(len(q.entries))),
                ("Holdtime", str(q.avg_holdtime())), ("TalkTime", str(q.avg_talktime())),
                ("Completed", str(q.completed)), ("Abandoned", str(q.abandoned)),
                ("ServiceLevel", "20"), ("ServicelevelPerf", "0.0"),
                ("ServicelevelPerf2", "0.0"), ("Weight", "0"), *_aid(msg)])
        items += 1
        for m in q.members:
            if member_filter and member_filter not in (m.name, m.interface):
                continue
            s.send([*queue_member_list_block(q, m), *_aid(msg)])
            items += 1
        for pos, e in enumerate(q.entries, 1):
            ch = e.call.channel
            s.send([("Event", "QueueEntry"), ("Queue", q.name), ("Position", str(pos)),
                    ("Channel", ch.name), ("Uniqueid", ch.uniqueid),
                    ("CallerIDNum", ch.caller_num or "<unknown>"),
                    ("CallerIDName", ch.caller_name or "<unknown>"),
                    ("ConnectedLineNum", ch.connected_num or "<unknown>"),
                    ("ConnectedLineName", ch.connected_name or "<unknown>"),
                    ("Wait", str(int(now - e.joined))), ("Priority", str(e.prio)), *_aid(msg)])
            items += 1
    s.send([("Event", "QueueStatusComplete"), *_aid(msg), ("EventList", "Complete"),
            ("ListItems", str(items))])


def _queue_summary(s: Session, msg: AmiMessage) -> None:
    s.send(_resp(msg, "Success", ("EventList", "start"),
                 ("Message", "Queue summary will follow")))
    queues = _queues(s, msg)
    now = time.monotonic()
    for q in queues:
        longest = max((int(now - e.joined) for e in q.entries), default=0)
        s.send([("Event", "QueueSummary"), ("Queue", q.name),
                ("LoggedIn", str(len(q.members))),
                ("Available", str(sum(1 for m in q.members if m.free))),
                ("Callers", str(len(q.entries))), ("HoldTime", str(q.avg_holdtime())),
                ("TalkTime", str(q.avg_talktime())), ("LongestHoldTime", str(longest)),
                *_aid(msg)])
    s.send([("Event", "QueueSummaryComplete"), *_aid(msg), ("EventList", "Complete"),
            ("ListItems", str(len(queues)))])


def _queue_add(s: Session, msg: AmiMessage) -> None:
    pbx = s.server.pbx
    q = pbx.queues.get(msg.get("Queue"))
    interface = msg.get("Interface")
    if not msg.get("Queue") or not interface:
        s.send(_err(msg, "'Queue' and 'Interface' are required"))
        return
    if q is None:
        s.send(_err(msg, "Unable to add interface to queue: No such queue"))
        return
    if q.member(interface) is not None:
        s.send(_err(msg, "Unable to add interface: Already there"))
        return
    name = msg.get("MemberName") or interface
    endpoint = pbx.endpoints.get(interface.lower())
    if endpoint is None:
        endpoint = AgentEndpoint(interface, name, 800.0, pbx.config.sandbox.auto_answer_after)
        pbx.endpoints[interface.lower()] = endpoint
    member = Member(interface, name, endpoint, membership="dynamic",
                    paused=_true(msg.get("Paused")), paused_reason=msg.get("Reason"))
    q.members.append(member)
    s.send(_ok(msg, "Added interface to queue"))
    pbx.member_event("QueueMemberAdded", q, member)
    pbx.qlog("MANAGER", q.name, interface, "ADDMEMBER", "")
    q.notify()


def _queue_remove(s: Session, msg: AmiMessage) -> None:
    pbx = s.server.pbx
    q = pbx.queues.get(msg.get("Queue"))
    interface = msg.get("Interface")
    if q is None:
        s.send(_err(msg, "Unable to remove interface from queue: No such queue"))
        return
    member = q.member(interface)
    if member is None:
        s.send(_err(msg, "Unable to remove interface: Not there"))
        return
    if member.membership != "dynamic":
        s.send(_err(msg, "Unable to remove interface: Not dynamic"))
        return
    q.members.remove(member)
    s.send(_ok(msg, "Removed interface from queue"))
    pbx.member_event("QueueMemberRemoved", q, member)
    pbx.qlog("MANAGER", q.name, member.interface, "REMOVEMEMBER", "")


def _queue_pause(s: Session, msg: AmiMessage) -> None:
    pbx = s.server.pbx
    interface, queue_name = msg.get("Interface"), msg.get("Queue")
    if not interface:
        s.send(_err(msg, "Need 'Interface' and 'Paused' actions."))
        return
    paused = _true(msg.get("Paused"))
    reason = msg.get("Reason")
    targets = [(q, q.member(interface)) for q in pbx.queues.values()
               if not queue_name or q.name == queue_name]
    found = [(q, m) for q, m in targets if m is not None]
    if not found:
        s.send(_err(msg, "Interface not found"))
        return
    s.send(_ok(msg, "Interface paused successfully" if paused
               else "Interface unpaused successfully"))
    if not queue_name:
        # app_queue's set_member_paused(): the interface, no reason, then one line per queue
        pbx.qlog("NONE", "NONE", interface, "PAUSEALL" if paused else "UNPAUSEALL", "")
    for q, m in found:
        m.paused = paused
        m.paused_reason = reason if paused else ""
        if paused:
            m.last_pause = time.time()
        pbx.qlog("NONE", q.name, m.name, "PAUSE" if paused else "UNPAUSE", reason)
        pbx.member_event("QueueMemberPause", q, m)
        q.notify()


def _core_show_channels(s: Session, msg: AmiMessage) -> None:
    pbx = s.server.pbx
    s.send(_resp(msg, "Success", ("EventList", "start"), ("Message", "Channels will follow")))
    channels = list(pbx.channels.values())
    for ch in channels:
        secs = int(time.time() - ch.created)
        duration = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}:{secs % 60:02d}"
        s.send([("Event", "CoreShowChannel"), *_aid(msg), *channel_block(ch, pbx.channelvars),
                ("Application", ch.app), ("ApplicationData", ch.appdata),
                ("Duration", duration), ("BridgeId", ch.bridge_id)])
    s.send([("Event", "CoreShowChannelsComplete"), *_aid(msg), ("EventList", "Complete"),
            ("ListItems", str(len(channels)))])

