"""The CRM lookup's pieces without a network: config checks, the field
mapping, the URL template's escaping, and custom connectors found through a
real ``vidline.crm`` entry point (a dist-info directory on sys.path)."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from vidline.config import ConfigError, CrmLookupConfig, parse_config
from vidline.context.model import InteractionContext
from vidline.crm.lookup import CrmCard, HttpJsonConnector, load_connector, pick


def lookup(**values: Any) -> CrmLookupConfig:
    return parse_config({"crm": {"lookup": values}}).crm.lookup


def test_config_refuses_header_injection_and_needs_a_url() -> None:
    with pytest.raises(ConfigError) as err:
        lookup(connector="http", url_template="http://crm/x", headers={"X-Key": "a\r\nEvil: 1"})
    assert err.value.key == "crm.lookup.headers.X-Key"
    with pytest.raises(ConfigError) as err:
        lookup(connector="http", url_template="http://crm/x", headers={"Bad Name": "v"})
    assert err.value.key == "crm.lookup.headers"
    with pytest.raises(ConfigError) as err:
        lookup(connector="http")
    assert err.value.key == "crm.lookup.url_template"
    with pytest.raises(ConfigError) as err:
        lookup(connector="http", url_template="http://crm/x", fields={"Name": "a..b"})
    assert err.value.key == "crm.lookup.fields.Name"
    with pytest.raises(ConfigError) as err:
        lookup(connector="http", url_template="http://crm/x", bogus=1)
    assert err.value.key == "crm.lookup.bogus"
    assert load_connector(lookup()) is None  # off by default


def test_pick_and_card_mapping() -> None:
    doc = {"list": [{"name": "Ada", "tags": ["a", "b"], "n": 0, "nested": {"x": 1}}]}
    assert pick(doc, "list.0.name") == "Ada"
    assert pick(doc, "list.1.name") is None
    assert pick(doc, "list.name") is None
    connector = HttpJsonConnector(lookup(
        connector="http", url_template="http://crm/x", title="list.0.name",
        fields={"Tags": "list.0.tags", "Count": "list.0.n", "Obj": "list.0.nested"},
        record_url="list.0.name"))
    card = connector.card(doc)
    assert card == CrmCard("Ada", (("Tags", "a, b"), ("Count", "0")), "Ada")
    assert card is not None and card.wire()["url"] is None  # not an http(s) link
    assert connector.card({"list": []}) is None


def test_url_values_are_escaped_and_env_headers_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VL_TEST_CRM_KEY", "secret-1")
    connector = HttpJsonConnector(lookup(
        connector="http", url_template="https://crm.example/api?q={{ phone }}&c={{ extra.x }}",
        headers_from_env={"X-Api-Key": "VL_TEST_CRM_KEY"}))
    context = InteractionContext(phone="+155", extra={"x": "a/b?c#d e"})
    assert connector.url_for(context) == "https://crm.example/api?q=%2B155&c=a%2Fb%3Fc%23d%20e"
    assert connector._headers["X-Api-Key"] == "secret-1"
    hostile = HttpJsonConnector(lookup(connector="http", url_template="{{ page_url }}"))
    assert hostile.url_for(InteractionContext(page_url="javascript:alert(1)")) is None


async def test_custom_connector_through_an_entry_point(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "acme_crm.py"
    package.write_text(textwrap.dedent('''
        from vidline.crm.lookup import CrmCard

        class Acme:
            def __init__(self, config):
                self.greeting = dict(config.options)["greeting"]

            async def lookup(self, context):
                return CrmCard(self.greeting + " " + (context.customer_id or "?"))

            async def close(self):
                pass

        def make(config):
            return Acme(config)
    '''))
    dist = tmp_path / "acme_crm-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-crm\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[vidline.crm]\nacme = acme_crm:make\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    connector = load_connector(lookup(connector="acme", options={"greeting": "Hi"}))
    assert connector is not None
    card = await connector.lookup(InteractionContext(customer_id="c-1"))
    assert card == CrmCard("Hi c-1")
    await connector.close()
    sys.modules.pop("acme_crm", None)
    with pytest.raises(ConfigError) as err:
        load_connector(lookup(connector="nosuch"))
    assert "no 'vidline.crm' entry point named 'nosuch'" in str(err.value)
