"""Per-client rate limits: a token bucket per client address.

A client may make ``rate`` requests per minute on average with bursts of up to
``burst``; a costly request may count as several (``cost``); beyond that
:meth:`RateLimiter.check` returns the seconds to wait, which the route answers as ``429``
with ``Retry-After``.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None, clients: int = 10_000):
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 4))
        self.clients = clients
        self.buckets: dict[str, tuple[float, float]] = {}
        self.lock = threading.Lock()

    def check(self, client: str, cost: float = 1.0) -> float:
        """0 when the request may go ahead (and is counted as ``cost`` requests), else seconds
        until it may. A cost above the burst is charged as the whole burst."""
        cost = min(cost, self.burst)
        now = time.monotonic()
        with self.lock:
            tokens, last = self.buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < cost:
                self.buckets[client] = (tokens, now)
                return (cost - tokens) / self.rate
            self.buckets[client] = (tokens - cost, now)
            if len(self.buckets) > self.clients:
                self.buckets.pop(next(iter(self.buckets)))
            return 0.0

    @staticmethod
    def retry_after(seconds: float) -> str:
        return str(max(1, math.ceil(seconds)))
