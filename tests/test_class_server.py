"""The class server through the official SDK: per-student keys, 401s, isolation (404, never 403),
path traversal, oversized uploads, the instructor's view, and ``ftlab class`` / ``ftlab.connect()``."""
from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time

import openai
import pytest

import ftlab
from ftlab.sandbox import control
from ftlab.sandbox.roster import Roster
from sandbox_helpers import chat_example, write_jsonl

LIMIT = 64 * 1024        # the upload limit of this test's server
STORAGE = 4 * LIMIT      # each student's storage quota there


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    """A class server (no worker: jobs stay in validating_files) with Anna, Bruno and an instructor."""
    home = tmp_path_factory.mktemp("class-home")
    roster = Roster(home)
    keys = dict(roster.add(["Anna", "Bruno", "Carla", "Dora"]))
    keys["instructor"] = roster.instructor()
    roster.revoke("Carla")
    try:
        info = control.start(home, class_mode=True, env={
            "FTLAB_SANDBOX_WORKER": "0", "FTLAB_MAX_FILE_BYTES": str(LIMIT), "FTLAB_CLASS_ACTIVE_JOBS": "1",
            "FTLAB_CLASS_STORAGE_MB": str(STORAGE / 2**20)})
        clients = {n: openai.OpenAI(base_url=info["base_url"], api_key=k, max_retries=0) for n, k in keys.items()}
        yield {"home": home, "keys": keys, "url": info["base_url"], **clients}
    finally:
        control.stop(home)


def _tiny(tmp_path, name="train.jsonl"):
    return write_jsonl(tmp_path / name, [chat_example(i) for i in range(10)])


def _upload(client, path, name=None):
    with open(path, "rb") as f:
        return client.files.create(file=(name or path.name, f), purpose="fine-tune")


def _error(exc) -> dict:
    return exc.value.response.json()["error"]


@pytest.mark.parametrize("key", [None, "sk-ftlab-wrong", "revoked"])
def test_no_wrong_or_revoked_key_is_401_in_openais_shape(klass, key):
    key = klass["keys"]["Carla"] if key == "revoked" else key
    client = openai.OpenAI(base_url=klass["url"], api_key=key or "unused", max_retries=0)
    # no key: the SDK needs one to build a client, so this request omits the Authorization header
    headers = {"Authorization": openai.Omit()} if key is None else None
    with pytest.raises(openai.AuthenticationError) as exc:
        client.files.list(extra_headers=headers)
    err = _error(exc)
    assert err["code"] == "invalid_api_key" and err["type"] == "invalid_request_error"
    assert "FTLAB_API_KEY" in err["message"]
    assert set(err) == {"message", "type", "param", "code"}
    for secret in klass["keys"].values():
        assert secret not in exc.value.response.text


def test_each_student_sees_only_their_own_files_and_jobs(klass, tmp_path):
    anna, bruno, boss = klass["Anna"], klass["Bruno"], klass["instructor"]
    f = _upload(anna, _tiny(tmp_path))
    job = anna.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id, suffix="anna")
    assert f.id in {x.id for x in anna.files.list()}
    assert f.id not in {x.id for x in bruno.files.list()}
    assert job.id not in {j.id for j in bruno.fine_tuning.jobs.list()}
    calls = [lambda: bruno.files.retrieve(f.id), lambda: bruno.files.content(f.id),
             lambda: bruno.files.delete(f.id), lambda: bruno.fine_tuning.jobs.retrieve(job.id),
             lambda: bruno.fine_tuning.jobs.cancel(job.id), lambda: bruno.fine_tuning.jobs.list_events(job.id),
             lambda: bruno.fine_tuning.jobs.checkpoints.list(job.id)]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as exc:
            call()
        assert set(_error(exc)) == {"message", "type", "param", "code"}
        assert "Anna" not in exc.value.response.text
    # Anna's file is not Bruno's to train on either: the same 400 as an id that does not exist
    with pytest.raises(openai.BadRequestError) as exc:
        bruno.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)
    assert _error(exc)["code"] == "invalid_file_id"
    # paging from another student's id is an unknown 'after', not a page of theirs
    with pytest.raises(openai.BadRequestError):
        bruno.fine_tuning.jobs.list(after=job.id)
    # the file is intact, and the instructor sees everyone and can cancel any job
    assert anna.files.content(f.id).read() == _tiny(tmp_path).read_bytes()
    assert {f.id, job.id} <= {x.id for x in boss.files.list()} | {j.id for j in boss.fine_tuning.jobs.list()}
    assert boss.fine_tuning.jobs.cancel(job.id).status == "cancelled"
    assert anna.fine_tuning.jobs.retrieve(job.id).status == "cancelled"


