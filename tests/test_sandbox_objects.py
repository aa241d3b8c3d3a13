"""The sandbox's objects field by field against the SDK's own types (issue 15, item 6): every
required field sent, nothing sent the type does not know (beyond what OpenAI's spec examples show),
optional non-nullable fields left out when unset. Worker off: jobs stay put."""
from __future__ import annotations

import pytest
from openai.types import FileObject, Model
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from sandbox_helpers import required_fields_present, sandbox, upload_chat_file

# In OpenAI's job objects (openai-openapi.yaml, the jobs examples) but not yet in the SDK's type.
JOB_EXTRAS = {"user_provided_suffix"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-objects"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


@pytest.fixture(scope="module")
def train_file(client, tmp_path_factory):
    return upload_chat_file(client, tmp_path_factory.mktemp("data"))


def sent(raw) -> dict:
    """The JSON object the server really sent."""
    return raw.http_response.json()


def known(sdk_type, body: dict, extras=frozenset()) -> None:
    unknown = set(body) - set(sdk_type.model_fields) - set(extras)
    assert not unknown, f"{sdk_type.__name__}: fields the SDK type does not know: {unknown}"
    required_fields_present(sdk_type.model_validate(body))


def test_file_object_leaves_out_unset_optional_fields(client, train_file):
    body = sent(client.files.with_raw_response.retrieve(train_file.id))
    known(FileObject, body)
    assert "expires_at" not in body and "status_details" not in body   # integer / string, not nullable
    listed = sent(client.files.with_raw_response.list())["data"]
    assert all("expires_at" not in f for f in listed)


def test_job_carries_user_provided_suffix(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train_file.id, suffix="negozio")
    body = sent(client.fine_tuning.jobs.with_raw_response.retrieve(job.id))
    known(FineTuningJob, body, JOB_EXTRAS)
    assert body["user_provided_suffix"] == "negozio" and "suffix" not in body
    plain = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train_file.id)
    assert sent(client.fine_tuning.jobs.with_raw_response.retrieve(plain.id))["user_provided_suffix"] is None
    for listed in sent(client.fine_tuning.jobs.with_raw_response.list())["data"]:
        known(FineTuningJob, listed, JOB_EXTRAS)
        assert "user_provided_suffix" in listed
    for j in (job, plain):
        client.fine_tuning.jobs.cancel(j.id)


def test_event_and_model_objects(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4o", training_file=train_file.id)
    for event in sent(client.fine_tuning.jobs.with_raw_response.list_events(job.id))["data"]:
        known(FineTuningJobEvent, event)
        assert event["level"] in ("info", "warn", "error") and event["type"] in ("message", "metrics")
    client.fine_tuning.jobs.cancel(job.id)
    for model in sent(client.models.with_raw_response.list())["data"]:
        known(Model, model, {"shutdown_date", "description"})   # shutdown_date: a Model field from openai 3.1
