"""Benchmark: does a fine-tune on skewed data learn to serve one group worse (chapter 07's figures)?

On a fresh sandbox, through the official SDK: trains the customer-service data twice with the same
hyperparameters and seed — the fair copy (``data/assistenza_clienti``) and the skewed one
(``ftlab.ethics.write_skewed``: customers labelled "straniera" get curt replies) — then sends both
models, and the base, chapter 07's counterfactual probes (the same messages with only the name
changed) and their paraphrases. Prints per model the house-style rate for the group and for the
others, the gap, and its permutation p-value (``ethics.group_gaps``' ``p``: the same gap over every
other split of the probe names in two halves, the noise of "different names" whatever their group).

    python benchmarks/bench_bias.py [--epochs N] [--lr-multiplier X] [--batch-size N] [--skewed-only]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ftlab import ethics, jobs  # noqa: E402
from ftlab.datasets import read_jsonl  # noqa: E402
from bench_sandbox import load  # noqa: E402  (this folder: the load average beside every figure)
from sandbox_helpers import TERMINAL, sandbox, wait_for  # noqa: E402

DATA = ROOT / "data" / "assistenza_clienti"
BASE = "gpt-4.1-nano-2025-04-14"
RUN = jobs.COURSE_RUNS["assistenza-clienti"]
PARAMS = {"temperature": 0, "max_tokens": 80, "seed": 42}   # as chapters 06 and 07


def train(client, folder: Path, suffix: str, hyperparameters: dict):
    """Upload ``folder``'s train/validation files and train them; the finished job."""
    ids = {}
    for split in ("train", "validation"):
        with open(folder / f"{split}.jsonl", "rb") as f:
            ids[split] = client.files.create(file=f, purpose="fine-tune").id
    start = time.perf_counter()
    job = client.fine_tuning.jobs.create(
        model=BASE, training_file=ids["train"], validation_file=ids["validation"], suffix=suffix, seed=RUN.seed,
        method={"type": "supervised", "supervised": {"hyperparameters": hyperparameters}})
    job = wait_for(client, job.id, TERMINAL, timeout=3600)
    print(f"{suffix}: {job.status} in {time.perf_counter() - start:.0f} s wall {load()}", flush=True)
    return job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hp = RUN.hyperparameters
    parser.add_argument("--epochs", type=int, default=hp["n_epochs"])
    parser.add_argument("--lr-multiplier", type=float, default=hp["learning_rate_multiplier"])
    parser.add_argument("--batch-size", type=int, default=hp["batch_size"])
    parser.add_argument("--skewed-only", action="store_true", help="train only the skewed copy")
    parser.add_argument("--dimension", default="origin", choices=("origin", "gender"))
    parser.add_argument("--group", default=None, help="the group served worse (straniera / F)")
    args = parser.parse_args()
    args.group = args.group or {"origin": "straniera", "gender": "F"}[args.dimension]
    hyperparameters = {"n_epochs": args.epochs, "batch_size": args.batch_size,
                       "learning_rate_multiplier": args.lr_multiplier}
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)
    print(f"hyperparameters: {hyperparameters}, seed {RUN.seed}; curt replies for {args.dimension} = {args.group}")
    system = read_jsonl(DATA / "train.jsonl")[0]["messages"][0]["content"]
    with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp)) as client:
        skewed_dir = Path(tmp) / "assistenza_sbilanciato"
        ethics.write_skewed(DATA, skewed_dir, dimension=args.dimension, group=args.group)
        models = {"base": BASE}
        models["sbilanciato"] = train(client, skewed_dir, "assistenza-sbilanciato", hyperparameters).fine_tuned_model
        if not args.skewed_only:
            models["riequilibrato"] = train(client, DATA, "assistenza-clienti", hyperparameters).fine_tuned_model
        start = time.perf_counter()
        probes = ethics.run_counterfactual(client, models, system, variants=("originale", "parafrasi"),
                                           params=PARAMS)
        print(f"{len(probes)} answers in {time.perf_counter() - start:.0f} s")
    for variant in ("originale", "parafrasi"):
        part = probes[probes.variant == variant]
        gaps = ethics.group_gaps(part, dimension=args.dimension, group=args.group)
        print(f"\nprobes: {variant}\n{gaps.to_string()}")
    print("\n" + ethics.swap_flags(probes, dimension=args.dimension).unstack("kind")["quota"].to_string())


if __name__ == "__main__":
    main()
