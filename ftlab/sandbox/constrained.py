"""Constrained decoding for ``response_format`` (json_object / json_schema) and for a required
function call (``tool_choice`` "required" or a named function): at each step only the tokens that
keep the reply a valid JSON value (matching the schema, if one is given) may be drawn.

Library: lm-format-enforcer (pure Python, CPU, PyPI; it walks a character-level JSON-schema
parser over a prefix tree of the vocabulary). outlines (Rust core) and xgrammar (C++) were not
tried: both bring compiled parts for one small model. benchmarks/bench_constrained.py prints the
cost per token against plain decoding, and the prefix tree's one-off build per server. Its transformers adapter does not import with transformers 5,
so the tokenizer data is built here with the same recipe. A schema reply may end in whitespace
the parser allows before the end of the text.
"""
from __future__ import annotations

import functools
import threading
from typing import Callable

import torch

Constraint = Callable[[list[int]], list[int]]   # token sequence so far -> allowed next tokens
_lock = threading.Lock()


@functools.lru_cache(maxsize=2)
def _tokenizer_data(tokenizer, eos_ids: tuple[int, ...]):
    """The vocabulary as lm-format-enforcer needs it (a few seconds, once per tokenizer)."""
    from lmformatenforcer import TokenEnforcerTokenizerData

    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    regular = []
    for token in range(len(tokenizer)):
        if token in special:
            continue
        # after a "0", a token that starts a word decodes with its leading space
        after_zero = tokenizer.decode([zero, token])[1:]
        regular.append((token, after_zero, len(after_zero) > len(tokenizer.decode([token]))))

    def decode(tokens: list[int]) -> str:
        return tokenizer.decode(tokens).rstrip("\ufffd")

    return TokenEnforcerTokenizerData(regular, decode, list(eos_ids), False, len(tokenizer))


def json_constraint(tokenizer, eos_ids, schema: dict | None) -> Constraint:
    """Allowed next tokens for a JSON reply; ``schema`` None: any JSON object (json_object)."""
    from lmformatenforcer import JsonSchemaParser, TokenEnforcer

    with _lock:
        data = _tokenizer_data(tokenizer, tuple(sorted(eos_ids)))
    enforcer = TokenEnforcer(data, JsonSchemaParser(schema if schema is not None else {"type": "object"}))
    return lambda sequence: enforcer.get_allowed_tokens(sequence).allowed_tokens


def call_constraint(tokenizer, eos_ids, functions: list[dict]) -> Constraint:
    """Allowed next tokens for one call ``{"name", "arguments"}`` of ``functions`` (their
    parameters' schemas): once the call's object is closed, only the end of the turn."""
    from .tool_prompt import call_schema

    inner, ends = json_constraint(tokenizer, eos_ids, call_schema(functions)), set(eos_ids)

    def allowed(sequence: list[int]) -> list[int]:
        tokens = inner(sequence)
        done = [t for t in tokens if t in ends]
        return done or tokens   # whitespace after the object would only delay the end
    return allowed


def mask(logits: torch.Tensor, allowed: list[int]) -> torch.Tensor:
    """``logits`` with every token outside ``allowed`` set to -inf."""
    keep = torch.full_like(logits, float("-inf"))
    index = torch.tensor(allowed, dtype=torch.long)
    keep[index] = logits[index]
    return keep
