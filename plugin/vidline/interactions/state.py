"""The interaction lifecycle as data.

Theory of operation: an interaction is created when the customer's request
is accepted, then the PBX leg is placed (``ORIGINATING``). The PBX tells us
when the leg is in a queue (``QUEUED``), when an agent is rung (``RINGING``;
an agent who does not answer sends it back to ``QUEUED``) and when one
answers (``CONNECTED``). ``ENDED`` is final and carries a reason. Every
transition is in ``TRANSITIONS``; anything else is refused, so an out-of-order
or duplicate PBX event (a replay after an AMI reconnect, say) cannot move an
interaction backwards.
"""

from __future__ import annotations

import enum


class State(enum.Enum):
    CREATED = "created"
    ORIGINATING = "originating"
    QUEUED = "queued"
    RINGING = "ringing"
    CONNECTED = "connected"
    ENDED = "ended"


class EndReason(enum.Enum):
    CUSTOMER_LEFT = "customer_left"  # hung up after an agent answered
    AGENT_LEFT = "agent_left"
    ABANDONED = "abandoned"  # customer left while queued or ringing
    QUEUE_TIMEOUT = "queue_timeout"  # the PBX gave up (timeout, empty queue)
    FAILED = "failed"  # the PBX could not place the leg
    PBX_LOST = "pbx_lost"  # the PBX restarted or the leg vanished


class Event(enum.Enum):
    PLACE = "place"
    JOINED = "joined"
    RING = "ring"
    NO_ANSWER = "no_answer"
    CONNECT = "connect"
    END = "end"


TRANSITIONS: dict[tuple[State, Event], State] = {
    (State.CREATED, Event.PLACE): State.ORIGINATING,
    (State.CREATED, Event.END): State.ENDED,
    (State.ORIGINATING, Event.JOINED): State.QUEUED,
    (State.ORIGINATING, Event.END): State.ENDED,
    # a second JOINED: the preferred agent's queue gave up and the caller
    # joined the skill queue (shared/asterisk D2)
    (State.QUEUED, Event.JOINED): State.QUEUED,
    (State.QUEUED, Event.RING): State.RINGING,
    (State.QUEUED, Event.CONNECT): State.CONNECTED,
    (State.QUEUED, Event.END): State.ENDED,
    # ringall rings several agents: more RING events while ringing
    (State.RINGING, Event.RING): State.RINGING,
    (State.RINGING, Event.NO_ANSWER): State.QUEUED,
    (State.RINGING, Event.JOINED): State.QUEUED,
    (State.RINGING, Event.CONNECT): State.CONNECTED,
    (State.RINGING, Event.END): State.ENDED,
    (State.CONNECTED, Event.END): State.ENDED,
}


class TransitionError(Exception):
    def __init__(self, state: State, event: Event) -> None:
        super().__init__(f"no transition from {state.value} on {event.value}")
        self.state = state
        self.event = event


def next_state(state: State, event: Event) -> State:
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise TransitionError(state, event) from None
