"""Validation of the customer's request context: untrusted JSON in, an
:class:`InteractionContext` whose fields keep their documented charsets out.

Every field is optional: an anonymous request (no customer id, no phone) is
allowed, because a kiosk or a logged-out visitor has neither; the agent then
sees only the page, category and kiosk. ``null`` and the empty string both
mean "not given", so a form can post its empty inputs as they are.

Rules are allow-lists, not deny-lists: what reaches the PBX (customer id,
phone, category) can only hold characters that are inert in an AMI header and
a dialplan; the free-text fields (kiosk, extra) refuse control and format
characters (CR/LF, bidi overrides) so that they display as they read.

Invalid UTF-8 in the body is carried into the JSON parse as lone surrogates
(``surrogateescape``) so that the error can name the field that held it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlsplit

from vidline.context.model import InteractionContext

FIELDS = ("customer_id", "phone", "page_url", "category", "kiosk_location", "extra")
CUSTOMER_ID_RE = re.compile(r"[A-Za-z0-9._@:+-]{1,64}")
PHONE_RE = re.compile(r"\+?[0-9]{3,15}")
PHONE_SEPARATORS = str.maketrans("", "", " -.()")
EXTRA_KEY_RE = re.compile(r"[a-z0-9_]{1,32}")
MAX_PHONE_INPUT = 32  # separators included; bounds the work before the regex
MAX_URL = 2048
MAX_KIOSK = 64
MAX_EXTRA_KEYS = 16
MAX_EXTRA_VALUE = 256
# Cc control, Cf format (bidi overrides, zero-width), Cs lone surrogates
# (invalid UTF-8 after surrogateescape), Co/Cn private/unassigned, Zl/Zp
# line and paragraph separators: none of them belongs in one line of text.
_BAD_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))


class ContextError(ValueError):
    """A field of the request is unacceptable; ``field`` names it for the
    4xx answer (``extra.<key>`` for a free value, ``body`` for the whole)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def decode_body(raw: bytes) -> object:
    """Parse a JSON request body; invalid UTF-8 survives as lone surrogates
    that :func:`parse_context` rejects naming the field."""
    try:
        text = raw.decode("utf-8", "surrogateescape")
        return json.loads(text)
    except (ValueError, RecursionError):
        raise ContextError("body", "is not a JSON object") from None


def parse_context(raw: object, categories: tuple[str, ...]) -> InteractionContext:
    if not isinstance(raw, Mapping):
        raise ContextError("body", "must be a JSON object")
    for key in raw:
        if not isinstance(key, str) or _has_bad_char(key):
            raise ContextError("body", "holds a key that is not valid text")
        if key not in FIELDS:
            raise ContextError(key[:64], f"unknown field (allowed: {', '.join(FIELDS)})")
    return InteractionContext(
        customer_id=_customer_id(_text(raw, "customer_id")),
        phone=_phone(_text(raw, "phone")),
        page_url=_page_url(_text(raw, "page_url")),
        category=_category(_text(raw, "category"), categories),
        kiosk_location=_kiosk(_text(raw, "kiosk_location")),
        extra=_extra(raw.get("extra")),
    )


def _text(raw: Mapping[str, object], name: str) -> str | None:
    value = raw.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ContextError(name, "must be a string")
    if any(0xD800 <= ord(c) <= 0xDFFF for c in value):
        raise ContextError(name, "is not valid UTF-8")
    return value


def _has_bad_char(value: str) -> bool:
    return any(unicodedata.category(c) in _BAD_CATEGORIES for c in value)


def _customer_id(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > 64:
        raise ContextError("customer_id", "must be at most 64 characters")
    if not CUSTOMER_ID_RE.fullmatch(value):
        raise ContextError("customer_id", "may only hold letters, digits and . _ @ : + -")
    return value


def _phone(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_PHONE_INPUT:
        raise ContextError("phone", f"must be at most {MAX_PHONE_INPUT} characters")
    digits = value.translate(PHONE_SEPARATORS)
    if not PHONE_RE.fullmatch(digits):
        raise ContextError("phone", "must be 3 to 15 digits, optionally after a +")
    return digits


def _page_url(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_URL:
        raise ContextError("page_url", f"must be at most {MAX_URL} characters")
    # browsers serialise location.href as ASCII (punycode, percent-encoding);
    # anything else, and any space or control byte, is not a URL they sent
    if not value.isascii() or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value):
        raise ContextError("page_url", "must be printable ASCII without spaces")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ContextError("page_url", "is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ContextError("page_url", "must be an absolute http or https URL")
    return value


def _category(value: str | None, categories: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    if value not in categories:
        raise ContextError("category", "is not one of the configured categories")
    return value


def _kiosk(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_KIOSK:
        raise ContextError("kiosk_location", f"must be at most {MAX_KIOSK} characters")
    if _has_bad_char(value) or not value.strip():
        raise ContextError("kiosk_location", "must be printable text")
    return value


def _extra(value: object) -> Mapping[str, str]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise ContextError("extra", "must be an object of string values")
    if len(value) > MAX_EXTRA_KEYS:
        raise ContextError("extra", f"may hold at most {MAX_EXTRA_KEYS} keys")
    result: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not EXTRA_KEY_RE.fullmatch(key):
            raise ContextError("extra", "keys must match [a-z0-9_]{1,32}")
        name = f"extra.{key}"
        if not isinstance(item, str):
            raise ContextError(name, "must be a string")
        if len(item) > MAX_EXTRA_VALUE:
            raise ContextError(name, f"must be at most {MAX_EXTRA_VALUE} characters")
        if any(0xD800 <= ord(c) <= 0xDFFF for c in item):
            raise ContextError(name, "is not valid UTF-8")
        if _has_bad_char(item):
            raise ContextError(name, "must not hold control characters")
        result[key] = item
    return MappingProxyType(result)
