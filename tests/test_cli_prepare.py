"""`ftlab prepare`: every course run of jobs.COURSE_RUNS, reused when done, trained when missing."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from ftlab import backend, jobs
from ftlab.cli import main
from fakes import FakeOpenAI, job_json


@pytest.fixture
def fake(monkeypatch):
    fake = FakeOpenAI()
    monkeypatch.setattr(backend, "connect", lambda *a, **k: fake.client)
    return fake


def _done(fake, n, suffix):
    fake.jobs[f"ftjob-{n}"] = job_json(f"ftjob-{n}", "succeeded", finished_at=1_700_000_100,
                                       fine_tuned_model=f"ft:gpt-4.1-nano-2025-04-14:org:{suffix}:id{n}")


def test_prepare_reuses_every_finished_course_job(fake, capsys):
    for n, suffix in enumerate(jobs.COURSE_RUNS):
        _done(fake, n, suffix)
    assert main(["prepare"]) == 0
    out = capsys.readouterr().out
    for n, suffix in enumerate(jobs.COURSE_RUNS):
        assert f"{suffix}: già pronto → ft:gpt-4.1-nano-2025-04-14:org:{suffix}:id{n} (job ftjob-{n})" in out
    assert f"[{len(jobs.COURSE_RUNS)}/{len(jobs.COURSE_RUNS)}]" in out and "Tutti i modelli" in out
    assert fake.posted("/") == []


def test_prepare_stops_with_a_clear_error_when_a_paid_job_is_not_confirmed(fake, capsys):
    names = list(jobs.COURSE_RUNS)
    for n, suffix in enumerate(names[:-1]):
        _done(fake, n, suffix)
    assert main(["prepare"]) == 1  # the fake is a paying backend: course_job needs confirmation
    out, err = capsys.readouterr()
    assert f"{names[0]}: già pronto" in out and "Tutti i modelli" not in out and "ftlab:" in err
    assert fake.posted("/fine_tuning") == []


def test_prepare_trains_what_is_missing_and_says_how_long(fake, monkeypatch, capsys):
    trained = []

    def course_job(client, *, suffix):
        trained.append(suffix)
        return SimpleNamespace(id="ftjob-new", fine_tuned_model=f"ft:x:org:{suffix}:new", finished_at=time.time() + 1)

    monkeypatch.setattr(jobs, "course_job", course_job)
    assert main(["prepare", "--only", "assistenza-clienti"]) == 0
    assert trained == ["assistenza-clienti"]
    assert "[1/1] assistenza-clienti: addestrato in" in capsys.readouterr().out


def test_prepare_refuses_an_unknown_run_before_training_anything(fake, monkeypatch, capsys):
    monkeypatch.setattr(jobs, "course_job", lambda *a, **k: pytest.fail("nothing may train"))
    assert main(["prepare", "--only", "converti-python", "nessuno"]) == 1
    assert "nessuno" in capsys.readouterr().err
