"""Job lifecycle through the official SDK with the worker on: validation failures, real (tiny)
training, checkpoints, results, cancel, pause/resume, restarts and crashes."""
from __future__ import annotations

import base64
import csv
import io
import os
import signal
import time

import openai
import pytest
from openai.types.fine_tuning import FineTuningJob
from openai.types.fine_tuning.jobs import FineTuningJobCheckpoint

from ftlab import monitoring
from ftlab.sandbox import control
from sandbox_helpers import TERMINAL, chat_example, required_fields_present, sandbox, wait_for, worker_pid, write_jsonl

ANSWER = "Il codice segreto del corso è: pappagallo verde 42."
PROMPT = [{"role": "system", "content": "Rispondi in breve."},
          {"role": "user", "content": "Domanda numero 3?"}]


def upload(client, path):
    with open(path, "rb") as f:
        return client.files.create(file=f, purpose="fine-tune")


@pytest.fixture
def tiny(tmp_path):
    """10 examples (OpenAI's minimum) that all teach the same unusual answer."""
    return write_jsonl(tmp_path / "tiny.jsonl", [chat_example(i, ANSWER) for i in range(10)])


# -- validation: no model needed ---------------------------------------------------------------
@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-jobs")) as client:
        yield client


@pytest.mark.parametrize("rows, code, words", [
    ([chat_example(i) for i in range(7)], "invalid_n_examples", "has 7 example(s)"),
    ([{"prompt": f"p{i}", "completion": f"c{i}"} for i in range(12)], "invalid_file_format",
     "expected either prompt/completion pairs or chat messages"),
    ([chat_example(i) for i in range(11)] + [{"messages": [{"content": "senza ruolo"}]}],
     "invalid_training_file", "Example 12"),
    ([{"input": {"messages": [{"role": "user", "content": f"q{i}"}]},
      "preferred_output": [{"role": "assistant", "content": "si"}],
      "non_preferred_output": [{"role": "assistant", "content": "no"}]} for i in range(12)],
     "invalid_training_file", "Invalid file format"),
])
def test_invalid_file_fails_job_with_code(shared, tmp_path, rows, code, words):
    client = shared
    f = upload(client, write_jsonl(tmp_path / "bad.jsonl", rows))
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)
    done = wait_for(client, job.id, TERMINAL, timeout=300)
    assert done.status == "failed" and done.error.code == code, done.error
    assert words in done.error.message and done.error.param == "training_file"
    assert done.fine_tuned_model is None and done.finished_at
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert messages[-2].startswith("Validating training file: " + f.id)
    assert done.error.message in messages


def test_unobtainable_model_fails_job_with_reason(tmp_path, tiny):
    with sandbox(tmp_path / "home", FTLAB_BASE_MODEL=tmp_path / "not-a-model") as client:
        job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload(client, tiny).id)
        done = wait_for(client, job.id, TERMINAL, timeout=300)
        assert done.status == "failed" and "not-a-model" in done.error.message
        assert done.error.code == "model_unavailable"


