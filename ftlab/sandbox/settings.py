"""Every ``FTLAB_*`` setting of the sandbox, read in this one place.

``current()`` reads the environment afresh on each call (a few dict lookups), so a test or a
server started with another environment sees its own values; nothing is cached at import.
A dataclass is enough here: ``pydantic-settings`` would add a dependency for five variables.
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

    @property
    def float32_training(self) -> bool:
        return self.train_dtype.lower() in ("float32", "fp32")


def current() -> Settings:
    env = os.environ
    return Settings(base_model=env.get("FTLAB_BASE_MODEL") or None,
                    train_dtype=env.get("FTLAB_TRAIN_DTYPE", ""),
                    max_file_bytes=int(env.get("FTLAB_MAX_FILE_BYTES") or MAX_FILE_BYTES),
                    run_worker=env.get("FTLAB_SANDBOX_WORKER", "1") != "0")
