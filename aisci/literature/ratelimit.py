"""One request rate for Semantic Scholar, shared by every search in the process.

Semantic Scholar allows about one request per second with a key and much less without one. A limiter is any
object with `acquire()`, which blocks until the next request may go. The in-process limiter here spaces
requests across threads (Prefect runs mapped tasks in threads); the tasks layer swaps in Prefect's global
rate limit when a Prefect server is shared by several hosts.
"""

import threading
import time
from collections.abc import Callable
from typing import Protocol

KEYED_INTERVAL_S = 1.0
ANONYMOUS_INTERVAL_S = 3.0  # the key-less pool is shared by every anonymous user and 429s early


class RateLimiter(Protocol):
    def acquire(self) -> None: ...


class IntervalLimiter:
    """Lets one request through per `interval_s`, in arrival order, across threads."""

    def __init__(
        self,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self) -> None:
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval_s
        if slot > now:
            self._sleep(slot - now)


_shared: dict[float, IntervalLimiter] = {}
_shared_lock = threading.Lock()


def shared_limiter(interval_s: float) -> IntervalLimiter:
    """The process-wide limiter for this interval, so separate clients never add up to more than the rate."""
    with _shared_lock:
        return _shared.setdefault(interval_s, IntervalLimiter(interval_s))


def interval_for(has_key: bool) -> float:
    return KEYED_INTERVAL_S if has_key else ANONYMOUS_INTERVAL_S