# -- real training (kept to a handful of steps: CPU only) ----------------------------------------
@pytest.mark.training
def test_short_training_end_to_end(tmp_path, tiny):
    valid = write_jsonl(tmp_path / "valid.jsonl", [chat_example(i, ANSWER) for i in range(100, 102)])
    with sandbox(tmp_path / "home") as client:
        train_id, valid_id = upload(client, tiny).id, upload(client, valid).id
        job = client.fine_tuning.jobs.create(
            model="gpt-4.1-nano-2025-04-14", training_file=train_id, validation_file=valid_id, suffix="prova",
            seed=42, hyperparameters={"n_epochs": 2, "batch_size": 5, "learning_rate_multiplier": 10})
        base = client.chat.completions.create(model="gpt-4.1-nano", messages=PROMPT, temperature=0,
                                              max_tokens=8).choices[0].message.content
        done = wait_for(client, job.id, TERMINAL, timeout=3600)
        assert done.status == "succeeded", done.error
        required_fields_present(done)
        assert isinstance(done, FineTuningJob) and done.error is None
        assert done.fine_tuned_model.startswith("ft:gpt-4.1-nano-2025-04-14:ftlab:prova:")
        assert done.trained_tokens > 0 and done.hyperparameters.n_epochs == 2
        assert done.hyperparameters.batch_size == 5 and done.estimated_finish is None

        events = list(client.fine_tuning.jobs.list_events(job.id, limit=3))  # auto-paginated
        messages = [e.message for e in reversed(events)]
        assert messages[0] == f"Created fine-tuning job: {job.id}"
        assert "Files validated, moving job to queued state" in messages
        assert "Fine-tuning job started" in messages
        assert messages[-2:] == [f"New fine-tuned model created: {done.fine_tuned_model}",
                                 "The job has successfully completed"]
        metrics = [e for e in reversed(events) if e.type == "metrics"]
        assert [m.data["step"] for m in metrics] == [1, 2, 3, 4]
        assert metrics[0].message.startswith("Step 1/4: training loss=")
        assert ", validation loss=" in metrics[-1].message
        losses = [m.data["train_loss"] for m in metrics]
        assert losses[-1] < losses[0]  # it learns

        ckpts = client.fine_tuning.jobs.checkpoints.list(job.id).data
        assert [c.step_number for c in ckpts] == [4, 2]
        for c in ckpts:
            assert isinstance(c, FineTuningJobCheckpoint)
            required_fields_present(c)
            assert c.fine_tuned_model_checkpoint == f"{done.fine_tuned_model}:ckpt-step-{c.step_number}"
            assert c.metrics.full_valid_loss is not None
        assert f"Checkpoint created at step 2 with Snapshot ID: {ckpts[1].fine_tuned_model_checkpoint}" in messages

        result = client.files.retrieve(done.result_files[0])
        assert result.purpose == "fine-tune-results"
        served = client.files.content(result.id).read()
        cookbook = base64.b64decode(served).decode()   # how OpenAI's cookbook reads it
        assert cookbook == monitoring.read_result_file(client, result.id)
        rows = list(csv.DictReader(io.StringIO(cookbook)))
        assert list(rows[0]) == ["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"]
        assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
        assert float(rows[0]["train_loss"]) == pytest.approx(losses[0], abs=1e-5)

        assert done.fine_tuned_model in {m.id for m in client.models.list()}
        assert client.models.retrieve(done.fine_tuned_model).owned_by == done.organization_id
        tuned = client.chat.completions.create(model=done.fine_tuned_model, messages=PROMPT, temperature=0,
                                               max_tokens=8)
        assert tuned.choices[0].message.content != base
        assert tuned.model == done.fine_tuned_model and tuned.usage.completion_tokens > 0
        early = client.chat.completions.create(model=ckpts[1].fine_tuned_model_checkpoint, messages=PROMPT,
                                               max_tokens=2)
        assert early.usage.completion_tokens > 0

        gone = client.models.delete(done.fine_tuned_model)
        required_fields_present(gone)
        assert gone.deleted and gone.id == done.fine_tuned_model
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model=done.fine_tuned_model, messages=PROMPT)


def wait_running(client, job_id: str, timeout: float = 600):
    return wait_for(client, job_id, ("running",) + TERMINAL, timeout=timeout)


@pytest.mark.training
def test_one_job_at_a_time_and_cancel(tmp_path, tiny):
    with sandbox(tmp_path / "home") as client:
        file_id = upload(client, tiny).id
        first, second = (client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=file_id,
                                                        hyperparameters={"n_epochs": 50, "batch_size": 1})
                         for _ in range(2))
        assert wait_running(client, first.id).status == "running"
        _wait_event(client, first.id, "Step 1/")   # the worker is busy training the first job
        assert client.fine_tuning.jobs.retrieve(second.id).status == "queued"  # waits its turn
        assert client.fine_tuning.jobs.cancel(first.id).status == "cancelled"
        assert wait_running(client, second.id).status == "running"  # the worker moved on
        assert client.fine_tuning.jobs.cancel(second.id).status == "cancelled"
        for job_id in (first.id, second.id):
            final = client.fine_tuning.jobs.retrieve(job_id)
            assert final.status == "cancelled" and final.fine_tuned_model is None
            assert final.result_files == [] and final.trained_tokens is None


