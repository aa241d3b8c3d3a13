"""Benchmark: a small class on the class server — N students submit a fine-tune at the same moment.

Starts ``ftlab serve --class`` on a fresh data dir with N students (default 3, tiny files: 10
examples, 1 epoch, so it runs in minutes on a shared machine; the issue's 30 real course jobs are
the same loop with ``--students 30 --examples 100 --epochs 3``). Each student uploads and creates
a job through the official SDK; the script polls every job until all end and prints:

* the order jobs started in (round-robin: no student's job starts second before all have started),
* the wall time, the server tree's CPU-seconds (server + every worker it ran, ``psutil``), trained
  tokens per wall-second and per CPU-second (the machine is shared: CPU-seconds are the figure to
  compare), and the per-job wait and training times,
* peak resident memory of the server and of one training worker,
* p50/p95 latency of ``jobs.retrieve`` while training runs (the GET the notebooks poll).

    python benchmarks/bench_class_queue.py [--students N] [--examples E] [--epochs K] [--workers W]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import openai  # noqa: E402
import psutil  # noqa: E402

from ftlab.sandbox import control  # noqa: E402
from ftlab.sandbox.roster import Roster  # noqa: E402
from sandbox_helpers import chat_example, write_jsonl  # noqa: E402

TERMINAL = ("succeeded", "failed", "cancelled")


def tree_rss(proc: psutil.Process) -> dict[str, int]:
    """Resident bytes of the server and of its largest worker right now."""
    workers = [c for c in proc.children(recursive=True) if "ftlab.sandbox.worker" in " ".join(c.cmdline())]
    worker_rss = max((c.memory_info().rss for c in workers), default=0)
    return {"server": proc.memory_info().rss, "worker": worker_rss}


def cpu_seconds(proc: psutil.Process) -> float:
    """The server's CPU time plus its reaped children's (the workers, recycled after every job) and
    its live children's."""
    t = proc.cpu_times()
    live = sum(sum(c.cpu_times()[:2]) for c in proc.children(recursive=True))
    return t.user + t.system + t.children_user + t.children_system + live


def run(students: int, examples: int, epochs: int, workers: int | None) -> None:
    home = Path(tempfile.mkdtemp(prefix="ftlab-class-bench-"))
    names = [f"studente{i:02d}" for i in range(students)]
    keys = dict(Roster(home).add(names))
    env = {"FTLAB_WORKERS": str(workers)} if workers else {}
    info = control.start(home, class_mode=True, env=env)
    server = psutil.Process(info["pid"])
    clients = {n: openai.OpenAI(base_url=info["base_url"], api_key=keys[n], max_retries=2) for n in names}
    data = write_jsonl(home / "train.jsonl", [chat_example(i) for i in range(examples)])
    try:
        files = {}
        for n, c in clients.items():
            with open(data, "rb") as f:
                files[n] = c.files.create(file=f, purpose="fine-tune").id
        t0 = time.time()
        jobs = {n: c.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=files[n],
                                             hyperparameters={"n_epochs": epochs, "batch_size": 5}).id
                for n, c in clients.items()}
        started, ended, latency, peak = {}, {}, [], {"server": 0, "worker": 0}
        while len(ended) < len(jobs):
            for n, job_id in jobs.items():
                if n in ended:
                    continue
                t = time.perf_counter()
                job = clients[n].fine_tuning.jobs.retrieve(job_id)
                latency.append(time.perf_counter() - t)
                if job.status == "running" and n not in started:
                    started[n] = time.time() - t0
                if job.status in TERMINAL:
                    started.setdefault(n, time.time() - t0)
                    ended[n] = (time.time() - t0, job)
            try:
                peak = {k: max(peak[k], v) for k, v in tree_rss(server).items()}
            except psutil.Error:
                pass
            time.sleep(0.5)
        wall = time.time() - t0
        cpu = cpu_seconds(server)
    finally:
        control.stop(home)
    tokens = sum(job.trained_tokens or 0 for _, job in ended.values())
    ok = sum(job.status == "succeeded" for _, job in ended.values())
    order = sorted(started, key=started.get)
    one, five, _ = os.getloadavg()
    print(f"class of {students} x {examples} examples x {epochs} epoch(s), workers="
          f"{workers or 'default'}, {os.cpu_count()} CPUs, load {one:.1f}/{five:.1f}")
    print(f"succeeded: {ok}/{students}   start order: {', '.join(order)}")
    print(f"wall: {wall:.0f} s   CPU: {cpu:.0f} CPU-s   trained tokens: {tokens}   "
          f"tokens/s: {tokens / wall:.1f}   tokens/CPU-s: {tokens / cpu:.1f}")
    for n in order:
        done_at, job = ended[n]
        print(f"  {n}: waited {started[n]:.0f} s, trained {done_at - started[n]:.0f} s, {job.status}")
    q = statistics.quantiles(latency, n=20)
    print(f"jobs.retrieve while training: n={len(latency)} p50={statistics.median(latency) * 1000:.0f} ms "
          f"p95={q[18] * 1000:.0f} ms")
    print(f"peak RSS: server {peak['server'] / 2**20:.0f} MB, one worker {peak['worker'] / 2**20:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--examples", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    run(args.students, args.examples, args.epochs, args.workers)


if __name__ == "__main__":
    main()
