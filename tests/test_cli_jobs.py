"""`ftlab files|jobs|models …` against a scripted paying backend (ftlab.connect patched)."""
from __future__ import annotations

import pytest

from ftlab import backend
from ftlab.cli import main
from fakes import FakeOpenAI, event_json, job_json
from test_jobs import chat, scripted, write


@pytest.fixture
def fake(monkeypatch):
    fake = FakeOpenAI()
    monkeypatch.setattr(backend, "connect", lambda *a, **k: fake.client)
    return fake


@pytest.fixture
def train_file(tmp_path):
    return str(write(tmp_path / "train.jsonl", [chat(i) for i in range(12)]))


def test_create_without_confirmation_sends_nothing(fake, train_file, capsys):
    assert main(["jobs", "create", "--model", "gpt-4.1-nano-2025-04-14",
                 "--training-file", train_file]) == 1
    out, err = capsys.readouterr()
    assert "12 esempi × 8 epoche" in out and "NON inviato" in err and "backend: openai" in err
    assert fake.requests == []


def test_create_with_confirmation(fake, capsys):
    fake.add_file("file-abc", content=open(fake_train(), "rb").read())
    assert main(["jobs", "create", "--model", "gpt-4.1-nano-2025-04-14", "--training-file",
                 "file-abc", "--n-epochs", "2", "--batch-size", "auto", "--suffix", "cli",
                 "--confirm-costs"]) == 0
    assert capsys.readouterr().out.strip().endswith("ftjob-new\tvalidating_files")
    assert fake.last_body["method"]["supervised"]["hyperparameters"] == {"n_epochs": 2,
                                                                         "batch_size": "auto"}


def fake_train():
    import tempfile
    from pathlib import Path
    return write(Path(tempfile.mkdtemp()) / "t.jsonl", [chat(i) for i in range(12)])


def test_out_of_range_hyperparameter(fake, train_file, capsys):
    assert main(["jobs", "create", "--model", "gpt-4.1-nano-2025-04-14", "--training-file",
                 train_file, "--n-epochs", "99", "--confirm-costs"]) == 1
    assert "n_epochs=99 fuori intervallo" in capsys.readouterr().err
    assert fake.requests == []


def test_follow(fake, capsys):
    scripted(fake)
    assert main(["jobs", "follow", "ftjob-1"]) == 0
    out = capsys.readouterr().out
    assert out.index("Created fine-tuning job") < out.index("nota 0") < out.index("successfully")


def test_events_oldest_first(fake, capsys):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    fake.events["ftjob-1"] = [event_json(i, f"evento {i}") for i in range(10)]
    assert main(["jobs", "events", "ftjob-1", "--limit", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == ["evento 7", "evento 8", "evento 9"]


@pytest.mark.parametrize("action, status", [("pause", "paused"), ("cancel", "cancelled")])
def test_actions(fake, capsys, action, status):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    assert main(["jobs", action, "ftjob-1"]) == 0
    assert capsys.readouterr().out.strip() == f"ftjob-1\t{status}"


@pytest.mark.parametrize("action", ["cancel", "pause", "resume", "follow", "events"])
def test_unknown_job(fake, capsys, action):
    assert main(["jobs", action, "ftjob-nope"]) == 1
    assert "Job sconosciuto: ftjob-nope" in capsys.readouterr().err


def test_upload_of_a_non_jsonl_file(fake, tmp_path, capsys):
    path = tmp_path / "dati.txt"
    path.write_text("non è json\n", encoding="utf-8")
    assert main(["files", "upload", str(path)]) == 1
    assert "non è un file di fine-tuning valido" in capsys.readouterr().err
    assert fake.requests == []


def test_lists(fake, capsys):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "succeeded", trained_tokens=10)
    fake.add_file("file-abc")
    assert main(["jobs", "list"]) == 0
    assert "ftjob-1" in capsys.readouterr().out
    assert main(["models", "list"]) == 0
    assert "gpt-4.1-nano-2025-04-14\tsystem" in capsys.readouterr().out
    assert main(["files", "list", "--purpose", "fine-tune"]) == 0
    assert capsys.readouterr().out.startswith("file-abc\tfine-tune\tprocessed")


def test_ctrl_c_while_following_leaves_the_job_alone(fake, monkeypatch, capsys):
    from ftlab import jobs

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(jobs, "follow", interrupted)
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    assert main(["jobs", "follow", "ftjob-1"]) == 130
    assert "il job, se creato, continua" in capsys.readouterr().err
    assert fake.posted("/") == []
