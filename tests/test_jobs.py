"""ftlab.jobs: input checks, the cost gate, follow() and the tables, on a scripted paying backend.

A second part (marked ``training``) drives the real sandbox through the SDK.
"""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from ftlab import jobs
from fakes import FakeOpenAI, event_json, job_json


def chat(i):
    return {"messages": [{"role": "system", "content": "Converti in Python."},
                         {"role": "user", "content": f"Calcola la somma dei numeri da 1 a {i + 2}"},
                         {"role": "assistant", "content": f"print(sum(range(1, {i + 3})))"}]}


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def train_file(tmp_path):
    return write(tmp_path / "train.jsonl", [chat(i) for i in range(12)])


@pytest.fixture
def valid_file(tmp_path):
    return write(tmp_path / "valid.jsonl", [chat(i) for i in range(100, 104)])


@pytest.fixture
def fake():
    return FakeOpenAI()


# ------------------------------------------------------------------ input checks

@pytest.mark.parametrize("hp", [{"n_epochs": 0}, {"n_epochs": 51}, {"n_epochs": 2.5},
                                {"batch_size": 257}, {"learning_rate_multiplier": 0},
                                {"learning_rate_multiplier": -1.0}, {"beta": 2.5},
                                {"n_epochs": True}, {"n_epochs": "tre"}, {"epochs": 3}])
def test_out_of_range_hyperparameters_are_refused(hp):
    with pytest.raises(jobs.JobInputError):
        jobs.check_hyperparameters(hp)


def test_auto_and_in_range_hyperparameters_pass():
    hp = {"n_epochs": 50, "batch_size": "auto", "learning_rate_multiplier": 0.05, "beta": 2.0}
    assert jobs.check_hyperparameters(hp) == hp
    assert jobs.check_hyperparameters(None) == {}


def test_bad_hyperparameters_stop_before_any_request(fake, train_file):
    with pytest.raises(jobs.JobInputError, match="n_epochs=99 fuori intervallo"):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file,
                        hyperparameters={"n_epochs": 99}, confirm=True)
    assert fake.requests == []


@pytest.mark.parametrize("kw", [{"suffix": ""}, {"suffix": "x" * 65}, {"seed": -1}, {"seed": 2**31}])
def test_bad_suffix_or_seed_is_refused(fake, train_file, kw):
    with pytest.raises(jobs.JobInputError):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file,
                        confirm=True, **kw)
    assert fake.requests == []


def test_validation_identical_to_training_is_refused(fake, train_file, tmp_path):
    copy = write(tmp_path / "copia.jsonl", [chat(i) for i in range(12)])
    for validation in (train_file, copy):
        with pytest.raises(jobs.JobInputError, match="identico"):
            jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file,
                            validation_file=validation, confirm=True)
    assert fake.requests == []


def test_unknown_file_id_is_a_clear_error(fake):
    with pytest.raises(jobs.JobInputError, match="File sconosciuto: file-nope"):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file="file-nope",
                        confirm=True)
    assert fake.posted("/") == []


def test_invalid_training_file_is_refused_locally(fake, tmp_path):
    bad = write(tmp_path / "bad.jsonl", [{"prompt": "a", "completion": "b"}] * 3)
    with pytest.raises(jobs.JobInputError, match="training riga 1: Formato prompt/completion"):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=bad, confirm=True)
    assert fake.requests == []


def test_non_jsonl_upload_is_refused_before_sending(fake, tmp_path):
    csv = tmp_path / "dati.csv"
    csv.write_text("prompt,completion\nciao,mondo\n", encoding="utf-8")
    with pytest.raises(jobs.JobInputError, match="dati.csv non è un file di fine-tuning valido"):
        jobs.upload(fake.client, csv)
    with pytest.raises(jobs.JobInputError, match="File non trovato"):
        jobs.upload(fake.client, tmp_path / "manca.jsonl")
    assert fake.requests == []


# ------------------------------------------------------------------ cost gate

def test_cost_gate_refuses_and_sends_nothing_on_a_paying_backend(fake, train_file, valid_file, capsys):
    with pytest.raises(jobs.CostNotConfirmed, match="job NON inviato"):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file,
                        validation_file=valid_file, hyperparameters={"n_epochs": 2})
    out = capsys.readouterr().out
    assert "12 esempi × 2 epoche" in out and "$" in out
    assert fake.requests == []  # no upload, no job


