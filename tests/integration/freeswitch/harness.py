"""vidline with pbx = "freeswitch" against the sandbox PBX's ESL face, with a
recording TCP proxy in between: every byte vidline writes to the ESL socket is
kept, and the proxy can cut the link like a network failure would."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from typing import Any

from tests.conftest import make_config
from vidline.pbx.freeswitch.wiring import start_sandbox


def fs_config(db_url: str, *, auto_answer: float | None = None) -> Any:
    config = make_config(db_url, auto_answer=auto_answer)
    base = random.randrange(20000, 60000, 100)  # FreeSWITCH-side unicast ports
    return dataclasses.replace(
        config, pbx="freeswitch",
        sandbox=dataclasses.replace(config.sandbox, esl_port=0),
        server=dataclasses.replace(config.server, requests_per_minute=100_000),
        freeswitch=dataclasses.replace(
            config.freeswitch, command_timeout=2.0, ping_interval=2.0, reconnect_min=0.05,
            reconnect_max=0.5, unicast_fs_port_min=base, unicast_fs_port_max=base + 99))


class EslProxy:
    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.sent = bytearray()  # vidline -> FreeSWITCH, every connection in order
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        self.writers += [writer, up_writer]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter, record: bool) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    if record:
                        self.sent += data
                    dst.write(data)
                    await dst.drain()
            dst.close()

        for coro in (pipe(reader, up_writer, True), pipe(up_reader, writer, False)):
            task = asyncio.create_task(coro)
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def drop(self) -> None:
        """Reset both sides of every proxied connection (a network failure)."""
        for writer in self.writers:
            writer.transport.abort()
        self.writers.clear()

    def commands(self) -> list[str]:
        return [c for c in bytes(self.sent).decode("utf-8").split("\n\n") if c]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self.drop()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def start_with_proxy(config: Any, runtime_factory: Any) -> tuple[Any, Any, EslProxy]:
    """(runtime, sandbox, proxy): the sandbox started here, vidline through the proxy."""
    from vidline.reporting.db import Database
    from vidline.reporting.tables import ensure_reporting_schema

    db = Database(config.database.url)  # as app.start does for the sandbox
    await asyncio.to_thread(ensure_reporting_schema, db)
    db.close()
    sandbox, config = await start_sandbox(config)
    proxy = EslProxy(config.freeswitch.port)
    port = await proxy.start()
    config = dataclasses.replace(
        config, sandbox=dataclasses.replace(config.sandbox, enabled=False),
        freeswitch=dataclasses.replace(config.freeswitch, port=port))
    try:
        runtime = await runtime_factory(config)
    except BaseException:
        await proxy.close()
        await sandbox.close()
        raise
    return runtime, sandbox, proxy
