"""Expected values straight from the real Asterisk 22.10.1 transcripts
(copied from shared/asterisk into tests/fixtures/sandbox), so no expected
event or queue_log line is typed by hand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from vidline.pbx.asterisk.codec import AmiMessage, AmiParser

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sandbox"

QUEUE_EVENTS = ("OriginateResponse", "QueueCallerJoin", "QueueCallerLeave", "QueueCallerAbandon",
                "AgentCalled", "AgentRingNoAnswer", "AgentConnect", "AgentComplete",
                "QueueMemberPause", "QueueMemberAdded", "QueueMemberRemoved")
KEY_FIELDS = ("Queue", "Position", "Count", "OriginalPosition", "Interface", "MemberName",
              "Paused", "PausedReason", "Response", "Reason")

# queue_log data fields that are times or generated uniqueids: compared for presence only
TIMED = {"CONNECT": (0, 1, 2), "COMPLETEAGENT": (0, 1), "COMPLETECALLER": (0, 1),
         "ABANDON": (2,), "RINGNOANSWER": (0,), "RINGCANCELED": (0,),
         "EXITWITHTIMEOUT": (2,), "EXITEMPTY": (2,)}


def parse(data: bytes, banner: bool = True) -> list[AmiMessage]:
    parser = AmiParser(expect_banner=banner)
    return [m for m in parser.feed(data) if isinstance(m, AmiMessage)]


def load(name: str) -> list[AmiMessage]:
    return parse((FIXTURES / name).read_bytes())


def sent_actions(name: str) -> list[AmiMessage]:
    return parse((FIXTURES / name).read_bytes(), banner=False)


def lab_channelvars() -> tuple[str, ...]:
    """manager.conf channelvars of the lab, read off its first Newchannel."""
    first = next(m for m in load("A_answered_completeagent.ami.txt") if m.event == "Newchannel")
    return tuple(v.split("=", 1)[0] for v in first.get_all("ChanVariable"))


def key_events(messages: list[AmiMessage], names: tuple[str, ...] = QUEUE_EVENTS,
               fields: tuple[str, ...] = KEY_FIELDS) -> list[tuple[str, dict[str, str]]]:
    out = []
    for m in messages:
        if m.event in names:
            out.append((m.event, {f: m.get(f) for f in fields if f in m}))
    return out


def queue_log_lines(name: str) -> list[list[str]]:
    """The ``queue_log file ... new lines`` section: fields after the epoch."""
    text = (FIXTURES / name).read_text()
    section = text.split("new lines", 1)[1].split("###", 1)[0]
    return [line.split("|")[1:] for line in section.strip().splitlines() if "|" in line]


def comparable(fields: list[str]) -> list[str]:
    """queue|agent|event|data..., with timed data replaced by '*' and callid dropped."""
    callid, queue, agent, event, *data = fields
    data = [("*" if i in TIMED.get(event, ()) else d) for i, d in enumerate(data)]
    while data and data[-1] == "":
        data.pop()
    kind = "NONE" if callid == "NONE" else ("MANAGER" if callid == "MANAGER" else "call")
    return [kind, queue, agent, event, *data]


ALL_TRANSCRIPTS = [*sorted(p.name for p in FIXTURES.glob("*.ami.txt")),
                   "04_local_abandon_empty_queue.txt",
                   "06_ringnoanswer_then_abandon_overflow.txt"]


def shape(m: AmiMessage) -> tuple[str, bool, bool, str]:
    """Which layout an event has: a failed OriginateResponse has no variables."""
    outcome = m.get("Response") if m.event == "OriginateResponse" else ""
    return (m.event, "Channel" in m, "DestChannel" in m, outcome)


def header_names(m: AmiMessage) -> list[str]:
    return [re.sub(r"^ChanVariable\(.*$", "ChanVariable(*)", k) for k, _ in m.headers]


def without_variables(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith(("ChanVariable", "DestChanVariable"))]


def real_layouts() -> dict[tuple[str, bool, bool, str], list[str]]:
    """Header names, in order, of the first real event of each shape. The
    first-pass lab had no manager.conf channelvars: events seen only there
    are kept without their (Dest)ChanVariable lines."""
    layouts: dict[tuple[str, bool, bool, str], list[str]] = {}
    for name in ALL_TRANSCRIPTS:
        first_pass = not name.endswith(".ami.txt")
        for m in load(name):
            if m.event and shape(m) not in layouts:
                names = header_names(m)
                layouts[shape(m)] = without_variables(names) if first_pass else names
    return layouts


def retarget(action: AmiMessage, port: int) -> list[tuple[str, str]]:
    """A transcript action aimed at the test's AudioSocket server. An
    Originate also gets VIDLINE_QUEUE_TIMEOUT=120: the lab's extensions.conf
    defaulted it to 120, vidline's dialplan takes it from the Originate."""
    headers = []
    for k, v in action.headers:
        if k == "Channel":
            v = re.sub(r"^AudioSocket/[^/]+/", f"AudioSocket/127.0.0.1:{port}/", v)
        headers.append((k, v))
    if action.get("Action") == "Originate":
        headers.append(("Variable", "VIDLINE_QUEUE_TIMEOUT=120"))
    return headers


