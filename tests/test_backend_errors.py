"""The course's calls on OpenAI/Azure explain the refusals of 2026-27 (backend.explain_error), through
the official SDK on a fake HTTP transport."""
from __future__ import annotations

import json

import openai
import pytest

from ftlab import evaluation, jobs
from ftlab.backend import explain_error
from ftlab.paths import DATA_DIR
from fakes import FakeOpenAI, httpx  # the SDK's own httpx flavour


def _error(status: int, code: str, message: str):
    return httpx.Response(status, json={"error": {"message": message, "type": "invalid_request_error",
                                                  "param": None, "code": code}})


class Refusing(FakeOpenAI):
    """OpenAI as of late 2026: jobs refused, a retired model, or Azure without a deployment."""

    def __init__(self, job_error=None, chat_error=None):
        super().__init__()
        self.job_error, self.chat_error = job_error, chat_error

    def handle(self, request):
        path = request.url.path.removeprefix("/v1")
        if request.method == "POST" and path == "/fine_tuning/jobs" and self.job_error:
            return _error(*self.job_error)
        if path.endswith("/chat/completions") and self.chat_error:
            return _error(*self.chat_error)
        if path.endswith("/chat/completions"):
            return httpx.Response(200, json={
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": "ok"}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
        return super().handle(request)


TRAIN = DATA_DIR / "converti_python" / "train.jsonl"
MESSAGES = [{"role": "user", "content": "Ciao"}]


def test_refused_job_gets_the_italian_explanation():
    fake = Refusing(job_error=(403, "training_not_available", "Fine-tuning is not available"))
    fake.add_file("file-train", "train.jsonl", TRAIN.read_bytes())
    with pytest.raises(jobs.JobError) as err:
        jobs.create_job(fake.client, model="gpt-4.1-mini-2025-04-14", training_file="file-train",
                        confirm=True, quiet=True)
    assert "training_not_available" in str(err.value) and "2027-01-06" in str(err.value)
    assert "sandbox" in str(err.value)


def test_retired_base_model_on_job_create_is_explained():
    fake = Refusing(job_error=(404, "model_not_found", "The model gpt-4.1-nano-2025-04-14 does not exist"))
    fake.add_file("file-train", "train.jsonl", TRAIN.read_bytes())
    with pytest.raises(jobs.JobError, match="2026-10-23"):
        jobs.create_job(fake.client, model="gpt-4.1-nano-2025-04-14", training_file="file-train",
                        confirm=True, quiet=True)


def test_retired_model_in_chat_is_recorded_and_explained_once(capsys):
    model = "ft:gpt-4.1-nano-2025-04-14:org::abc"
    fake = Refusing(chat_error=(404, "model_not_found", f"The model `{model}` does not exist"))
    first = evaluation.complete(fake.client, model, MESSAGES, cache=False)
    evaluation.complete(fake.client, model, MESSAGES, cache=False)
    assert first["output"] == "" and "model_not_found" in first["error"]
    said = capsys.readouterr().err
    assert said.count("404 model_not_found") == 1 and "2026-10-23" in said and "2027-01-14" in said


def test_undeployed_azure_model_is_explained(capsys):
    fake = Refusing(chat_error=(404, "DeploymentNotFound", "The API deployment for this resource does not exist."))
    record = evaluation.complete(fake.client, "mio-nano-ft", MESSAGES, cache=False)
    assert "DeploymentNotFound" in record["error"]
    said = capsys.readouterr().err
    assert "deployment" in said and "'mio-nano-ft'" in said


def test_answers_and_other_errors_are_not_explained(capsys):
    ok = evaluation.complete(Refusing().client, "gpt-4o-mini-2024-07-18", MESSAGES, cache=False)
    assert ok["output"] == "ok" and capsys.readouterr().err == ""
    request = httpx.Request("POST", "https://api.openai.com/v1/chat/completions")
    other = openai.BadRequestError("bad", response=httpx.Response(400, request=request),
                                   body={"code": "invalid_value", "message": "x"})
    assert explain_error(other) is None and explain_error(ValueError("x")) is None


def test_english_explanation(monkeypatch):
    monkeypatch.setenv("FTLAB_LANG", "en")
    request = httpx.Request("POST", "https://x.openai.azure.com/openai/deployments/d/chat/completions")
    exc = openai.NotFoundError("nf", response=httpx.Response(404, request=request),
                               body={"code": "DeploymentNotFound", "message": "no"})
    assert "must" not in explain_error(exc, "d") and "deployed" in explain_error(exc, "d")
