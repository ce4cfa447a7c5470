"""The config loader: the shipped demo and example configs load, and every
kind of bad value stops it with an error naming the key."""

from __future__ import annotations

import base64
import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest

from vidline.cli import load_demo_config
from vidline.config import ConfigError, load_config, parse_config
from vidline.context.model import InteractionContext
from vidline.routing.rules import route

REPO = Path(__file__).resolve().parents[2]


def test_demo_config_loads_with_the_sandbox_and_sqlite_under_var() -> None:
    config = load_demo_config()
    assert config.sandbox.enabled
    assert config.database.url == "sqlite:///var/vidline-demo.db"
    assert config.server.host == config.sandbox.ami_host == "127.0.0.1"
    assert config.sandbox.ami_port == 0 and config.audiosocket.listen_port == 0
    assert config.categories == ("billing", "technical", "sales")
    assert {q.name: q.strategy for q in config.sandbox.queues} == {
        "support": "ringall", "sales": "rrmemory", "kiosk": "leastrecent"}
    assert [a.username for a in config.agents] == ["alice", "bob"]
    assert "{{ customer_id }}" in config.crm.url_template
    assert route(InteractionContext(category="sales"), config.routing).queue == "sales"
    assert route(InteractionContext(kiosk_location="lobby"), config.routing).priority == 10


@pytest.mark.parametrize("name", ["alice", "bob"])
def test_demo_passwords_are_the_usernames(name: str) -> None:
    agent = next(a for a in load_demo_config().agents if a.username == name)
    kind, n, r, p, salt, digest = agent.password_hash.split("$")
    assert (kind, n, r, p) == ("scrypt", "16384", "8", "1")
    assert base64.b64decode(digest) == hashlib.scrypt(
        name.encode(), salt=base64.b64decode(salt), n=16384, r=8, p=1, dklen=32)


def test_example_config_loads_and_is_a_production_config() -> None:
    config = load_config(REPO / "vidline.example.toml")
    assert not config.sandbox.enabled
    assert config.database.url.startswith("mysql://")
    assert config.asterisk.permit == ("10.0.0.10/255.255.255.255",)
    assert config.audiosocket.connect_host == "10.0.0.10"
    assert len(config.routing.rules) == 4


def test_example_documents_every_key() -> None:
    """Each key the loader reads appears in the example, set or commented."""
    import re

    text = (REPO / "vidline.example.toml").read_text()
    source = "".join(path.read_text() for path in
                     sorted((REPO / "plugin" / "vidline" / "config").glob("*.py")))
    keys = set(re.findall(r'\bs\.(?:text|integer|number|flag|texts|table|tables)\("(\w+)"',
                          source))
    keys |= set(re.findall(r'\broot\.(?:text|texts|table|tables)\("(\w+)"', source))
    assert len(keys) > 40
    missing = [k for k in sorted(keys)
               if not re.search(rf"^(#\s*)?(\[+[\w.]*\b)?{k}\b", text, re.M)]
    assert missing == []


