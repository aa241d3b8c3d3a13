"""A training run's settings and result, and OpenAI's "auto" hyperparameters.

``resolve_hyperparameters`` turns "auto" into the numbers OpenAI shows on a job; the sandbox's own
choices (learning rate, LoRA rank and layers, micro-batch sizes) are the constants below.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ftlab.openai_spec import HYPERPARAMETER_RANGES, default_epochs

BASE_LR = 1e-4          # learning rate = BASE_LR × learning_rate_multiplier
LORA_RANK = 16
LORA_LAYER_FRACTION = 0.5   # LoRA in the upper half of the decoder layers
MAX_TOKENS = 2048       # longer examples are truncated from the end, like OpenAI does
MICRO_BATCH_TOKENS = 1024   # padded tokens per forward pass (keeps a micro-batch < ~1 s)
VALID_BATCH = 8         # examples per validation micro-batch
EVAL_POINTS = 20        # how many interval validations per job (plus a full one per epoch)
AUTO_LEARNING_RATE_MULTIPLIER = 2.0
AUTO_BETA = 0.1


class TrainingError(Exception):
    """A job cannot be trained (message in the course's language); the worker fails the job."""


@dataclass
class TrainConfig:
    n_epochs: int
    batch_size: int
    learning_rate_multiplier: float
    seed: int
    method: str = "supervised"   # "supervised" | "dpo"
    beta: float = 0.1            # DPO only


@dataclass
class TrainResult:
    trained_tokens: int
    steps: int
    final_adapter: Path | None
    stopped: str | None = None   # None | "cancel" | "pause"
    useful_tokens: int = 0       # non-padding tokens of the trained forward passes (benchmarks)


def resolve_hyperparameters(n_examples: int, requested: dict | None) -> dict:
    """Turn "auto" (or missing) values into numbers, like OpenAI shows them on the job.

    * ``n_epochs``: the rule of ``default_epochs``.
    * ``batch_size``: ~0.2 % of the examples, between 1 and 256 (OpenAI's documented default).
    * ``learning_rate_multiplier``: 2.0, the value OpenAI's jobs report for small chat datasets;
      the sandbox's learning rate is ``1e-4 ×`` the multiplier (LoRA's usual 2e-4 by default).
    * ``beta`` (DPO only, when present): 0.1.
    """
    requested = dict(requested or {})
    low, high = int(HYPERPARAMETER_RANGES["batch_size"].low), int(HYPERPARAMETER_RANGES["batch_size"].high)

    def pick(key, auto):
        value = requested.get(key, "auto")
        return auto if value in (None, "auto") else value

    out = {
        "n_epochs": int(pick("n_epochs", default_epochs(n_examples))),
        "batch_size": int(pick("batch_size", max(low, min(high, round(0.002 * n_examples))))),
        "learning_rate_multiplier": float(pick("learning_rate_multiplier", AUTO_LEARNING_RATE_MULTIPLIER)),
    }
    if "beta" in requested:
        out["beta"] = float(pick("beta", AUTO_BETA))
    return out
