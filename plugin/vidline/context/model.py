"""The customer's request context, as vidline keeps it once validated.

Everything here has passed :mod:`vidline.context.validate`; the rest of the
code may rely on the documented charsets and lengths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class InteractionContext:
    """What the customer (or the site embedding the widget) told us.

    customer_id: ``[A-Za-z0-9._@:+-]``, at most 64 characters, or ``None``.
    phone: E.164-ish digits with an optional leading ``+``, or ``None``.
    page_url: an absolute http(s) URL of at most 2048 characters, or ``None``.
    category: one of the configured categories, or ``None``.
    kiosk_location: printable text of at most 64 characters, or ``None``.
    extra: free key/values from the site (keys ``[a-z0-9_]``, values text);
        they are shown to the agent but never sent to the PBX.
    """

    customer_id: str | None = None
    phone: str | None = None
    page_url: str | None = None
    category: str | None = None
    kiosk_location: str | None = None
    extra: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def as_dict(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "phone": self.phone,
            "page_url": self.page_url,
            "category": self.category,
            "kiosk_location": self.kiosk_location,
            "extra": dict(self.extra),
        }
