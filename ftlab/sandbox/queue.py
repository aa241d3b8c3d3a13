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


def position(store, job_id: str) -> int | None:
    """1-based place of a queued job in the fair queue, or None if it is not queued."""
    for i, item in enumerate(fair_queue(store), 1):
        if item["job"]["id"] == job_id:
            return i
    return None
