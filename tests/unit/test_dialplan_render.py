"""`vidline dialplan`: the rendered Asterisk snippets against the real
configs from Asterisk 22.10.1, and hostile config values that must not break
out of their line."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from vidline.config import Config, ConfigError, parse_config
from vidline.dialplan_render import (
    CHANNEL_VARIABLES,
    FILES,
    UnsafeConfValue,
    agent_queue_name,
    render_asterisk,
)
from vidline.reporting.schema import VIDLINE_CDR_COLUMNS

REAL = Path("/work/shared/asterisk/conf")
# the hash of "alice" (format only matters here)
HASH = "scrypt$16384$8$1$5d6/pjNYMyAHUR0ycO4Sew==$IbsBbTSlc4m5eQl+fPQkMaArsGF/sbX6dQbn1PN7Hy4="

BASE: dict[str, Any] = {
    "categories": ["billing", "technical"],
    "asterisk": {"secret": "s3cret-Value!", "permit": ["10.1.2.0/255.255.255.0"]},
    "routing": {"default_queue": "support", "rules": [
        {"category": "billing", "queue": "billing", "priority": 5}]},
    "agents": [
        {"username": "alice", "password_hash": HASH, "interface": "PJSIP/1001",
         "member_name": "Agent Alice", "queues": ["support"]},
        {"username": "bob", "password_hash": HASH, "interface": "Local/1002@agents",
         "member_name": "Agent Bob", "queues": ["support", "billing"]},
    ],
}


def _config() -> Config:
    return parse_config(BASE)


def parse_conf(text: str) -> list[tuple[str, str, str]]:
    """A small Asterisk .conf reader: (section, key, value) per setting line,
    comments stripped, as Asterisk's config parser splits them."""
    section = ""
    result: list[tuple[str, str, str]] = []
    for raw in re.split(r"\r\n|\r|\n", text):
        line = re.sub(r"(?<!\\);.*", "", raw).strip()
        if not line:
            continue
        header = re.fullmatch(r"\[([^\]]+)\](\([^)]*\))?", line)
        if header:
            section = header.group(1)
            continue
        # config.c splits at the first '='; a '>' right after it makes "=>"
        key, sep, value = line.partition("=")
        assert sep, f"not a setting line: {raw!r}"
        result.append((section, key.strip(), value.removeprefix(">").strip()))
    return result


def _context(text: str, name: str) -> list[str]:
    """Application calls of ``name``'s extension, in priority order."""
    apps = []
    for section, key, value in parse_conf(text):
        if section == name and key in ("exten", "same"):
            body = value.split(",", 2)[2] if key == "exten" else value.split(",", 1)[1]
            apps.append(body)
    return apps


def _app(call: str) -> str:
    return call.split("(", 1)[0]


def _collapse(names: list[str]) -> list[str]:
    return [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]


def test_inbound_context_runs_the_real_applications_in_the_real_order() -> None:
    real = _context((REAL / "extensions.conf").read_text(), "vidline-inbound")
    ours = _context(render_asterisk(_config())["extensions_vidline.conf"], "vidline-inbound")
    # consecutive Set()s collapse: we set more CDR columns and QUEUE_PRIO and no
    # longer re-set the __ variables vidline's Originate already made inheritable
    assert _collapse([_app(c) for c in ours]) == _collapse([_app(c) for c in real])
    assert [_app(c) for c in real] == [
        "NoOp", "Set", "ExecIf", *["Set"] * 13, "QueueLog", "Answer", "GotoIf", "Queue",
        "NoOp", "Queue", "NoOp", "Hangup"]
    # lines taken over verbatim from the tested config
    for line in (
        "QueueLog(${VIDLINE_QUEUE},${UNIQUEID},NONE,VIDEOCHAT,"
        "${VIDLINE_SESSION}|${VIDLINE_CATEGORY}|${VIDLINE_CUSTOMER_ID})",
        'ExecIf($["${VIDLINE_PHONE}" != ""]?Set(CALLERID(num)=${VIDLINE_PHONE}))',
        'GotoIf($["${VIDLINE_PREFERRED_AGENT}" = ""]?main)',
        "Answer()",
    ):
        assert line in real and line in ours
    assert "Set(QUEUE_PRIO=${VIDLINE_PRIO})" in ours
    assert ours.index("Set(QUEUE_PRIO=${VIDLINE_PRIO})") < ours.index("Answer()")
    queues = [c for c in ours if _app(c) == "Queue"]
    assert queues[0].startswith("Queue(agent-${VIDLINE_PREFERRED_AGENT},,${VIDLINE_PANEL_URL},,")
    assert queues[1] == "Queue(${VIDLINE_QUEUE},,${VIDLINE_PANEL_URL},,${VIDLINE_QUEUE_TIMEOUT})"
    cdr = [re.fullmatch(r"Set\(CDR\((\w+)\)=\$\{(\w+)\}\)", c) for c in ours]
    assert {m.group(1): m.group(2) for m in cdr if m} == {
        name: name.upper() for name, _ in VIDLINE_CDR_COLUMNS}


