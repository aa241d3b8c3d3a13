"""Shared fixtures: every test gets its own sandbox home and Italian messages by default."""
from __future__ import annotations

import pytest

# The sandbox's kernel settings (MKL strict mode, oneDNN below AMX) are read when torch loads its
# math libraries; tests that train in-process need them before any test module imports torch.
from ftlab.sandbox import cpu  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, monkeypatch):
    # A test never touches the user's ~/.ftlab; the model cache (FTLAB_CACHE) stays shared.
    monkeypatch.setenv("FTLAB_HOME", str(tmp_path / "ftlab-home"))
    monkeypatch.setenv("FTLAB_LANG", "it")
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "FTLAB_BASE_URL", "FTLAB_API_KEY"):
        monkeypatch.delenv(var, raising=False)   # a class server's variables would redirect connect()
    monkeypatch.delenv("FTLAB_BACKEND", raising=False)
