"""ICE servers for both ends of a call, from the [media] config only.

There is no built-in public STUN server: a contact center's calls must not
depend on, or leak addresses to, a third party nobody configured. TURN
servers without static credentials get short-lived ones the way coturn's
``use-auth-secret`` / ``static-auth-secret`` expects (the "TURN REST API"
draft): the username is ``<expiry unix time>:<label>`` and the password is
base64(HMAC-SHA1(secret, username)). coturn recomputes the HMAC, so nothing
is stored and a leaked credential dies after ``turn_ttl`` seconds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from aiortc import RTCConfiguration, RTCIceServer
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceTransportPolicy

from vidline.config import MediaConfig


def turn_rest_credentials(secret: str, label: str, ttl: int,
                          now: float | None = None) -> tuple[str, str]:
    expiry = int(time.time() if now is None else now) + ttl
    username = f"{expiry}:{label}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers(config: MediaConfig, label: str,
                now: float | None = None) -> list[dict[str, object]]:
    """The servers as the browser's ``RTCConfiguration.iceServers`` takes them."""
    out: list[dict[str, object]] = []
    for server in config.ice_servers:
        entry: dict[str, object] = {"urls": list(server.urls)}
        is_turn = any(u.startswith("turn") for u in server.urls)
        if server.username:
            entry["username"], entry["credential"] = server.username, server.credential
        elif is_turn and config.turn_secret:
            entry["username"], entry["credential"] = turn_rest_credentials(
                config.turn_secret, label, config.turn_ttl, now)
        elif is_turn:
            continue  # a TURN server without any credential cannot be used
        out.append(entry)
    return out


def browser_config(config: MediaConfig, label: str) -> dict[str, object]:
    return {"iceServers": ice_servers(config, label),
            "iceTransportPolicy": "relay" if config.relay_only else "all"}


def rtc_configuration(config: MediaConfig, label: str) -> RTCConfiguration:
    """aiortc's configuration. The policy must be the enum: aiortc looks it
    up in a dict keyed by the enum, so the string "relay" fails only later,
    inside ICE gathering.

    Max-bundle, because with aiortc 1.16's default ("balanced") a second
    video m-line in a browser's offer gets the first video m-line's
    transport before BUNDLE moves that one to the shared transport, so the
    second is left on a transport that never starts and its sender never
    runs (the agent's screen share never reached the customer)."""
    servers = [RTCIceServer(urls=list(e["urls"]),  # type: ignore[call-overload]
                            username=e.get("username"),  # type: ignore[arg-type]
                            credential=e.get("credential"))  # type: ignore[arg-type]
               for e in ice_servers(config, label)]
    policy = RTCIceTransportPolicy.RELAY if config.relay_only else RTCIceTransportPolicy.ALL
    return RTCConfiguration(iceServers=servers, iceTransportPolicy=policy,
                            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
