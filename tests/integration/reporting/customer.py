"""A customer without a browser: the HTTP API and the status WebSocket,
as the widget uses them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp


class Customer:
    def __init__(self, http: aiohttp.ClientSession, iid: str, ws: Any) -> None:
        self.http = http
        self.id = iid
        self.ws = ws
        self.states: list[str] = []

    @classmethod
    async def start(cls, runtime: Any, **context: str) -> Customer:
        http = aiohttp.ClientSession()
        async with http.post(f"{runtime.base_url}/api/v1/interactions", json=context) as resp:
            assert resp.status == 201, await resp.text()
            body = await resp.json()
        ws = await http.ws_connect(body["ws_url"] + f"?token={body['token']}")
        return cls(http, str(body["id"]), ws)

    async def wait_state(self, state: str, timeout: float = 15.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while state not in self.states:
                message = await self.ws.receive_json()
                if message.get("type") == "status":
                    self.states.append(str(message["state"]))

    async def hang_up(self) -> None:
        await self.ws.send_json({"type": "hangup"})

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()
