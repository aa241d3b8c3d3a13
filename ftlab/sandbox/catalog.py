"""The model catalogue: which OpenAI model names the sandbox serves, and their ``/v1/models`` objects.

Every model name OpenAI ever fine-tuned, snapshot or alias (``openai_spec.FINE_TUNABLE_*``),
runs on the one stand-in model; the stand-in is also served under its own name, and each name
carries OpenAI's ``shutdown_date`` where the reference records one, as OpenAI's ``/v1/models`` does.
"""
from __future__ import annotations

import datetime
import os

from ftlab.openai_spec import (COURSE_MODELS, CUTOFF, FINE_TUNABLE_ALIASES, FINE_TUNABLE_SNAPSHOTS,
                               TRAINING_ENDED, WIND_DOWN_START, fine_tunable_snapshot,
                               parse_ft_model_name)

from . import settings

ORG = "ftlab"                      # the {org} part of ft:{base}:{org}:{suffix}:{id}
ORGANIZATION_ID = "org-ftlab-sandbox"
STAND_IN_NAME = "SmolLM2-135M-Instruct"


def device() -> str:
    return "GPU" if os.path.exists("/proc/driver/nvidia/version") else "CPU"


def stand_in() -> str:
    """The name of the model that really runs (a configured local model's folder name)."""
    base = settings.current().base_model
    return os.path.basename(os.path.normpath(base)) if base else STAND_IN_NAME


def underneath() -> str:
    """One plain sentence on what really runs (for /v1/models and the connect() banner)."""
    from ftlab.i18n import tr

    name = stand_in()
    return tr("{name} con LoRA su {device}", "{name} with LoRA on {device}", name=name, device=device())


def base_of(model: str) -> str | None:
    """The snapshot a base-model name (any name OpenAI ever fine-tuned) stands for, or None."""
    return fine_tunable_snapshot(model)


def is_base(model: str) -> bool:
    """A name answered by the stand-in without an adapter."""
    return base_of(model) is not None or model == STAND_IN_NAME


def base_ids() -> list[str]:
    return [*FINE_TUNABLE_SNAPSHOTS, *FINE_TUNABLE_ALIASES, STAND_IN_NAME]


def base_model_object(model_id: str) -> dict:
    snapshot = base_of(model_id)
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "system",
            "shutdown_date": FINE_TUNABLE_SNAPSHOTS.get(snapshot) if snapshot else None,
            "description": f"ftlab sandbox: runs {underneath()}"}


def fine_tuned_model_object(model: dict) -> dict:
    """A fine-tuned model with the ``shutdown_date`` of its base: OpenAI shuts fine-tunes down
    with their base model (deprecations notice, 2026-10-14)."""
    snapshot = base_of(parse_ft_model_name(model["id"])["base"])
    return {**model, "shutdown_date": FINE_TUNABLE_SNAPSHOTS.get(snapshot) if snapshot else None}


def openai_today(snapshot: str, today: datetime.date | None = None) -> str:
    """What OpenAI does with a fine-tunable snapshot today, per the reference's dates."""
    today = (today or datetime.date.today()).isoformat()
    if snapshot in TRAINING_ENDED:
        return (f"OpenAI ended fine-tuning of {snapshot} on {TRAINING_ENDED[snapshot]} "
                "(it trained on prompt/completion pairs)")
    shutdown = FINE_TUNABLE_SNAPSHOTS.get(snapshot)
    if shutdown is None:
        return (f"OpenAI's notices give no shutdown date for {snapshot}; fine-tuning on OpenAI is "
                f"winding down since {WIND_DOWN_START} and closes for everyone on {CUTOFF}")
    verb = "shut down" if shutdown <= today else "shuts down"
    return f"OpenAI {verb} {snapshot} and its fine-tunes on {shutdown}"


def job_notice(snapshot: str, today: datetime.date | None = None) -> str | None:
    """The job event for a model name outside the course's snapshots: OpenAI's status of that name
    and what the sandbox really trains (None for the course's own snapshots, which the notebooks
    already explain)."""
    if snapshot in COURSE_MODELS:
        return None
    return (f"{openai_today(snapshot, today)}. The sandbox trains its stand-in, {stand_in()} with LoRA "
            f"on {device()}, under this name.")
