"""From an interaction's domain events to reporting rows, without I/O.

A :class:`Ledger` follows one interaction. :meth:`Ledger.feed` takes what the
interaction service reports (a PBX event before the service acts on it, or a
lifecycle :class:`~vidline.interactions.state.Event` after the transition)
plus the time, and returns the rows to store: an event row, a fresh snapshot
of the interaction row, and (when vidline writes queue_log itself) the
Asterisk-format queue_log rows. The clock is passed in, so tests replay a
recorded run and get the same rows.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from vidline.interactions.model import Interaction
from vidline.interactions.state import EndReason, Event
from vidline.pbx import events as ev
from vidline.reporting import queue_log as ql
from vidline.reporting.records import EventRow, InteractionRow, QueueLogRecord, Record, db_time

# lifecycle event -> event kind in vidline_interaction_events
TRANSITION_KINDS = {
    Event.PLACE: "created",
    Event.JOINED: "queued",
    Event.RING: "ringing",
    Event.NO_ANSWER: "no_answer",
    Event.CONNECT: "connected",
    Event.END: "ended",
}

# PBX events worth an event row of their own (the others become transitions)
PBX_KINDS: dict[type, str] = {
    ev.LegOriginated: "originated",
    ev.LegFailed: "failed",
    ev.CallerLeft: "left",
    ev.CallerAbandoned: "abandoned",
    ev.AgentCompleted: "completed",
    ev.LegHungUp: "hangup",
}

# notes from the media/web side: kind -> counter column (None: no counter)
NOTE_COUNTERS = {
    "chat_message": "chat_messages",
    "snip": "snips",
    "screen_share": "screen_shares",
    "cobrowse": "cobrowse_used",
    "recording": None,
}


def _seconds(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round(max(0.0, end - start), 3)


def interaction_row(interaction: Interaction, counts: dict[str, int],
                    recording_ref: str | None, disposition: str | None = None) -> InteractionRow:
    """The ``vidline_interactions`` row of ``interaction`` as it stands."""
    ctx, route, times, agent = (interaction.context, interaction.route, interaction.times,
                                interaction.agent)

    def at(state: str) -> str | None:
        when = times.get(state)
        return None if when is None else db_time(when)

    queued, connected, ended = times.get("queued"), times.get("connected"), times.get("ended")
    wait = _seconds(queued, connected if connected is not None else ended)
    values: list[tuple[str, Any]] = [
        ("id", interaction.id),
        ("created_at", db_time(times.get("created", interaction.created_at))),
        ("customer_id", ctx.customer_id),
        ("phone", ctx.phone),
        ("page_url", ctx.page_url),
        ("category", ctx.category),
        ("kiosk_location", ctx.kiosk_location),
        ("extra_json", json.dumps(dict(ctx.extra), sort_keys=True) if ctx.extra else None),
        ("route_queue", route.queue),
        ("route_reason", route.reason),
        ("priority", route.priority),
        ("preferred_agent", route.preferred_agent),
        ("queue", interaction.queue),
        ("agent_interface", agent.interface if agent else None),
        ("agent_member", agent.member_name if agent else None),
        ("agent_username", agent.username if agent else None),
        ("queued_at", at("queued")),
        ("ringing_at", at("ringing")),
        ("connected_at", at("connected")),
        ("ended_at", at("ended")),
        ("outcome", interaction.end_reason.value if interaction.end_reason else None),
        ("wait_seconds", wait),
        ("talk_seconds", _seconds(connected, ended)),
        ("chat_messages", counts.get("chat_messages", 0)),
        ("snips", counts.get("snips", 0)),
        ("screen_shares", counts.get("screen_shares", 0)),
        ("cobrowse_used", 1 if counts.get("cobrowse_used") else 0),
        ("recording_ref", recording_ref),
        ("disposition", disposition[:80] if disposition else None),  # the agent's wrap-up
    ]
    return InteractionRow(tuple(values))


def _transition_data(interaction: Interaction, event: Event) -> dict[str, Any]:
    agent = interaction.agent
    if event is Event.PLACE:
        r = interaction.route
        return {"queue": r.queue, "reason": r.reason, "priority": r.priority,
                "preferred_agent": r.preferred_agent}
    if event is Event.JOINED:
        return {"queue": interaction.queue, "position": interaction.position,
                "count": interaction.count}
    if event in (Event.RING, Event.CONNECT) and agent is not None:
        return {"queue": interaction.queue, "interface": agent.interface,
                "member": agent.member_name, "username": agent.username}
    if event is Event.END:
        times = interaction.times
        return {"outcome": interaction.end_reason.value if interaction.end_reason else None,
                "talk_seconds": _seconds(times.get("connected"), times.get("ended"))}
    return {}


def _pbx_data(change: ev.PbxEvent) -> dict[str, Any]:
    data = dataclasses.asdict(change)
    data.pop("interaction_id", None)
    return data


@dataclass
class Ledger:
    interaction_id: str
    write_queue_log: bool
    panel_url: str = ""
    seq: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    recording_ref: str | None = None
    disposition: str | None = None  # from the wrap-up
    # what the queue_log rows need, as the PBX reported it
    _qseq: int = 0
    _queue: str | None = None
    _joined_at: float = 0.0
    _position: int = 1
    _original: int = 1
    _ringing: dict[str, tuple[str, float]] = field(default_factory=dict)
    _connect: tuple[str, str, int, float] | None = None  # queue, member, hold, when
    _closed: bool = False  # COMPLETE/ABANDON/EXIT written

    def _row(self, interaction: Interaction) -> InteractionRow:
        return interaction_row(interaction, self.counts, self.recording_ref, self.disposition)

    def _event(self, kind: str, now: float, data: dict[str, Any]) -> EventRow:
        self.seq += 1
        return EventRow(self.interaction_id, self.seq, db_time(now), kind,
                        json.dumps(data, sort_keys=True, default=str))

    def _key(self) -> str:
        self._qseq += 1
        return f"{self.interaction_id}:q{self._qseq}"

    def feed(self, interaction: Interaction, change: Event | ev.PbxEvent,
             now: float) -> list[Record]:
        if interaction.position is not None:
            self._position = interaction.position
        out: list[Record] = []
        if isinstance(change, Event):
            out.append(self._event(TRANSITION_KINDS[change], now,
                                   _transition_data(interaction, change)))
            out.append(self._row(interaction))
            if self.write_queue_log and change is Event.END:
                out += self._ended(interaction, now)
            return out
        kind = PBX_KINDS.get(type(change))
        if kind is not None:
            out.append(self._event(kind, now, _pbx_data(change)))
        if self.write_queue_log:
            out += self._queue_log(interaction, change, now)
        return out

    def note(self, interaction: Interaction, kind: str, data: dict[str, Any],
             now: float) -> list[Record]:
        """Something shared during the interaction (a chat message, a snip, a
        screen share, co-browsing, the recording's reference)."""
        if kind == "cobrowse":
            if data.get("action") == "events":
                return []  # the page stream itself: the recording keeps it, not reporting
            if data.get("action") == "on":
                self.counts["cobrowse_used"] = 1  # a flag: did the customer let the agent in
        else:
            counter = NOTE_COUNTERS.get(kind)
            if counter is not None:
                self.counts[counter] = self.counts.get(counter, 0) + 1
        if kind == "recording" and isinstance(data.get("ref"), str):
            self.recording_ref = data["ref"]
        if kind == "wrapup" and isinstance(data.get("disposition"), str):
            self.disposition = data["disposition"]
        return [self._event(kind, now, data),
                self._row(interaction)]

    # -- queue_log ------------------------------------------------------

    def _queue_log(self, interaction: Interaction, change: ev.PbxEvent,
                   now: float) -> list[QueueLogRecord]:
        iid = self.interaction_id
        out: list[QueueLogRecord] = []
        if isinstance(change, ev.CallerJoined):
            if self._queue is None:
                ctx = interaction.context
                out.append(ql.videochat(self._key(), now, iid, interaction.route.queue, iid,
                                        ctx.category, ctx.customer_id))
            elif self._queue != change.queue and not self._closed:
                # the preferred agent's queue timed out, the caller moves on (D)
                out.append(ql.exit_with_timeout(self._key(), now, iid, self._queue,
                                                self._position, self._original,
                                                round(now - self._joined_at)))
            self._queue, self._joined_at = change.queue, now
            self._position = self._original = change.position
            self._ringing.clear()
            out.append(ql.enterqueue(self._key(), now, iid, change.queue, self.panel_url,
                                     interaction.context.phone, change.position))
        elif isinstance(change, ev.QueueEntry | ev.CallerLeft) and change.queue == self._queue:
            self._position = change.position  # moved up: Asterisk sends no event for that
        elif isinstance(change, ev.AgentRinging):
            self._ringing[change.member_name] = (change.queue, now)
        elif isinstance(change, ev.AgentNoAnswer):
            self._ringing.pop(change.member_name, None)
            out.append(ql.ringnoanswer(self._key(), now, iid, change.queue, change.member_name,
                                       change.ring_time_ms))
        elif isinstance(change, ev.AgentConnected):
            self._ringing.clear()  # the members who lost the race get no line
            self._connect = (change.queue, change.member_name, change.hold_time, now)
            out.append(ql.connect(self._key(), now, iid, change.queue, change.member_name,
                                  change.hold_time, change.agent_uniqueid, change.ring_time))
        elif isinstance(change, ev.CallerAbandoned) and not self._closed:
            out += self._cancel_rings(now)
            self._closed = True
            out.append(ql.abandon(self._key(), now, iid, change.queue, change.position,
                                  change.original_position, change.hold_time))
        elif (isinstance(change, ev.AgentCompleted) and change.reason in ("caller", "agent")
              and self._connect is not None and not self._closed):
            self._closed = True
            out.append(ql.complete(self._key(), now, iid, change.queue, change.member_name,
                                   change.reason == "agent", change.hold_time,
                                   change.talk_time, self._original))
        return out

    def _cancel_rings(self, now: float) -> list[QueueLogRecord]:
        rows = [ql.ringcanceled(self._key(), now, self.interaction_id, queue, member,
                                int((now - since) * 1000))
                for member, (queue, since) in self._ringing.items()]
        self._ringing.clear()
        return rows

    def _ended(self, interaction: Interaction, now: float) -> list[QueueLogRecord]:
        """The closing line when the PBX sent no event carrying its numbers.
        Durations are then measured here and rounded: the join and the end
        are seen a few ms after the PBX saw them, so truncating (as app_queue
        does with its own clock) would often be one second short."""
        if self._closed or self._queue is None:
            return []
        self._closed = True
        iid, reason = self.interaction_id, interaction.end_reason
        if self._connect is not None:
            queue, member, hold, since = self._connect
            return [ql.complete(self._key(), now, iid, queue, member,
                                reason is EndReason.AGENT_LEFT, hold, round(now - since),
                                self._original)]
        wait = round(now - self._joined_at)
        if reason is EndReason.QUEUE_TIMEOUT:
            return [ql.exit_with_timeout(self._key(), now, iid, self._queue, self._position,
                                         self._original, wait)]
        return [*self._cancel_rings(now),
                ql.abandon(self._key(), now, iid, self._queue, self._position,
                           self._original, wait)]