def test_cost_gate_with_an_uploaded_file_id_sends_no_job(fake, capsys):
    # OpenAI refuses to download fine-tune files: no estimate, but the gate still holds.
    fake.files["file-abc"] = {"id": "file-abc", "object": "file", "bytes": 10, "created_at": 1,
                              "filename": "train.jsonl", "purpose": "fine-tune", "status": "processed"}
    with pytest.raises(jobs.CostNotConfirmed):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file="file-abc")
    assert "Stima non disponibile" in capsys.readouterr().out
    assert fake.posted("/fine_tuning/jobs") == []


def test_uploaded_file_id_is_estimated_from_what_upload_remembered(fake, train_file, capsys):
    fake.files["file-abc"] = {"id": "file-abc", "object": "file", "bytes": 10, "created_at": 1,
                              "filename": "train.jsonl", "purpose": "fine-tune", "status": "processed"}
    jobs._remember_upload("file-abc", train_file, jobs.preflight(
        fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file).report.token_counts)
    with pytest.raises(jobs.CostNotConfirmed):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file="file-abc")
    assert "12 esempi × 8 epoche" in capsys.readouterr().out  # auto epochs for 12 examples


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_confirmed_job_is_sent_with_the_method_form(fake, monkeypatch, how):
    fake.files["file-abc"] = {"id": "file-abc", "object": "file", "bytes": 10, "created_at": 1,
                              "filename": "train.jsonl", "purpose": "fine-tune", "status": "processed"}
    if how == "environment":
        monkeypatch.setenv("FTLAB_CONFIRM_COSTS", "1")
    job = jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file="file-abc",
                          hyperparameters={"n_epochs": 2}, suffix="prova", seed=7,
                          confirm=(how == "argument"))
    assert job.id == "ftjob-new" and fake.posted("/fine_tuning/jobs") == ["/fine_tuning/jobs"]
    assert fake.last_body["method"] == {"type": "supervised",
                                        "supervised": {"hyperparameters": {"n_epochs": 2}}}
    assert fake.last_body["suffix"] == "prova" and fake.last_body["seed"] == 7


# ------------------------------------------------------------------ follow and friends

def metrics(n, step, total=4):
    return event_json(n, f"Step {step}/{total}: training loss={1 / step:.2f}", "metrics",
                      {"step": step, "total_steps": total, "train_loss": 1 / step})


def scripted(fake, final="succeeded"):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "validating_files")
    fake.events["ftjob-1"] = [event_json(1, "Created fine-tuning job: ftjob-1")]
    end = {"status": final, "fine_tuned_model": "ft:gpt-4.1-nano-2025-04-14:org::abc",
           "trained_tokens": 1234} if final == "succeeded" else {
        "status": final, "error": {"code": "invalid_n_examples", "message": "troppo pochi",
                                   "param": "training_file"}}
    fake.script["ftjob-1"] = [
        ({"status": "running"}, [event_json(2, "Fine-tuning job started"), metrics(3, 1), metrics(4, 2)]),
        ({}, []),
        ({}, [metrics(5, 3), metrics(6, 4)] + [event_json(7 + i, f"nota {i}") for i in range(120)]),
        (end, [event_json(200, "The job has successfully completed")]),
        ({}, [event_json(201, "must not be read: follow() already stopped")]),
    ]


def test_follow_prints_every_event_once_in_order_and_stops(fake):
    scripted(fake)
    out = io.StringIO()
    job = jobs.follow(fake.client, "ftjob-1", poll=0, out=out, show_metrics=True)
    assert job.status == "succeeded" and job.trained_tokens == 1234
    lines = [line.split(" ", 1)[1] for line in out.getvalue().splitlines()
             if line[:2].isdigit() and ":" in line[:8]]
    expected = (["Created fine-tuning job: ftjob-1", "Fine-tuning job started"]
                + [f"Step {s}/4: training loss={1 / s:.2f}" for s in (1, 2, 3, 4)]
                + [f"nota {i}" for i in range(120)] + ["The job has successfully completed"])
    assert lines == expected  # 120 events in one poll: more than a page, none lost or repeated
    assert "ft:gpt-4.1-nano-2025-04-14:org::abc" in out.getvalue()
    assert fake.script["ftjob-1"]  # the last scripted state was never fetched


