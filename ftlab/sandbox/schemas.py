"""Request checking and response shapes of the sandbox, following OpenAI's API.

Requests are checked by hand rather than by pydantic models so that each bad parameter gets
OpenAI's 400 with the exact ``param`` ("hyperparameters.n_epochs", "messages", …). The SDK's
own types (``openai.types``) are what the responses are tested against.
"""
from __future__ import annotations

import os
import secrets
import time

from .errors import bad_request

ORG = "ftlab"                      # the {org} part of ft:{base}:{org}:{suffix}:{id}
ORGANIZATION_ID = "org-ftlab-sandbox"
STAND_IN_NAME = "SmolLM2-135M-Instruct"

# The course's model names (snapshots) and their aliases; all run on the stand-in.
COURSE_MODELS = ("gpt-4.1-nano-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18")
ALIASES = {"gpt-4.1-nano": "gpt-4.1-nano-2025-04-14", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
           "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
UPLOAD_PURPOSES = ("fine-tune", "assistants", "batch", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024


def device() -> str:
    return "GPU" if os.path.exists("/proc/driver/nvidia/version") else "CPU"


def underneath() -> str:
    """One plain sentence on what really runs (for /v1/models and the connect() banner)."""
    base = os.environ.get("FTLAB_BASE_MODEL")
    name = os.path.basename(os.path.normpath(base)) if base else STAND_IN_NAME
    from ftlab.i18n import tr
    return tr("{name} con LoRA su {device}", "{name} with LoRA on {device}", name=name, device=device())


def base_of(model: str) -> str | None:
    """The course snapshot a base-model name stands for, or None if it is not one."""
    model = ALIASES.get(model, model)
    return model if model in COURSE_MODELS else None


def base_model_object(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 1_700_000_000, "owned_by": "system",
            "description": f"ftlab sandbox: runs {underneath()}"}


# -- fine-tuning jobs ------------------------------------------------------------------------------
def _choice(value, param, *, lo, hi, kind):
    if value is None or value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad_request(f"Invalid type for '{param}': expected 'auto' or a number.", param, "invalid_type")
    if kind is int and value != int(value):
        raise bad_request(f"Invalid value for '{param}': expected an integer.", param, "invalid_value")
    if not (lo <= value <= hi) or (kind is float and value <= 0):
        limits = f"between {lo} and {hi}" if kind is int else "greater than 0"
        raise bad_request(f"Invalid value for '{param}': must be {limits}, got {value}.", param, "invalid_value")
    return kind(value)


def check_hyperparameters(hp, prefix: str, *, dpo: bool = False) -> dict:
    if hp is None:
        hp = {}
    if not isinstance(hp, dict):
        raise bad_request(f"Invalid type for '{prefix}': expected an object.", prefix, "invalid_type")
    known = {"n_epochs", "batch_size", "learning_rate_multiplier"} | ({"beta"} if dpo else set())
    for key in hp:
        if key not in known:
            raise bad_request(f"Unknown parameter: '{prefix}.{key}'.", f"{prefix}.{key}", "unknown_parameter")
    out = {"batch_size": _choice(hp.get("batch_size"), f"{prefix}.batch_size", lo=1, hi=256, kind=int),
           "learning_rate_multiplier": _choice(hp.get("learning_rate_multiplier"),
                                               f"{prefix}.learning_rate_multiplier", lo=0, hi=1e9, kind=float),
           "n_epochs": _choice(hp.get("n_epochs"), f"{prefix}.n_epochs", lo=1, hi=50, kind=int)}
    if dpo:
        out["beta"] = _choice(hp.get("beta"), f"{prefix}.beta", lo=0, hi=2, kind=float)
    return out


def check_method(method, hyperparameters) -> dict:
    """Normalise ``method`` (and the deprecated top-level ``hyperparameters``) to OpenAI's shape."""
    if method is None:
        method = {"type": "supervised"}
    if not isinstance(method, dict) or method.get("type") not in ("supervised", "dpo", "reinforcement"):
        raise bad_request("Invalid value for 'method.type': expected 'supervised', 'dpo' or 'reinforcement'.",
                          "method.type", "invalid_value")
    kind = method["type"]
    if kind == "reinforcement":
        raise bad_request("Reinforcement fine-tuning is only available for reasoning models; the sandbox "
                          "trains supervised and dpo jobs.", "method.type", "invalid_value")
    inner = method.get(kind) or {}
    requested = inner.get("hyperparameters") if isinstance(inner, dict) else None
    if hyperparameters and requested:
        raise bad_request("Specify hyperparameters in 'method', not both in 'method' and 'hyperparameters'.",
                          "hyperparameters", "invalid_value")
    prefix = "hyperparameters" if hyperparameters else f"method.{kind}.hyperparameters"
    hp = check_hyperparameters(requested or hyperparameters, prefix, dpo=kind == "dpo")
    return {"type": kind, kind: {"hyperparameters": hp}}


def check_metadata(metadata) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or len(metadata) > 16:
        raise bad_request("Invalid 'metadata': expected an object with at most 16 pairs.", "metadata", "invalid_value")
    for k, v in metadata.items():
        if len(k) > 64 or not isinstance(v, str) or len(v) > 512:
            raise bad_request("Invalid 'metadata': keys up to 64 characters, string values up to 512.",
                              "metadata", "invalid_value")
    return metadata


def new_job(body: dict, *, check_file) -> dict:
    """A new job object from a create request (raises APIError on a bad parameter).

    ``check_file(file_id, param)`` raises when a referenced file is missing or not for fine-tuning.
    """
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_value")
    for required in ("model", "training_file"):
        if not body.get(required):
            raise bad_request(f"Missing required parameter: '{required}'.", required, "missing_required_parameter")
    model = base_of(str(body["model"]))
    if model is None:
        raise bad_request(f"Model {body['model']} is not available for fine-tuning or does not exist.",
                          "model", "model_not_available")
    check_file(body["training_file"], "training_file")
    if body.get("validation_file"):
        check_file(body["validation_file"], "validation_file")
    suffix = body.get("suffix")
    if suffix is not None and (not isinstance(suffix, str) or not 1 <= len(suffix) <= 64):
        raise bad_request("Invalid 'suffix': expected a string of 1 to 64 characters.", "suffix", "invalid_value")
    seed = body.get("seed")
    if seed is None:
        seed = secrets.randbelow(2_147_483_647)
    elif isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= 2_147_483_647:
        raise bad_request("Invalid 'seed': expected an integer between 0 and 2147483647.", "seed", "invalid_value")
    integrations = body.get("integrations") or []
    if not isinstance(integrations, list) or any(not isinstance(i, dict) or i.get("type") != "wandb"
                                                 for i in integrations):
        raise bad_request("Invalid 'integrations': only {'type': 'wandb', ...} is supported.",
                          "integrations", "invalid_value")
    method = check_method(body.get("method"), body.get("hyperparameters"))
    from .store import new_id
    return {
        "id": new_id("ftjob-"), "object": "fine_tuning.job", "created_at": int(time.time()),
        "finished_at": None, "model": model, "fine_tuned_model": None,
        "organization_id": ORGANIZATION_ID, "status": "validating_files",
        "hyperparameters": {k: v for k, v in method[method["type"]]["hyperparameters"].items() if k != "beta"},
        "training_file": body["training_file"], "validation_file": body.get("validation_file"),
        "result_files": [], "trained_tokens": None, "error": None, "seed": seed,
        "estimated_finish": None, "method": method, "metadata": check_metadata(body.get("metadata")),
        "integrations": integrations or None, "suffix": suffix,
    }


def public_job(job: dict) -> dict:
    """The job as clients see it (private keys like ``suffix`` removed)."""
    return {k: v for k, v in job.items() if k != "suffix"}


def ft_model_name(job: dict) -> str:
    from .store import new_id
    return f"ft:{job['model']}:{ORG}:{job.get('suffix') or ''}:{new_id('', 8)}"


# -- chat completions ------------------------------------------------------------------------------
def _number(body, key, lo, hi, default):
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise bad_request(f"Invalid value for '{key}': expected a number between {lo} and {hi}.", key, "invalid_value")
    return value


def check_chat(body: dict) -> dict:
    """The generation settings of a chat completion request."""
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", None, "invalid_value")
    for required in ("model", "messages"):
        if body.get(required) in (None, ""):
            raise bad_request(f"Missing required parameter: '{required}'.", required, "missing_required_parameter")
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        raise bad_request("Invalid 'messages': expected a non-empty array.", "messages", "invalid_value")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise bad_request(f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role", "invalid_value")
        content = m.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
        if content is not None and not isinstance(content, str):
            raise bad_request(f"Invalid type for 'messages[{i}].content'.", f"messages[{i}].content", "invalid_type")
        messages[i] = {"role": "system" if m["role"] == "developer" else m["role"], "content": content or ""}
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None and (isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1):
        param = "max_completion_tokens" if "max_completion_tokens" in body else "max_tokens"
        raise bad_request(f"Invalid '{param}': expected a positive integer.", param, "invalid_value")
    stop = body.get("stop")
    if isinstance(stop, str):
        stop = [stop]
    if stop is not None and (not isinstance(stop, list) or len(stop) > 4 or not all(isinstance(s, str) for s in stop)):
        raise bad_request("Invalid 'stop': expected a string or up to 4 strings.", "stop", "invalid_value")
    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise bad_request("Invalid 'seed': expected an integer.", "seed", "invalid_type")
    return {"messages": messages,
            "temperature": _number(body, "temperature", 0, 2, 1.0),
            "top_p": _number(body, "top_p", 0, 1, 1.0),
            "max_tokens": max_tokens, "n": int(_number(body, "n", 1, 8, 1)), "stop": stop or None,
            "seed": seed}


def completion(model: str, choices, prompt_tokens: int) -> dict:
    completion_tokens = sum(c.completion_tokens for c in choices)
    return {
        "id": "chatcmpl-" + secrets.token_hex(12), "object": "chat.completion",
        "created": int(time.time()), "model": model, "system_fingerprint": "fp_ftlab_sandbox",
        "choices": [{"index": i, "finish_reason": c.finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": c.text, "refusal": None}}
                    for i, c in enumerate(choices)],
        "usage": usage(prompt_tokens, completion_tokens),
    }


def usage(prompt_tokens: int, completion_tokens: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def chunk(cid: str, created: int, model: str, *, delta: dict | None = None, finish_reason=None,
          index: int = 0, usage_: dict | None = None) -> dict:
    choices = [] if delta is None else [{"index": index, "delta": delta, "finish_reason": finish_reason,
                                          "logprobs": None}]
    return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_ftlab_sandbox", "choices": choices, "usage": usage_}
