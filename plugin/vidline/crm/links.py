"""CRM links for agent pops, rendered from ``crm.url_template``.

The template is jinja2 in a sandboxed environment, with the context fields
as variables (``customer_id``, ``phone``, ``page_url``, ``category``,
``kiosk_location``, ``extra``), e.g.
``https://crm.example.com/find?phone={{ phone }}&id={{ customer_id }}``.

Every ``{{ ... }}`` output is percent-encoded (``finalize``), whatever
filters the template applies, so a value can never add a parameter, a path,
a fragment or a scheme. The result must still be an absolute http(s) URL
without spaces or control characters, or no link is shown at all: a
template that starts with a value (``{{ page_url }}``) therefore yields
nothing rather than a ``javascript:`` link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from vidline.config import ConfigError, CrmConfig
from vidline.context.model import InteractionContext

MAX_URL = 4096


def _finalize(value: Any) -> str:
    if value is None:
        return ""
    return quote(str(value), safe="")


class CrmLinks:
    def __init__(self, config: CrmConfig) -> None:
        self.open_in = config.open_in
        self._template = None
        self._source = config.url_template
        if not config.url_template:
            return
        env = SandboxedEnvironment(autoescape=False, finalize=_finalize)
        try:
            self._template = env.from_string(config.url_template)
            self._template.render(_variables(InteractionContext()))
        except (TemplateError, ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError("crm.url_template", f"is not a usable template: {exc}") from None

    def url_for(self, context: InteractionContext) -> str | None:
        if self._template is None:
            return None
        try:
            url = self._template.render(_variables(context))
        except Exception:  # a sandbox refusal or any runtime error: no link, but the pop goes
            return None
        return url if is_safe_http_url(url) else None

    def frame_origin(self) -> str | None:
        """The origin an iframe must be allowed to load (CSP frame-src) when
        the template's literal start fixes it; ``None`` when the scheme or
        host itself comes from a value."""
        prefix = self._source.split("{", 1)[0]
        scheme, sep, rest = prefix.partition("://")
        host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
        if not sep or scheme not in ("http", "https") or (host == rest and prefix != self._source):
            return None
        origin = f"{scheme}://{host}"
        return origin if is_safe_http_url(origin) else None


def is_safe_http_url(url: str) -> bool:
    if not url or len(url) > MAX_URL or not url.isascii():
        return False
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _variables(context: InteractionContext) -> dict[str, Any]:
    return {
        "customer_id": context.customer_id,
        "phone": context.phone,
        "page_url": context.page_url,
        "category": context.category,
        "kiosk_location": context.kiosk_location,
        "extra": dict(context.extra),
    }