def test_follow_shows_a_progress_bar_and_hides_metric_lines(fake):
    scripted(fake)
    out = io.StringIO()
    jobs.follow(fake.client, "ftjob-1", poll=0, out=out)
    text = out.getvalue()
    assert "4/4" in text and "Step 1/4" not in text


def test_follow_reports_a_failed_job(fake):
    scripted(fake, final="failed")
    out = io.StringIO()
    job = jobs.follow(fake.client, "ftjob-1", poll=0, progress=False, out=out)
    assert job.status == "failed"
    assert "fallito: [invalid_n_examples] troppo pochi" in out.getvalue()


def test_follow_stops_on_pause(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    jobs.pause(fake.client, "ftjob-1")
    out = io.StringIO()
    assert jobs.follow(fake.client, "ftjob-1", poll=0, out=out).status == "paused"
    assert "resume" in out.getvalue()
    assert jobs.resume(fake.client, "ftjob-1").status == "queued"
    assert jobs.cancel(fake.client, "ftjob-1").status == "cancelled"


@pytest.mark.parametrize("action", [jobs.follow, jobs.cancel, jobs.pause, jobs.resume, jobs.retrieve])
def test_unknown_job_id_is_a_clear_error(fake, action):
    with pytest.raises(jobs.JobInputError, match="Job sconosciuto: ftjob-nope"):
        action(fake.client, "ftjob-nope")


def test_jobs_frame(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "succeeded", finished_at=1_700_000_090, trained_tokens=99)
    fake.jobs["ftjob-2"] = job_json("ftjob-2", "failed", error={"code": "invalid_training_file",
                                                                "message": "x", "param": None})
    frame = jobs.jobs_frame(fake.client)
    assert list(frame["id"]) == ["ftjob-2", "ftjob-1"]
    assert frame.loc[1, "duration_s"] == 90 and frame.loc[1, "n_epochs"] == 3
    assert frame.loc[0, "error"] == "invalid_training_file" and pd.isna(frame.loc[1, "error"])


def test_jobs_frame_of_running_jobs_only(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    frame = jobs.jobs_frame(fake.client)
    assert pd.isna(frame.loc[0, "finished_at"]) and pd.isna(frame.loc[0, "duration_s"])
    assert jobs.jobs_frame(FakeOpenAI().client).empty


def test_course_model_reuses_a_succeeded_job(fake):
    fake.jobs["ftjob-0"] = job_json("ftjob-0", "succeeded",
                                    fine_tuned_model="ft:gpt-4.1-nano-2025-04-14:org:altro:x")
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "succeeded",
                                    fine_tuned_model="ft:gpt-4.1-nano-2025-04-14:org:converti-python:y")
    assert jobs.course_model(fake.client) == "ft:gpt-4.1-nano-2025-04-14:org:converti-python:y"
    assert fake.posted("/") == []


def test_course_model_follows_a_running_course_job_instead_of_starting_another(fake):
    scripted(fake)
    fake.jobs["ftjob-1"]["metadata"] = {"suffix": "converti-python"}
    assert jobs.course_model(fake.client) == "ft:gpt-4.1-nano-2025-04-14:org::abc"
    assert fake.posted("/") == []


def test_course_model_on_a_paying_backend_needs_confirmation(fake):
    with pytest.raises(jobs.CostNotConfirmed):
        jobs.course_model(fake.client)
    assert fake.posted("/") == []


class _Sent(Exception):
    """Raised by the recording create_job below: what course_job would have sent."""


def _record_create_job(monkeypatch):
    def record(client, **kwargs):
        raise _Sent(kwargs)
    monkeypatch.setattr(jobs, "create_job", record)


@pytest.mark.parametrize("suffix", list(jobs.COURSE_RUNS))
def test_course_job_trains_each_course_run_from_its_table_entry(fake, monkeypatch, suffix):
    from ftlab.paths import DATA_DIR

    _record_create_job(monkeypatch)
    run = jobs.COURSE_RUNS[suffix]
    with pytest.raises(_Sent) as sent:
        jobs.course_job(fake.client, suffix=suffix)
    kwargs = sent.value.args[0]
    assert kwargs["training_file"] == DATA_DIR / run.data / "train.jsonl"
    assert kwargs["training_file"].is_file()
    if run.validation:
        assert kwargs["validation_file"] == DATA_DIR / run.data / "validation.jsonl"
        assert kwargs["validation_file"].is_file()
    else:
        assert kwargs["validation_file"] is None
    assert kwargs["suffix"] == suffix and kwargs["seed"] == run.seed
    sent_hp = (kwargs["method"] or {}).get("supervised", {}).get("hyperparameters", {})
    assert sent_hp == run.hyperparameters
    assert jobs.check_hyperparameters(sent_hp) == run.hyperparameters


def test_converti_python_keeps_the_default_hyperparameters():
    # chapters 04-06 show this job's "auto" values and their outputs are compared
    assert jobs.COURSE_RUNS["converti-python"].hyperparameters == {}


def test_trained_course_job_finds_only_a_succeeded_job_of_that_run(fake):
    assert jobs.trained_course_job(fake.client, "assistenza-clienti") is None
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "succeeded",
                                    fine_tuned_model="ft:gpt-4.1-nano-2025-04-14:org:converti-python:y")
    assert jobs.trained_course_job(fake.client, "assistenza-clienti") is None
    fake.jobs["ftjob-2"] = job_json("ftjob-2", "succeeded",
                                    fine_tuned_model="ft:gpt-4.1-nano-2025-04-14:org:assistenza-clienti:z")
    assert jobs.trained_course_job(fake.client, "assistenza-clienti").id == "ftjob-2"
    with pytest.raises(jobs.JobInputError):
        jobs.trained_course_job(fake.client, "nessuno")


