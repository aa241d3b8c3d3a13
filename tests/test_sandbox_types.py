"""The sandbox's request models, error mapping, settings and catalogue, without a server."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from ftlab.sandbox import catalog, settings
from ftlab.sandbox.errors import validation_error
from ftlab.sandbox.types import ChatRequest, JobCreate

JOB = {"model": "gpt-4.1-nano", "training_file": "file-x"}


def openai_error(model, body) -> dict:
    with pytest.raises(ValidationError) as err:
        model.model_validate(body)
    e = validation_error(err.value.errors()[0])
    return {"param": e.param, "code": e.code, "message": e.message}


@pytest.mark.parametrize("extra, param, code", [
    ({"model": ""}, "model", "missing_required_parameter"),
    ({"model": "gpt-5"}, "model", "model_not_available"),
    ({"hyperparameters": {"n_epochs": 2.5}}, "hyperparameters.n_epochs", "invalid_value"),
    ({"hyperparameters": {"batch_size": "big"}}, "hyperparameters.batch_size", "invalid_type"),
    ({"hyperparameters": {"n_epochs": True}}, "hyperparameters.n_epochs", "invalid_type"),
    ({"hyperparameters": {"warmup": 1}}, "hyperparameters.warmup", "unknown_parameter"),
    ({"hyperparameters": {"beta": 0.1}}, "hyperparameters.beta", "unknown_parameter"),
    ({"hyperparameters": 3}, "hyperparameters", "invalid_type"),
    ({"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.1}}}},
     "method.supervised.hyperparameters.beta", "unknown_parameter"),
    ({"method": {"type": "reinforcement"}}, "method.type", "invalid_value"),
    ({"method": "dpo"}, "method.type", "invalid_value"),
    ({"method": {"type": "dpo", "dpo": {"hyperparameters": {"n_epochs": 2}}}, "hyperparameters": {"n_epochs": 3}},
     "hyperparameters", "invalid_value"),
    ({"seed": True}, "seed", "invalid_value"),
    ({"integrations": [{"type": "comet"}]}, "integrations", "invalid_value"),
])
def test_job_errors_name_the_parameter(extra, param, code):
    error = openai_error(JobCreate, {**JOB, **extra})
    assert (error["param"], error["code"]) == (param, code)
    assert error["message"] and "{param}" not in error["message"]


def test_a_job_request_becomes_openais_job():
    job = JobCreate.model_validate({**JOB, "seed": 7, "suffix": "mio", "hyperparameters": {"n_epochs": 2},
                                    "method": {"type": "dpo"}}).new_job()
    assert job["model"] == "gpt-4.1-nano-2025-04-14" and job["seed"] == 7 and job["status"] == "validating_files"
    assert job["method"] == {"type": "dpo", "dpo": {"hyperparameters": {
        "batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": 2, "beta": "auto"}}}
    assert job["hyperparameters"] == {"batch_size": "auto", "learning_rate_multiplier": "auto", "n_epochs": 2}
    plain = JobCreate.model_validate(JOB).new_job()
    assert plain["method"]["type"] == "supervised" and 0 <= plain["seed"] <= 2_147_483_647
    assert plain["integrations"] is None and plain["validation_file"] is None


@pytest.mark.parametrize("body, param, code", [
    ({"messages": [{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}]}, "messages[1].role",
     "invalid_value"),
    ({"messages": ["ciao"]}, "messages[0].role", "invalid_value"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages[0].content", "invalid_type"),
    ({"messages": []}, "messages", "invalid_value"),
    ({"messages": [{"role": "user"}], "max_completion_tokens": 0}, "max_completion_tokens", "invalid_value"),
    ({"messages": [{"role": "user"}], "stop": ["a"] * 5}, "stop", "invalid_value"),
    ({"messages": [{"role": "user"}], "n": 9}, "n", "invalid_value"),
])
def test_chat_errors_name_the_parameter(body, param, code):
    error = openai_error(ChatRequest, {"model": "gpt-4.1-nano", **body})
    assert (error["param"], error["code"]) == (param, code)


def test_a_chat_request_becomes_the_engines_arguments():
    request = ChatRequest.model_validate({"model": "m", "stop": "FINE", "max_tokens": 5, "messages": [
        {"role": "developer", "content": "Sii breve."},
        {"role": "user", "content": [{"type": "text", "text": "Ciao"}, {"type": "image_url", "image_url": {}}]}]})
    assert request.generation() == {"messages": [{"role": "system", "content": "Sii breve."},
                                                 {"role": "user", "content": "Ciao"}],
                                    "temperature": 1.0, "top_p": 1.0, "max_tokens": 5, "n": 1, "stop": ["FINE"],
                                    "seed": None, "response_format": None, "tools": None}


def test_a_whole_body_error_has_no_param():
    assert validation_error({"type": "json_invalid", "loc": ("body", 0)}).code == "invalid_json"
    assert validation_error({"type": "model_attributes_type", "loc": ("body",)}).param is None


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FTLAB_MAX_FILE_BYTES", "4096")
    monkeypatch.setenv("FTLAB_SANDBOX_WORKER", "0")
    monkeypatch.setenv("FTLAB_TRAIN_DTYPE", "FP32")
    now = settings.current()
    assert now.max_file_bytes == 4096 and not now.run_worker and now.float32_training
    for name in ("FTLAB_MAX_FILE_BYTES", "FTLAB_SANDBOX_WORKER", "FTLAB_TRAIN_DTYPE"):
        monkeypatch.delenv(name)
    default = settings.current()
    assert default.max_file_bytes == 512 * 2**20 and default.run_worker and not default.float32_training


def test_catalogue_serves_the_course_names_on_the_stand_in():
    assert catalog.base_of("gpt-4o-mini") == "gpt-4o-mini-2024-07-18" and catalog.base_of("gpt-5") is None
    assert catalog.is_base(catalog.STAND_IN_NAME) and not catalog.is_base("ft:gpt-4o-mini-2024-07-18:ftlab::x")
    alias, snapshot = catalog.base_model_object("gpt-4o-mini"), catalog.base_model_object("gpt-4o-mini-2024-07-18")
    assert alias["shutdown_date"] == snapshot["shutdown_date"] == "2027-01-14"
    assert catalog.base_model_object(catalog.STAND_IN_NAME)["shutdown_date"] is None


def test_a_body_that_is_not_json_gets_openais_error(tmp_path):
    from fastapi.testclient import TestClient

    from ftlab.sandbox.app import create_app

    app = create_app(tmp_path, "sk-test", run_worker=False)
    with TestClient(app) as http:
        headers = {"Authorization": "Bearer sk-test", "Content-Type": "application/json"}
        for path in ("/v1/fine_tuning/jobs", "/v1/chat/completions"):
            r = http.post(path, content=b"{not json", headers=headers)
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json", r.json()
            r = http.post(path, content=b"[1, 2]", headers=headers)
            assert r.status_code == 400 and r.json()["error"]["param"] is None
        assert http.post("/v1/chat/completions", json={}).status_code == 401
