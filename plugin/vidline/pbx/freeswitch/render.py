"""Renders the FreeSWITCH snippets vidline needs (``vidline dialplan`` when
``pbx = "freeswitch"``): the XML dialplan of the customer legs, the
mod_callcenter queues/agents/tiers, the mod_cdr_csv template and the
mod_odbc_cdr mapping of the ``vidline_*`` variables, and the ESL listener.

XML files: every printed value is XML-escaped (autoescape) and must also pass
:func:`xml_value`, which refuses control characters and ``${`` (FreeSWITCH
would expand it when loading or running the file) instead of escaping them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import Markup

from vidline.config import Config, ConfigError
from vidline.pbx.freeswitch.queries import extension
from vidline.reporting.schema import VIDLINE_CDR_COLUMNS, VIDLINE_CDR_LATE_COLUMNS

FILES = (
    "vidline_dialplan.xml",
    "callcenter_vidline.conf.xml",
    "cdr_csv_vidline.conf.xml",
    "odbc_cdr_vidline.conf.xml",
    "event_socket_vidline.conf.xml",
)
SECRET_FILE = "event_socket_vidline.conf.xml"


class UnsafeXmlValue(ValueError):
    """A value would change the meaning of a FreeSWITCH XML file."""


def xml_value(value: Any) -> Any:
    if isinstance(value, Markup | int) and not isinstance(value, bool):
        return value
    if value is None or isinstance(value, bool):
        raise UnsafeXmlValue(f"{value!r} is not a value for an XML file")
    text = str(value)
    for char in text:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise UnsafeXmlValue(f"{text!r} contains a control character")
    if "${" in text or "$${" in text:
        raise UnsafeXmlValue(f"{text!r} would be expanded by FreeSWITCH")
    return text


@dataclass(frozen=True, slots=True)
class _Agent:
    agent: str  # 1001@default
    queue: str  # agent-1001
    member_name: str
    queues: tuple[str, ...]


def _agents(config: Config) -> list[_Agent]:
    domain = config.freeswitch.domain
    seen: dict[str, int] = {}
    out: list[_Agent] = []
    for i, agent in enumerate(config.agents):
        ext = extension(agent.interface)
        if ext in seen:
            raise ConfigError(f"agents[{i}].interface",
                              f"gives agent {ext}@{domain} like agents[{seen[ext]}]")
        seen[ext] = i
        out.append(_Agent(f"{ext}@{domain}", f"agent-{ext}", agent.member_name, agent.queues))
    return out


def render_freeswitch(config: Config) -> dict[str, str]:
    """File name -> text of every FreeSWITCH snippet vidline ships."""
    fs = config.freeswitch
    names = [config.routing.default_queue, *(r.queue for r in config.routing.rules)]
    for agent in config.agents:
        names.extend(agent.queues)
    values: dict[str, Any] = {
        "context": fs.context,
        "domain": fs.domain,
        "park_exten": fs.park_exten,
        "queue_exten": fs.queue_exten,
        "preferred_exten": fs.preferred_exten,
        "skill_queues": list(dict.fromkeys(names)),
        "agent_queues": _agents(config),
        "pref_timeout": config.routing.last_agent_timeout,
        # the late columns too: vidline sets them on the member leg during
        # the call (uuid_setvar), mod_cdr_csv reads them at hangup
        "cdr_columns": VIDLINE_CDR_COLUMNS + VIDLINE_CDR_LATE_COLUMNS,
        "esl_host": fs.host,
        "esl_port": fs.port,
        "esl_password": fs.password,
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vidline.dialplan", "freeswitch"),
        autoescape=True,
        finalize=xml_value,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return {name: env.get_template(f"{name}.j2").render(values) for name in FILES}
