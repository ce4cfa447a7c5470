"""The composition root: builds every collaborator from the config, wires
them, starts them in order and stops them in reverse. Nothing else in vidline
reads the configuration or constructs services."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import logging
import secrets
import signal
import socket
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from vidline.config import Config
from vidline.interactions.audio import AudioLegs
from vidline.interactions.cdr_fields import LateCdrFields
from vidline.interactions.journal import Journal
from vidline.interactions.service import InteractionService

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """A running vidline: what tests, the demo and `serve` hold on to."""

    config: Config
    base_url: str
    service: InteractionService
    pbx: Any
    audiosocket: Any
    sandbox: Any
    runner: web.AppRunner
    hub: Any
    audio: AudioLegs
    media: Any = None
    reporting: Any = None  # vidline.reporting.service.Reporting, None when disabled
    journal: Journal | None = None
    recordings: Any = None  # vidline.recording.service.RecordingService
    late_cdr: LateCdrFields | None = None

    @property
    def customer_url(self) -> str:
        return f"{self.base_url}/"

    @property
    def agent_url(self) -> str:
        return f"{self.base_url}/agent/"

    async def close(self) -> None:
        await self.runner.cleanup()
        if self.media is not None:
            await self.media.close()
        if self.recordings is not None:
            await self.recordings.close()  # after the bridges: their files finish
        await self.service.close()
        if self.late_cdr is not None:
            await self.late_cdr.close()
        if self.reporting is not None:
            await self.reporting.close()  # after the service: its last rows go too
        await self.pbx.close()
        await self.audiosocket.close()
        if self.sandbox is not None:
            await self.sandbox.close()


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def start(config: Config) -> Runtime:
    # imported here so that importing vidline.app stays cheap for the CLI
    from vidline.agents.directory import AgentDirectory
    from vidline.agents.hub import AgentHub
    from vidline.audiosocket.server import AudioSocketServer
    from vidline.crm.links import CrmLinks
    from vidline.media.signalling import MediaBridges
    from vidline.pbx.asterisk.adapter import AsteriskAdapter
    from vidline.reporting.db import Database
    from vidline.reporting.service import start_reporting
    from vidline.reporting.tables import ensure_reporting_schema
    from vidline.routing.last_agent import LastAgentRouter
    from vidline.routing.rules import route
    from vidline.web.app import build_web_app

    if not config.server.secret_key:
        config = dataclasses.replace(
            config, server=dataclasses.replace(config.server, secret_key=secrets.token_hex(32))
        )
    web_sock = _bind(config.server.host, config.server.port)
    bound_port = web_sock.getsockname()[1]
    if config.server.port == 0:
        # an ephemeral port (tests, several demos): the public URL follows it
        config = dataclasses.replace(config, server=dataclasses.replace(
            config.server, port=bound_port, public_url=f"http://{config.server.host}:{bound_port}"))
    base_url = config.server.public_url

    sandbox = None
    if config.sandbox.enabled:
        from vidline.pbx.sandbox.pbx import SandboxPbx

        db = Database(config.database.url)
        await asyncio.to_thread(ensure_reporting_schema, db)
        db.close()
        if config.pbx == "freeswitch":  # the ESL face, running vidline's dialplan
            from vidline.pbx.freeswitch.wiring import start_sandbox

            sandbox, config = await start_sandbox(config)
        else:
            sandbox = SandboxPbx(config)
            await sandbox.start()
            config = dataclasses.replace(config, asterisk=dataclasses.replace(
                config.asterisk, host=config.sandbox.ami_host, port=sandbox.ami_port))

    directory = AgentDirectory(config.agents)
    hub = AgentHub()
    crm = CrmLinks(config.crm)
    store_holder: dict[str, AudioLegs] = {}

    # FreeSWITCH's audio comes over unicast: no AudioSocket port to open to the
    # network then (the server still runs, on a loopback ephemeral port)
    fs_mode = config.pbx == "freeswitch"
    audiosocket = AudioSocketServer(
        "127.0.0.1" if fs_mode else config.audiosocket.listen_host,
        0 if fs_mode else config.audiosocket.listen_port,
        config.audiosocket.sample_rate, lambda u: store_holder["legs"].resolve(u),
    )
    await audiosocket.start()
    audio_config = dataclasses.replace(config.audiosocket, listen_port=audiosocket.port)
    pbx: Any
    if config.pbx == "freeswitch":  # ESL + unicast audio into the same AudioLegs
        from vidline.pbx.freeswitch.wiring import freeswitch_adapter

        pbx = freeswitch_adapter(config, lambda u: store_holder["legs"].resolve(u))
    else:
        pbx = AsteriskAdapter(config.asterisk, audio_config)
    reporting = start_reporting(config, lambda iid: f"{base_url}/agent/i/{iid}")
    last_agent = LastAgentRouter(config.routing, config.database.url, config.agents)
    from vidline.recording.service import RecordingService

    store_ref: dict[str, Any] = {}
    recordings = RecordingService(config.recording, config.audiosocket.sample_rate,
                                  lambda iid: store_ref["store"].get(iid))
    service = InteractionService(
        pbx=pbx,
        router=lambda ctx: route(ctx, config.routing),
        agents=directory,
        notifier=hub,
        crm=crm,
        panel_url=lambda interaction_id: f"{base_url}/agent/i/{interaction_id}",
        queue_timeout=config.routing.queue_timeout,
        prefer=last_agent.prefer,
        observers=([reporting.observer] if reporting is not None else []) + [recordings],
    )
    store_ref["store"] = service.store
    journal = Journal(service.store.get)
    if reporting is not None:
        observer = reporting.observer
        # (the co-browsing page stream is the recorder's: the ledger makes no row of it)
        journal.subscribe(lambda interaction, entry: observer.note(
            interaction, entry.kind, entry.data))
    # the bridge is made when the leg or the customer's offer comes, whichever
    # is first, so music on hold reaches a customer who is still in line
    shared = journal.note
    media = MediaBridges(config.media, config.audiosocket.sample_rate, service.store,
                         on_shared=shared)
    recordings.note = journal.note
    journal.subscribe(recordings.on_entry)  # the recording's timeline
    late_cdr = LateCdrFields(pbx)
    journal.subscribe(late_cdr.on_entry)  # the recording's reference into the PBX's CDR
    media.on_bridge = recordings.attach
    audio = AudioLegs(service.store, media.get)
    store_holder["legs"] = audio
    await pbx.start()

    from vidline.reporting.wallboard import Wallboard

    skill_queues = [config.routing.default_queue, *(r.queue for r in config.routing.rules)]
    wallboard = Wallboard(pbx, config.agents, skill_queues)
    app = build_web_app(config, service, hub, directory, wallboard=wallboard, journal=journal)

    async def close_lookups(_app: web.Application) -> None:
        await asyncio.to_thread(last_agent.close)  # its kept database connections

    app.on_cleanup.append(close_lookups)
    media.register(app)
    from vidline.web import recordings as recordings_web

    recordings_web.add_routes(app, recordings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, web_sock).start()
    return Runtime(config, base_url, service, pbx, audiosocket, sandbox, runner, hub, audio,
                   media, reporting=reporting, journal=journal, recordings=recordings,
                   late_cdr=late_cdr)


def settle_heap() -> None:
    """Make the cyclic GC's full collections rarer and shorter. With hundreds
    of customers waiting, a full collection walks every tracked object, tens
    of ms in which no pop goes out. Frozen: the ~70k objects of the loaded
    modules and the runtime, which live as long as the process anyway.
    Larger young generations: the messages, futures and handles of a burst
    of events die before a young collection would promote them, so fewer
    reach the old generation and trigger a full one. For a long-running
    process only (``serve``, the bench): a test process that starts many
    runtimes would keep their garbage."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 20)


async def serve(config: Config, *, demo: bool = False) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    runtime = await start(config)
    settle_heap()
    mode = f" (demo: sandbox PBX as {config.pbx}, {config.database.url})" if demo else ""
    print(f"vidline is running{mode}")
    print(f"  customer page: {runtime.customer_url}")
    print(f"  agent panel:   {runtime.agent_url}")
    if demo:
        names = ", ".join(f"{a.username}/{a.username}" for a in config.agents)
        print(f"  demo agents (user/password): {names}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runtime.close()