@pytest.mark.training
def test_pause_resume_and_restart(tmp_path, tiny):
    home = tmp_path / "home"
    with sandbox(home) as client:
        job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=upload(client, tiny).id, seed=5,
                                             hyperparameters={"n_epochs": 1, "batch_size": 5})
        wait_running(client, job.id)
        paused = client.fine_tuning.jobs.pause(job.id)
        assert paused.status == "paused"
        wait_for(client, job.id, ("paused",))
        _wait_event(client, job.id, "Training paused at step")
        assert client.fine_tuning.jobs.retrieve(job.id).status == "paused"  # stays paused
        assert client.fine_tuning.jobs.resume(job.id).status == "queued"
        wait_running(client, job.id)
        _wait_event(client, job.id, "Fine-tuning job resumed from step")
    # the server stopped mid-training: the job saved its state and waits in the queue
    assert control.status(home) is None
    with sandbox(home) as client:
        done = wait_for(client, job.id, TERMINAL, timeout=3600)
        assert done.status == "succeeded", done.error
        messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id, limit=100)]
        assert "Fine-tuning job paused" in messages and "Fine-tuning job resumed" in messages
        assert any(m.startswith("The sandbox stopped at step") for m in messages) or \
            "The job has successfully completed" in messages
        steps = sorted(e.data["step"] for e in client.fine_tuning.jobs.list_events(job.id, limit=100)
                       if e.type == "metrics")
        assert steps == [1, 2]


def _wait_event(client, job_id, prefix, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if any(e.message.startswith(prefix) for e in client.fine_tuning.jobs.list_events(job_id, limit=100)):
            return
        time.sleep(0.3)
    raise AssertionError(f"no event starting with {prefix!r}")


@pytest.mark.training
def test_worker_killed_mid_job_is_failed_not_left_running(tmp_path, tiny):
    home = tmp_path / "home"
    with sandbox(home) as client:
        job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=upload(client, tiny).id)
        wait_running(client, job.id)
        pid = worker_pid(home)
        os.kill(pid, signal.SIGKILL)  # a hard crash: no chance to save state
        done = wait_for(client, job.id, TERMINAL, timeout=120)
        assert done.status == "failed" and done.error.code == "training_interrupted"
        assert "stopped while this job was running" in done.error.message
        # the restarted worker takes new jobs again
        f = upload(client, write_jsonl(tmp_path / "few.jsonl", [chat_example(1)]))
        again = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id)
        assert wait_for(client, again.id, TERMINAL, timeout=300).error.code == "invalid_n_examples"


@pytest.mark.training
def test_server_killed_mid_job_resumes_on_restart(tmp_path, tiny):
    home = tmp_path / "home"
    with sandbox(home) as client:
        job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=upload(client, tiny).id,
                                             hyperparameters={"n_epochs": 1, "batch_size": 5})
        wait_running(client, job.id)
        os.kill(control.status(home)["pid"], signal.SIGKILL)  # the server dies; its worker notices
        with sandbox(home) as again:
            done = wait_for(again, job.id, TERMINAL, timeout=3600)
            assert done.status == "succeeded", done.error
            messages = [e.message for e in again.fine_tuning.jobs.list_events(job.id, limit=100)]
            assert any(m.startswith("The sandbox stopped at step") for m in messages)


