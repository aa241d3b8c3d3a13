"""How many threads a decoding step may use: the cores that other processes leave free.

Why: a decoding step is ~200 small matrix products, and with OpenMP every one of them waits for
its slowest thread. On a core that another process is using, that thread runs only now and then:
measured here with one core kept busy, a lone request on two threads made 9-13 tokens/s, on one
thread 22-26; 8 concurrent requests 35 tokens/s in all on two threads, 88 on one. The load average
reacts within a minute and counts our own threads too, so ``OtherProcesses`` measures what the
*other* processes used over the last quarter of a second instead.
"""
from __future__ import annotations

import os
import time

import psutil
import torch

from ftlab.sandbox import models


class OtherProcesses:
    """How many cores the machine's other processes kept busy, over the last ``every`` seconds."""

    def __init__(self, every: float = 0.25):
        self.every, self.cores = every, 0.0
        self._me = psutil.Process()
        # only the CPUs we may run on: in a container, the others belong to other tenants
        self._cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        self._last = self._sample()

    def _sample(self) -> tuple[float, float, float]:
        per_cpu = psutil.cpu_times(percpu=True)
        ours = [per_cpu[i] for i in self._cpus or () if i < len(per_cpu)] or per_cpu
        mine = self._me.cpu_times()
        return time.monotonic(), sum(map(_busy_seconds, ours)), mine.user + mine.system

    def busy_cores(self) -> float:
        """Cores used by other processes, measured afresh at most every ``every`` seconds."""
        if time.monotonic() - self._last[0] >= self.every:
            now = self._sample()
            wall, busy, mine = (b - a for a, b in zip(self._last, now))
            self.cores, self._last = max(0.0, (busy - mine) / wall), now
        return self.cores


def _busy_seconds(cpu) -> float:
    """Seconds a CPU spent busy (psutil's fields; guest time is already inside user time)."""
    idle = cpu.idle + getattr(cpu, "iowait", 0.0)
    guest = getattr(cpu, "guest", 0.0) + getattr(cpu, "guest_nice", 0.0)
    return sum(cpu) - idle - guest


def share_threads(others: OtherProcesses, most: int | None = None) -> int:
    """Set torch's threads for the next step: the cores left free by other processes (half a
    busy core counts as free), at most ``most``. Results do not depend on it (MKL's strict mode,
    and ``lonerow``'s two halves)."""
    threads = max(1, int(models.usable_cpus() - others.busy_cores() + 0.5))
    threads = min(threads, most or threads)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    return threads
