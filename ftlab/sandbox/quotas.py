"""The class server's per-student quotas, answered like OpenAI's limits.

Requests per minute: a sliding one-minute window per student, 429 ``rate_limit_exceeded`` with
``retry-after`` (the SDK waits and retries by itself). Jobs at once: 429 with ``x-should-retry:
false`` (retrying cannot help until a job ends). Total storage: 400 before the upload is stored;
one file's size: the upload limit (413). The instructor and the data dir's owner have no quotas.
"""
from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

from .errors import APIError, bad_request
from .settings import Quotas

WINDOW = 60.0
ACTIVE = ("validating_files", "queued", "running", "paused")


class RequestLimiter:
    """At most ``per_minute`` requests per name in any 60 seconds (thread-safe; in memory)."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute, self.clock = per_minute, clock
        self._seen: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def wait_needed(self, name: str) -> float:
        """0 and the request counts, or the seconds until it would be allowed (it does not count)."""
        now = self.clock()
        with self._lock:
            seen = self._seen[name]
            while seen and seen[0] <= now - WINDOW:
                seen.popleft()
            if len(seen) >= self.per_minute:
                return seen[0] + WINDOW - now
            seen.append(now)
            return 0.0

    def check(self, name: str) -> None:
        wait = self.wait_needed(name)
        if wait > 0:
            raise APIError(429, f"Rate limit reached for requests: limit {self.per_minute} per minute. "
                                f"Please try again in {wait:.1f}s.", code="rate_limit_exceeded",
                           type="requests", headers={"retry-after": str(math.ceil(wait))})


def check_active_jobs(store, quotas: Quotas) -> None:
    """Before a student's job is created: their jobs still active are under the quota."""
    active = sum(n for status, n in _usage(store)["jobs"].items() if status in ACTIVE)
    if active >= quotas.active_jobs:
        raise APIError(429, f"You already have {active} active fine-tuning jobs; the class limit is "
                            f"{quotas.active_jobs} at once. Wait for one to finish or cancel one.",
                       code="rate_limit_exceeded", headers={"x-should-retry": "false"})


def check_storage(store, quotas: Quotas, incoming: int) -> None:
    """Before an upload is stored: the student's files plus ``incoming`` bytes fit their storage."""
    used = _usage(store)["bytes"]
    if used + incoming > quotas.storage_bytes:
        raise bad_request(f"Storage quota exceeded: your files take {used / 2**20:.1f} MB of "
                          f"{quotas.storage_bytes / 2**20:.0f} MB. Delete files you no longer need.",
                          "file", "storage_quota_exceeded")


def _usage(store) -> dict:
    return store.usage().get(store.project, {"files": 0, "bytes": 0, "jobs": {}})