BASE: dict[str, Any] = {
    "categories": ["billing", "sales"],
    "agents": [{
        "username": "alice", "interface": "PJSIP/1001", "member_name": "Agent Alice",
        "password_hash": "scrypt$16384$8$1$5d6/pjNYMyAHUR0ycO4Sew=="
                         "$IbsBbTSlc4m5eQl+fPQkMaArsGF/sbX6dQbn1PN7Hy4=",
        "queues": ["support"]}],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    parts = path.split(".")
    for part in parts[:-1]:
        if part.endswith("]"):
            name, index = part[:-1].split("[")
            node = node[name][int(index)]
        else:
            node = node.setdefault(part, {})
    node[parts[-1]] = value
    return data


@pytest.mark.parametrize(("path", "value", "key", "problem"), [
    # wrong type
    ("server.port", "8080", "server.port", "must be an integer"),
    ("server.port", True, "server.port", "must be an integer, not a boolean"),
    ("sandbox.enabled", "yes", "sandbox.enabled", "must be true or false"),
    ("asterisk.ping_interval", "10", "asterisk.ping_interval", "must be an integer or a number"),
    ("categories", "billing", "categories", "must be an array"),
    ("server", "x", "server", "must be a table"),
    # out of range
    ("server.port", 65536, "server.port", "65536 is outside 0..65535"),
    ("routing.queue_timeout", 0, "routing.queue_timeout", "0 is outside 1..86400"),
    ("asterisk.writetimeout", 50, "asterisk.writetimeout", "50 is outside 100..600000"),
    ("audiosocket.sample_rate", 11025, "audiosocket.sample_rate", "must be 8000 or 16000"),
    # not one of the choices
    ("pbx", "cisco", "pbx", "'cisco' is not one of asterisk, freeswitch"),
    ("crm.open_in", "popup", "crm.open_in", "is not one of tab, iframe"),
    # bad syntax
    ("routing.default_queue", "sup port", "routing.default_queue", "does not match"),
    ("routing.default_queue", "support\n", "routing.default_queue", "does not match"),
    ("server.host", "0.0.0.0\nx", "server.host", "does not match"),
    ("server.public_url", "ftp://x", "server.public_url", "does not match"),
    ("asterisk.secret", "two words ", "asterisk.secret", "does not match"),
    ("asterisk.secret", "semi;colon", "asterisk.secret", "must not contain ';'"),
    ("asterisk.permit", ["10.0.0.0/8 ; x"], "asterisk.permit[0]", "does not match"),
    ("asterisk.permit", [8], "asterisk.permit[0]", "must be a string"),
    ("agents[0].interface", "1001", "agents[0].interface", "does not match"),
    ("agents[0].member_name", "Alice, 2", "agents[0].member_name", "does not match"),
    ("agents[0].password_hash", "scrypt$x", "agents[0].password_hash", "does not match"),
    ("agents[0].display_name", "A\x1b[31m", "agents[0].display_name", "does not match"),
    ("database.url", "postgres://db/x", "database.url", "does not match"),
    ("database.url", "mysql://db:port/x", "database.url", "Port could not be cast"),
    ("database.url", "mysql://db/", "database.url", "database url must be"),
    ("categories", ["ok", "no way"], "categories[1]", "does not match"),
    # unknown or missing keys
    ("server.prot", 1, "server.prot", "unknown key"),
    ("agents[0].username", None, "agents[0].username", "is required"),
    # cross-field and cross-table checks
    ("asterisk.reconnect_min", 60, "asterisk.reconnect_min", "must not exceed reconnect_max"),
    ("routing.rules", [{"queue": "q"}], "routing.rules[0]",
     "needs exactly one of category, kiosk, page_pattern"),
    ("routing.rules", [{"queue": "q", "category": "x"}], "routing.rules[0].category",
     "'x' is not in categories"),
    ("routing.rules", [{"queue": "q", "page_pattern": "(["}], "routing.rules[0].page_pattern",
     "not a regular expression"),
    ("routing.rules", [{"queue": "q", "kiosk": "lobby\n"}], "routing.rules[0].kiosk",
     "does not match"),
    ("routing.rules", [{"category": "billing"}], "routing.rules[0].queue", "is required"),
    ("agents", [BASE["agents"][0], BASE["agents"][0]], "agents[1].username", "listed twice"),
    ("sandbox", {"enabled": True, "queues": [{"name": "other"}]}, "agents[0].queues",
     "'support' is not a sandbox queue"),
    ("sandbox", {"queues": [{"name": "q", "strategy": "fifo"}]}, "sandbox.queues[0].strategy",
     "is not one of"),
])
def test_bad_value_names_its_key(path: str, value: Any, key: str, problem: str) -> None:
    data = _with(path, value)
    if value is None:
        del data["agents"][0]["username"]
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert err.value.key == key
    assert problem in err.value.problem
    assert str(err.value).startswith(f"config key {key}: ")


def test_match_does_not_let_a_trailing_newline_through() -> None:
    # re.match with "$" accepts "name\n": the loader uses fullmatch
    for path in ("asterisk.username", "asterisk.context", "sandbox.ami_host"):
        with pytest.raises(ConfigError) as err:
            parse_config(_with(path, "vidline\n"))
        assert err.value.key == path


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "missing.toml")
    assert "cannot be read" in err.value.problem
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError) as err:
        load_config(bad)
    assert err.value.key == str(bad) and "is not valid TOML" in err.value.problem