def test_estimate_says_epoca_for_one_epoch(monkeypatch):
    from ftlab.tokens import estimate_training

    one, two = (jobs.format_estimate(estimate_training([100] * 12, epochs=e), "gpt-4.1-nano-2025-04-14")
                for e in (1, 2))
    assert "× 1 epoca ≈" in one and "× 2 epoche ≈" in two
    monkeypatch.setenv("FTLAB_LANG", "en")
    assert "× 1 epoch ≈" in jobs.format_estimate(estimate_training([100] * 12, epochs=1), "gpt-4.1-nano-2025-04-14")


def test_unknown_course_suffix_is_a_clear_error(fake):
    with pytest.raises(jobs.JobInputError, match="converti-python"):
        jobs.course_job(fake.client, suffix="nessuno")
    assert fake.posted("/") == []


# ------------------------------------------------------------------ on the real sandbox (no training)

@pytest.fixture
def sandbox_client(tmp_path):
    from sandbox_helpers import sandbox
    with sandbox(tmp_path / "home") as client:
        yield client


def test_sandbox_upload_preflight_create_and_cancel(sandbox_client, train_file, valid_file):
    client = sandbox_client
    train, valid = jobs.upload(client, train_file), jobs.upload(client, valid_file)
    assert (train.status, valid.status) == ("processed", "processed")
    check = jobs.preflight(client, model="gpt-4.1-nano-2025-04-14", training_file=train.id,
                           validation_file=valid.id, hyperparameters={"n_epochs": 1})
    assert check.report.ok and check.estimate.billed_tokens == sum(check.report.token_counts)
    job = jobs.create_job(client, model="gpt-4.1-nano-2025-04-14", training_file=train.id,
                          validation_file=valid.id, hyperparameters={"n_epochs": 1}, seed=3,
                          quiet=True)  # the sandbox is free: no confirmation needed
    assert jobs.cancel(client, job.id).status == "cancelled"
    out = io.StringIO()
    assert jobs.follow(client, job.id, poll=0.2, out=out).status == "cancelled"
    assert "Created fine-tuning job" in out.getvalue() and "cancelled" in out.getvalue()
    with pytest.raises(jobs.JobInputError, match="cancelled"):
        jobs.pause(client, job.id)  # the server's refusal, passed on clearly
    frame = jobs.jobs_frame(client)
    assert list(frame["id"]) == [job.id] and frame.loc[0, "seed"] == 3


