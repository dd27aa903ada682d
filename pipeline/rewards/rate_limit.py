"""The API judge's request and token rates, kept within the user's API tier (``rewards.judge.max_rpm`` and
``max_tpm``), on judge calls only: math, code and QA rewards never wait for them.

Each process sharing the run's limits (verl's reward workers) gets an equal share, as with the judge's
concurrency. A limit is a token bucket that refills at the limit's rate per second, holds at most one minute of
it (a burst), and lets a request go into debt: the request then waits until the debt is paid back, so the
average rate over any long stretch stays within the limit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable


@dataclass
class TokenBucket:
    """``rate`` units per second, at most ``capacity`` stored, full at the start (at time ``last``)."""

    rate: float
    capacity: float
    level: float
    last: float

    def take(self, amount: float, now: float) -> float:
        """Reserve ``amount`` at time ``now``: the seconds to wait before using it (0: at once). The level
        refills by ``rate`` × the time since the last call, up to ``capacity``, then ``amount`` is taken
        (possibly below zero: the wait is that debt over ``rate``)."""
        self.level = min(self.capacity, self.level + (now - self.last) * self.rate)
        self.last = now
        self.level -= amount
        return max(0.0, -self.level / self.rate)


def per_minute_bucket(per_minute: float, now: float) -> TokenBucket:
    """A bucket for a per-minute limit: ``per_minute / 60`` per second, one minute's worth of burst."""
    return TokenBucket(rate=per_minute / 60.0, capacity=per_minute, level=per_minute, last=now)


@dataclass
class RateLimiter:
    """The judge's requests-per-minute and tokens-per-minute limits for one process (None: no limit)."""

    rpm: float | None
    tpm: float | None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _buckets: list[tuple[TokenBucket, bool]] = field(default_factory=list)  # (bucket, counts tokens)

    def __post_init__(self) -> None:
        now = self.clock()
        self._buckets = [(per_minute_bucket(limit, now), tokens)
                         for limit, tokens in ((self.rpm, False), (self.tpm, True)) if limit is not None]

    def reserve(self, tokens: float) -> float:
        """Reserve one request of about ``tokens`` tokens now: the seconds it must wait."""
        now = self.clock()
        return max((bucket.take(tokens if counts_tokens else 1.0, now) for bucket, counts_tokens in self._buckets),
                   default=0.0)

    async def acquire(self, tokens: float) -> None:
        """Wait until a request of about ``tokens`` tokens is within both limits (call on one event loop)."""
        wait = self.reserve(tokens)
        if wait > 0:
            await self.sleep(wait)
