"""Helpers shared by the sandbox tests: start a server for a tmp data dir, write JSONL files."""
from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path

import openai
import psutil

from ftlab.sandbox import control


@contextmanager
def sandbox(data_dir: Path, **env):
    """A running sandbox server and an SDK client for it; always stopped afterwards."""
    try:
        info = control.start(data_dir, env={k: str(v) for k, v in env.items()})
        yield openai.OpenAI(base_url=info["base_url"], api_key=control.token(data_dir), max_retries=0)
    finally:
        control.stop(data_dir)


def chat_example(i: int, answer: str | None = None) -> dict:
    return {"messages": [{"role": "system", "content": "Rispondi in breve."},
                         {"role": "user", "content": f"Domanda numero {i}?"},
                         {"role": "assistant", "content": answer or f"Risposta {i}."}]}


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def upload_chat_file(client, folder: Path, n: int = 10):
    """Upload ``n`` valid chat examples for fine-tuning; the file object."""
    path = write_jsonl(folder / "train.jsonl", [chat_example(i) for i in range(n)])
    with open(path, "rb") as f:
        return client.files.create(file=f, purpose="fine-tune")


TERMINAL = ("succeeded", "failed", "cancelled")   # a job in one of these never changes again


def worker_pid(home, slot: int | None = None) -> int:
    """The pid of the sandbox worker in ``home``; with ``slot``, a class server's worker of that
    slot (its command line ends in SLOT SLOTS)."""
    for p in psutil.process_iter(["pid", "cmdline"]):
        cmd = p.info["cmdline"] or []
        if "ftlab.sandbox.worker" in cmd and str(home) in cmd and (slot is None or cmd[-2] == str(slot)):
            return p.info["pid"]
    raise AssertionError(f"no sandbox worker in {home}" + (f" for slot {slot}" if slot is not None else ""))


def wait_for(client, job_id: str, statuses, timeout: float = 600):
    """Poll the job until its status is one of ``statuses``."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.fine_tuning.jobs.retrieve(job_id)
        if job.status in statuses:
            return job
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} still {job.status} after {timeout}s")


def required_fields_present(obj) -> None:
    """Every field the SDK type requires was really sent (not just defaulted)."""
    for name, field in type(obj).model_fields.items():
        if field.is_required():
            assert name in obj.model_fields_set, f"{type(obj).__name__}.{name} missing"
