"""The three-arm comparison of chapter 06 on the sandbox, for both course tasks: base + short
prompt, base + detailed prompt + examples, fine-tuned + short prompt. Prints the tables, the paired
CIs, the customer-service goal check and timings (cold, then from the cache); asserts nothing.

    FTLAB_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_evaluation.py [--task service|code|both]
        [--ft-service MODEL] [--ft-code MODEL] [--n N]

Without ``--ft-*`` the course's fine-tunes are trained first (``course_model``): CPU seconds of
that training are printed too (wall-clock figures on a shared machine are noisy).
"""
from __future__ import annotations

import argparse
import os
import time

import pandas as pd

import ftlab
from ftlab import comparison as cmp
from ftlab import evaluation as ev
from ftlab.jobs import course_job
from ftlab.paths import DATA_DIR
from ftlab.sandbox import control

BASE = "gpt-4.1-nano-2025-04-14"
SERVICE_PARAMS = {"temperature": 0, "max_tokens": 80, "seed": 42}
CODE_PARAMS = {"temperature": 0, "max_tokens": 160, "seed": 42}


def fine_tune(client, suffix: str, given: str | None) -> str:
    if given:
        return given
    job = course_job(client, suffix=suffix)
    print(f"{suffix}: job {job.id}, {job.trained_tokens} trained tokens, "
          f"{(job.finished_at - job.created_at):.0f} s wall, hyperparameters {job.hyperparameters}")
    return job.fine_tuned_model


def service(client, ft: str, n: int | None):
    folder = DATA_DIR / "assistenza_clienti"
    train = ftlab.read_jsonl(folder / "train.jsonl")
    test = ftlab.read_jsonl(folder / "test.jsonl")[:n]
    names = [m["first_name"] for m in ftlab.read_jsonl(folder / "test_meta.jsonl")][:n]
    arms = cmp.service_arms(BASE, ft, train)
    return arms, lambda: cmp.compare(client, arms, test, task="category", params=SERVICE_PARAMS,
                                     progress=False, first_names=names, signature=cmp.SERVICE_SIGNATURE,
                                     labels=cmp.SERVICE_CATEGORIES)


def code(client, ft: str, n: int | None):
    folder = DATA_DIR / "converti_python"
    train = ftlab.read_jsonl(folder / "train.jsonl")
    test = ftlab.read_jsonl(folder / "test.jsonl")[:n]
    arms = cmp.code_arms(BASE, ft, train)
    checks = ev.load_checks(folder / "checks.jsonl")
    return arms, lambda: cmp.compare(client, arms, test, task="code", params=CODE_PARAMS, progress=False,
                                     metrics=("format_ok", "passes"), checks=checks)


def timed(label: str, run) -> cmp.Report:
    report = None
    for pass_ in ("cold", "cached"):
        t0, c0 = time.perf_counter(), time.process_time()
        report = run()
        cached = int(report.scored.cached.sum())
        print(f"{label} {pass_}: {len(report.scored)} completions in {time.perf_counter() - t0:.1f} s wall "
              f"({cached} from cache)")
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=("service", "code", "both"), default="both")
    parser.add_argument("--ft-service", help="an existing fine-tuned model id (default: course_model)")
    parser.add_argument("--ft-code", help="an existing fine-tuned model id (default: course_model)")
    parser.add_argument("--n", type=int, help="only the first N test examples")
    args = parser.parse_args()
    from ftlab.sandbox.cpu import describe
    print(describe(), flush=True)   # which machine every figure below holds for
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    client = ftlab.connect(quiet=True)
    try:
        if args.task in ("service", "both"):
            arms, run = service(client, fine_tune(client, "assistenza-clienti", args.ft_service), args.n)
            report = timed("service", run)
            print(report.table.to_string())
            print(report.paired.drop(columns=["verdict"]).to_string())
            check = cmp.goal_check(report.table, report.paired, ft=arms[2].label, few_shot=arms[1].label)
            print(cmp.goal_verdict(check))
        if args.task in ("code", "both"):
            arms, run = code(client, fine_tune(client, "converti-python", args.ft_code), args.n)
            report = timed("code", run)
            print(report.table.to_string())
            print(report.paired.drop(columns=["verdict"]).to_string())
        print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()}")
    finally:
        control.stop()


if __name__ == "__main__":
    main()
