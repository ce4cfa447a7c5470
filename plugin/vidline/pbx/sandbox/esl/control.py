"""What a test or the demo asks of the FreeSWITCH face besides the agent
verbs of :mod:`vidline.pbx.sandbox.control` (``pbx.control.fs``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vidline.pbx.sandbox.esl.face import FsSwitch


class FsControl:
    def __init__(self, fs: FsSwitch) -> None:
        self._fs = fs

    def channels(self) -> dict[str, dict[str, str]]:
        """Every live channel: uuid -> its variables (plus ``channel_name``)."""
        return {u: dict(ch.vars) for u, ch in self._fs.channels.items()}

    def cdr_lines(self) -> list[str]:
        """Every mod_cdr_csv line written so far (also in cdr_csv_dir/Master.csv)."""
        return list(self._fs.cdr.lines)

    async def flush_cdr(self) -> None:
        """Until every CDR line so far is in cdr_csv_dir/Master.csv."""
        await self._fs.cdr.flush()

    def audio_in(self, uuid: str) -> bytes:
        """The last 10 s vidline sent on the unicast of a call (what the agent
        hears); ``uuid`` is either half of the customer's loopback pair."""
        ch = self._fs.channels.get(uuid)
        if ch is not None and ch.direction == "inbound" and ch.peer is not None:
            uuid = ch.peer.uuid
        frames = self._fs.audio_in.get(uuid)
        return b"".join(frames) if frames is not None else b""

    def unicast_frames_out(self, uuid: str) -> int:
        """Frames sent so far on the unicast of the parked half ``uuid``."""
        uni = self._fs.unicasts.get(uuid)
        return uni.frames_out if uni is not None else 0

    def agent_status(self, name: str) -> str:
        return self._fs.cc.agents[name].status

    def agent_state(self, name: str) -> str:
        return self._fs.cc.agents[name].state

    def set_agent_status(self, name: str, status: str) -> None:
        """As ``callcenter_config agent set status`` (agent-status-change)."""
        self._fs.cc.set_status(self._fs.cc.agents[name], status)

    def members(self, queue: str) -> list[str]:
        """Session uuids of the members waiting (or being offered) in ``queue``."""
        return [m.session_uuid for m in self._fs.cc.listed(queue)
                if m.state in ("Waiting", "Trying")]

    def api(self, line: str) -> str:
        """One api command as fs_cli runs it (``callcenter_config agent set
        wrap_up_time 1001@default 0``); not originate, which needs the loop."""
        from vidline.pbx.sandbox.esl.commands import run
        name, _, arg = line.strip().partition(" ")
        if name == "originate":
            raise ValueError("originate through the ESL socket (bgapi originate)")
        return run(self._fs, name, arg)

    def drop_esl(self) -> None:
        """Close every ESL connection (calls go on, as in FINDINGS pass2 F)."""
        self._fs.server.drop_all()