def test_models_list_is_base_models_for_a_new_student(klass):
    ids = [m.id for m in klass["Bruno"].models.list()]
    assert "gpt-4.1-nano-2025-04-14" in ids and not [i for i in ids if i.startswith("ft:")]


@pytest.mark.parametrize("bad_id", ["../sandbox.db", "..%2F..%2Fsandbox.db", "file-x/../../token",
                                    "/etc/passwd", "%00"])
def test_path_traversal_in_ids_finds_nothing(klass, bad_id):
    anna = klass["Anna"]
    for call in (anna.files.retrieve, anna.files.content, anna.fine_tuning.jobs.retrieve):
        with pytest.raises(openai.NotFoundError) as exc:
            call(bad_id)
        assert b"sk-ftlab" not in exc.value.response.content


def test_path_traversal_in_a_filename_is_stored_as_its_last_part(klass, tmp_path):
    anna = klass["Anna"]
    f = _upload(anna, _tiny(tmp_path), name="../../../token.jsonl")
    assert f.filename == "token.jsonl"
    assert anna.files.content(f.id).read() == _tiny(tmp_path).read_bytes()
    assert (klass["home"] / "token").read_text().startswith("sk-ftlab-")   # untouched


def test_an_oversized_upload_is_413_and_nothing_is_stored(klass, tmp_path):
    anna = klass["Anna"]
    before = {f.id for f in klass["instructor"].files.list()}
    blobs = set((klass["home"] / "blobs").iterdir())
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"messages": []}\n' * (LIMIT // 16 + 100))
    with pytest.raises(openai.APIStatusError) as exc:
        _upload(anna, big)
    assert exc.value.status_code == 413 and _error(exc)["code"] == "file_too_large"
    assert {f.id for f in klass["instructor"].files.list()} == before
    assert set((klass["home"] / "blobs").iterdir()) == blobs


def test_keys_never_appear_in_logs_or_data(klass, tmp_path):
    for name in ("Anna", "Bruno"):
        klass[name].files.list()
    logs = b"".join(p.read_bytes() for p in klass["home"].glob("*.log"))
    data = b"".join(p.read_bytes() for p in klass["home"].glob("sandbox.db*"))
    for secret in klass["keys"].values():
        assert secret.encode() not in logs and secret.encode() not in data


def test_connect_uses_the_class_servers_url_and_key(klass, monkeypatch, capsys):
    monkeypatch.setenv("FTLAB_BASE_URL", klass["url"])
    monkeypatch.setenv("FTLAB_API_KEY", klass["keys"]["Bruno"])
    client = ftlab.connect()
    out = capsys.readouterr().out
    assert "server di classe" in out and "utente: Bruno" in out and klass["url"] in out
    assert klass["keys"]["Bruno"] not in out
    assert ftlab.backend.backend_name(client) == "sandbox"
    assert not [m.id for m in client.models.list() if m.id.startswith("ft:")]
    monkeypatch.setenv("FTLAB_API_KEY", klass["keys"]["Carla"])   # revoked
    with pytest.raises(RuntimeError, match="rifiuta la chiave") as exc:
        ftlab.connect()
    assert klass["keys"]["Carla"] not in str(exc.value)