def test_inbound_priority_label_and_extension() -> None:
    text = render_asterisk(_config())["extensions_vidline.conf"]
    lines = [v for s, k, v in parse_conf(text) if s == "vidline-inbound"]
    assert lines[0].startswith("s,1,NoOp(")
    assert sum(v.startswith("n(main),Queue(${VIDLINE_QUEUE}") for v in lines) == 1
    custom = dataclasses.replace(_config(), asterisk=dataclasses.replace(
        _config().asterisk, context="video-in", exten="start"))
    text = render_asterisk(custom)["extensions_vidline.conf"]
    assert _context(text, "video-in")[0].startswith("NoOp(")
    assert "exten => start,1,NoOp(" in text


def test_manager_user_is_least_privilege_with_channelvars() -> None:
    rows = parse_conf(render_asterisk(_config())["manager_vidline.conf"])
    user = [(k, v) for s, k, v in rows if s == "vidline"]
    assert user == [
        ("secret", "s3cret-Value!"),
        ("deny", "0.0.0.0/0.0.0.0"),
        ("deny", "::/0"),
        ("permit", "10.1.2.0/255.255.255.0"),
        ("read", "call,agent"),
        ("write", "originate,call,agent,reporting"),
        ("writetimeout", "5000"),
    ]
    general = [(k, v) for s, k, v in rows if s == "general"]
    assert general == [("channelvars", ",".join(CHANNEL_VARIABLES))]
    # the real lab config listed a subset; every name it had is still there
    real = dict((k, v) for s, k, v in parse_conf((REAL / "manager.conf").read_text())
                if s == "general")
    assert set(real["channelvars"].split(",")) <= set(CHANNEL_VARIABLES)
    # every VIDLINE_ variable the dialplan reads is one the AMI events will carry
    used = set(re.findall(r"\$\{(VIDLINE_\w+)\}",
                          render_asterisk(_config())["extensions_vidline.conf"]))
    assert used <= set(CHANNEL_VARIABLES)


def test_agent_queues_follow_the_real_per_agent_recipe() -> None:
    rows = parse_conf(render_asterisk(_config())["queues_vidline.conf"])
    real = parse_conf((REAL / "queues.conf").read_text())
    real_template = dict((k, v) for s, k, v in real if s == "agent-template")
    ours_template = dict((k, v) for s, k, v in rows if s == "vidline-agent-template")
    for key in ("joinempty", "leavewhenempty", "timeout", "retry"):
        assert ours_template[key] == real_template[key]
    members = [(s, v) for s, k, v in rows if k == "member"]
    assert members == [
        ("agent-1001", "PJSIP/1001,0,Agent Alice,PJSIP/1001"),
        ("agent-1002", "Local/1002@agents,0,Agent Bob,Local/1002@agents"),
    ]
    assert agent_queue_name("Local/1002@agents") == "agent-1002"
    # skill queues are notes only: the centre's own queues.conf defines them
    assert {s for s, _, _ in rows} == {"vidline-agent-template", "agent-1001", "agent-1002"}


def test_two_agents_on_one_extension_are_refused() -> None:
    data = dict(BASE)
    data["agents"] = [*BASE["agents"], {
        "username": "carol", "password_hash": HASH, "interface": "SIP/1001",
        "member_name": "Carol"}]
    with pytest.raises(ConfigError) as err:
        render_asterisk(parse_config(data))
    assert err.value.key == "agents[2].interface"


def test_every_file_renders_and_only_comments_hold_prose() -> None:
    files = render_asterisk(_config())
    assert sorted(files) == sorted(FILES)
    for name, text in files.items():
        parse_conf(text)  # every non-comment line is a section or a setting
        assert "{{" not in text and "{%" not in text, name


