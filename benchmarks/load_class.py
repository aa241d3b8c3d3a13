"""Load test: S simulated students hit the class server at once while a real training runs.

One extra student trains a tiny job (the worker is busy throughout); every simulated student, in
its own thread, does the course's flow through the official SDK: upload a file, create a job,
then R rounds of polling (jobs.retrieve, list_events, checkpoints.list, files.list, models.list)
and one short chat completion. At the end each student cancels their job. Prints the number of
5xx answers, whether any job was lost or duplicated (each student's job list must hold exactly
the job they made), p50/p95 per GET endpoint, and the server process's own CPU time per request
(the training worker and the chat engine are processes of their own, not counted). The machine may be shared: latencies
include waiting for the cores; CPU per request does not.

    python benchmarks/load_class.py [--students S] [--rounds R] [--no-chat]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import openai  # noqa: E402
import psutil  # noqa: E402

from ftlab.sandbox import control  # noqa: E402
from ftlab.sandbox.roster import Roster  # noqa: E402
from sandbox_helpers import chat_example, write_jsonl  # noqa: E402


class Timings:
    """Latency per endpoint and the server errors seen (thread-safe enough: list.append is atomic)."""

    def __init__(self):
        self.seconds, self.errors = defaultdict(list), []

    def call(self, name: str, fn):
        t = time.perf_counter()
        try:
            return fn()
        except openai.InternalServerError as exc:
            self.errors.append(f"{name}: {exc.status_code}")
        finally:
            self.seconds[name].append(time.perf_counter() - t)


def student(client, data: Path, rounds: int, chat: bool, t: Timings) -> tuple[str, list[str]]:
    with open(data, "rb") as f:
        file_id = t.call("files.create", lambda: client.files.create(file=f, purpose="fine-tune")).id
    job_id = t.call("jobs.create", lambda: client.fine_tuning.jobs.create(model="gpt-4.1-nano",
                                                                          training_file=file_id)).id
    for _ in range(rounds):
        t.call("GET jobs.retrieve", lambda: client.fine_tuning.jobs.retrieve(job_id))
        t.call("GET jobs.list_events", lambda: client.fine_tuning.jobs.list_events(job_id))
        t.call("GET checkpoints.list", lambda: client.fine_tuning.jobs.checkpoints.list(job_id))
        t.call("GET files.list", lambda: client.files.list())
        t.call("GET models.list", lambda: client.models.list())
    if chat:
        t.call("chat.completions", lambda: client.chat.completions.create(
            model="gpt-4.1-nano", messages=[{"role": "user", "content": "Ciao!"}], max_tokens=2))
    seen = [j.id for j in t.call("GET jobs.list", lambda: client.fine_tuning.jobs.list()).data]
    t.call("jobs.cancel", lambda: client.fine_tuning.jobs.cancel(job_id))
    return job_id, seen


def run(students: int, rounds: int, chat: bool) -> int:
    home = Path(tempfile.mkdtemp(prefix="ftlab-class-load-"))
    names = [f"s{i:02d}" for i in range(students)] + ["trainer"]
    keys = dict(Roster(home).add(names))
    # quotas high enough for the test itself: it measures the server, not the limiter
    info = control.start(home, class_mode=True, env={"FTLAB_CLASS_RPM": "100000"})
    clients = {n: openai.OpenAI(base_url=info["base_url"], api_key=keys[n], max_retries=0, timeout=120)
               for n in names}
    data = write_jsonl(home / "train.jsonl", [chat_example(i) for i in range(10)])
    t = Timings()
    try:
        trainer = clients["trainer"]
        with open(data, "rb") as f:
            tf = trainer.files.create(file=f, purpose="fine-tune").id
        training = trainer.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=tf,
                                                   hyperparameters={"n_epochs": 3, "batch_size": 1}).id
        while trainer.fine_tuning.jobs.retrieve(training).status not in ("running", "failed", "succeeded"):
            time.sleep(0.5)
        server = psutil.Process(info["pid"])
        t0, cpu0 = time.time(), sum(server.cpu_times()[:2])
        with ThreadPoolExecutor(students) as pool:
            results = list(pool.map(lambda n: student(clients[n], data, rounds, chat, t), names[:-1]))
        wall, cpu = time.time() - t0, sum(server.cpu_times()[:2]) - cpu0
        status = trainer.fine_tuning.jobs.retrieve(training).status
        trainer.fine_tuning.jobs.cancel(training) if status == "running" else None
    finally:
        control.stop(home)
    wrong = [n for n, (job_id, seen) in zip(names, results) if seen != [job_id]]
    one, five, _ = os.getloadavg()
    print(f"{students} students x {rounds} rounds{' + chat' if chat else ''}, one training running "
          f"(status at the end: {status}); {os.cpu_count()} CPUs, load {one:.1f}/{five:.1f}; wall {wall:.0f} s")
    print(f"5xx: {len(t.errors)} {t.errors[:5]}   lost or duplicated jobs: {len(wrong)} {wrong[:5]}")
    requests = sum(len(xs) for xs in t.seconds.values())
    print(f"server CPU: {cpu:.1f} CPU-s for {requests} requests = {cpu / requests * 1000:.1f} ms CPU per request")
    for name, xs in sorted(t.seconds.items()):
        p95 = statistics.quantiles(xs, n=20)[18] if len(xs) > 1 else xs[0]
        print(f"  {name:<22} n={len(xs):>4}  p50={statistics.median(xs) * 1000:6.0f} ms  p95={p95 * 1000:6.0f} ms")
    return 1 if t.errors or wrong else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--no-chat", action="store_true")
    args = ap.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    return run(args.students, args.rounds, not args.no_chat)


if __name__ == "__main__":
    sys.exit(main())
