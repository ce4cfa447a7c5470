"""FreeSWITCH channels of the sandbox and the header blocks of their events.

The order of every block is the order of the transcripts (A_answered and
B_abandon): the event head (``Event-Name`` .. ``Event-Sequence``), the
channel block (``Channel-State`` .. ``Caller-Privacy-Hide-Number``), the
``Other-Leg-*`` block of a bridged peer, then one ``variable_*`` per channel
variable in the order they were set.
"""

from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formatdate

Headers = list[tuple[str, str]]

# channel states as the transcripts show them, with switch_channel_state_t numbers
STATE_NUMBERS = {"CS_NEW": 0, "CS_INIT": 2, "CS_ROUTING": 2, "CS_SOFT_EXECUTE": 3,
                 "CS_EXECUTE": 4, "CS_EXCHANGE_MEDIA": 5, "CS_PARK": 6,
                 "CS_CONSUME_MEDIA": 7, "CS_HIBERNATE": 8, "CS_RESET": 9,
                 "CS_HANGUP": 10, "CS_REPORTING": 11, "CS_DESTROY": 12}

# switch_channel_cause2str names and their Q.850 codes
CAUSES = {"NORMAL_CLEARING": 16, "USER_BUSY": 17, "NO_ANSWER": 19, "CALL_REJECTED": 21,
          "DESTINATION_OUT_OF_ORDER": 27, "NO_ROUTE_DESTINATION": 3,
          "ORIGINATOR_CANCEL": 487, "SYSTEM_SHUTDOWN": 503, "MANAGER_REQUEST": 503,
          "LOSE_RACE": 502, "NORMAL_UNSPECIFIED": 31}


def usec(now: float | None = None) -> int:
    return int((time.time() if now is None else now) * 1_000_000)


def stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


@dataclass
class FsChannel:
    name: str
    uuid: str
    direction: str  # outbound (the a-leg of an originate) / inbound (loopback-b)
    destination: str
    context: str = "default"
    cid_name: str = ""
    cid_num: str = ""
    callee_name: str = "Outbound Call"
    callee_num: str = "default"
    orig_cid_name: str = ""
    orig_cid_num: str = ""
    created: float = field(default_factory=time.time)
    answered: float = 0.0
    bridged: float = 0.0
    hungup: float = 0.0
    state: str = "CS_INIT"
    call_state: str = "DOWN"
    application: str = ""
    application_data: str = ""
    hit_dialplan: bool = True
    vars: dict[str, str] = field(default_factory=dict)
    peer: FsChannel | None = None  # the other loopback half
    bridge_peer: FsChannel | None = None  # who it is bridged to
    other_type: str = ""  # originator / originatee, for the Other-Leg block
    hangup_cause: str = ""
    profile_index: int = 1
    gone: bool = False
    destroyed: bool = False  # after its HANGUP_COMPLETE: later events say state number 12
    rate: int = 8000  # loopback's L16 rate: 8000, or 16000 with loopback_initial_codec

    @staticmethod
    def new_uuid() -> str:
        return str(uuidlib.uuid4())

    def setvar(self, name: str, value: str) -> None:
        self.vars.pop(name, None)  # a set moves the variable to the end, like the event order
        self.vars[name] = value

    def getvar(self, name: str) -> str:
        return self.vars.get(name, "")

    def answer_state(self) -> str:
        if self.hungup or self.hangup_cause:  # killed: hanging up already (B, member-queue-end)
            return "hangup"
        return "answered" if self.answered else "ringing"

    def expand(self, text: str) -> str:
        """``${var}`` from the channel's variables (unknown: empty)."""
        out: list[str] = []
        i = 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            end = text.find("}", start)
            if end < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            out.append(self.getvar(text[start + 2:end]))
            i = end + 1
        return "".join(out)


class EventHead:
    """Core-UUID, host and the one Event-Sequence counter of the switch."""

    def __init__(self, hostname: str = "sandbox", ipv4: str = "127.0.0.1") -> None:
        self.core_uuid = str(uuidlib.uuid4())
        self.hostname = hostname
        self.ipv4 = ipv4
        self.sequence = 0

    def head(self, name: str, calling: tuple[str, str, int], subclass: str = "",
             now: float | None = None) -> Headers:
        now = time.time() if now is None else now
        self.sequence += 1
        first: Headers = [("Event-Subclass", subclass), ("Event-Name", "CUSTOM")] if subclass \
            else [("Event-Name", name)]
        return [*first,
                ("Core-UUID", self.core_uuid), ("FreeSWITCH-Hostname", self.hostname),
                ("FreeSWITCH-Switchname", self.hostname), ("FreeSWITCH-IPv4", self.ipv4),
                ("FreeSWITCH-IPv6", "::1"), ("Event-Date-Local", stamp(now)),
                ("Event-Date-GMT", formatdate(now, usegmt=True)),
                ("Event-Date-Timestamp", str(usec(now))),
                ("Event-Calling-File", calling[0]), ("Event-Calling-Function", calling[1]),
                ("Event-Calling-Line-Number", str(calling[2])),
                ("Event-Sequence", str(self.sequence))]


