"""OpenAI's fine-tuning rules and constants, written once.

The helpers, the widgets and the sandbox all import them from here, so the client-side checks
and the sandbox's 400 errors cannot drift apart (as openai-python keeps its ``types/`` in one
place). Sources: the OpenAPI spec (``CreateFineTuningJobRequest``, ``CreateFileRequest``,
``ChatCompletionRequest*Message``) and OpenAI's fine-tuning guides, as of 2026-12-02.
Bottom layer: imports nothing from ftlab.
"""
from __future__ import annotations

import os
import re
from typing import Any, NamedTuple

# -- models ----------------------------------------------------------------------------------------
# The course's model id, configurable (issue 16, item 5): gpt-4.1-nano was retired on 2026-10-23,
# so a course run on Azure or a later snapshot sets FTLAB_MODEL instead of editing every notebook.
COURSE_MODEL = os.environ.get("FTLAB_MODEL") or "gpt-4.1-nano-2025-04-14"
# The course's snapshots and their aliases (the sandbox runs all of them on its stand-in).
COURSE_MODELS = ("gpt-4.1-nano-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18")
ALIASES = {"gpt-4.1-nano": "gpt-4.1-nano-2025-04-14", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
           "gpt-4o-mini": "gpt-4o-mini-2024-07-18"}
# Self-serve fine-tuning winds down from WIND_DOWN_START; nobody can create jobs from CUTOFF.
WIND_DOWN_START = "2026-05-07"
CUTOFF = "2027-01-06"
# When OpenAI shuts each course snapshot down, with its fine-tunes (deprecations page, 2026-10-14).
SHUTDOWN_DATES = {"gpt-4.1-nano-2025-04-14": "2026-10-23", "gpt-4.1-mini-2025-04-14": "2027-01-14",
                  "gpt-4o-mini-2024-07-18": "2027-01-14"}


# Every model OpenAI ever let users fine-tune, snapshot → its shutdown date (None: the reference
# records none). Names: the SDK's JobCreateParams.model literal (babbage-002, davinci-002,
# gpt-3.5-turbo, gpt-4o-mini), the fine-tuning guide's snapshot list and the deprecations notice
# of 2026-10-14 (gpt-4o, gpt-4o-mini, gpt-4.1, gpt-4.1-mini: 2027-01-14). The sandbox accepts
# every one as a name of its stand-in, so code written for OpenAI runs unchanged.
FINE_TUNABLE_SNAPSHOTS = {
    **SHUTDOWN_DATES,
    "gpt-4.1-2025-04-14": "2027-01-14", "gpt-4o-2024-08-06": "2027-01-14",
    "gpt-3.5-turbo-0125": None, "gpt-3.5-turbo-1106": None, "gpt-3.5-turbo-0613": None,
    "babbage-002": None, "davinci-002": None,
}
# Names without a date and the snapshot OpenAI's jobs report for them.
FINE_TUNABLE_ALIASES = {**ALIASES, "gpt-4.1": "gpt-4.1-2025-04-14", "gpt-4o": "gpt-4o-2024-08-06",
                        "gpt-3.5-turbo": "gpt-3.5-turbo-0125"}
# The legacy completion models took prompt/completion pairs; their training ended 2024-10-28.
TRAINING_ENDED = {"babbage-002": "2024-10-28", "davinci-002": "2024-10-28"}


def fine_tunable_snapshot(model: str) -> str | None:
    """The snapshot of any model name OpenAI ever fine-tuned (or its alias), else None."""
    model = FINE_TUNABLE_ALIASES.get(model, model)
    return model if model in FINE_TUNABLE_SNAPSHOTS else None


def course_snapshot(model: str) -> str | None:
    """The course snapshot a base-model name (or alias) stands for, or None if it is not one."""
    model = ALIASES.get(model, model)
    return model if model in COURSE_MODELS else None


def model_family(model: str) -> str:
    """A model name without the ``ft:`` wrapper and the ``-YYYY-MM-DD`` snapshot date."""
    return re.sub(r"-\d{4}-\d{2}-\d{2}$|-\d{4}$", "", base_model(model))