CDR_COMPARED = ("src", "dst", "dcontext", "clid", "channel", "dstchannel", "lastapp",
                "disposition", "amaflags", "vidline_customer_id", "vidline_category",
                "vidline_queue", "vidline_session", "vidline_page_url")


def real_cdr_rows(name: str) -> list[dict[str, str | None]]:
    """The vertical ``SELECT * FROM cdr`` dump of a .db.txt file."""
    text = re.split(r"FROM cdr|CDR DB rows", (FIXTURES / name).read_text(), maxsplit=1)[1]
    rows = []
    for block in re.split(r"\*+ \d+\. row \*+", text)[1:]:
        row: dict[str, str | None] = {}
        for line in block.strip().splitlines():
            key, _, value = line.strip().partition(": ")
            row[key.rstrip(":")] = None if value == "NULL" else value
        rows.append(row)
    return rows


def cdr_view(row: Mapping[str, object]) -> dict[str, str | None]:
    """The columns compared with the real rows; addresses, Local channel
    counters and the agent leg's lastdata (the lab agent's Wait(20)) aside."""
    out: dict[str, str | None] = {}
    for col in CDR_COMPARED:
        value = row.get(col)
        text = None if value is None or value == "" else str(value)
        if text is not None:
            text = re.sub(r"-[0-9a-f]{8};", "-N;", text)
            text = re.sub(r"^AudioSocket/[^-]+-", "AudioSocket/ADDR-", text)
        out[col] = text
    if str(row.get("channel", "")).startswith("AudioSocket/"):
        out["lastdata"] = None if row.get("lastdata") in (None, "") else str(row["lastdata"])
    return out


FLOW_EVENTS = ("Newchannel", "VarSet", "DialBegin", "DialEnd", "Newstate", "OriginateResponse",
               "QueueCallerJoin", "QueueCallerAbandon", "QueueCallerLeave", "MusicOnHoldStart",
               "MusicOnHoldStop", "AgentCalled", "AgentRingNoAnswer", "AgentConnect",
               "BridgeEnter", "BridgeLeave", "AgentComplete", "Hangup")


def _role(channel: str) -> str:
    if channel.startswith("AudioSocket/"):
        return "customer"
    if channel.endswith(";1") or channel.endswith(";2"):
        return "agent" + channel[-2:]
    return "agent" if channel else ""


def flow(messages: list[AmiMessage]) -> list[str]:
    """The call's events in order, as ``Event@role``: the customer's channel,
    the agent's Local halves. Left out: VarSets of the dialplan (vidline's
    dialplan sets other variables than the lab's), and the agent legs'
    Newstate (the lab's agents answered before ringing)."""
    out = []
    for m in messages:
        if m.event not in FLOW_EVENTS:
            continue
        role = _role(m.get("Channel") or m.get("DestChannel"))
        if m.event == "VarSet" and not m.get("Variable").startswith("AUDIOSOCKET_"):
            continue
        if m.event == "Newstate" and role != "customer":
            continue
        out.append(f"{m.event}@{role}")
    return out
