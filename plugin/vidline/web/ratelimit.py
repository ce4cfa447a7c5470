"""A per-client token bucket with bounded memory.

Each client address gets ``rate_per_minute`` tokens of burst, refilled
continuously. Buckets are kept in least-recently-used order and the oldest
are dropped past ``max_clients``; a dropped client simply starts again with a
full bucket, which errs on the side of serving people, not of remembering
every address on the internet.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable


class RateLimiter:
    def __init__(self, rate_per_minute: int, *, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._capacity = float(rate_per_minute)
        self._per_second = rate_per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, client: str) -> float:
        """Spend one token; returns 0 when allowed, else the seconds to wait."""
        now = self._clock()
        tokens, last = self._buckets.pop(client, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - last) * self._per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self._per_second
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self._max_clients:
            self._buckets.popitem(last=False)
        return wait

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))

    def __len__(self) -> int:
        return len(self._buckets)