def encoding_name(model: str) -> str:
    """The tiktoken encoding OpenAI uses for ``model`` (gpt-4o, gpt-4.1 and newer: o200k_base)."""
    family = model_family(model)
    if family.startswith(("gpt-3.5", "gpt-4")) and not family.startswith(("gpt-4o", "gpt-4.1")):
        return "cl100k_base"
    return "o200k_base"


# -- fine-tuned model names ------------------------------------------------------------------------
def ft_model_name(base: str, org: str, suffix: str | None, job_id: str) -> str:
    """``ft:{base}:{org}:{suffix}:{id}``, the name OpenAI gives a fine-tuned model."""
    return f"ft:{base}:{org}:{suffix or ''}:{job_id}"


def checkpoint_model_name(model: str, step: int) -> str:
    """The name of a job's checkpoint model: ``{fine-tuned model}:ckpt-step-{step}``."""
    return f"{model}:ckpt-step-{step}"


def parse_ft_model_name(name: str) -> dict:
    """``ft:{base}:{org}:{suffix}:{id}[:ckpt-step-N]`` → its parts (only ``base`` for other names)."""
    parts = name.split(":")
    if parts[0] != "ft" or len(parts) < 5:
        return {"base": name, "org": None, "suffix": None, "id": None, "checkpoint_step": None}
    step = int(parts[5].rsplit("-", 1)[-1]) if len(parts) > 5 and parts[5].startswith("ckpt-step-") else None
    return {"base": parts[1], "org": parts[2] or None, "suffix": parts[3] or None, "id": parts[4],
            "checkpoint_step": step}


def base_model(model: str) -> str:
    """``ft:gpt-4.1-nano-2025-04-14:org::id`` → ``gpt-4.1-nano-2025-04-14``; other names unchanged."""
    return model.split(":")[1] if model.startswith("ft:") and ":" in model[3:] else model


def is_fine_tuned(model: str) -> bool:
    return model.startswith("ft:")


