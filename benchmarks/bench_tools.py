"""Benchmark: function calling before and after a fine-tune (the figures of notebook 10).

On a fresh sandbox, through the official SDK: trains data/funzioni_negozio/train.jsonl (as
notebook 10: ``jobs.COURSE_RUNS["funzioni-negozio"]``'s hyperparameters and seed; ``--epochs N``
and ``--lr-multiplier X`` to try others), then asks base and fine-tuned model every line of
test.jsonl (phrasings never trained on) with ``tool_choice="auto"`` (the model must write the call itself) and ``"required"``
(decoding constrained to a valid call: only the choice of function and arguments is the model's).
Prints the rates of right function / right arguments with 95% intervals, the paired difference,
the training's wall time and the sandbox's CPU seconds (the machine may be shared).

    python benchmarks/bench_tools.py [--epochs N] [--lr-multiplier X]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ftlab import function_calling, jobs  # noqa: E402
from ftlab.datasets import read_jsonl  # noqa: E402
from ftlab.sandbox import control  # noqa: E402
from sandbox_helpers import TERMINAL, sandbox, wait_for  # noqa: E402

DATA = ROOT / "data" / "funzioni_negozio"
BASE = "gpt-4.1-nano-2025-04-14"
RUN = jobs.COURSE_RUNS["funzioni-negozio"]


def server_cpu(data_dir: Path) -> float:
    """CPU seconds used so far by the sandbox's process tree (server, worker, trainer)."""
    proc = psutil.Process(control.status(data_dir)["pid"])
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=RUN.hyperparameters["n_epochs"])
    parser.add_argument("--lr-multiplier", type=float, default=RUN.hyperparameters["learning_rate_multiplier"])
    args = parser.parse_args()
    hyperparameters = {"n_epochs": args.epochs, "learning_rate_multiplier": args.lr_multiplier}
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    lines, expected = read_jsonl(DATA / "test.jsonl"), read_jsonl(DATA / "test_attese.jsonl")
    with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp)) as client:
        with open(DATA / "train.jsonl", "rb") as f:
            file = client.files.create(file=f, purpose="fine-tune")
        cpu0, start = server_cpu(Path(tmp)), time.perf_counter()
        job = client.fine_tuning.jobs.create(model=BASE, training_file=file.id, suffix="funzioni-negozio",
                                             seed=RUN.seed, hyperparameters=hyperparameters)
        job = wait_for(client, job.id, TERMINAL, timeout=1800)
        print(f"training: {job.status}, {job.trained_tokens} tokens, {job.hyperparameters.n_epochs} epochs, "
              f"LR x{job.hyperparameters.learning_rate_multiplier}, "
              f"{time.perf_counter() - start:.0f} s wall, {server_cpu(Path(tmp)) - cpu0:.0f} CPU-s "
              f"(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
        models = {"base": BASE, "fine-tuned": job.fine_tuned_model}
        for choice in ("auto", "required"):
            cpu0, start = server_cpu(Path(tmp)), time.perf_counter()
            scores = function_calling.ask_all(client, models, lines, expected, tool_choice=choice)
            print(f"\ntool_choice={choice!r}: {len(lines)} test lines × 2 models in "
                  f"{time.perf_counter() - start:.0f} s wall, {server_cpu(Path(tmp)) - cpu0:.0f} CPU-s")
            print(function_calling.compare(scores, "base", "fine-tuned").to_string(index=False))


if __name__ == "__main__":
    main()
