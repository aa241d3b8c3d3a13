"""Time ftlab.evaluation on the sandbox: 50 held-out prompts × (base, fine-tuned), then again from
the cache. Prints figures; asserts nothing. Run with a fresh FTLAB_HOME:

    FTLAB_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_evaluation.py [--n 50] [--ft MODEL]

Without ``--ft`` the course's fine-tune is trained first (``course_model``), which is not timed.
"""
from __future__ import annotations

import argparse
import os
import time

import ftlab
from ftlab import evaluation as ev
from ftlab.jobs import course_model
from ftlab.paths import DATA_DIR
from ftlab.sandbox import control

BASE = "gpt-4.1-nano-2025-04-14"
PARAMS = {"temperature": 0, "max_tokens": 160, "seed": 42}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=PARAMS["max_tokens"])
    parser.add_argument("--ft", help="an existing fine-tuned model id (default: course_model())")
    args = parser.parse_args()
    client = ftlab.connect(quiet=True)
    try:
        ft = args.ft or course_model(client)
        test = ftlab.read_jsonl(DATA_DIR / "converti_python" / "test.jsonl")[: args.n]
        checks = ev.load_checks(DATA_DIR / "converti_python" / "checks.jsonl")
        models = {"base": BASE, "fine-tuned": ft}
        for label in ("cold", "cached"):
            t0 = time.perf_counter()
            params = dict(PARAMS, max_tokens=args.max_tokens)
            frame = ev.run_models(client, models, test, params=params, workers=args.workers, progress=False)
            t1 = time.perf_counter()
            scored = ev.score(frame, checks=checks, workers=args.workers, progress=False)
            t2 = time.perf_counter()
            tokens = int(frame.completion_tokens.fillna(0).sum())
            print(f"{label}: {len(frame)} completions in {t1 - t0:.1f} s ({tokens} tokens, "
                  f"{tokens / max(t1 - t0, 1e-9):.1f} tok/s, {int(frame.cached.sum())} from cache); "
                  f"scoring with execution {t2 - t1:.1f} s; total {t2 - t0:.1f} s")
        print(ev.summary(scored).to_string())
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    finally:
        control.stop()


if __name__ == "__main__":
    main()
