"""tests/fakes.py answers only what the SDK's own types accept."""
import pytest
from openai.types.fine_tuning import FineTuningJob

from fakes import FakeOpenAI, Refusal, checked, completion_json, job_json


def test_shapes_are_checked_against_the_sdk_types():
    job = job_json("ftjob-1")
    with pytest.raises(AssertionError, match="fields the SDK does not know: \\['colour'\\]"):
        checked(FineTuningJob, dict(job, colour="blu"))
    with pytest.raises(AssertionError, match="FineTuningJob.hyperparameters"):
        checked(FineTuningJob, dict(job, hyperparameters={"n_epochs": 3, "epochs": 3}))
    with pytest.raises(ValueError):  # pydantic's ValidationError: a required field is missing
        checked(FineTuningJob, {k: v for k, v in job.items() if k != "model"})
    with pytest.raises(ValueError):
        job_json("ftjob-1", status="finito")


def test_the_sdk_reads_what_the_fake_answers():
    fake = FakeOpenAI(answer=lambda model, messages: Refusal(404, "model_not_found") if model == "x" else "ciao")
    assert fake.client.chat.completions.create(model="m", messages=[]).choices[0].message.content == "ciao"
    with pytest.raises(Exception, match="model_not_found"):
        fake.client.chat.completions.create(model="x", messages=[])
    assert fake.calls == 2 and completion_json("m")["usage"]["total_tokens"] == 21
    uploaded = fake.client.files.create(file=("dati.jsonl", b'{"a": 1}\n'), purpose="fine-tune")
    assert fake.client.files.retrieve(uploaded.id).filename == "dati.jsonl"
    assert fake.client.files.delete(uploaded.id).deleted
