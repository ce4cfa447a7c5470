"""Routing rules: order, first match, each matcher kind, the default."""

from __future__ import annotations

import pytest

from vidline.config import RoutingConfig, RoutingRule, parse_config
from vidline.context.model import InteractionContext
from vidline.interactions.model import RouteDecision
from vidline.routing.rules import route

ROUTING = RoutingConfig(
    default_queue="support",
    default_priority=1,
    rules=(
        RoutingRule(queue="vip", priority=9, page_pattern=r"/premium/"),
        RoutingRule(queue="billing", priority=5, category="billing"),
        RoutingRule(queue="kiosk", priority=3, kiosk="k07"),
        RoutingRule(queue="sales", priority=2, page_pattern=r"^https://shop\.example\.com/"),
        RoutingRule(queue="sales-late", priority=0, category="sales"),
    ),
)


@pytest.mark.parametrize(("context", "expected"), [
    (InteractionContext(category="billing"), RouteDecision("billing", 5, "category:billing")),
    (InteractionContext(kiosk_location="k07"), RouteDecision("kiosk", 3, "kiosk:k07")),
    (InteractionContext(page_url="https://shop.example.com/cart?x=1"),
     RouteDecision("sales", 2, r"page:^https://shop\.example\.com/")),
    # first match wins: the page rule is listed before the category rule
    (InteractionContext(category="billing", page_url="https://a.example/premium/x"),
     RouteDecision("vip", 9, "page:/premium/")),
    # the category rule comes before the kiosk rule
    (InteractionContext(category="billing", kiosk_location="k07"),
     RouteDecision("billing", 5, "category:billing")),
    # search, not match: the pattern may sit anywhere in the URL
    (InteractionContext(page_url="https://other.example/a/premium/b"),
     RouteDecision("vip", 9, "page:/premium/")),
    # a URL pattern anchored at the start does not match elsewhere
    (InteractionContext(page_url="https://evil.example/?u=https://shop.example.com/"),
     RouteDecision("support", 1, "default")),
    (InteractionContext(category="sales"), RouteDecision("sales-late", 0, "category:sales")),
    (InteractionContext(kiosk_location="k08"), RouteDecision("support", 1, "default")),
    (InteractionContext(kiosk_location="K07"), RouteDecision("support", 1, "default")),
    (InteractionContext(), RouteDecision("support", 1, "default")),
])
def test_route(context: InteractionContext, expected: RouteDecision) -> None:
    assert route(context, ROUTING) == expected


def test_no_rules_gives_default_and_no_preferred_agent() -> None:
    decision = route(InteractionContext(category="billing"), RoutingConfig(default_queue="q1"))
    assert decision == RouteDecision("q1", 0, "default")
    assert decision.preferred_agent is None


def test_rules_from_toml_route_the_same_way() -> None:
    config = parse_config({
        "categories": ["billing", "technical"],
        "routing": {"default_queue": "support", "rules": [
            {"category": "technical", "queue": "tech", "priority": 4},
            {"kiosk": "lobby-1", "queue": "kiosk", "priority": 7},
        ]},
    })
    assert route(InteractionContext(category="technical"), config.routing) == RouteDecision(
        "tech", 4, "category:technical")
    assert route(InteractionContext(kiosk_location="lobby-1"), config.routing) == RouteDecision(
        "kiosk", 7, "kiosk:lobby-1")
    assert route(InteractionContext(category="billing"), config.routing) == RouteDecision(
        "support", 0, "default")