@pytest.mark.training
def test_dpo_job_trains(tmp_path):
    pairs = [{"input": {"messages": [{"role": "user", "content": f"Saluta il cliente numero {i}."}]},
              "preferred_output": [{"role": "assistant", "content": f"Buongiorno, cliente {i}! Come posso aiutarla?"}],
              "non_preferred_output": [{"role": "assistant", "content": "Ciao."}]} for i in range(10)]
    with sandbox(tmp_path / "home") as client:
        f = upload(client, write_jsonl(tmp_path / "dpo.jsonl", pairs))
        job = client.fine_tuning.jobs.create(
            model="gpt-4o-mini", training_file=f.id,
            method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.1, "n_epochs": 1, "batch_size": 5}}})
        done = wait_for(client, job.id, TERMINAL, timeout=3600)
        assert done.status == "succeeded", done.error
        assert done.method.type == "dpo" and done.method.dpo.hyperparameters.beta == 0.1
        assert done.method.dpo.hyperparameters.n_epochs == 1
        steps = [e for e in client.fine_tuning.jobs.list_events(job.id, limit=50) if e.type == "metrics"]
        assert len(steps) == 2 and all(e.data["train_loss"] is not None for e in steps)


def test_each_file_is_validated_once(tmp_path, monkeypatch):
    """The worker keeps a file's verdict: a second job on the same files does not read them again
    (a mismatched method is a verdict of its own, kept as well)."""
    from ftlab import validation
    from ftlab.sandbox import worker
    from ftlab.sandbox.store import Store
    from ftlab.sandbox.types import JobCreate

    store = Store(tmp_path / "data")
    train, valid = (store.add_bytes(write_jsonl(tmp_path / f"{n}.jsonl", [chat_example(i) for i in range(k)])
                                    .read_bytes(), f"{n}.jsonl", "fine-tune") for n, k in (("t", 12), ("v", 3)))
    real, read = validation.validate, []
    monkeypatch.setattr(validation, "validate", lambda path, **kw: read.append(path.name) or real(path, **kw))

    def job(**method):
        created = JobCreate(model="gpt-4.1-nano", training_file=train["id"], validation_file=valid["id"],
                            **method).new_job()
        store.add_job(created)
        worker.validate_job(store, created)
        return store.get_job(created["id"])

    assert [job()["status"] for _ in range(2)] == ["queued", "queued"]
    assert sorted(read) == sorted([train["id"], valid["id"]])
    for _ in range(2):
        dpo = job(method={"type": "dpo"})
        assert dpo["status"] == "failed" and dpo["error"]["param"] == "training_file"
    assert len(read) == 2 + 2   # the chat file read once more for the DPO verdict (format, then method)


def test_a_status_change_and_the_events_that_explain_it_are_written_together(tmp_path, monkeypatch):
    """A client that sees "failed" or "succeeded" also sees why (one transaction; the job and
    its events used to be written one after the other, and a poll could fall in between)."""
    from ftlab.sandbox import store as store_module, worker
    from ftlab.sandbox.store import Store

    store = Store(tmp_path / "data")
    store.add_job({"id": "ftjob-a", "status": "running"})
    seen_by_others = []   # the job's status another connection sees while the event is written
    insert = store_module._insert_event

    def spy(conn, job_id, *args, **kwargs):
        seen_by_others.append(Store(tmp_path / "data").get_job(job_id)["status"])
        insert(conn, job_id, *args, **kwargs)

    monkeypatch.setattr(store_module, "_insert_event", spy)
    worker.fail(store, "ftjob-a", {"code": "invalid_training_file", "message": "Example 1 is wrong"})
    assert seen_by_others == ["running"]   # not yet committed: status and event land at once
    events, _ = store.list_events("ftjob-a", after=None, limit=10)
    assert store.get_job("ftjob-a")["status"] == "failed"
    assert [(e["message"], e["level"]) for e in events] == [("Example 1 is wrong", "error")]
    # a job no longer in an expected status is left alone, and gets no event
    assert store.update_job("ftjob-a", expect=("running",), status="succeeded", events=["done"]) is None
    assert len(store.list_events("ftjob-a", after=None, limit=10)[0]) == 1