def _times(prefix: str, ch: FsChannel, zero: bool = False) -> Headers:
    def t(v: float) -> str:
        return "0" if zero or not v else str(usec(v))
    return [(f"{prefix}-Profile-Created-Time", t(ch.created)),
            (f"{prefix}-Channel-Created-Time", t(ch.created)),
            (f"{prefix}-Channel-Answered-Time", t(ch.answered)),
            (f"{prefix}-Channel-Progress-Time", "0"),
            (f"{prefix}-Channel-Progress-Media-Time", "0"),
            (f"{prefix}-Channel-Hangup-Time", t(ch.hungup)),
            (f"{prefix}-Channel-Transfer-Time", "0"),
            (f"{prefix}-Channel-Resurrect-Time", "0"),
            (f"{prefix}-Channel-Bridged-Time", t(ch.bridged)),
            (f"{prefix}-Channel-Last-Hold", "0"),
            (f"{prefix}-Channel-Hold-Accum", "0"),
            (f"{prefix}-Screen-Bit", "true"),
            (f"{prefix}-Privacy-Hide-Name", "false"),
            (f"{prefix}-Privacy-Hide-Number", "false")]


def _profile(prefix: str, ch: FsChannel) -> Headers:
    return [(f"{prefix}-Direction", ch.direction),
            (f"{prefix}-Logical-Direction", ch.direction),
            (f"{prefix}-Dialplan", "xml"),
            (f"{prefix}-Caller-ID-Name", ch.cid_name),
            (f"{prefix}-Caller-ID-Number", ch.cid_num),
            (f"{prefix}-Orig-Caller-ID-Name", ch.orig_cid_name or ch.cid_name),
            (f"{prefix}-Orig-Caller-ID-Number", ch.orig_cid_num or ch.cid_num),
            (f"{prefix}-Callee-ID-Name", ch.callee_name),
            (f"{prefix}-Callee-ID-Number", ch.callee_num),
            (f"{prefix}-ANI", ch.orig_cid_num or ch.cid_num),
            (f"{prefix}-Destination-Number", ch.destination),
            (f"{prefix}-Unique-ID", ch.uuid),
            (f"{prefix}-Source", "mod_loopback"),
            (f"{prefix}-Context", ch.context),
            (f"{prefix}-Channel-Name", ch.name)]


def channel_block(ch: FsChannel) -> Headers:
    headers: Headers = [
        ("Channel-State", ch.state),
        ("Channel-Call-State", ch.call_state),
        ("Channel-State-Number", "12" if ch.destroyed else str(STATE_NUMBERS.get(ch.state, 0))),
        ("Channel-Name", ch.name),
        ("Unique-ID", ch.uuid),
        ("Call-Direction", ch.direction),
        ("Presence-Call-Direction", ch.direction),
        ("Channel-HIT-Dialplan", "true" if ch.hit_dialplan else "false"),
        ("Channel-Call-UUID", ch.getvar("call_uuid") or ch.uuid),
        ("Answer-State", ch.answer_state()),
    ]
    if ch.hangup_cause:
        headers.append(("Hangup-Cause", ch.hangup_cause))
    rate, bits = str(ch.rate), str(ch.rate * 16)
    headers += [("Channel-Read-Codec-Name", "L16"), ("Channel-Read-Codec-Rate", rate),
                ("Channel-Read-Codec-Bit-Rate", bits), ("Channel-Write-Codec-Name", "L16"),
                ("Channel-Write-Codec-Rate", rate), ("Channel-Write-Codec-Bit-Rate", bits)]
    profile = _profile("Caller", ch)
    headers += profile[:-2]
    headers += [("Caller-Context", ch.context), ("Caller-Channel-Name", ch.name),
                ("Caller-Profile-Index", str(ch.profile_index))]
    headers += _times("Caller", ch)
    peer = ch.bridge_peer
    if peer is not None and ch.other_type:
        headers.append(("Other-Type", ch.other_type))
        headers += _profile("Other-Leg", peer)
        headers += _times("Other-Leg", peer, zero=ch.other_type == "originator")
    return headers


def variables(ch: FsChannel, only: Sequence[str] | None = None) -> Headers:
    names = ch.vars if only is None else [n for n in only if n in ch.vars]
    return [(f"variable_{n}", ch.vars[n]) for n in names]


def channel_event(head: Headers, ch: FsChannel, extra: Headers = ()) -> Headers:  # type: ignore[assignment]
    """A CHANNEL_* event: head, (Hangup-Cause), channel block, variables."""
    pre: Headers = [("Hangup-Cause", ch.hangup_cause)] if ch.hangup_cause else []
    return [*head, *pre, *channel_block(ch), *variables(ch), *extra]