# -- jobs ------------------------------------------------------------------------------------------
class Range(NamedTuple):
    """A hyperparameter's documented range: ``low <= value`` (``low < value`` if exclusive)."""
    kind: type
    low: float
    high: float | None
    low_exclusive: bool

    def contains(self, value: Any) -> bool:
        """True for a number of the right kind inside the range (bools are not numbers here)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind is int and not float(value).is_integer():
            return False
        above = value > self.low if self.low_exclusive else value >= self.low
        return above and (self.high is None or value <= self.high)

    def describe(self) -> str:
        """``1–50``, ``> 0`` or ``(0, 2]``, as messages show the range."""
        if self.high is None:
            return f"> {self.low}"
        return f"({self.low}, {self.high}]" if self.low_exclusive else f"{self.low}–{self.high}"


# Each value is "auto" or a number in its range (CreateFineTuningJobRequest / FineTuneMethod).
HYPERPARAMETER_RANGES = {
    "n_epochs": Range(int, 1, 50, False),
    "batch_size": Range(int, 1, 256, False),
    "learning_rate_multiplier": Range(float, 0.0, None, True),
    "beta": Range(float, 0.0, 2.0, True),   # DPO only
}
METHODS = ("supervised", "dpo", "reinforcement")
METHOD_HYPERPARAMETERS = {
    "supervised": ("n_epochs", "batch_size", "learning_rate_multiplier"),
    "dpo": ("n_epochs", "batch_size", "learning_rate_multiplier", "beta"),
}
SEED_MAX = 2_147_483_647
SUFFIX_MAX_LENGTH = 64
METADATA_MAX_PAIRS, METADATA_KEY_MAX_LENGTH, METADATA_VALUE_MAX_LENGTH = 16, 64, 512
JOB_STATUSES = ("validating_files", "queued", "running", "succeeded", "failed", "cancelled", "paused")
TERMINAL_STATUSES = ("succeeded", "failed", "cancelled")


def suffix_ok(suffix: Any) -> bool:
    return isinstance(suffix, str) and 1 <= len(suffix) <= SUFFIX_MAX_LENGTH


def seed_ok(seed: Any) -> bool:
    return isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= SEED_MAX


def default_epochs(n_examples: int) -> int:
    """OpenAI's "auto" epochs as observed: 3, raised for tiny files, lowered for huge ones."""
    n = max(1, n_examples)
    if n * 3 < 100:
        return min(25, 100 // n)
    if n * 3 > 25_000:
        return max(1, 25_000 // n)
    return 3


# -- files and training data -----------------------------------------------------------------------
UPLOAD_PURPOSES = ("fine-tune", "assistants", "batch", "vision", "user_data", "evals")
MAX_FILE_BYTES = 512 * 1024 * 1024
MIN_TRAINING_EXAMPLES = 10
RECOMMENDED_EXAMPLES = 50   # "clear improvements from 50 to 100 examples"
# Per-example training token limit; longer examples are truncated, not rejected (nor billed).
# OpenAI publishes 65,536 for gpt-4o / gpt-4o-mini and none for gpt-4.1-*; Azure states 32,768 for
# gpt-4.1-nano, but we keep OpenAI's default there. gpt-3.5-turbo trains on 16,385.
DEFAULT_TOKEN_LIMIT = 65_536
TOKEN_LIMITS = {
    "gpt-4o-mini": 65_536, "gpt-4o": 65_536,
    "gpt-4.1-nano": 65_536, "gpt-4.1-mini": 65_536, "gpt-4.1": 65_536,
    "gpt-3.5-turbo": 16_385,
}


def token_limit(model: str) -> int:
    """Per-example training token limit for ``model`` (default 65,536)."""
    return TOKEN_LIMITS.get(model_family(model), DEFAULT_TOKEN_LIMIT)


def billed_tokens(counts, epochs: int, cap: int = DEFAULT_TOKEN_LIMIT) -> int:
    """epochs × Σ min(cap, tokens per example): longer examples are truncated, so not billed."""
    return epochs * sum(min(cap, c) for c in counts)


# Chat-format training lines: {"messages": [...]} (+ tools, parallel_tool_calls, functions).
TRAINING_ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = ("role", "content", "name", "weight", "tool_calls", "tool_call_id", "function_call")
CHAT_KEYS = ("messages", "tools", "parallel_tool_calls", "functions")
DPO_KEYS = ("input", "preferred_output", "non_preferred_output")
WEIGHTS = (0, 1)   # assistant messages only; 0 = not trained on
# Content may also be an array of parts (ChatCompletionRequest*Message in the OpenAPI spec): text
# in every role; images, audio and files in user messages; refusals in assistant messages. Each
# part is {"type": T, T: value}; vision fine-tuning data puts images in user messages this way.
CONTENT_PART_TYPES = {
    "system": ("text",), "developer": ("text",), "tool": ("text",), "function": (),
    "user": ("text", "image_url", "input_audio", "file"),
    "assistant": ("text", "refusal"),
}
IMAGE_DETAILS = ("auto", "low", "high")


def content_text(content: Any) -> str | None:
    """The text a message's content holds: the string, or its text parts joined (images and
    other parts carry no text); None for anything else (null, a number …)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p["text"] for p in content
                       if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    return None

# Chat completions requests (the sandbox's chat endpoint)
CHAT_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
# Function calling (the spec's FunctionObject, ChatCompletionToolChoiceOption, ParallelToolCalls)
FUNCTION_NAME_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"   # "a-z, A-Z, 0-9, underscores and dashes, max 64"
MAX_TOOLS = 128                                      # OpenAI's cap on tools per request
TOOL_CHOICE_MODES = ("none", "auto", "required")     # or {"type": "function", "function": {"name"}}
TOOL_CALL_ID_PREFIX = "call_"


def function_name_ok(name: Any) -> bool:
    """A function name OpenAI accepts (FunctionObject.name)."""
    import re
    return isinstance(name, str) and re.fullmatch(FUNCTION_NAME_PATTERN, name) is not None


# -- backends --------------------------------------------------------------------------------------
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_local_url(url: Any) -> bool:
    """True when ``url`` (a string, ``httpx.URL`` or anything with ``.host``) names this machine."""
    host = getattr(url, "host", None)
    if host is None:
        from urllib.parse import urlsplit
        host = urlsplit(str(url)).hostname
    return (host or "").strip("[]") in LOCAL_HOSTS