def test_sandbox_broken_files(sandbox_client, tmp_path):
    client = sandbox_client
    csv = tmp_path / "dati.csv"
    csv.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(jobs.JobInputError, match="Il server ha rifiutato dati.csv: .*jsonl"):
        jobs.upload(client, csv, validate=False)
    legacy = write(tmp_path / "legacy.jsonl", [{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(12)])
    file = jobs.upload(client, legacy, validate=False)
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano-2025-04-14", training_file=file.id)
    out = io.StringIO()
    done = jobs.follow(client, job.id, poll=0.2, out=out)
    assert done.status == "failed" and done.error.code == "invalid_file_format"
    assert "fallito: [invalid_file_format]" in out.getvalue()
    assert [f.id for f in client.files.list()] == [file.id]  # the CSV left nothing behind
    with pytest.raises(jobs.JobInputError, match="File sconosciuto: file-nope"):
        jobs.preflight(client, model="gpt-4.1-nano-2025-04-14", training_file="file-nope")


# ------------------------------------------------------------------ one validation per file

@pytest.fixture
def counted_validations(monkeypatch):
    """Count ftlab.validation.validate calls; fail on any whole-file read through pathlib."""
    from pathlib import Path

    import ftlab.validation as validation

    calls = []
    real = validation.validate

    def counting(source, *args, **kw):
        calls.append(Path(source).name)
        return real(source, *args, **kw)

    monkeypatch.setattr(validation, "validate", counting)
    read_bytes = Path.read_bytes

    def whole(self):
        if self.suffix == ".jsonl":
            pytest.fail(f"{self} read whole")
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", whole)
    return calls


def test_create_job_validates_each_file_once_and_uploads_with_that_report(
        fake, train_file, valid_file, counted_validations, monkeypatch):
    monkeypatch.setenv("FTLAB_CONFIRM_COSTS", "1")
    job = jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file=train_file,
                          validation_file=valid_file, quiet=True)
    assert job.id == "ftjob-new"
    assert counted_validations == ["train.jsonl"]  # train and validation in one call
    assert len(fake.posted("/files")) == 2
    remembered = jobs._load_uploads()
    counts = {r["filename"]: r["token_counts"] for r in remembered.values()}
    assert len(counts["train.jsonl"]) == 12 and len(counts["valid.jsonl"]) == 4


def test_job_form_estimate_counts_tokens_without_validating(fake, train_file, counted_validations):
    content = train_file.open("rb").read()
    fake.add_file("file-t", "train.jsonl", content)
    counts = jobs.token_counts(fake.client, "file-t")
    assert counted_validations == []
    from ftlab.validation import validate
    assert counts == validate(train_file).token_counts


def test_estimate_speaks_one_number_format_and_singular_epoch(monkeypatch):
    from ftlab.tokens import estimate_training

    one = jobs.format_estimate(estimate_training([1000] * 1200, epochs=1), "gpt-4.1-nano-2025-04-14")
    assert "1.200 esempi × 1 epoca ≈ 1.200.000 token" in one and "0,006 $/1K" in one
    assert "1,8000 $" in one and "$0." not in one  # Italian decimals, no English figure left over
    three = jobs.format_estimate(estimate_training([1000] * 20, epochs=3), "gpt-4.1-nano-2025-04-14")
    assert "× 3 epoche" in three
    monkeypatch.setenv("FTLAB_LANG", "en")
    en = jobs.format_estimate(estimate_training([1000] * 1200, epochs=1), "gpt-4.1-nano-2025-04-14")
    assert "1,200 examples × 1 epoch ≈ 1,200,000 billed tokens → $1.8000" in en


def test_num_writes_decimals_in_the_users_language(monkeypatch):
    from ftlab.i18n import num

    assert num(0.25) == "0,25" and num(1.3364, 3) == "1,336" and num(2.0, 0) == "2"
    assert num(0.25, signed=True) == "+0,25" and num(-0.1, 1, signed=True) == "-0,1"
    monkeypatch.setenv("FTLAB_LANG", "en")
    assert num(0.25) == "0.25"
