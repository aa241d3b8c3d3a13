"""Benchmark: what a JSON constraint (``response_format``, lm-format-enforcer) costs per token.

Through the official SDK on a fresh sandbox (worker off), greedy, same conversation:
plain text vs ``json_schema`` vs ``json_object``; prints generated tokens, seconds, tokens/s and
whether the reply parsed, with the load average (the machine may be shared: read the figures
relative to each other). The first constrained request also builds the vocabulary's prefix tree
(once per server): it is timed apart.

    python benchmarks/bench_constrained.py [--repeats N]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench_sandbox import load  # noqa: E402  (this folder: the load average beside every figure)
from sandbox_helpers import sandbox  # noqa: E402

ASK = [{"role": "system", "content": "Estrai i dati in JSON."},
       {"role": "user", "content": "Mario Rossi ha 42 anni e vive a Torino."}]
SCHEMA = {"type": "object", "properties": {"nome": {"type": "string"}, "eta": {"type": "integer"},
                                           "citta": {"type": "string"}},
          "required": ["nome", "eta", "citta"], "additionalProperties": False}
FORMATS = {"text": None, "json_schema": {"type": "json_schema", "json_schema": {"name": "p", "schema": SCHEMA}},
           "json_object": {"type": "json_object"}}


def timed(client, fmt) -> tuple[float, object]:
    kw = {"response_format": fmt} if fmt else {}
    start = time.perf_counter()
    r = client.chat.completions.create(model="gpt-4.1-nano", messages=ASK, temperature=0, max_tokens=48, **kw)
    return time.perf_counter() - start, r


def parses(text: str) -> bool:
    try:
        json.loads(text)
        return True
    except ValueError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    with sandbox(Path(tempfile.mkdtemp(prefix="bench-constrained-")), FTLAB_SANDBOX_WORKER=0) as client:
        timed(client, None)   # loads the model
        first, _ = timed(client, FORMATS["json_schema"])
        print(f"first constrained request (builds the prefix tree): {first:.1f} s {load()}")
        for name, fmt in FORMATS.items():
            for _ in range(args.repeats):
                seconds, r = timed(client, fmt)
                tokens = r.usage.completion_tokens
                text = r.choices[0].message.content
                print(f"{name:12} {tokens:3d} tokens {seconds:5.2f} s {tokens / seconds:5.1f} tok/s "
                      f"finish={r.choices[0].finish_reason:6} json={parses(text)!s:5} {load()}")
            print(f"{'':12} reply: {text!r}")


if __name__ == "__main__":
    main()
