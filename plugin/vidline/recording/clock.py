"""One clock for every track of a recording set: the wall clock at arrival.

Each RTP stream counts in its own units from a random origin, so each is
mapped to the wall clock by a :class:`StreamClock`: ``arrival + (rtp -
rtp_at_anchor) / rate``. The anchor follows the least-delayed packet (a
packet that arrives earlier than the mapping predicts moves it), so a slow
first packet does not shift the whole track late, and the mapping of audio
and video from one browser converges on the same transit delay: that is
what keeps lip sync. A jump of more than ``MAX_SKEW`` either way (a new
peer connection after a page reload restarts RTP from a random value) takes
a fresh anchor. RTCP sender reports would be more exact, but aiortc keeps
them private and loopback/LAN transit differences are a few ms.

Arrival is measured after aiortc's jitter buffer, which holds a frame back
by a known amount: audio by its prefetch (4 packets of 20 ms), video until
the next frame's first packet (one frame interval). :meth:`map` takes that
hold-back so both kinds land on the same clock.
"""

from __future__ import annotations

MAX_SKEW = 1.0  # seconds
AUDIO_HOLD = 0.080  # aiortc audio JitterBuffer(prefetch=4) x 20 ms


class StreamClock:
    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._anchor_rtp = 0  # unwrapped RTP time at the anchor
        self._anchor_at = 0.0
        self._last_raw: int | None = None
        self._unwrapped = 0
        self.reanchored = 0

    def _unwrap(self, timestamp: int) -> int:
        if self._last_raw is None:
            self._unwrapped = timestamp
        else:
            delta = (timestamp - self._last_raw) & 0xFFFFFFFF
            if delta >= 1 << 31:
                delta -= 1 << 32  # a little back (reordering), not 2^32 forward
            self._unwrapped += delta
        self._last_raw = timestamp
        return self._unwrapped

    def map(self, timestamp: int, arrival: float, hold: float = 0.0) -> float:
        """The wall-clock time of the sample with RTP ``timestamp`` that was
        handed over at ``arrival`` after being held ``hold`` seconds."""
        first = self._last_raw is None
        rtp = self._unwrap(timestamp)
        arrival -= hold
        if first:
            self._anchor_rtp, self._anchor_at = rtp, arrival
            return arrival
        at = self._anchor_at + (rtp - self._anchor_rtp) / self.rate
        if abs(at - arrival) > MAX_SKEW:
            self._anchor_rtp, self._anchor_at = rtp, arrival
            self.reanchored += 1
            return arrival
        if arrival < at:  # less delayed than the anchor was: follow it
            self._anchor_rtp, self._anchor_at = rtp, arrival
            return arrival
        return at
