"""The job runner on Ray: the same worker loop (``worker.main``), run as Ray tasks, one per slot.

``ftlab serve --class --executor ray`` starts a local Ray head; ``--executor HOST:PORT`` joins an
existing cluster's head (``ray start --head`` on one machine, ``ray start --address HOST:PORT`` on
each machine added) and ``ray://HOST:PORT`` goes through Ray Client. Jobs, events, checkpoints and
cancellation behave as with local processes because the tasks work on the same data dir: on a
cluster it must be the same path on every machine (a shared filesystem), with ftlab installed
there too. Each task asks Ray for two CPUs, so as many jobs train at once as the cluster's cores
allow; ``max_calls=1`` gives each job a fresh process (its memory goes back after the job), as the
local worker does. Stopping: the data dir's stop file, which the loop checks like SIGTERM.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from .worker import LOCK_BUSY, POLL, STOP_FILE

log = logging.getLogger("ftlab.sandbox.ray_executor")
CPUS_PER_JOB = 2


def _slot(data_dir: str, slot: int, slots: int) -> int:
    from ftlab.sandbox import worker
    return worker.main(data_dir, slot, slots, stop_file=True)


class RayExecutor:
    """Keeps ``slots`` Ray tasks running the worker loop; same interface as ``worker.Supervisor``."""

    def __init__(self, data_dir: Path, address: str | None = None, slots: int | None = None):
        import ray

        self.ray, self.data_dir = ray, Path(data_dir)
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.slots = slots or max(1, int(ray.cluster_resources().get("CPU", CPUS_PER_JOB)) // CPUS_PER_JOB)
        self._task = ray.remote(num_cpus=CPUS_PER_JOB, max_calls=1, max_retries=0)(_slot)
        self.refs: list = [None] * self.slots
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ftlab-ray-executor")

    def start(self) -> None:
        (self.data_dir / STOP_FILE).unlink(missing_ok=True)
        for slot in range(self.slots):
            self._submit(slot)
        self._thread.start()

    def _submit(self, slot: int) -> None:
        self.refs[slot] = self._task.remote(str(self.data_dir), slot, self.slots)

    def alive(self) -> bool:
        ready, _ = self.ray.wait([r for r in self.refs if r is not None], num_returns=len(self.refs), timeout=0)
        return not ready and all(r is not None for r in self.refs)

    def _loop(self) -> None:
        while not self._stopping:
            ready, _ = self.ray.wait(self.refs, num_returns=1, timeout=POLL)
            for ref in ready:
                if self._stopping:
                    return
                slot = self.refs.index(ref)
                try:
                    code = self.ray.get(ref)
                except Exception as exc:   # the task's process died (a crash, a node lost)
                    log.warning("ray slot %s ended: %s; restarting", slot, exc)
                    code = None
                time.sleep(2.0 if code == LOCK_BUSY else 0.2)
                if not self._stopping:
                    self._submit(slot)

    def stop(self, timeout: float = 45.0) -> None:
        """Ask the tasks to stop (running jobs save their state and go back to the queue)."""
        self._stopping = True
        (self.data_dir / STOP_FILE).touch()
        _, pending = self.ray.wait(self.refs, num_returns=len(self.refs), timeout=timeout)
        for ref in pending:
            self.ray.cancel(ref, force=True)
        (self.data_dir / STOP_FILE).unlink(missing_ok=True)
        self.ray.shutdown()
