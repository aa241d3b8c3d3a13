"""The model catalogue: which OpenAI model names the sandbox serves, and their ``/v1/models`` objects.

Every course snapshot and alias (``ftlab.openai_spec``) runs on the one stand-in model; the
stand-in is also served under its own name, and each course name carries OpenAI's
``shutdown_date`` (``openai_spec.SHUTDOWN_DATES``), as OpenAI's ``/v1/models`` does.
"""
from __future__ import annotations

import os

from ftlab.openai_spec import ALIASES, COURSE_MODELS, SHUTDOWN_DATES, course_snapshot

from . import settings

ORG = "ftlab"                      # the {org} part of ft:{base}:{org}:{suffix}:{id}
ORGANIZATION_ID = "org-ftlab-sandbox"
STAND_IN_NAME = "SmolLM2-135M-Instruct"


def device() -> str:
    return "GPU" if os.path.exists("/proc/driver/nvidia/version") else "CPU"


def underneath() -> str:
    """One plain sentence on what really runs (for /v1/models and the connect() banner)."""
    from ftlab.i18n import tr

    base = settings.current().base_model
    name = os.path.basename(os.path.normpath(base)) if base else STAND_IN_NAME
    return tr("{name} con LoRA su {device}", "{name} with LoRA on {device}", name=name, device=device())


def base_of(model: str) -> str | None:
    """The course snapshot a base-model name stands for, or None if it is not one."""
    return course_snapshot(model)


def is_base(model: str) -> bool:
    """A name answered by the stand-in without an adapter."""
    return base_of(model) is not None or model == STAND_IN_NAME


def base_ids() -> list[str]:
    return [*COURSE_MODELS, *ALIASES, STAND_IN_NAME]


def base_model_object(model_id: str) -> dict:
    snapshot = base_of(model_id)
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "system",
            "shutdown_date": SHUTDOWN_DATES.get(snapshot) if snapshot else None,
            "description": f"ftlab sandbox: runs {underneath()}"}
