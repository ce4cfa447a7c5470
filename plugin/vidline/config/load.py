"""The whole file: every section read, cross-references checked."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidline.config.model import (
    NAME_RE,
    Config,
    ConfigError,
)
from vidline.config.reader import _read, _Section
from vidline.config.sections import (
    _agent,
    _asterisk,
    _audiosocket,
    _crm,
    _database,
    _freeswitch,
    _media,
    _recording,
    _reporting,
    _reports,
    _routing,
    _sandbox,
    _server,
    _wrapup,
)


def parse_config(data: Mapping[str, Any]) -> Config:
    root = _Section(data, "")
    categories = root.texts("categories", ("general",), NAME_RE)
    config = Config(
        server=_read(root.table("server"), _server),
        pbx=root.text("pbx", "asterisk", choices=("asterisk", "freeswitch")),
        asterisk=_read(root.table("asterisk"), _asterisk),
        audiosocket=_read(root.table("audiosocket"), _audiosocket),
        database=_read(root.table("database"), _database),
        categories=categories,
        routing=_read(root.table("routing"), lambda r: _routing(r, categories)),
        agents=tuple(_read(a, _agent) for a in root.tables("agents")),
        crm=_read(root.table("crm"), _crm),
        sandbox=_read(root.table("sandbox"), _sandbox),
        reports=_read(root.table("reports"), _reports),
        media=_read(root.table("media"), _media),
        reporting=_read(root.table("reporting"), _reporting),
        recording=_read(root.table("recording"), _recording),
        wrapup=_read(root.table("wrapup"), _wrapup),
        freeswitch=_read(root.table("freeswitch"), _freeswitch),
    )
    root.done()
    if config.server.agent_cookie_samesite == "None" \
            and not config.server.public_url.startswith("https://"):
        raise ConfigError("server.agent_cookie_samesite",
                          '"None" needs an https:// public_url (browsers drop insecure '
                          "SameSite=None cookies)")
    _check_references(config)
    return config


def _check_references(config: Config) -> None:
    names = [a.username for a in config.agents]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ConfigError(f"agents[{i}].username", f"{name!r} is listed twice")
    if config.sandbox.enabled:
        known = {q.name for q in config.sandbox.queues}
        for i, agent in enumerate(config.agents):
            for queue in agent.queues:
                if queue not in known:
                    raise ConfigError(f"agents[{i}].queues", f"{queue!r} is not a sandbox queue")
        for queue in [config.routing.default_queue, *(r.queue for r in config.routing.rules)]:
            if queue not in known:
                raise ConfigError("routing", f"queue {queue!r} is not a sandbox queue")


def load_config(path: Path) -> Config:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None
    return parse_config(data)
