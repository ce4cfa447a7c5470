"""The api commands the sandbox answers, with FreeSWITCH 1.10.12's texts
(taken from the transcripts: status, originate, uuid_*, show channels,
callcenter_config, reloadxml, echo)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from vidline.pbx.sandbox.esl.ccmodel import (
    AGENT_COLUMNS,
    AGENT_STATES,
    AGENT_STATUSES,
    MEMBER_COLUMNS,
    QUEUE_COLUMNS,
    TIER_COLUMNS,
    CcTier,
    listing,
)
from vidline.pbx.sandbox.esl.fschannels import FsChannel, channel_block, stamp, variables
from vidline.pbx.sandbox.esl.originate import OriginateError, parse_originate
from vidline.pbx.sandbox.esl.protocol import Command

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch

NO_CHANNEL = "-ERR No such channel!\n"
SHOW_COLUMNS = ("uuid", "direction", "created", "created_epoch", "name", "state", "cid_name",
                "cid_num", "ip_addr", "dest", "application", "application_data", "dialplan",
                "context", "read_codec", "read_rate", "read_bit_rate", "write_codec",
                "write_rate", "write_bit_rate", "secure", "hostname", "presence_id",
                "presence_data", "accountcode", "callstate", "callee_name", "callee_num",
                "callee_direction", "call_uuid", "sent_callee_name", "sent_callee_num",
                "initial_cid_name", "initial_cid_num", "initial_ip_addr", "initial_dest",
                "initial_dialplan", "initial_context")


async def api(fs: FsSwitch, line: str, done: Callable[[str], None] | None = None) -> str:
    """Run one api command; with ``done`` (bgapi) the result also goes there."""
    name, _, arg = line.strip().partition(" ")
    result: str
    if name == "originate":
        holder: list[str] = []

        def answered(reply: str) -> None:
            holder.append(reply)
            if done is not None:
                done(reply)

        try:
            request = parse_originate(arg)
        except OriginateError as exc:
            answered(exc.text)
            return exc.text
        await fs.originate(request, answered)
        return holder[0] if holder else "-ERR NORMAL_UNSPECIFIED\n"
    result = run(fs, name, arg)
    if done is not None:
        done(result)
    return result


def run(fs: FsSwitch, name: str, arg: str) -> str:
    handler = _COMMANDS.get(name)
    if handler is None:
        return f"-ERR {name} Command not found!\n"
    return handler(fs, arg)


def _status(fs: FsSwitch, arg: str) -> str:
    up = time.time() - fs.started
    days, rest = divmod(int(up), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    ms = int((up - int(up)) * 1000)
    live = len(fs.channels)
    return (f"UP 0 years, {days} days, {hours} hours, {minutes} minutes, {seconds} seconds, "
            f"{ms} milliseconds, 0 microseconds\n"
            "FreeSWITCH (Version 1.10.12-release  64bit) is ready\n"
            f"{fs.sessions} session(s) since startup\n"
            f"{live} session(s) - peak {live}, last 5min {live} \n"
            "0 session(s) per Sec out of max 30, peak 0, last 5min 0 \n"
            "200 session(s) max\nmin idle cpu 0.00/100.00\nCurrent Stack Size/Max 240K/8192K\n")


def _uuid_kill(fs: FsSwitch, arg: str) -> str:
    parts = arg.split()
    ch = fs.find(parts[0]) if parts else None
    if ch is None:
        return NO_CHANNEL
    fs.kill(ch, parts[1] if len(parts) > 1 else "NORMAL_CLEARING")
    return "+OK\n"


def _uuid_getvar(fs: FsSwitch, arg: str) -> str:
    parts = arg.split()
    ch = fs.find(parts[0]) if parts else None
    if ch is None or len(parts) < 2:
        return NO_CHANNEL
    return ch.vars.get(parts[1], "_undef_")


def _uuid_setvar(fs: FsSwitch, arg: str) -> str:
    parts = arg.split(" ", 2)
    ch = fs.find(parts[0]) if parts else None
    if ch is None or len(parts) < 2:
        return NO_CHANNEL
    if len(parts) > 2:
        ch.setvar(parts[1], parts[2])  # the rest of the line, raw (C: "a,b ${expr(6*7)}")
    else:
        ch.vars.pop(parts[1], None)
    return "+OK\n"


def _uuid_exists(fs: FsSwitch, arg: str) -> str:
    return "true" if fs.find(arg.strip()) is not None else "false"


def _uuid_dump(fs: FsSwitch, arg: str) -> str:
    parts = arg.split()
    ch = fs.find(parts[0]) if parts else None
    if ch is None:
        return NO_CHANNEL
    head = fs.head.head("CHANNEL_DATA", ("mod_commands.c", "uuid_dump_function", 6468))
    headers = [*head, *channel_block(ch), *variables(ch)]
    if len(parts) > 1 and parts[1] == "json":
        return json.dumps(dict(headers))
    from vidline.pbx.sandbox.esl.protocol import url_encode
    return "".join(f"{k}: {url_encode(v)}\n" for k, v in headers)


def _hupall(fs: FsSwitch, arg: str) -> str:
    cause = arg.split()[0] if arg.split() else "MANAGER_REQUEST"
    for ch in list(fs.channels.values()):
        fs.kill(ch, cause)
    return "+OK hangup all channels with cause " + cause + "\n"


def _row(ch: FsChannel, hostname: str) -> dict[str, str]:
    return {"uuid": ch.uuid, "direction": ch.direction, "created": stamp(ch.created),
            "created_epoch": str(int(ch.created)), "name": ch.name, "state": ch.state,
            "cid_name": ch.cid_name, "cid_num": ch.cid_num, "ip_addr": "",
            "dest": ch.destination, "application": ch.application,
            "application_data": ch.application_data, "dialplan": "xml",
            "context": ch.context, "read_codec": "L16", "read_rate": str(ch.rate),
            "read_bit_rate": str(ch.rate * 16), "write_codec": "L16",
            "write_rate": str(ch.rate), "write_bit_rate": str(ch.rate * 16), "secure": "",
            "hostname": hostname,
            "presence_id": "", "presence_data": "", "accountcode": "",
            "callstate": ch.call_state, "callee_name": ch.callee_name,
            "callee_num": ch.callee_num,
            "callee_direction": "RECV" if ch.direction == "outbound" else "",
            "call_uuid": ch.uuid if ch.direction == "outbound" else "",
            "sent_callee_name": "", "sent_callee_num": "",
            "initial_cid_name": ch.orig_cid_name, "initial_cid_num": ch.orig_cid_num,
            "initial_ip_addr": "", "initial_dest": ch.destination, "initial_dialplan": "xml",
            "initial_context": ch.context}


def _show(fs: FsSwitch, arg: str) -> str:
    words = arg.split()
    if not words or words[0] not in ("channels", "calls"):
        return "-USAGE: show ...\n"
    rows = [_row(ch, fs.head.hostname) for ch in fs.channels.values()]
    if len(words) > 1 and words[1] == "count":
        return f"\n{len(rows)} total.\n"
    if words[-2:] == ["as", "json"]:
        if not rows:
            return json.dumps({"row_count": 0})
        return json.dumps({"row_count": len(rows), "rows": rows}, separators=(",", ":"))
    if not rows:
        return "\n0 total.\n"
    lines = [",".join(SHOW_COLUMNS)] + [",".join(r[c] for c in SHOW_COLUMNS) for r in rows]
    return "\n".join(lines) + f"\n\n{len(rows)} total.\n"


def _global_setvar(fs: FsSwitch, arg: str) -> str:
    name, _, value = arg.strip().partition("=")
    fs.globals[name.strip()] = value.strip()
    return "+OK"


def _global_getvar(fs: FsSwitch, arg: str) -> str:
    return fs.globals.get(arg.strip()) or "-ERR no reply"  # an empty one too (I2)


def _fsctl(fs: FsSwitch, arg: str) -> str:
    if arg.split()[:2] == ["shutdown", "restart"]:
        fs.pbx.spawn(fs.restart())
        return "+OK\n"
    return "-ERR the sandbox knows only fsctl shutdown restart\n"


def _callcenter_config(fs: FsSwitch, arg: str) -> str:
    cc = fs.cc
    words = _words(arg)
    now = time.time()
    if words[:3] == ["queue", "list", "members"] and len(words) > 3:
        return listing(MEMBER_COLUMNS, [m.row(now) for m in cc.listed(words[3])])
    if words[:3] == ["queue", "count", "members"] and len(words) > 3:
        return f"{cc.count(words[3])}\n"
    if words[:3] == ["queue", "list", "agents"] and len(words) > 3:
        names = [t.agent for t in cc.tiers if t.queue == words[3]]
        return listing(AGENT_COLUMNS, [cc.agents[n].row() for n in names if n in cc.agents])
    if words[:3] == ["queue", "count", "agents"] and len(words) > 3:
        names = [t.agent for t in cc.tiers if t.queue == words[3] and t.agent in cc.agents]
        if len(words) > 4:
            names = [n for n in names if cc.agents[n].status == words[4]]
        return f"{len(names)}\n"
    if words[:3] == ["queue", "list", "tiers"] and len(words) > 3:
        return listing(TIER_COLUMNS, [t.row() for t in cc.tiers if t.queue == words[3]])
    if words[:2] == ["queue", "list"]:
        return listing(QUEUE_COLUMNS, [q.row() for _, q in sorted(cc.queues.items())])
    if words[:2] == ["tier", "list"]:
        tiers = sorted(cc.tiers, key=lambda t: (t.level, t.position))  # stable: then added order
        return listing(TIER_COLUMNS, [t.row() for t in tiers])
    if words[:2] == ["agent", "list"]:
        agents = [cc.agents[words[2]]] if len(words) > 2 and words[2] in cc.agents \
            else list(cc.agents.values())
        return listing(AGENT_COLUMNS, [a.row() for a in agents])
    if words[:3] == ["agent", "set", "status"] and len(words) > 4:
        agent = cc.agents.get(words[3])
        if agent is None:
            return "-ERR Agent not found!\n"
        if words[4] not in AGENT_STATUSES:
            return "-ERR Invalid Agent Status!\n"
        cc.set_status(agent, words[4])
        return "+OK\n"
    if words[:3] == ["agent", "set", "state"] and len(words) > 4:
        agent = cc.agents.get(words[3])
        if agent is None:
            return "-ERR Agent not found!\n"
        if words[4] not in AGENT_STATES:
            return "-ERR Invalid Agent State!\n"
        cc.set_state(agent, words[4])
        return "+OK\n"
    if words[:2] == ["agent", "set"] and len(words) > 4 and words[2] in _AGENT_INT_PARAMS:
        agent = cc.agents.get(words[3])
        if agent is None:
            return "-ERR Agent not found!\n"
        # mod_callcenter stores atoi() of the value: garbage is 0, not an error
        setattr(agent, words[2], int(words[4]) if words[4].isdigit() else 0)
        cc.wake()
        return "+OK\n"
    if words[:2] == ["tier", "add"] and len(words) > 3:
        if words[2] not in cc.queues or words[3] not in cc.agents:
            return "-ERR Invalid Agent!\n" if words[3] not in cc.agents else \
                "-ERR Invalid Queue!\n"
        if not any((t.queue, t.agent) == (words[2], words[3]) for t in cc.tiers):
            level = int(words[4]) if len(words) > 4 and words[4].isdigit() else 1
            position = int(words[5]) if len(words) > 5 and words[5].isdigit() else 1
            cc.tiers.append(CcTier(words[2], words[3], level=level, position=position))
            cc.wake()
        return "+OK\n"
    if words[:2] == ["tier", "set"] and len(words) > 5 and \
            words[2] in ("state", "level", "position"):
        for tier in cc.tiers:
            if tier.queue == words[3] and tier.agent == words[4]:
                if words[2] == "state":
                    tier.state = words[5]
                elif words[5].isdigit():
                    setattr(tier, words[2], int(words[5]))
                cc.wake()  # tier changes raise no event (pass2 H)
                return "+OK\n"
        return "-ERR Tier not found!\n"
    if words[:2] == ["tier", "del"] and len(words) > 3:
        cc.tiers = [t for t in cc.tiers if (t.queue, t.agent) != (words[2], words[3])]
        return "+OK\n"
    return "-ERR no reply\n"


# callcenter_config agent set <param> <agent> <seconds|count>: CcAgent attributes
_AGENT_INT_PARAMS = ("wrap_up_time", "max_no_answer", "ready_time", "reject_delay_time",
                     "busy_delay_time", "no_answer_delay_time")


def _words(arg: str) -> list[str]:
    """callcenter_config splits its line like originate does (quotes group)."""
    from vidline.pbx.sandbox.esl.originate import split_blank
    return split_blank(arg)


_COMMANDS: dict[str, Callable[[FsSwitch, str], str]] = {
    "status": _status,
    "uuid_kill": _uuid_kill,
    "uuid_getvar": _uuid_getvar,
    "uuid_setvar": _uuid_setvar,
    "uuid_exists": _uuid_exists,
    "uuid_dump": _uuid_dump,
    "hupall": _hupall,
    "show": _show,
    "callcenter_config": _callcenter_config,
    "reloadxml": lambda fs, arg: "+OK [Success]\n",
    "fsctl": _fsctl,
    "echo": lambda fs, arg: arg,
    "global_setvar": _global_setvar,
    "global_getvar": _global_getvar,
}


def sendmsg(fs: FsSwitch, cmd: Command) -> str:
    """``sendmsg <uuid>``: call-command unicast (audio) or hangup."""
    ch = fs.find(cmd.arg) if cmd.arg.strip() else None
    if ch is None:
        return "-ERR invalid session id [" + cmd.arg.strip() + "]"
    what = cmd.header("call-command").lower()
    if what == "hangup":
        fs.kill(ch, cmd.header("hangup-cause") or "NORMAL_CLEARING")
        return "+OK"
    if what == "unicast":
        from vidline.pbx.sandbox.esl.unicast import start_unicast
        start_unicast(fs, ch, cmd)
        return "+OK"
    return "+OK"
