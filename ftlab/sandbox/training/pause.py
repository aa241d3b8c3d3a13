"""Pause and resume: everything a paused run needs to continue exactly where it stopped.

The LoRA weights, optimizer, scheduler, RNG and step are saved to ``out_dir/pause``; ``load``
refuses a state saved for another job's settings.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from ftlab.i18n import tr

from .config import TrainingError


def trainable_state(run) -> dict:
    return {n: p.detach().cpu().clone() for n, p in run.model.named_parameters() if p.requires_grad}


def save(run, where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    run.model.save_pretrained(where / "adapter")
    torch.save({"step": run.step, "trained_tokens": run.trained_tokens,
                "valid_cursor": run.valid_cursor, "lora": trainable_state(run),
                "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                "rng": torch.get_rng_state(), "config": asdict(run.config),
                "total_steps": run.total_steps}, where / "state.pt")


def load(run, where: Path) -> None:
    state = torch.load(Path(where) / "state.pt", map_location="cpu", weights_only=False)
    if state["config"] != asdict(run.config) or state["total_steps"] != run.total_steps:
        raise TrainingError(tr("Lo stato di ripresa non corrisponde a questo job.",
                               "The resume state does not match this job."))
    params = dict(run.model.named_parameters())
    with torch.no_grad():
        for name, value in state["lora"].items():
            params[name].copy_(value)
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    run.step, run.trained_tokens = state["step"], state["trained_tokens"]
    run.valid_cursor = state["valid_cursor"]
