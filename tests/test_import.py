"""ftlab import: adapters and exported HF folders come back into the sandbox (checked through the
official SDK); what the engine cannot serve is refused with a coded error."""
from __future__ import annotations

import json
import shutil

import pytest
import torch

from ftlab import export as ex
from ftlab.cli import main as cli
from ftlab.sandbox import imports
from ftlab.sandbox.store import Store
from tests.sandbox_helpers import sandbox
from tests.test_export import prompts

N_TOKENS = 24


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A random LoRA adapter and the HF folder it merges into (via ftlab export)."""
    from peft import LoraConfig, get_peft_model

    from ftlab.sandbox import models
    root = tmp_path_factory.mktemp("import")
    base, _ = models.load_base("cpu", progress=False)
    torch.manual_seed(1)
    model = get_peft_model(base, LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                            target_modules=["q_proj", "up_proj"]))
    model.save_pretrained(root / "mio-adapter")
    home = root / "home"
    Store(home).add_model("ft:gpt-4.1-nano-2025-04-14:o:src:1", job_id=None, adapter_src=root / "mio-adapter",
                          owned_by="o")
    ex.export("ft:gpt-4.1-nano-2025-04-14:o:src:1", format="hf", out=root / "mio-hf", data_dir=home, progress=False)
    return root


def test_low_rank_finds_the_rank_and_refuses_a_full_update():
    torch.manual_seed(0)
    delta = torch.randn(96, 5) @ torch.randn(5, 64) + 1e-7 * torch.randn(96, 64)
    b, a = imports.low_rank(delta)
    assert b.shape == (96, 5) and a.shape == (5, 64)
    assert float((b @ a - delta).norm() / delta.norm()) < 1e-3
    assert imports.low_rank(torch.randn(200, 200)) is None    # rank 200 > MAX_RANK
    assert imports.low_rank(torch.zeros(4, 4)) is None


def test_hf_folder_becomes_the_same_lora(folders, tmp_path):
    imports.adapter_from_full(folders / "mio-hf", tmp_path / "back")
    config = json.loads((tmp_path / "back" / "adapter_config.json").read_text())
    assert sorted(config["rank_pattern"].values()) == [4] * 60   # q and up of the 30 layers, rank 4


def test_imports_answer_through_the_sdk_like_the_original(folders, tmp_path):
    home = tmp_path / "home"
    adapter_id = imports.import_model(folders / "mio-adapter", data_dir=home)
    hf_id = imports.import_model(folders / "mio-hf", name="Mio HF!", data_dir=home)
    assert (adapter_id, hf_id) == ("imported:mio-adapter", "imported:mio-hf")
    with sandbox(home) as client:
        listed = {m.id: m.owned_by for m in client.models.list()}
        assert listed[adapter_id] == listed[hf_id] == "ftlab-import"
        answers = {}
        for mid in (adapter_id, hf_id, "gpt-4.1-nano-2025-04-14"):
            answers[mid] = [client.chat.completions.create(model=mid, messages=p, temperature=0,
                                                           max_tokens=N_TOKENS).choices[0].message.content
                            for p in prompts(2)]
        assert answers[hf_id] == answers[adapter_id] != answers["gpt-4.1-nano-2025-04-14"]
        client.models.delete(hf_id)
        assert hf_id not in {m.id for m in client.models.list()}


def test_cli_import_and_existing_name(folders, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FTLAB_HOME", str(tmp_path / "home"))
    assert cli(["import", str(folders / "mio-adapter"), "--name", "uno"]) == 0
    assert capsys.readouterr().out.strip() == "imported:uno"
    assert cli(["import", str(folders / "mio-adapter"), "--name", "uno"]) == 1
    assert "[import_exists]" in capsys.readouterr().err
    assert cli(["import", str(folders / "mio-adapter"), "--name", "uno", "--force"]) == 0


def _refused(path, code, home):
    with pytest.raises(imports.ImportFailed) as err:
        imports.import_model(path, data_dir=home)
    assert err.value.code == code
    assert not Store(home).list_models()   # nothing registered
    return str(err.value)


def test_what_the_engine_cannot_serve_is_refused(folders, tmp_path, monkeypatch):
    home = tmp_path / "home"
    _refused(tmp_path / "missing", "import_not_found", home)
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", "import_unrecognized", home)
    other = tmp_path / "other"
    other.mkdir()
    config = json.loads((folders / "mio-hf" / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "hidden_size": 2048, "num_hidden_layers": 24}))
    assert "hidden_size=2048" in _refused(other, "import_unsupported_architecture", home)
    prefix = tmp_path / "prefix"
    shutil.copytree(folders / "mio-adapter", prefix)
    cfg = json.loads((prefix / "adapter_config.json").read_text())
    (prefix / "adapter_config.json").write_text(json.dumps({**cfg, "peft_type": "PREFIX_TUNING"}))
    _refused(prefix, "import_not_lora", home)
    wrong = tmp_path / "wrong-adapter"
    shutil.copytree(folders / "mio-adapter", wrong)
    (wrong / "adapter_config.json").write_text(json.dumps({**cfg, "r": 16}))   # shapes say 4
    _refused(wrong, "import_incompatible", home)


@pytest.mark.parametrize("changed, named", [("model.norm.weight", "model.norm.weight"),
                                             ("model.layers.3.mlp.down_proj.weight", "down_proj")])
def test_a_full_fine_tune_is_refused(folders, tmp_path, monkeypatch, changed, named):
    real = imports._weights

    def with_change(folder):
        state = real(folder)
        weight = state[changed]
        state[changed] = weight * 1.01 if weight.dim() == 1 else weight + 1e-3 * torch.randn_like(weight)
        return state
    monkeypatch.setattr(imports, "_weights", with_change)
    text = _refused(folders / "mio-hf", "import_not_low_rank", tmp_path / "home")
    assert named in text
