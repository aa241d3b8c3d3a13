"""Benchmark: training and generation beside a competing busy process (issue 14, item 4).

A fair thread policy slows our work down by no more than the share of cores the other process
takes: on 2 cores with one core kept busy, at most 2x. The sandbox's policy (``cpu.share_threads``)
gives a step the cores other processes leave free; ``--fixed-threads`` turns it off (torch keeps
every core's thread, as a plain PyTorch program does) to show what it prevents: OpenMP threads
that wait for the one sharing a core with the competitor.

Each workload runs alone, then with ``--competitors`` busy processes (pure Python loops, one core
each), in this process with the sandbox's own trainer and engine:

* training: the first ``--examples`` course examples (converti_python), 1 epoch, batch 1, seed 42;
* generation: one greedy chat answer of up to ``--tokens`` tokens from the base model (the engine's
  batcher), timed per token.

Prints, per workload: seconds alone, seconds shared, the slowdown and the fair bound
(usable cores / cores left free), and the threads the policy chose.

    python benchmarks/bench_shared_load.py [--competitors 1] [--examples 40] [--tokens 96] [--fixed-threads]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ftlab.sandbox import cpu  # noqa: E402,I001  (first: it sets the kernels before torch loads)

import torch  # noqa: E402

from ftlab.datasets import read_jsonl  # noqa: E402
from ftlab.sandbox.inference import Engine  # noqa: E402
from ftlab.sandbox.training import run  # noqa: E402
from ftlab.sandbox.training.config import TrainConfig  # noqa: E402

SPIN = "while True: pass"   # one busy core, no threads of its own


class Competitors:
    """``n`` busy processes for the duration of a ``with`` block."""

    def __init__(self, n: int):
        self.n, self.procs = n, []

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", SPIN]) for _ in range(self.n)]
        time.sleep(1.0)   # let the policy's reading of the other processes see them
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()


def train_once(examples: list[dict]) -> tuple[float, int]:
    config = TrainConfig(n_epochs=1, batch_size=1, learning_rate_multiplier=2, seed=42)
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        run.train(examples, None, config, Path(tmp))
        return time.perf_counter() - start, torch.get_num_threads()


def generate_once(engine: Engine, tokens: int) -> tuple[float, int]:
    messages = [{"role": "user", "content": "Scrivi una lunga storia su un gatto che impara Python."}]
    start = time.perf_counter()
    result = engine.chat(messages, temperature=0, max_tokens=tokens)
    seconds = time.perf_counter() - start
    return seconds / result.choices[0].completion_tokens, torch.get_num_threads()


def report(name: str, alone: float, shared: float, bound: float, threads: tuple[int, int], unit: str = "s") -> None:
    slowdown = shared / alone
    verdict = "within" if slowdown <= bound * 1.1 else "OVER"
    print(f"{name:10s} alone {alone:7.3f} {unit} ({threads[0]} threads)   shared {shared:7.3f} {unit} "
          f"({threads[1]} threads)   slowdown {slowdown:4.2f}x, fair bound {bound:.2f}x: {verdict}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--competitors", type=int, default=1)
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--fixed-threads", action="store_true", help="turn the thread policy off")
    args = parser.parse_args()
    print(cpu.describe(), flush=True)   # which machine every figure below holds for
    cores = cpu.usable_cpus()
    if args.competitors >= cores:
        parser.error(f"--competitors must leave a core free (this machine has {cores})")
    if args.fixed_threads:   # every step on all cores, whatever else runs
        cpu.share_threads = lambda *_, **__: torch.set_num_threads(cores) or cores
    bound = cores / (cores - args.competitors)
    print(f"policy: {'off (fixed threads)' if args.fixed_threads else 'cpu.share_threads'}; "
          f"{args.competitors} competing busy process(es) on {cores} cores", flush=True)

    examples = read_jsonl(ROOT / "data" / "converti_python" / "train.jsonl")[:args.examples]
    train_once(examples[:4])   # warm-up: the model file in the page cache, kernels loaded
    alone = train_once(examples)
    with Competitors(args.competitors):
        shared = train_once(examples)
    report("training", alone[0], shared[0], bound, (alone[1], shared[1]))

    engine = Engine()
    generate_once(engine, 8)   # warm-up
    alone = generate_once(engine, args.tokens)
    with Competitors(args.competitors):
        shared = generate_once(engine, args.tokens)
    report("generation", alone[0], shared[0], bound, (alone[1], shared[1]), unit="s/token")


if __name__ == "__main__":
    main()
