"""Header blocks of the AMI events the sandbox emits, in Asterisk 22's order.

Every list here was copied from the real transcripts in shared/asterisk
(A..H): the channel snapshot block (``Channel`` .. ``Linkedid`` then one
``ChanVariable`` per manager.conf ``channelvars`` name), the same block with a
``Dest`` prefix for the agent leg, and the queue member block.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from vidline.pbx.asterisk.variables import VARIABLE_NAMES

if TYPE_CHECKING:
    from vidline.pbx.sandbox.channels import Channel
    from vidline.pbx.sandbox.queues import Member, Queue

Headers = list[tuple[str, str]]

# manager.conf channelvars of the contract (common.md): the names without "__"
DEFAULT_CHANNELVARS: tuple[str, ...] = VARIABLE_NAMES

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}

_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
              "\v": "\\v", "\\": "\\\\", "'": "\\'", '"': '\\"', "?": "\\?"}


def escape_c(value: str) -> str:
    """ast_escape_c: VarSet and ChanVariable values arrive C-escaped
    (``checkout\\?step=2``), FINDINGS "Queue events and variables"."""
    return "".join(_C_ESCAPES.get(c, c) for c in value)


def timestamp(now: float | None = None) -> str:
    return f"{time.time() if now is None else now:.6f}"


def event(name: str, privilege: str, body: Iterable[tuple[str, str]]) -> Headers:
    """An asynchronous event: Event, Privilege, Timestamp (timestampevents=yes)."""
    return [("Event", name), ("Privilege", f"{privilege},all"), ("Timestamp", timestamp()),
            *body]


def channel_block(ch: Channel, channelvars: Sequence[str], prefix: str = "") -> Headers:
    state = ch.state
    headers: Headers = [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", str(state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(state, "Unknown")),
        (f"{prefix}CallerIDNum", ch.caller_num or "<unknown>"),
        (f"{prefix}CallerIDName", ch.caller_name or "<unknown>"),
        (f"{prefix}ConnectedLineNum", ch.connected_num or "<unknown>"),
        (f"{prefix}ConnectedLineName", ch.connected_name or "<unknown>"),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)),
        (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]
    headers += [(f"{prefix}ChanVariable", f"{name}={escape_c(ch.getvar(name))}")
                for name in channelvars]
    return headers


def member_block(queue: Queue, member: Member) -> Headers:
    """QueueMemberStatus / QueueMemberPause / QueueMemberAdded / ...Removed."""
    return [
        ("Queue", queue.name),
        ("MemberName", member.name),
        ("Interface", member.interface),
        ("StateInterface", member.interface),
        *_member_state(member),
        ("Ringinuse", "0"),
        ("Wrapuptime", "0"),
    ]


def queue_member_list_block(queue: Queue, member: Member) -> Headers:
    """The QueueMember entry of a QueueStatus answer (no Privilege, no Timestamp)."""
    return [
        ("Event", "QueueMember"),
        ("Queue", queue.name),
        ("Name", member.name),
        ("Location", member.interface),
        ("StateInterface", member.interface),
        *_member_state(member),
        ("Wrapuptime", "0"),
    ]


def _member_state(member: Member) -> Headers:
    """The run both member layouts share, in Asterisk's order."""
    return [
        ("Membership", member.membership),
        ("Penalty", "0"),
        ("CallsTaken", str(member.calls_taken)),
        ("LastCall", str(int(member.last_call))),
        ("LastPause", str(int(member.last_pause))),
        ("LoginTime", str(int(member.login_time))),
        ("InCall", "1" if member.in_call else "0"),
        ("Status", str(member.device_status())),
        ("Paused", "1" if member.paused else "0"),
        ("PausedReason", member.paused_reason),
    ]
