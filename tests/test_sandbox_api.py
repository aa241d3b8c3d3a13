"""The sandbox's REST API through the official SDK, with the worker off (jobs stay put).

Shapes are checked against the SDK's own types, including that every required field is sent.
"""
from __future__ import annotations

import io
import os
import stat

import httpx
import openai
import pytest
from openai.types import FileObject, Model
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from ftlab.sandbox import control
from sandbox_helpers import chat_example, required_fields_present, sandbox, write_jsonl


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("sandbox-api")


@pytest.fixture(scope="module")
def client(home):
    with sandbox(home, FTLAB_SANDBOX_WORKER=0, FTLAB_MAX_FILE_BYTES=4096) as c:
        yield c


@pytest.fixture(scope="module")
def train_file(client, tmp_path_factory):
    path = write_jsonl(tmp_path_factory.mktemp("data") / "train.jsonl", [chat_example(i) for i in range(12)])
    with open(path, "rb") as f:
        return client.files.create(file=f, purpose="fine-tune")


def test_token_file_is_private_and_required(home, client):
    assert stat.S_IMODE(os.stat(home / "token").st_mode) == 0o600
    bad = openai.OpenAI(base_url=str(client.base_url), api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as err:
        bad.files.list()
    assert err.value.status_code == 401
    assert err.value.body["code"] == "invalid_api_key" and "sk-wrong" not in str(err.value.body)
    # also without any Authorization header at all
    r = httpx.get(str(client.base_url) + "models")
    assert r.status_code == 401 and r.json()["error"]["type"] == "invalid_request_error"


def test_file_create_retrieve_content_delete(client, tmp_path):
    path = write_jsonl(tmp_path / "tiny.jsonl", [chat_example(1)])
    with open(path, "rb") as f:
        created = client.files.create(file=f, purpose="fine-tune")
    assert isinstance(created, FileObject)
    required_fields_present(created)
    assert created.id.startswith("file-") and created.purpose == "fine-tune"
    assert created.bytes == path.stat().st_size and created.filename == "tiny.jsonl"
    assert created.status == "processed"
    again = client.files.retrieve(created.id)
    assert again == created
    assert client.files.content(created.id).read() == path.read_bytes()
    deleted = client.files.delete(created.id)
    required_fields_present(deleted)
    assert deleted.deleted and deleted.id == created.id and deleted.object == "file"
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        client.files.content(created.id)


def test_upload_rules(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("dati.csv", b"a,b\n"), purpose="fine-tune")
    assert err.value.body["param"] == "file" and ".jsonl" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        client.files.create(file=("x.jsonl", b"{}\n"), purpose="nonsense")
    assert err.value.body["param"] == "purpose"
    with pytest.raises(openai.APIStatusError) as err:  # this server's limit is 4 KB
        client.files.create(file=("big.jsonl", b"x" * 5000), purpose="fine-tune")
    assert err.value.status_code == 413
    with pytest.raises(openai.APIStatusError) as err:  # refused from its Content-Length alone
        client.files.create(file=("huge.jsonl", b"x" * 200_000), purpose="fine-tune")
    assert err.value.status_code == 413 and err.value.body["param"] == "file"


def test_uploaded_name_cannot_escape_blob_dir(client, home):
    f = client.files.create(file=("../../evil.jsonl", io.BytesIO(b"{}\n")), purpose="fine-tune")
    assert f.filename == "evil.jsonl"
    assert not (home.parent / "evil.jsonl").exists() and not (home / "evil.jsonl").exists()
    assert (home / "blobs" / f.id).read_bytes() == b"{}\n"


def test_file_list_pagination_and_filters(client):
    ids = [client.files.create(file=(f"p{i}.jsonl", b"{}\n"), purpose="fine-tune").id for i in range(5)]
    client.files.create(file=("b.jsonl", b"{}\n"), purpose="batch")
    page = client.files.list(purpose="fine-tune", limit=2)
    assert len(page.data) == 2 and page.has_more and page.data[0].id == ids[-1]
    every = [f.id for f in client.files.list(purpose="fine-tune", limit=2)]  # SDK auto-pagination
    assert every[:5] == ids[::-1] and len(every) == len(set(every))
    oldest_first = [f.id for f in client.files.list(purpose="fine-tune", order="asc", limit=3)]
    assert [i for i in oldest_first if i in ids] == ids
    assert all(f.purpose == "batch" for f in client.files.list(purpose="batch"))


def test_job_create_shape_and_lists(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train_file.id, suffix="prova",
                                         seed=7, metadata={"corso": "ftlab"},
                                         hyperparameters={"n_epochs": 2})
    assert isinstance(job, FineTuningJob)
    required_fields_present(job)
    assert job.id.startswith("ftjob-") and job.status == "validating_files"
    assert job.model == "gpt-4.1-nano-2025-04-14" and job.seed == 7 and job.metadata == {"corso": "ftlab"}
    assert job.hyperparameters.n_epochs == 2 and job.hyperparameters.batch_size == "auto"
    assert job.method.type == "supervised" and job.method.supervised.hyperparameters.n_epochs == 2
    assert job.error is None and job.fine_tuned_model is None and job.result_files == []
    assert client.fine_tuning.jobs.retrieve(job.id) == job

    other = client.fine_tuning.jobs.create(model="gpt-4o-mini-2024-07-18", training_file=train_file.id,
                                           method={"type": "dpo", "dpo": {"hyperparameters": {"beta": 0.2}}})
    assert other.method.type == "dpo" and other.method.dpo.hyperparameters.beta == 0.2
    listed = client.fine_tuning.jobs.list(limit=1)
    assert listed.data[0].id == other.id and listed.has_more
    every = [j.id for j in client.fine_tuning.jobs.list(limit=1)]
    assert every.index(other.id) < every.index(job.id)
    tagged = [j.id for j in client.fine_tuning.jobs.list(metadata={"corso": "ftlab"})]
    assert job.id in tagged and other.id not in tagged

    events = client.fine_tuning.jobs.list_events(job.id)
    assert isinstance(events.data[0], FineTuningJobEvent)
    required_fields_present(events.data[0])
    assert events.data[-1].message == f"Created fine-tuning job: {job.id}"
    assert client.fine_tuning.jobs.checkpoints.list(job.id).data == []


def test_integrations_accepted_and_noted(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4.1-mini", training_file=train_file.id,
                                         integrations=[{"type": "wandb", "wandb": {"project": "corso"}}])
    assert job.integrations[0].wandb.project == "corso"
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert any("wandb" in m for m in messages)


@pytest.mark.parametrize("kwargs, param", [
    ({"model": "gpt-5-superbo"}, "model"),
    ({"training_file": "file-doesnotexist"}, "training_file"),
    ({"validation_file": "file-doesnotexist"}, "validation_file"),
    ({"hyperparameters": {"n_epochs": 0}}, "hyperparameters.n_epochs"),
    ({"hyperparameters": {"batch_size": 1000}}, "hyperparameters.batch_size"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"learning_rate_multiplier": -1}}}},
     "method.supervised.hyperparameters.learning_rate_multiplier"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"beta": 3}}}}, "method.dpo.hyperparameters.beta"),
    ({"method": {"type": "fantasia"}}, "method.type"),
    ({"suffix": "x" * 65}, "suffix"),
    ({"seed": -1}, "seed"),
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata"),
])
def test_job_create_bad_parameters(client, train_file, kwargs, param):
    args = {"model": "gpt-4.1-nano-2025-04-14", "training_file": train_file.id, **kwargs}
    with pytest.raises(openai.BadRequestError) as err:
        client.fine_tuning.jobs.create(**args)
    assert err.value.status_code == 400 and err.value.body["param"] == param
    assert err.value.body["type"] == "invalid_request_error" and err.value.body["message"]


