"""The job runner on Ray: a real local Ray head that the test starts (``ray start --head``), the
class server joining it with ``--executor HOST:PORT``; a job trains to the end with its events,
checkpoints and model, and another is cancelled, as with local processes."""
from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import openai
import psutil
import pytest

from ftlab.sandbox import control
from ftlab.sandbox.roster import Roster
from sandbox_helpers import chat_example, wait_for, write_jsonl

ray = pytest.importorskip("ray")   # the optional extra ftlab[cluster]
RAY = str(Path(sys.executable).with_name("ray"))
TERMINAL = ("succeeded", "failed", "cancelled")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ray_head(tmp_path):
    """A Ray head on loopback with two CPUs (``ray start --head --block``, its own process group,
    stopped by that group's id); ftlab is importable in its workers via PYTHONPATH."""
    port = _free_port()
    root = str(Path(__file__).resolve().parent.parent)
    # Ray >= 2.59 authenticates local clusters with a token: one per head, given to the head and to
    # the class server alike (as an instructor sets RAY_AUTH_TOKEN on every machine of a cluster)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    temp = Path("/tmp") / f"ray-ftlab-{port}"   # Ray's socket paths must stay short
    head = subprocess.Popen([RAY, "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port",
                             str(port), "--num-cpus", "2", "--include-dashboard", "false",
                             "--disable-usage-stats", "--temp-dir", str(temp)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 180
        while not _listening(port):
            assert head.poll() is None and time.time() < deadline, "the Ray head did not start"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", env, head.pid
    finally:
        os.killpg(head.pid, signal.SIGTERM)   # --block stops the head's processes on SIGTERM
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()


def _ray_slots(session: int) -> list:
    """Ray task processes running the worker loop in the head's session."""
    return [p for p in psutil.process_iter(["cmdline"])
            if (p.info["cmdline"] or [""])[0].startswith("ray::_slot") and os.getsid(p.pid) == session]


def _local_workers(home: Path) -> list:
    """Worker processes the server would start itself without Ray."""
    return [p for p in psutil.process_iter(["cmdline"])
            if "ftlab.sandbox.worker" in (p.info["cmdline"] or []) and str(home) in p.info["cmdline"]]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.training
def test_jobs_train_and_cancel_on_a_real_ray_head(tmp_path, ray_head):
    address, env, head_session = ray_head
    home = tmp_path / "home"
    keys = dict(Roster(home).add(["Anna"]))
    try:
        url = control.start(home, class_mode=True, executor=address, timeout=180,
                            env={k: env[k] for k in ("PYTHONPATH", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")} | {"FTLAB_WORKERS": "1"})["base_url"]
        anna = openai.OpenAI(base_url=url, api_key=keys["Anna"], max_retries=0)
        path = write_jsonl(tmp_path / "train.jsonl", [chat_example(i) for i in range(10)])
        with open(path, "rb") as f:
            train = anna.files.create(file=f, purpose="fine-tune")
        job = anna.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train.id,
                                           hyperparameters={"n_epochs": 2, "batch_size": 5})
        other = anna.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train.id)
        done = wait_for(anna, job.id, TERMINAL, timeout=1800)
        assert done.status == "succeeded", done.error
        assert anna.fine_tuning.jobs.cancel(other.id).status == "cancelled"
        messages = [e.message for e in anna.fine_tuning.jobs.list_events(job.id, limit=100)]
        assert "Fine-tuning job started" in messages and "The job has successfully completed" in messages
        assert [c.step_number for c in anna.fine_tuning.jobs.checkpoints.list(job.id)] == [4, 2]
        assert done.fine_tuned_model in {m.id for m in anna.models.list()}
        # the work really ran on Ray: the worker loop lives in a Ray task process of the head's
        # session ("ray::_slot"), and the server started no local worker process
        # (a slot's process ends after each job and Ray starts the next one: wait for it)
        deadline = time.time() + 120
        while not _ray_slots(head_session):
            assert time.time() < deadline, "no worker loop runs as a Ray task"
            time.sleep(0.5)
        assert not _local_workers(home)
    finally:
        control.stop(home)