# Values that would end a line, start a comment or escape in a .conf file.
HOSTILE = [
    "x\r\nread = all",
    "x\nwrite = all",
    "x\rwrite = all",
    "x;comment",
    "x\\",
    "x\x00y",
    "x\u2028y",
    "x\x85y",
    " leading",
]

# (TOML path, where the value lands in the config object)
TARGETS = [
    (("asterisk", "secret"), lambda c, v: dataclasses.replace(
        c, asterisk=dataclasses.replace(c.asterisk, secret=v))),
    (("asterisk", "username"), lambda c, v: dataclasses.replace(
        c, asterisk=dataclasses.replace(c.asterisk, username=v))),
    (("asterisk", "context"), lambda c, v: dataclasses.replace(
        c, asterisk=dataclasses.replace(c.asterisk, context=v))),
    (("routing", "default_queue"), lambda c, v: dataclasses.replace(
        c, routing=dataclasses.replace(c.routing, default_queue=v))),
    (("agents", "member_name"), lambda c, v: dataclasses.replace(
        c, agents=(dataclasses.replace(c.agents[0], member_name=v), *c.agents[1:]))),
    (("agents", "interface"), lambda c, v: dataclasses.replace(
        c, agents=(dataclasses.replace(c.agents[0], interface="PJSIP/" + v),
                   *c.agents[1:]))),
]


def _toml_with(path: tuple[str, str], value: str) -> dict[str, Any]:
    import copy

    data = copy.deepcopy(BASE)
    table, key = path
    if table == "agents":
        data["agents"][0][key] = value
    else:
        data.setdefault(table, {})[key] = value
    return data


@pytest.mark.parametrize(("path", "inject", "value"), [
    pytest.param(path, inject, value, id=f"{'.'.join(path)}-{value!r}")
    for path, inject in TARGETS for value in HOSTILE
    # "PJSIP/ leading" has no edge blank: not a line-breaking value there
    if not (path[1] == "interface" and value.startswith(" "))
])
def test_hostile_value_is_refused_by_config_and_by_renderer(
        path: tuple[str, str], inject: object, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_toml_with(path, value))
    expected = f"agents[0].{path[1]}" if path[0] == "agents" else ".".join(path)
    assert err.value.key == expected
    # the renderer is the second wall: even a config built around the loader
    # cannot print the value
    hostile = inject(_config(), value)  # type: ignore[operator]
    with pytest.raises(UnsafeConfValue):
        render_asterisk(hostile)


def test_permit_and_field_separators_are_refused() -> None:
    for bad in ["1.2.3.4\nwrite=all", "1.2.3.4;x", "any"]:
        with pytest.raises(ConfigError) as err:
            parse_config({**BASE, "asterisk": {"permit": [bad]}})
        assert err.value.key == "asterisk.permit[0]"
    config = _config()
    for bad in ["Eve,0,PJSIP/666", "Eve|x"]:
        odd = dataclasses.replace(config, agents=(
            dataclasses.replace(config.agents[0], member_name=bad), *config.agents[1:]))
        with pytest.raises(UnsafeConfValue):
            render_asterisk(odd)


def test_strange_but_legal_values_stay_inside_their_line() -> None:
    """Values the loader accepts, full of characters that mean something
    elsewhere: the rendered files keep exactly the same settings and
    sections, and each value sits whole inside its own line."""
    odd_member = 'Eve "${SHELL(id)}" $(x) [general] = => <b>&'
    odd_secret = "p4ss=> [x] $(id) ${EVAL(a)} \"q\" 'q' #include x"
    data = _toml_with(("agents", "member_name"), odd_member)
    data["asterisk"] = {"secret": odd_secret}
    odd = render_asterisk(parse_config(data))
    plain = render_asterisk(parse_config(_toml_with(("asterisk", "secret"), "plain")))
    for name in FILES:
        shape = [(s, k) for s, k, _ in parse_conf(odd[name])]
        assert shape == [(s, k) for s, k, _ in parse_conf(plain[name])], name
    assert ("vidline", "secret", odd_secret) in parse_conf(odd["manager_vidline.conf"])
    members = [v for s, k, v in parse_conf(odd["queues_vidline.conf"]) if s == "agent-1001"]
    assert members == [f"PJSIP/1001,0,{odd_member},PJSIP/1001"]


def test_channelvars_are_the_variables_the_originate_sends() -> None:
    from vidline.pbx.asterisk import variables

    sent = {value for name, value in vars(variables).items()
            if name.isupper() and isinstance(value, str) and value.startswith("VIDLINE_")}
    assert sent == set(CHANNEL_VARIABLES)