def test_unknown_model_message_like_openai(client, train_file):
    with pytest.raises(openai.BadRequestError, match="is not available for fine-tuning or does not exist"):
        client.fine_tuning.jobs.create(model="gpt-5-superbo", training_file=train_file.id)


def test_cancel_and_state_rules(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train_file.id)
    with pytest.raises(openai.BadRequestError):  # only running jobs can pause
        client.fine_tuning.jobs.pause(job.id)
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.resume(job.id)
    cancelled = client.fine_tuning.jobs.cancel(job.id)
    assert cancelled.status == "cancelled" and cancelled.finished_at
    with pytest.raises(openai.BadRequestError):
        client.fine_tuning.jobs.cancel(job.id)
    assert client.fine_tuning.jobs.list_events(job.id).data[0].message == "Fine-tuning job cancelled"


def test_unknown_ids_are_404(client):
    calls = [lambda: client.fine_tuning.jobs.retrieve("ftjob-nope"),
             lambda: client.fine_tuning.jobs.cancel("ftjob-nope"),
             lambda: client.fine_tuning.jobs.pause("ftjob-nope"),
             lambda: client.fine_tuning.jobs.resume("ftjob-nope"),
             lambda: client.fine_tuning.jobs.list_events("ftjob-nope"),
             lambda: client.fine_tuning.jobs.checkpoints.list("ftjob-nope"),
             lambda: client.files.retrieve("file-nope"),
             lambda: client.files.delete("file-nope"),
             lambda: client.models.retrieve("ft:gpt-4.1-nano-2025-04-14:ftlab::nope"),
             lambda: client.models.delete("ft:gpt-4.1-nano-2025-04-14:ftlab::nope")]
    for call in calls:
        with pytest.raises(openai.NotFoundError) as err:
            call()
        assert set(err.value.body) == {"message", "type", "param", "code"}


