"""How the composition root builds the FreeSWITCH side (``pbx = "freeswitch"``),
kept here so that ``app.py`` only chooses: the adapter with its unicast audio,
and the sandbox's ESL face running vidline's own rendered dialplan."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

from vidline.config import Config
from vidline.pbx.freeswitch.adapter import FreeswitchAdapter
from vidline.pbx.freeswitch.queries import extension
from vidline.pbx.freeswitch.unicast import UnicastAudio

SANDBOX_FILES = ("vidline_dialplan.xml", "callcenter_vidline.conf.xml",
                 "cdr_csv_vidline.conf.xml")


def queues_of(config: Config) -> list[str]:
    """Every queue vidline may place a leg in (resynced after a reconnect)."""
    names = [config.routing.default_queue, *(r.queue for r in config.routing.rules)]
    for agent in config.agents:
        names += [*agent.queues, f"agent-{extension(agent.interface)}"]
    return list(dict.fromkeys(names))


def freeswitch_adapter(config: Config, resolve: Callable[[uuid.UUID], Any],
                       panel_url: str = "") -> FreeswitchAdapter:
    fs = config.freeswitch
    audio = UnicastAudio(resolve, listen_host=fs.unicast_listen_host,
                         advertise_host=fs.unicast_host, fs_host=fs.unicast_fs_host,
                         fs_ports=(fs.unicast_fs_port_min, fs.unicast_fs_port_max),
                         sample_rate=config.audiosocket.sample_rate)
    return FreeswitchAdapter(fs, config.agents, queues_of(config), audio, panel_url)


async def start_sandbox(config: Config) -> tuple[Any, Config]:
    """The sandbox PBX's FreeSWITCH face running what ``vidline dialplan``
    renders (dialplan, callcenter.conf, the CDR template); the config
    pointed at it."""
    from vidline.pbx.freeswitch.render import render_freeswitch
    from vidline.pbx.sandbox.pbx import SandboxPbx

    files = render_freeswitch(config)
    paths: list[str] = []
    try:
        for name in SANDBOX_FILES:
            fd, path = tempfile.mkstemp(prefix="vidline-", suffix=f"-{name}")
            paths.append(path)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(files[name])
        sandbox = SandboxPbx(config, fs_dialplan=paths)  # reads the files now
    finally:
        for path in paths:
            os.unlink(path)
    await sandbox.start()
    fs = dataclasses.replace(config.freeswitch, host=config.sandbox.esl_host,
                             port=sandbox.esl_port, password=config.sandbox.esl_password)
    return sandbox, dataclasses.replace(config, freeswitch=fs)
