"""The tokens OpenAI bills a job for: each example's count (``ftlab.tokens``, OpenAI's formula on
its encoding), capped at the per-example limit, times the epochs trained."""
from __future__ import annotations

from ftlab.openai_spec import DEFAULT_TOKEN_LIMIT
from ftlab.tokens import example_tokens


def billable_tokens(example: dict, method: str, cap: int = DEFAULT_TOKEN_LIMIT) -> int:
    """Tokens OpenAI bills for one pass over an example (DPO: prompt with each answer)."""
    if method == "dpo":
        prompt = example["input"]["messages"]
        return sum(min(cap, example_tokens({"messages": prompt + example[k]}))
                   for k in ("preferred_output", "non_preferred_output"))
    return min(cap, example_tokens(example))
