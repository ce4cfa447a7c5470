"""The panel inside the agent desktop's iframe: CSP frame-ancestors of the
/agent pages and the cookies' SameSite come from the config; "None" needs
https; the customer page keeps its own frame_ancestors."""

from __future__ import annotations

import pytest

from tests.integration.web.conftest import PASSWORD, WebFactory, make_config
from tests.integration.web.test_agent_http import csrf_in
from vidline.config import ConfigError


async def test_agent_frame_ancestors_and_cookie_samesite_from_config(
    web_factory: WebFactory,
) -> None:
    default = await web_factory()
    page = await default.client.get("/agent/login")
    assert "frame-ancestors 'self';" in page.headers["Content-Security-Policy"]

    web = await web_factory(make_config(
        public_url="https://panel.example.com",
        agent_frame_ancestors=["'self'", "https://desktop.example.com"],
        frame_ancestors=["https://shop.example.com"], agent_cookie_samesite="None"))
    login_page = await web.client.get("/agent/login")
    csp = login_page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://desktop.example.com;" in csp
    login_cookie = login_page.headers["Set-Cookie"]
    assert "SameSite=None" in login_cookie and "Secure" in login_cookie
    # the test client keeps Secure cookies to itself over http: send it by hand
    token = csrf_in(await login_page.text())
    logged = await web.client.post("/agent/login", allow_redirects=False, headers={
        "Cookie": f"vidline_login_csrf={token}"}, data={
        "username": "alice", "password": PASSWORD, "csrf_token": token})
    assert logged.status == 303
    session = next(v for v in logged.headers.getall("Set-Cookie")
                   if v.startswith("vidline_session="))
    assert "SameSite=None" in session and "Secure" in session and "HttpOnly" in session
    customer = await web.client.get("/")
    assert "frame-ancestors https://shop.example.com;" in \
        customer.headers["Content-Security-Policy"]


def test_samesite_none_needs_https_and_ancestors_are_checked() -> None:
    with pytest.raises(ConfigError) as err:
        make_config(agent_cookie_samesite="None")
    assert err.value.key == "server.agent_cookie_samesite"
    with pytest.raises(ConfigError) as err:
        make_config(agent_frame_ancestors=["https://a.example; script-src *"])
    assert err.value.key == "server.agent_frame_ancestors[0]"
