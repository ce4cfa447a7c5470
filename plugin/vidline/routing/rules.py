"""Routing: which native PBX queue a request goes to, with what priority.

Rules are tried in the order the config lists them and the first one that
matches wins, so an operator reads the file top to bottom the way the
decision is made. A request nothing matches goes to the default queue.
Last-agent routing (``preferred_agent``) is decided by the reporting issue;
this module leaves it unset.
"""

from __future__ import annotations

import functools
import re

from vidline.config import RoutingConfig, RoutingRule
from vidline.context.model import InteractionContext
from vidline.interactions.model import RouteDecision


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    # the config loader already compiled it once to validate it; caching keeps
    # routing at one dict lookup per rule instead of a compile per request
    return re.compile(pattern)


def _match(rule: RoutingRule, context: InteractionContext) -> str | None:
    """The reason text when ``rule`` matches ``context``, else None."""
    if rule.category is not None:
        return f"category:{rule.category}" if context.category == rule.category else None
    if rule.kiosk is not None:
        return f"kiosk:{rule.kiosk}" if context.kiosk_location == rule.kiosk else None
    if rule.page_pattern is not None and context.page_url is not None:
        if _compiled(rule.page_pattern).search(context.page_url):
            return f"page:{rule.page_pattern}"
    return None


def route(context: InteractionContext, routing: RoutingConfig) -> RouteDecision:
    for rule in routing.rules:
        reason = _match(rule, context)
        if reason is not None:
            return RouteDecision(queue=rule.queue, priority=rule.priority, reason=reason)
    return RouteDecision(queue=routing.default_queue, priority=routing.default_priority,
                         reason="default")
