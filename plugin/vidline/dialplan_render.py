"""Renders the Asterisk configuration snippets vidline needs (``vidline
dialplan``) from the config: the inbound context, the AMI user, the
per-agent queues and notes for queues, CDR columns and modules.

Asterisk .conf files have no quoting: a line break ends a value, ``;``
starts a comment and ``\\`` escapes. So every value the templates print goes
through :func:`conf_value`, which refuses (raises) such characters instead of
escaping them; the config loader already refuses them for the keys it knows,
this is the second wall for anything that reaches a template. Autoescape is
off because HTML escaping would be wrong here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

import jinja2

from vidline.config import Config, ConfigError, SandboxQueueConfig
from vidline.reporting.schema import VIDLINE_CDR_COLUMNS

# The channel variables of the Originate -> dialplan -> CDR contract, without
# the "__" inheritance prefix, as manager.conf channelvars lists them.
CHANNEL_VARIABLES: tuple[str, ...] = (
    "VIDLINE_SESSION", "VIDLINE_QUEUE", "VIDLINE_PRIO", "VIDLINE_QUEUE_TIMEOUT",
    "VIDLINE_CUSTOMER_ID", "VIDLINE_PHONE", "VIDLINE_CATEGORY", "VIDLINE_PAGE_URL",
    "VIDLINE_KIOSK", "VIDLINE_PANEL_URL", "VIDLINE_PREFERRED_AGENT", "VIDLINE_PREF_TIMEOUT",
)

# Seconds the inbound context tries the preferred agent's queue when vidline
# sends no VIDLINE_PREF_TIMEOUT (the value measured in scenario D).
PREF_TIMEOUT_DEFAULT = 12

FILES = (
    "extensions_vidline.conf",
    "manager_vidline.conf",
    "queues_vidline.conf",
    "cdr_adaptive_odbc_vidline.conf",
    "modules_vidline.conf",
)


class UnsafeConfValue(ValueError):
    """A value would break out of its line (or field) in a .conf file."""


def conf_value(value: Any) -> Any:
    """Jinja2 ``finalize``: every printed value passes through here."""
    if isinstance(value, bool) or value is None:
        raise UnsafeConfValue(f"{value!r} is not a value for a .conf file")
    if isinstance(value, int):
        return value
    text = str(value)
    for char in text:
        # Cc: control characters (CR, LF, NUL, ...); Zl/Zp: Unicode line and
        # paragraph separators, which some editors and tools treat as breaks
        if unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in ";\\":
            raise UnsafeConfValue(f"{text!r} contains {char!r}, which ends a .conf line")
    if text != text.strip():
        # Asterisk trims values: leading/trailing blanks would silently change them
        raise UnsafeConfValue(f"{text!r} has leading or trailing blanks")
    return text


def conf_field(value: Any) -> Any:
    """Filter for one field of a comma-separated value (queue member lines)."""
    text = conf_value(value)
    if isinstance(text, str) and ("," in text or "|" in text):
        raise UnsafeConfValue(f"{text!r} contains a field separator")
    return text


def agent_extension(interface: str) -> str:
    """``PJSIP/1001`` -> ``1001``; ``Local/1001@agents`` -> ``1001``. The value
    VIDLINE_PREFERRED_AGENT carries, and the agent queue's name suffix."""
    resource = interface.split("/", 1)[-1]
    return resource.split("@", 1)[0]


def agent_queue_name(interface: str) -> str:
    return f"agent-{agent_extension(interface)}"


@dataclass(frozen=True, slots=True)
class _AgentQueue:
    queue: str
    interface: str
    member_name: str


def _skill_queues(config: Config) -> list[SandboxQueueConfig]:
    known = {q.name: q for q in config.sandbox.queues}
    names = [config.routing.default_queue, *(r.queue for r in config.routing.rules)]
    for agent in config.agents:
        names.extend(agent.queues)
    result: list[SandboxQueueConfig] = []
    for name in dict.fromkeys(names):  # ordered, without duplicates
        result.append(known.get(name, SandboxQueueConfig(name=name)))
    return result


def _agent_queues(config: Config) -> list[_AgentQueue]:
    seen: dict[str, int] = {}
    result: list[_AgentQueue] = []
    for i, agent in enumerate(config.agents):
        queue = agent_queue_name(agent.interface)
        if queue in seen:
            raise ConfigError(f"agents[{i}].interface",
                              f"gives queue {queue!r} like agents[{seen[queue]}]")
        seen[queue] = i
        result.append(_AgentQueue(queue, agent.interface, agent.member_name))
    return result


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vidline.dialplan", "asterisk"),
        autoescape=False,
        finalize=conf_value,
        undefined=jinja2.StrictUndefined,  # a typo in a template fails, not renders ""
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["field"] = conf_field
    return env


def render_asterisk(config: Config) -> dict[str, str]:
    """File name -> text of every Asterisk snippet vidline ships."""
    values: dict[str, Any] = {
        "context": config.asterisk.context,
        "exten": config.asterisk.exten,
        "default_queue": config.routing.default_queue,
        "pref_timeout": config.routing.last_agent_timeout,
        "username": config.asterisk.username,
        "secret": config.asterisk.secret or "CHANGE-ME",
        "permit": config.asterisk.permit,
        "writetimeout": config.asterisk.writetimeout,
        "channelvars": [conf_field(v) for v in CHANNEL_VARIABLES],
        "skill_queues": _skill_queues(config),
        "agent_queues": _agent_queues(config),
        "cdr_columns": VIDLINE_CDR_COLUMNS,
        "audiosocket_host": config.audiosocket.connect_host,
        "audiosocket_port": config.audiosocket.listen_port,
        "ami_port": config.asterisk.port,
        "sample_rate": config.audiosocket.sample_rate,
    }
    env = _environment()
    return {name: env.get_template(f"{name}.j2").render(values) for name in FILES}
