"""Measuring function calling: does a model pick the right function with the right arguments?

``ask_all`` sends each test line (its messages and ``tools``) with a given ``tool_choice``;
``score`` compares the reply with the expected call (function None = a text reply was right):
right kind of reply, right function, right arguments;
``compare`` gives each model's rates with 95% Wilson intervals and the paired difference of two
models with a bootstrap interval and McNemar's test (``ftlab.evaluation``).
"""
from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from .evaluation import bootstrap_ci, mcnemar, verdict


def ask(client, model: str, line: dict, tool_choice="auto", max_tokens: int = 60):
    """One chat completion on a test line (its ``messages`` up to the first assistant turn)."""
    messages = []
    for m in line["messages"]:
        if m["role"] == "assistant":
            break
        messages.append(m)
    return client.chat.completions.create(model=model, messages=messages, tools=line["tools"],
                                          tool_choice=tool_choice, temperature=0, max_tokens=max_tokens)


def called(message) -> tuple[str | None, dict | None]:
    """The first call of a reply's message as (function, arguments); (None, None) for text.
    Arguments that are not a JSON object count as None."""
    if not message.tool_calls:
        return None, None
    fn = message.tool_calls[0].function
    try:
        args = json.loads(fn.arguments)
    except ValueError:
        args = None
    return fn.name, args if isinstance(args, dict) else None


def score(message, expected: dict) -> dict:
    """``kind_ok``: a call when one is expected, text when none applies; ``function_ok``: the right
    function (or text); ``arguments_ok``: also exactly the expected arguments (strings compared
    without case and outer spaces)."""
    name, args = called(message)
    function_ok = name == expected["function"]
    kind_ok = (name is None) == (expected["function"] is None)
    if expected["function"] is None:
        return {"called": name, "kind_ok": kind_ok, "function_ok": function_ok, "arguments_ok": function_ok}
    return {"called": name, "kind_ok": kind_ok, "function_ok": function_ok,
            "arguments_ok": function_ok and _norm(args) == _norm(expected["arguments"])}


def _norm(value):
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    return value.strip().lower() if isinstance(value, str) else value


def ask_all(client, models: dict, lines: list[dict], expected: list[dict], tool_choice="auto",
            workers: int = 8) -> pd.DataFrame:
    """One row per (label, line): the call made and its scores. ``models``: label → model name.
    Requests run concurrently: the sandbox decodes them in one batch."""
    jobs = [(label, model, i) for label, model in models.items() for i in range(len(lines))]

    def one(job):
        label, model, i = job
        reply = ask(client, model, lines[i], tool_choice)
        return {"model": label, "line": i, **score(reply.choices[0].message, expected[i])}

    with ThreadPoolExecutor(workers) as pool:
        return pd.DataFrame(list(pool.map(one, jobs)))


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson interval of a proportion (sound also near 0 and 1, unlike the normal one)."""
    if n == 0:
        return 0.0, 1.0
    p, z2 = successes / n, z * z
    centre, half = (p + z2 / (2 * n)) / (1 + z2 / n), z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def compare(scores: pd.DataFrame, a: str, b: str, metrics=("kind_ok", "function_ok", "arguments_ok")) -> pd.DataFrame:
    """Per metric: rate of ``a`` and ``b`` with Wilson intervals, the paired difference b−a with
    a bootstrap interval, McNemar's p-value and ``evaluation.verdict``'s reading ("B" is ``b``)."""
    rows = []
    for metric in metrics:
        wide = scores.pivot(index="line", columns="model", values=metric).astype(bool)
        row = {"metrica": metric, "n": len(wide)}
        for label in (a, b):
            k = int(wide[label].sum())
            low, high = wilson(k, len(wide))
            row.update({label: k / len(wide), f"{label} IC95": f"{low:.2f}–{high:.2f}"})
        diffs = (wide[b].astype(int) - wide[a].astype(int)).tolist()
        ci, test = bootstrap_ci(diffs), mcnemar(wide[a].tolist(), wide[b].tolist())
        row.update({"differenza": sum(diffs) / len(diffs), "diff IC95": f"{ci[0]:+.2f}…{ci[1]:+.2f}",
                    "p (McNemar)": test["p_value"],
                    "verdetto": verdict(ci, test["p_value"], len(wide), test["only_a"] + test["only_b"])})
        rows.append(row)
    return pd.DataFrame(rows)
