"""Every model name OpenAI ever fine-tuned is a name of the stand-in (issue 15, item 1), through the
official SDK; unknown names keep OpenAI's errors. Worker off: jobs stay in ``validating_files``."""
from __future__ import annotations

import datetime

import openai
import pytest
from openai.types import Model
from openai.types.fine_tuning import FineTuningJob

from ftlab import openai_spec as spec
from ftlab.sandbox import catalog
from sandbox_helpers import required_fields_present, sandbox, upload_chat_file

# The names code written for OpenAI uses, and the snapshot a job reports for each.
NAMES = {"gpt-3.5-turbo": "gpt-3.5-turbo-0125", "gpt-3.5-turbo-0125": "gpt-3.5-turbo-0125",
         "gpt-3.5-turbo-1106": "gpt-3.5-turbo-1106", "gpt-3.5-turbo-0613": "gpt-3.5-turbo-0613",
         "babbage-002": "babbage-002", "davinci-002": "davinci-002",
         "gpt-4o-mini": "gpt-4o-mini-2024-07-18", "gpt-4o": "gpt-4o-2024-08-06",
         "gpt-4o-2024-08-06": "gpt-4o-2024-08-06", "gpt-4.1": "gpt-4.1-2025-04-14",
         "gpt-4.1-2025-04-14": "gpt-4.1-2025-04-14", "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
         "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with sandbox(tmp_path_factory.mktemp("sandbox-names"), FTLAB_SANDBOX_WORKER=0) as c:
        yield c


@pytest.fixture(scope="module")
def train_file(client, tmp_path_factory):
    return upload_chat_file(client, tmp_path_factory.mktemp("data"))


def test_spec_resolves_every_fine_tunable_name():
    for name, snapshot in NAMES.items():
        assert spec.fine_tunable_snapshot(name) == snapshot
    assert spec.fine_tunable_snapshot("gpt-5") is None and spec.fine_tunable_snapshot("gpt-4") is None
    assert spec.FINE_TUNABLE_SNAPSHOTS["gpt-4.1-nano-2025-04-14"] == "2026-10-23"
    assert spec.FINE_TUNABLE_SNAPSHOTS["gpt-4o-2024-08-06"] == "2027-01-14"


def test_notice_says_what_openai_does_today():
    before, after = datetime.date(2026, 12, 2), datetime.date(2027, 2, 1)
    assert catalog.openai_today("gpt-4o-2024-08-06", before) == \
        "OpenAI shuts down gpt-4o-2024-08-06 and its fine-tunes on 2027-01-14"
    assert catalog.openai_today("gpt-4o-2024-08-06", after).startswith("OpenAI shut down gpt-4o-2024-08-06")
    assert "ended fine-tuning of babbage-002 on 2024-10-28" in catalog.openai_today("babbage-002")
    assert "no shutdown date" in catalog.openai_today("gpt-3.5-turbo-0125")
    assert "2027-01-06" in catalog.openai_today("gpt-3.5-turbo-0125")
    assert "trains its stand-in" in catalog.job_notice("gpt-4.1-2025-04-14")
    assert catalog.job_notice("gpt-4.1-nano-2025-04-14") is None   # the course's own: notebooks explain it


@pytest.mark.parametrize("name", ["gpt-3.5-turbo", "gpt-3.5-turbo-0125", "babbage-002", "gpt-4o",
                                  "gpt-4.1-2025-04-14"])
def test_job_on_any_fine_tunable_name_with_openais_event(client, train_file, name):
    job = client.fine_tuning.jobs.create(model=name, training_file=train_file.id, suffix="alias")
    assert isinstance(job, FineTuningJob) and job.model == NAMES[name]
    messages = [e.message for e in reversed(client.fine_tuning.jobs.list_events(job.id).data)]
    assert messages[0] == f"Created fine-tuning job: {job.id}"
    assert messages[1].startswith("OpenAI") and NAMES[name] in messages[1]
    assert "The sandbox trains its stand-in" in messages[1]
    client.fine_tuning.jobs.cancel(job.id)


def test_course_model_job_has_no_extra_event(client, train_file):
    job = client.fine_tuning.jobs.create(model="gpt-4.1-nano", training_file=train_file.id)
    messages = [e.message for e in client.fine_tuning.jobs.list_events(job.id)]
    assert messages == [f"Created fine-tuning job: {job.id}"]
    client.fine_tuning.jobs.cancel(job.id)


def test_unknown_names_keep_openais_errors(client, train_file):
    with pytest.raises(openai.BadRequestError) as err:
        client.fine_tuning.jobs.create(model="gpt-4", training_file=train_file.id)
    assert err.value.body["code"] == "model_not_available" and err.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("gpt-3.5")
    assert err.value.body["code"] == "model_not_found"


def test_models_list_shows_every_name_with_shutdown_date(client):
    models = {m.id: m for m in client.models.list()}
    for name, snapshot in NAMES.items():
        assert isinstance(models[name], Model)
        required_fields_present(models[name])
        got = models[name].model_dump().get("shutdown_date")   # a field of Model from openai 3.1 on
        assert got == spec.FINE_TUNABLE_SNAPSHOTS[snapshot]
    assert models["gpt-4o"].model_dump()["shutdown_date"] == "2027-01-14"
    assert models["gpt-3.5-turbo"].model_dump()["shutdown_date"] is None
    assert client.models.retrieve("davinci-002").id == "davinci-002"


@pytest.mark.slow  # loads the stand-in model in the server
def test_chat_on_gpt_35_turbo_answers_from_the_stand_in(client):
    r = client.chat.completions.create(model="gpt-3.5-turbo", max_tokens=3, temperature=0,
                                       messages=[{"role": "user", "content": "Ciao"}])
    assert r.model == "gpt-3.5-turbo" and r.usage.completion_tokens <= 3 and r.choices[0].message.content
