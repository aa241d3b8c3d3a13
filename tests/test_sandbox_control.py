"""Starting and stopping the sandbox server: CLI, one server per data dir, concurrency."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import psutil

from ftlab.sandbox import control
from sandbox_helpers import sandbox


def test_ftlab_serve_foreground_and_control_stop(tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "ftlab.cli", "serve", "--data-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**__import__("os").environ, "FTLAB_SANDBOX_WORKER": "0"})
    try:
        deadline = time.time() + 60
        while control.status(tmp_path) is None and time.time() < deadline:
            time.sleep(0.2)
        info = control.status(tmp_path)
        assert info and info["pid"] == proc.pid and info["host"] == "127.0.0.1"
        client = openai.OpenAI(base_url=info["base_url"], api_key=control.token(tmp_path))
        assert client.files.list().data == []
        out = subprocess.run([sys.executable, "-m", "ftlab.sandbox.control", "stop", "--data-dir", str(tmp_path)],
                             capture_output=True, text=True)
        assert out.returncode == 0 and "server fermato" in out.stdout
        assert proc.wait(60) == 0
        assert "in ascolto su http://127.0.0.1:" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert control.status(tmp_path) is None and not control.stop(tmp_path)


def test_one_server_per_data_dir_even_when_started_concurrently(tmp_path):
    try:
        with ThreadPoolExecutor(3) as pool:
            infos = list(pool.map(lambda _: control.start(tmp_path, env={"FTLAB_SANDBOX_WORKER": "0"}), range(3)))
        assert len({i["pid"] for i in infos}) == 1
    finally:
        control.stop(tmp_path)
    assert control.status(tmp_path) is None


def test_concurrent_requests_are_safe(tmp_path):
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as client:
        def work(i):
            f = client.files.create(file=(f"f{i}.jsonl", f'{{"i": {i}}}\n'.encode()), purpose="fine-tune")
            job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id, metadata={"i": str(i)})
            client.fine_tuning.jobs.cancel(job.id)
            return f.id, job.id
        with ThreadPoolExecutor(8) as pool:
            made = list(pool.map(work, range(24)))
        files = {f.id for f in client.files.list(limit=5)}
        jobs = {j.id: j for j in client.fine_tuning.jobs.list(limit=5)}
        assert files == {f for f, _ in made} and set(jobs) == {j for _, j in made}
        assert all(j.status == "cancelled" for j in jobs.values())
        for f, _ in made[:3]:
            assert client.files.content(f).read().startswith(b'{"i": ')


def test_an_exited_unreaped_server_counts_as_stopped():
    """``stop`` from another process cannot reap the server: a zombie must not look alive."""
    assert control._pid_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.time() + 60
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.time() < deadline, "the child did not exit"
        time.sleep(0.05)
    try:
        assert not control._pid_alive(child.pid)
    finally:
        child.wait()
    assert not control._pid_alive(child.pid)