def test_connect_also_takes_openais_variable_names(klass, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_BASE_URL", klass["url"])
    monkeypatch.setenv("OPENAI_API_KEY", klass["keys"]["instructor"])
    ftlab.connect()
    assert "docente" in capsys.readouterr().out


def _cli(*args, home):
    return subprocess.run([sys.executable, "-m", "ftlab.cli", "class", "--data-dir", str(home), *args],
                          capture_output=True, text=True)


def test_class_cli_add_list_rotate_revoke_status(tmp_path):
    home = tmp_path / "home"
    roster = write_jsonl(tmp_path / "x", [])   # a path; the CSV is written below
    roster.write_text("name,email\nAnna,a@x.it\nBruno,b@x.it\n", encoding="utf-8")
    out = _cli("add", str(roster), home=home)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["name"] for r in rows] == ["Anna", "Bruno"] and all(r["api_key"].startswith("sk-ftlab-") for r in rows)
    assert Roster(home).caller(rows[0]["api_key"]).name == "Anna"
    again = _cli("add", str(roster), home=home)
    assert again.returncode == 1 and "name_exists" in again.stderr and again.stdout == ""
    listed = _cli("list", home=home)
    assert "Anna\tstudent\tactive" in listed.stdout and rows[0]["api_key"] not in listed.stdout
    rotated = list(csv.DictReader(io.StringIO(_cli("rotate", "Anna", home=home).stdout)))
    assert Roster(home).caller(rotated[0]["api_key"]).name == "Anna"
    assert Roster(home).caller(rows[0]["api_key"]) is None
    assert _cli("revoke", "Bruno", home=home).returncode == 0
    assert Roster(home).caller(rows[1]["api_key"]) is None
    assert _cli("revoke", "Nessuno", home=home).returncode == 1
    status = _cli("status", home=home)
    assert status.returncode == 0 and "Anna" in status.stdout and "revoked" in status.stdout


def test_serve_refuses_a_network_host_without_class(tmp_path):
    out = subprocess.run([sys.executable, "-m", "ftlab.cli", "serve", "--host", "0.0.0.0", "--data-dir",
                          str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--class" in out.stderr


def test_serve_with_a_ray_executor_says_how_to_install_ray_when_it_is_missing(tmp_path):
    # a Python where Ray is not installed: find_spec("ray") answers None, as it then does
    code = ("import importlib.util, sys; importlib.util.find_spec = (lambda f: lambda n, *a: None "
            "if n == 'ray' else f(n, *a))(importlib.util.find_spec); from ftlab.cli import main; "
            f"sys.exit(main(['serve', '--executor', 'ray', '--data-dir', {str(tmp_path)!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "pip install 'ftlab[cluster]'" in out.stderr
    assert control.status(tmp_path) is None   # nothing started


def test_jobs_at_once_quota_is_an_openai_429_that_the_sdk_does_not_retry(klass, tmp_path):
    dora, boss = klass["Dora"], klass["instructor"]
    f = _upload(dora, _tiny(tmp_path))
    first = dora.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)
    retrying = dora.with_options(max_retries=2)
    with pytest.raises(openai.RateLimitError) as exc:
        retrying.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)
    assert _error(exc)["code"] == "rate_limit_exceeded" and exc.value.response.headers["x-should-retry"] == "false"
    assert len(dora.fine_tuning.jobs.list().data) == 1
    assert boss.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)   # no quota for the instructor
    dora.fine_tuning.jobs.cancel(first.id)
    assert dora.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id).status == "validating_files"


