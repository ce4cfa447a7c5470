"""The customer API over real HTTP: validation, caps, rate limit, headers,
static files."""

from __future__ import annotations

import json

import pytest

from tests.integration.web.conftest import Web, WebFactory, make_config
from tests.unit.web.test_context_validate import HOSTILE

URL = "/api/v1/interactions"


async def test_valid_request_returns_id_token_and_ws_url(web: Web) -> None:
    response = await web.client.post(URL, json={
        "customer_id": "c-42", "phone": "+49 30 1234567", "category": "sales",
        "page_url": "https://shop.example.com/cart", "kiosk_location": "Lobby",
        "extra": {"plan": "gold"}})
    assert response.status == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = await response.json()
    assert set(body) == {"id", "token", "ws_url"}
    assert len(body["token"]) >= 32
    port = web.client.server.port
    assert body["ws_url"] == f"ws://127.0.0.1:{port}/api/v1/interactions/{body['id']}/ws"
    context, client = web.fake.created[0]
    assert context.phone == "+49301234567" and context.extra == {"plan": "gold"}
    assert client == "127.0.0.1"


@pytest.mark.parametrize("field", ["customer_id", "phone", "page_url", "category",
                                   "kiosk_location", "extra.note"])
@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_values_over_http(web: Web, field: str, name: str) -> None:
    value = HOSTILE[name]
    body: dict[str, object] = {"extra": {"note": value}} if field == "extra.note" \
        else {field: value}
    response = await web.client.post(URL, json=body)
    if response.status == 201:
        # carried: exactly as sent, nothing added or cut
        context, _ = web.fake.created[-1]
        carried = context.extra["note"] if field == "extra.note" else getattr(context, field)
        assert carried == value
        assert field in ("kiosk_location", "extra.note")
    else:
        assert response.status == 400
        error = await response.json()
        assert error["error"] == "invalid_context" and error["field"] == field
        assert error["message"]
        assert not web.fake.created


@pytest.mark.parametrize(("raw", "field"), [
    (b'{"kiosk_location": "Lobby \xff\xfe"}', "kiosk_location"),
    (b'{"customer_id": "ab\xc3"}', "customer_id"),
    (b'{"extra": {"n": "\xed\xa0\x80"}}', "extra.n"),
    (b'\xff{}', "body"),
    (b'not json', "body"),
    (b'[1, 2]', "body"),
])
async def test_invalid_utf8_and_bad_json_are_400_naming_the_field(web: Web, raw: bytes,
                                                                  field: str) -> None:
    response = await web.client.post(URL, data=raw,
                                     headers={"Content-Type": "application/json"})
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_unknown_top_level_key_is_refused(web: Web) -> None:
    response = await web.client.post(URL, json={"category": "billing", "queue": "vip"})
    assert response.status == 400
    assert await response.json() == {
        "error": "invalid_context", "field": "queue",
        "message": "unknown field (allowed: customer_id, phone, page_url, category, "
                   "kiosk_location, extra)"}


async def test_not_json_content_type_is_415(web: Web) -> None:
    response = await web.client.post(URL, data="customer_id=1",
                                     headers={"Content-Type": "text/plain"})
    assert response.status == 415


async def test_body_over_the_cap_is_413_with_and_without_content_length(
        web_factory: WebFactory) -> None:
    web = await web_factory(make_config(max_body_bytes=2048))
    big = json.dumps({"kiosk_location": "x" * 3000}).encode()
    response = await web.client.post(URL, data=big,
                                     headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert (await response.json())["error"] == "body_too_large"

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(3):
            yield b" " * 1000  # chunked: no Content-Length to check up front

    response = await web.client.post(URL, data=chunks(),
                                     headers={"Content-Type": "application/json"})
    assert response.status == 413
    # just under the cap is fine
    ok = json.dumps({"extra": {"a": "x" * 200}}).encode().ljust(2048)
    response = await web.client.post(URL, data=ok, headers={"Content-Type": "application/json"})
    assert response.status == 201
    assert not any(c.kiosk_location for c, _ in web.fake.created)


async def test_rate_limit_429_with_retry_after(web_factory: WebFactory) -> None:
    web = await web_factory(make_config(requests_per_minute=3))
    statuses = []
    for _ in range(3):
        statuses.append((await web.client.post(URL, json={})).status)
    refused = await web.client.post(URL, json={})
    assert statuses == [201, 201, 201]
    assert refused.status == 429
    assert refused.headers["Retry-After"] == "20"
    assert (await refused.json())["error"] == "rate_limited"
    assert len(web.fake.created) == 3


async def test_security_headers_on_every_response(web_factory: WebFactory) -> None:
    web = await web_factory(make_config(frame_ancestors=["'self'", "https://shop.example.com"]))
    for path in ("/", "/widget/vidline.js", "/api/v1/config/public", "/agent/login",
                 "/nope"):
        response = await web.client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        if path.startswith("/agent"):
            assert "frame-ancestors 'self';" in csp
        else:
            assert "frame-ancestors 'self' https://shop.example.com;" in csp
    error = await web.client.post(URL, json={"phone": "x"})
    assert error.headers["X-Content-Type-Options"] == "nosniff"


async def test_customer_page_and_widget_content_types_and_caching(web: Web) -> None:
    page = await web.client.get("/")
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Cache-Control"] == "no-cache"
    html = await page.text()
    assert '<script src="/widget/vidline.js"' in html and 'id="vidline"' in html
    js = await web.client.get("/widget/vidline.js")
    assert js.headers["Content-Type"] == "application/javascript; charset=utf-8"
    assert js.headers["Cache-Control"] == "public, max-age=300"
    assert js.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    text = await js.text()
    assert "vl-status" in text and "vl-hangup" in text and "innerHTML" not in text
    again = await web.client.get("/widget/vidline.js",
                                 headers={"If-None-Match": js.headers["ETag"]})
    assert again.status == 304 and await again.read() == b""


async def test_public_config_and_cors_for_embedding_sites(web: Web) -> None:
    response = await web.client.get("/api/v1/config/public")
    body = await response.json()
    assert body["categories"] == ["billing", "technical", "sales"]
    assert (body["lang"], body["strings"]) == ("en", {})  # English is built into the widget
    german = await (await web.client.get("/api/v1/config/public?lang=de-CH,en")).json()
    assert german["lang"] == "de" and german["strings"]["submit"] == "Video-Chat starten"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    preflight = await web.client.options(URL, headers={
        "Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
