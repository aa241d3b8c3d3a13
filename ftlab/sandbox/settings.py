"""Every ``FTLAB_*`` setting of the sandbox, read in this one place.

``current()`` reads the environment afresh on each call (a few dict lookups), so a test or a
server started with another environment sees its own values; nothing is cached at import.
A dataclass is enough here: ``pydantic-settings`` would add a dependency for a few variables.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from ftlab.openai_spec import MAX_FILE_BYTES


@dataclass(frozen=True)
class Settings:
    base_model: str | None      # FTLAB_BASE_MODEL: a local Hugging Face model dir instead of the stand-in
    train_dtype: str            # FTLAB_TRAIN_DTYPE: "float32" turns off bfloat16 matmuls in training
    max_file_bytes: int         # FTLAB_MAX_FILE_BYTES: upload limit (OpenAI's 512 MB by default)
    run_worker: bool            # FTLAB_SANDBOX_WORKER=0 serves the API alone (jobs stay in validating_files)
    quotas: "Quotas"            # FTLAB_CLASS_*: what each student of a class server may use
    workers: int | None         # FTLAB_WORKERS: jobs training at once (default: 1; class server: cores // 2)
    worker_nice: int | None     # FTLAB_WORKER_NICE: the training processes' niceness (default: 0; class server: 10)

    def worker_slots(self, class_mode: bool) -> int:
        """Training processes: a step uses two threads well, so a class server runs one per two cores."""
        if self.workers:
            return self.workers
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cpus // 2) if class_mode else 1

    def worker_niceness(self, class_mode: bool) -> int:
        """How much training yields the cores: on a class server the API and the chat engine come
        first (a student's GET or answer waits for nobody's training), training takes the rest."""
        if self.worker_nice is not None:   # 0-19: raising a priority needs root, and training never should
            return max(0, min(19, self.worker_nice))
        return 10 if class_mode else 0

    @property
    def float32_training(self) -> bool:
        return self.train_dtype.lower() in ("float32", "fp32")


@dataclass(frozen=True)
class Quotas:
    """Per-student limits of the class server (the instructor and the data dir's owner have none)."""
    active_jobs: int            # FTLAB_CLASS_ACTIVE_JOBS: jobs validating, queued, running or paused at once
    file_bytes: int             # FTLAB_CLASS_FILE_MB: one upload
    storage_bytes: int          # FTLAB_CLASS_STORAGE_MB: all of a student's files together
    requests_per_minute: int    # FTLAB_CLASS_RPM: API requests, any endpoint


def _quotas(env) -> Quotas:
    mb = 2**20
    return Quotas(active_jobs=int(env.get("FTLAB_CLASS_ACTIVE_JOBS") or 2),
                  file_bytes=int(float(env.get("FTLAB_CLASS_FILE_MB") or 50) * mb),
                  storage_bytes=int(float(env.get("FTLAB_CLASS_STORAGE_MB") or 200) * mb),
                  requests_per_minute=int(env.get("FTLAB_CLASS_RPM") or 600))


def current() -> Settings:
    env = os.environ
    return Settings(base_model=env.get("FTLAB_BASE_MODEL") or None,
                    train_dtype=env.get("FTLAB_TRAIN_DTYPE", ""),
                    max_file_bytes=int(env.get("FTLAB_MAX_FILE_BYTES") or MAX_FILE_BYTES),
                    run_worker=env.get("FTLAB_SANDBOX_WORKER", "1") != "0", quotas=_quotas(env),
                    workers=int(env.get("FTLAB_WORKERS") or 0) or None,
                    worker_nice=int(env["FTLAB_WORKER_NICE"]) if env.get("FTLAB_WORKER_NICE") else None)
