"""The fair queue: which queued job trains next when a whole class presses "Avvia" at once.

Round-robin across projects (students): every project's first queued job comes before any
project's second one, and within a round the project that last started a job longest ago (or
never) goes first; a project's own jobs keep their order. So one student's ten jobs never hold
back a classmate's first. The single-user sandbox has one project, where this is plain FIFO.
"""
from __future__ import annotations

from collections import defaultdict


def fair_order(queued: list[dict], last_starts: dict[str, float]) -> list[dict]:
    """``queued`` items (``{"project", "seq", …}``, any order) in the order they should train."""
    rank: dict[str, int] = defaultdict(int)
    keyed = []
    for item in sorted(queued, key=lambda i: i["seq"]):
        keyed.append(((rank[item["project"]], last_starts.get(item["project"], float("-inf")), item["seq"]), item))
        rank[item["project"]] += 1
    return [item for _, item in sorted(keyed, key=lambda k: k[0])]


def fair_queue(store) -> list[dict]:
    """The data dir's queued jobs in training order (``{"job", "project", "seq"}``)."""
    return fair_order(store.queued_jobs(), store.last_starts())


# A job's length before any has finished here: the course's fine-tune takes ~75-100 s on two
# cores (design notes); after that, the mean of the last few real ones.
DEFAULT_SECONDS = 90.0


def job_seconds(store) -> float:
    """How long one job is expected to train: the mean of the recent succeeded ones."""
    recent = store.recent_durations()
    return sum(recent) / len(recent) if recent else DEFAULT_SECONDS


def estimates(store, now: float, workers: int = 1) -> dict[str, tuple[int, int]]:
    """``{job_id: (position, estimated_finish)}`` for the queued jobs: each waits for the running
    jobs' remaining time and for the jobs ahead of it, ``workers`` at a time."""
    per_job = job_seconds(store)
    busy = sorted(max(now, job.get("estimated_finish") or now + per_job)
                  for job in store.jobs_with_status("running"))[:workers]
    free_at = sorted(busy + [now] * (workers - len(busy)))   # when each worker can take the next job
    out = {}
    for position, item in enumerate(fair_queue(store), 1):
        start = free_at.pop(0)
        finish = start + per_job
        free_at = sorted(free_at + [finish])
        out[item["job"]["id"]] = (position, int(finish))
    return out