def test_models_say_what_runs_underneath(client):
    models = client.models.list().data
    ids = {m.id for m in models}
    assert {"gpt-4.1-nano-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18",
            "gpt-4.1-nano", "gpt-4o-mini"} <= ids
    for m in models:
        assert isinstance(m, Model)
        required_fields_present(m)
    nano = client.models.retrieve("gpt-4.1-nano")
    assert "SmolLM2-135M-Instruct" in nano.model_extra["description"]
    with pytest.raises(openai.PermissionDeniedError):
        client.models.delete("gpt-4.1-nano")


def test_chat_unknown_model_and_bad_params(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="ft:gpt-4.1-nano-2025-04-14:ftlab::nope",
                                       messages=[{"role": "user", "content": "ciao"}])
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4.1-nano", messages=[{"role": "user", "content": "x"}],
                                       temperature=5)
    assert err.value.body["param"] == "temperature"
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="gpt-4.1-nano", messages=[])
    assert err.value.body["param"] == "messages"


def test_bad_pagination_cursor(client):
    with pytest.raises(openai.BadRequestError) as err:
        client.files.list(after="file-nope")
    assert err.value.body["param"] == "after"


def test_state_survives_restart(tmp_path):
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as first:
        f = first.files.create(file=("keep.jsonl", b"{}\n"), purpose="fine-tune")
        job = first.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=f.id, suffix="persiste")
    assert control.status(tmp_path) is None
    with sandbox(tmp_path, FTLAB_SANDBOX_WORKER=0) as again:
        assert again.files.retrieve(f.id) == f
        assert again.files.content(f.id).read() == b"{}\n"
        assert again.fine_tuning.jobs.retrieve(job.id).model_dump() == job.model_dump()
        assert again.fine_tuning.jobs.list_events(job.id).data[-1].message.startswith("Created")


def test_models_carry_openais_shutdown_dates(client):
    """gpt-4.1-nano was retired on 2026-10-23; OpenAI's notice of 2026-10-14: gpt-4o-mini-2024-07-18
    and gpt-4.1-mini shut down on 2027-01-14 (``Model.shutdown_date``, SDK 3.1+)."""
    models = {m.id: m for m in client.models.list().data}
    for name in ("gpt-4o-mini-2024-07-18", "gpt-4o-mini", "gpt-4.1-mini-2025-04-14", "gpt-4.1-mini"):
        assert models[name].shutdown_date == "2027-01-14", name
    assert models["gpt-4.1-nano"].shutdown_date == models["gpt-4.1-nano-2025-04-14"].shutdown_date == "2026-10-23"
    assert models["SmolLM2-135M-Instruct"].shutdown_date is None   # the stand-in itself
    assert client.models.retrieve("gpt-4o-mini").shutdown_date == "2027-01-14"
    if "shutdown_date" in Model.model_fields:   # openai >= 3.1 parses it as a field of its own
        assert "shutdown_date" in models["gpt-4o-mini"].model_fields_set