def test_storage_quota_is_a_400_and_nothing_is_stored(klass, tmp_path):
    bruno = klass["Bruno"]
    chunk = tmp_path / "chunk.jsonl"
    chunk.write_bytes(b'{"messages": []}\n' * (LIMIT // 17 - 8))
    used = sum(f.bytes for f in bruno.files.list())
    while used + chunk.stat().st_size <= STORAGE:
        used += _upload(bruno, chunk).bytes
    before = [f.id for f in bruno.files.list()]
    with pytest.raises(openai.BadRequestError) as exc:
        _upload(bruno, chunk)
    assert _error(exc)["code"] == "storage_quota_exceeded" and _error(exc)["param"] == "file"
    assert [f.id for f in bruno.files.list()] == before
    bruno.files.delete(before[0])
    assert _upload(bruno, chunk).bytes == chunk.stat().st_size


def test_requests_per_minute_is_a_429_with_retry_after(tmp_path):
    home = tmp_path / "home"
    keys = dict(Roster(home).add(["Anna", "Bruno"]))
    try:
        url = control.start(home, class_mode=True, env={"FTLAB_SANDBOX_WORKER": "0", "FTLAB_CLASS_RPM": "5"})["base_url"]
        anna, bruno = (openai.OpenAI(base_url=url, api_key=keys[n], max_retries=0) for n in ("Anna", "Bruno"))
        for _ in range(5):
            anna.files.list()
        with pytest.raises(openai.RateLimitError) as exc:
            anna.files.list()
        assert _error(exc)["code"] == "rate_limit_exceeded" and _error(exc)["type"] == "requests"
        assert 1 <= int(exc.value.response.headers["retry-after"]) <= 60
        assert bruno.files.list().data == []   # each student has their own window
    finally:
        control.stop(home)


def test_kill_9_of_the_class_server_loses_no_file_or_job(tmp_path):
    home = tmp_path / "home"
    keys = dict(Roster(home).add(["Anna", "Bruno"]))
    made = {}
    try:
        info = control.start(home, class_mode=True, env={"FTLAB_SANDBOX_WORKER": "0"})
        for name in ("Anna", "Bruno"):
            client = openai.OpenAI(base_url=info["base_url"], api_key=keys[name], max_retries=0)
            f = _upload(client, _tiny(tmp_path, f"{name}.jsonl"))
            made[name] = (f.id, client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id).id)
        os.kill(info["pid"], signal.SIGKILL)
        info = control.start(home, class_mode=True, env={"FTLAB_SANDBOX_WORKER": "0"})
        for name, (file_id, job_id) in made.items():
            client = openai.OpenAI(base_url=info["base_url"], api_key=keys[name], max_retries=0)
            assert [f.id for f in client.files.list()] == [file_id]
            assert client.files.content(file_id).read() == (tmp_path / f"{name}.jsonl").read_bytes()
            assert [j.id for j in client.fine_tuning.jobs.list()] == [job_id]
    finally:
        control.stop(home)


def test_ftlab_serve_class_in_the_foreground_takes_roster_keys(tmp_path):
    keys = dict(Roster(tmp_path).add(["Anna"]))
    proc = subprocess.Popen([sys.executable, "-m", "ftlab.cli", "serve", "--class", "--host", "127.0.0.1",
                             "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "FTLAB_SANDBOX_WORKER": "0"})
    try:
        deadline = time.time() + 60
        while control.status(tmp_path) is None and time.time() < deadline:
            time.sleep(0.2)
        info = control.status(tmp_path)
        assert info and info["pid"] == proc.pid and info["class_mode"]
        anna = openai.OpenAI(base_url=info["base_url"], api_key=keys["Anna"], max_retries=0)
        assert anna.files.list().data == []
        assert control.stop(tmp_path) and proc.wait(60) == 0
        out = proc.stdout.read()
        assert "Server di classe ftlab in ascolto su http://127.0.0.1:" in out and keys["Anna"] not in out
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("class_mode, niceness", [(True, 10), (False, 0)])
def test_a_class_server_s_training_yields_the_cores_to_the_api(tmp_path, class_mode, niceness):
    """A class server runs its training workers at niceness 10 (students' requests and chat answers
    come first); the one-user sandbox leaves them at 0."""
    import psutil

    from sandbox_helpers import worker_pid

    control.start(tmp_path, class_mode=class_mode)
    try:
        deadline = time.time() + 60
        while True:   # the worker sets its niceness as it starts
            try:
                if psutil.Process(worker_pid(tmp_path)).nice() == niceness:
                    break
            except (AssertionError, psutil.Error):
                pass
            assert time.time() < deadline, "the worker never reached niceness %d" % niceness
            time.sleep(0.1)
    finally:
        control.stop(tmp_path)


def test_worker_niceness_setting_wins_over_the_mode(monkeypatch):
    from ftlab.sandbox import settings

    assert settings.current().worker_niceness(True) == 10 and settings.current().worker_niceness(False) == 0
    monkeypatch.setenv("FTLAB_WORKER_NICE", "3")
    assert settings.current().worker_niceness(True) == 3 and settings.current().worker_niceness(False) == 3
    monkeypatch.setenv("FTLAB_WORKER_NICE", "-5")   # would make every worker fail to start without root
    assert settings.current().worker_niceness(True) == 0
