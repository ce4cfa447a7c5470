"""CRM customer cards: the connector protocol, the built-in HTTP JSON
lookup and the loader of custom connectors (``vidline.crm`` entry points).

A connector turns an interaction's context into a :class:`CrmCard` (or
``None``: no record). The built-in ``http`` connector GETs a URL rendered
from ``crm.lookup.url_template`` (the same sandboxed, percent-encoding jinja2
as the pop link, :mod:`vidline.crm.links`), with the configured headers (an
API key, possibly read from the environment), and maps fields of the JSON
answer to labelled card rows by dotted paths (``list.0.name``). It is bounded
in time (``timeout``) and size (``MAX_RESPONSE``) and never follows
redirects. A custom connector is any package that declares::

    [options.entry_points]
    vidline.crm =
        mycrm = mypackage.crm:make_connector

where ``make_connector(config: CrmLookupConfig) -> CrmConnector``; select it
with ``crm.lookup.connector = "mycrm"`` (``crm.lookup.options`` is its own
free table).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import aiohttp
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment
from yarl import URL

from vidline.config import ConfigError, CrmLookupConfig
from vidline.context.model import InteractionContext
from vidline.crm.links import _finalize, _variables, is_safe_http_url

ENTRY_POINT_GROUP = "vidline.crm"
MAX_RESPONSE = 512 * 1024
MAX_VALUE = 500  # characters of one card value
MAX_FIELDS = 30


class CrmLookupError(Exception):
    """The CRM could not be asked or answered badly; ``str()`` is shown to
    the agent, so it names the problem without secrets."""


@dataclass(frozen=True, slots=True)
class CrmCard:
    title: str | None = None
    fields: tuple[tuple[str, str], ...] = ()
    url: str | None = None  # a link to the record (checked http(s))
    extra: dict[str, Any] = field(default_factory=dict)

    def wire(self) -> dict[str, Any]:
        return {"title": self.title, "url": self.url if self.url and is_safe_http_url(self.url)
                else None,
                "fields": [{"label": label, "value": value}
                           for label, value in self.fields[:MAX_FIELDS]]}


@runtime_checkable
class CrmConnector(Protocol):
    async def lookup(self, context: InteractionContext) -> CrmCard | None:
        """The customer's card, None when the CRM has no record; raises
        :class:`CrmLookupError` (or anything: it is caught) on failure."""
        ...

    async def close(self) -> None: ...


def pick(document: Any, path: str) -> Any:
    """The value at a dotted path (``items.0.name``); None when absent."""
    node = document
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit():
            index = int(part)
            node = node[index] if index < len(node) else None
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        items = [t for t in (_text(v) for v in value if not isinstance(v, list)) if t]
        return ", ".join(items)[:MAX_VALUE] if items else None
    text = str(value).strip()
    return text[:MAX_VALUE] if text else None


class HttpJsonConnector:
    def __init__(self, config: CrmLookupConfig) -> None:
        self._config = config
        env = SandboxedEnvironment(autoescape=False, finalize=_finalize)
        try:
            self._template = env.from_string(config.url_template)
        except TemplateError as exc:
            raise ConfigError("crm.lookup.url_template", f"is not a usable template: {exc}") \
                from None
        self._headers = dict(config.headers)
        for header, variable in config.headers_from_env:
            value = os.environ.get(variable, "")
            if any(c in value for c in "\r\n"):
                raise ConfigError("crm.lookup.headers_from_env", f"{variable} holds a line break")
            self._headers[header] = value
        self._headers.setdefault("Accept", "application/json")
        self._session: aiohttp.ClientSession | None = None

    def url_for(self, context: InteractionContext) -> str | None:
        try:
            url = self._template.render(_variables(context))
        except Exception:  # a sandbox refusal: no lookup
            return None
        return url if is_safe_http_url(url) else None

    async def lookup(self, context: InteractionContext) -> CrmCard | None:
        url = self.url_for(context)
        if url is None:
            raise CrmLookupError("the lookup URL could not be built from this customer's data")
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._config.timeout))
        try:
            # encoded=True: sent exactly as rendered (already percent-encoded)
            async with self._session.get(URL(url, encoded=True), headers=self._headers,
                                         allow_redirects=False) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise CrmLookupError(f"the CRM answered HTTP {response.status}")
                body = await response.content.read(MAX_RESPONSE + 1)
        except TimeoutError:
            raise CrmLookupError(
                f"the CRM did not answer within {self._config.timeout:g} s") from None
        except aiohttp.ClientError as exc:
            raise CrmLookupError(f"the CRM could not be reached ({type(exc).__name__})") \
                from None
        if len(body) > MAX_RESPONSE:
            raise CrmLookupError("the CRM's answer is too large")
        try:
            document = json.loads(body)
        except ValueError:
            raise CrmLookupError("the CRM's answer is not JSON") from None
        return self.card(document)

    def card(self, document: Any) -> CrmCard | None:
        fields = tuple((label, text) for label, path in self._config.fields
                       if (text := _text(pick(document, path))) is not None)
        title = _text(pick(document, self._config.title)) if self._config.title else None
        url = _text(pick(document, self._config.record_url)) \
            if self._config.record_url else None
        if not fields and title is None:
            return None  # an empty list or an empty object: no record
        return CrmCard(title, fields, url)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def load_connector(config: CrmLookupConfig) -> CrmConnector | None:
    """The configured connector, None when the lookup is off."""
    if not config.connector:
        return None
    if config.connector == "http":
        return HttpJsonConnector(config)
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP, name=config.connector)
    if not found:
        raise ConfigError("crm.lookup.connector",
                          f"no {ENTRY_POINT_GROUP!r} entry point named {config.connector!r} "
                          "is installed")
    factory = next(iter(found)).load()
    connector = factory(config)
    if not isinstance(connector, CrmConnector):
        raise ConfigError("crm.lookup.connector",
                          f"{config.connector!r} did not make a connector (lookup, close)")
    return connector
