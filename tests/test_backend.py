"""ftlab.connect(): the sandbox by default, OpenAI and Azure from environment variables."""
from __future__ import annotations

import httpx
import openai
import pytest

import ftlab
from ftlab.backend import backend_name, explain_error, is_sandbox
from ftlab.sandbox import control


@pytest.fixture
def stop_sandbox():
    yield
    control.stop()  # FTLAB_HOME is the test's own dir (conftest)


def test_connect_starts_then_reuses_the_sandbox(capsys, stop_sandbox):
    client = ftlab.connect()
    out = capsys.readouterr().out
    assert "sandbox locale" in out and "SmolLM2-135M-Instruct con LoRA" in out
    assert control.token() not in out and "sk-" not in out
    assert is_sandbox(client) and backend_name(client) == "sandbox"
    assert client.models.retrieve("gpt-4.1-nano").id == "gpt-4.1-nano"
    pid = control.status()["pid"]
    again = ftlab.connect(quiet=True)
    assert capsys.readouterr().out == ""
    assert control.status()["pid"] == pid and again.base_url == client.base_url


def test_banner_in_english(monkeypatch, capsys, stop_sandbox):
    monkeypatch.setenv("FTLAB_LANG", "en")
    ftlab.connect("sandbox")
    assert "Backend: local ftlab sandbox" in capsys.readouterr().out


def test_hand_made_client_to_localhost_is_sandbox():
    assert is_sandbox(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x"))
    assert backend_name(openai.OpenAI(api_key="x")) == "openai"


def test_openai_backend_needs_key_and_never_prints_it(monkeypatch, capsys):
    with pytest.raises(RuntimeError, match="OPENAI_API_KEY"):
        ftlab.connect("openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    monkeypatch.setenv("FTLAB_BACKEND", "openai")
    client = ftlab.connect()
    out = capsys.readouterr().out
    assert backend_name(client) == "openai" and not is_sandbox(client)
    assert "api.openai.com" in out and "2027-01-06" in out and "training_not_available" in out
    assert "sk-test-secret-123" not in out


def test_azure_backend_from_env(monkeypatch, capsys):
    with pytest.raises(RuntimeError, match="AZURE_OPENAI_ENDPOINT"):
        ftlab.connect("azure")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-secret-456")
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://esempio.openai.azure.com")
    monkeypatch.setenv("OPENAI_API_VERSION", "2025-04-01-preview")
    client = ftlab.connect("azure")
    out = capsys.readouterr().out
    assert isinstance(client, openai.AzureOpenAI) and backend_name(client) == "azure"
    assert "Azure OpenAI" in out and "azure-secret-456" not in out


def test_unknown_backend():
    with pytest.raises(ValueError, match="Backend sconosciuto"):
        ftlab.connect("llama")


def test_training_not_available_is_explained():
    request = httpx.Request("POST", "https://api.openai.com/v1/fine_tuning/jobs")
    body = {"message": "Training is not available", "type": "invalid_request_error", "param": None,
            "code": "training_not_available"}
    exc = openai.PermissionDeniedError("refused", response=httpx.Response(403, request=request), body=body)
    text = explain_error(exc)
    assert "2027-01-06" in text and "sandbox" in text
    assert explain_error(ValueError("altro")) is None
