"""ftlab.export: HF and GGUF exports answer like the sandbox; coded errors leave nothing behind."""
from __future__ import annotations

import errno
import json
import time

import numpy as np
import pytest
import torch

import ftlab
from ftlab import export as ex
from ftlab import gguf_export
from ftlab.paths import DATA_DIR
from ftlab.sandbox.store import Store

MODEL = "ft:gpt-4.1-nano-2025-04-14:ftlab-sandbox:export-test:abc12345"
N_PROMPTS, N_TOKENS = 3, 32


def prompts(n: int = N_PROMPTS) -> list[list[dict]]:
    rows = [json.loads(line) for line in (DATA_DIR / "converti_python" / "test.jsonl").open(encoding="utf-8")]
    return [[m for m in r["messages"] if m["role"] != "assistant"] for r in rows[:n]]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """A sandbox data dir holding a finished job whose model is a random (non-zero) LoRA adapter
    on q/k/v/o and the MLP: K and Q go through the GGUF permutation with a merged update."""
    from peft import LoraConfig, get_peft_model

    from ftlab.sandbox import models
    root = tmp_path_factory.mktemp("export")
    base, _ = models.load_base("cpu", progress=False)
    torch.manual_seed(0)
    config = LoraConfig(r=8, lora_alpha=8, init_lora_weights=False,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"])
    adapter = root / "adapter"
    peft_model = get_peft_model(base, config)
    with torch.no_grad():   # small updates, like a trained adapter's (random init ones are huge)
        for name, p in peft_model.named_parameters():
            if "lora_B" in name:
                p.mul_(0.3)
    peft_model.save_pretrained(adapter)
    store = Store(root / "home")
    train = store.add_bytes((DATA_DIR / "converti_python" / "train.jsonl").read_bytes(), "train.jsonl", "fine-tune")
    job = {"id": "ftjob-exporttest", "object": "fine_tuning.job", "created_at": 1_780_000_000,
           "finished_at": 1_780_000_090, "model": "gpt-4.1-nano-2025-04-14", "fine_tuned_model": MODEL,
           "status": "succeeded", "training_file": train["id"], "validation_file": None, "seed": 42,
           "trained_tokens": 12345, "hyperparameters": {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0},
           "method": {"type": "supervised", "supervised": {"hyperparameters": {
               "n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}}}}
    store.add_job(job)
    store.add_event(job["id"], "Step 9/9", type="metrics",
                    data={"step": 9, "total_steps": 9, "train_loss": 0.4321, "valid_loss": None})
    store.add_model(MODEL, job_id=job["id"], adapter_src=adapter, owned_by="org-ftlab-sandbox")
    store.add_checkpoint(job["id"], step=6, epoch=2, model=MODEL + ":ckpt-step-6",
                         metrics={"step": 6, "train_loss": 0.5}, adapter_src=adapter)
    return {"root": root, "dir": store.dir, "adapter": adapter}


@pytest.fixture(scope="module")
def sandbox_answers(home):
    """What the sandbox's engine answers greedily with the adapter (the reference)."""
    from ftlab.sandbox.inference import Engine
    engine = Engine()
    return [engine.chat(p, adapter_dir=home["adapter"], temperature=0, max_tokens=N_TOKENS).choices[0].text
            for p in prompts()]


def _export(home, name, **kw):
    return ex.export(MODEL, out=home["root"] / name, data_dir=home["dir"], progress=False, **kw)


def test_hf_export_answers_exactly_like_the_sandbox(home, sandbox_answers):
    out = _export(home, "hf", format="hf")
    names = {p.name for p in out.iterdir()}
    assert {"model.safetensors", "config.json", "generation_config.json", "tokenizer.json",
            "chat_template.jinja", "README.md"} <= names
    assert ex.greedy_answers(out, prompts(), max_tokens=N_TOKENS) == sandbox_answers
    base = ex.export("gpt-4.1-nano", format="hf", out=home["root"] / "base", data_dir=home["dir"], progress=False)
    assert ex.greedy_answers(base, prompts(), max_tokens=N_TOKENS) != sandbox_answers   # the adapter is merged in


def test_model_card_carries_the_job(home):
    card = (_export(home, "card", format="gguf", quant="q8_0") / "README.md").read_text(encoding="utf-8")
    train_sha = __import__("hashlib").sha256((DATA_DIR / "converti_python" / "train.jsonl").read_bytes()).hexdigest()
    for expected in ("ftjob-exporttest", "gpt-4.1-nano-2025-04-14", train_sha, "trained tokens: 12345",
                     '"n_epochs": 3', "train_loss 0.4321", "2026-05-28", "gguf"):
        assert expected in card, expected
    assert "No evaluation figures" in card
    with_eval = ex.model_card(ex.resolve(MODEL, home["dir"]), "hf", None, {"exact_match": "7/10"})
    assert "exact_match: 7/10" in with_eval


def test_gguf_f16_answers_like_the_sandbox(home, sandbox_answers):
    out = _export(home, "f16", format="gguf")   # f16 is the default
    assert ex.greedy_answers(out / "model-f16.gguf", prompts(), max_tokens=N_TOKENS) == sandbox_answers
    modelfile = (out / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./model-f16.gguf") and 'PARAMETER stop "<|im_end|>"' in modelfile


def test_gguf_q8_0_agreement(home, sandbox_answers, capsys):
    out = _export(home, "q8", format="gguf", quant="q8_0")
    size = (out / "model-q8_0.gguf").stat().st_size
    answers = ex.greedy_answers(out / "model-q8_0.gguf", prompts(), max_tokens=N_TOKENS)
    agree = sum(a == b for a, b in zip(answers, sandbox_answers))
    with capsys.disabled():
        print(f"\nq8_0: {agree}/{len(answers)} identical greedy answers, {size / 1e6:.0f} MB")
    assert size < 180e6 and agree >= len(answers) - 1


def test_gguf_metadata_follow_llama_cpp(home):
    import gguf
    out = home["root"] / "q8" if (home["root"] / "q8").exists() else _export(home, "q8", format="gguf", quant="q8_0")
    reader = gguf.GGUFReader(str(out / "model-q8_0.gguf"))
    field = lambda k: reader.fields[k].contents()  # noqa: E731
    assert field("general.architecture") == "llama" and field("tokenizer.ggml.model") == "gpt2"
    assert field("llama.attention.head_count_kv") == 3 and field("llama.rope.freq_base") == 100000.0
    assert "<|im_start|>" in field("tokenizer.chat_template")
    assert len(field("tokenizer.ggml.tokens")) == 49152 and field("tokenizer.ggml.add_bos_token") is False
    kinds = {t.name: t.tensor_type.name for t in reader.tensors}
    assert "output.weight" not in kinds   # tied to token_embd
    assert kinds["blk.0.attn_q.weight"] == "Q8_0" and kinds["blk.0.attn_norm.weight"] == "F32"


def test_permutation_is_what_transformers_undoes():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor
    w = np.arange(192 * 4, dtype=np.float32).reshape(192, 4)
    undo = LlamaTensorProcessor(config={"num_attention_heads": 9, "num_key_value_heads": 3})
    assert np.array_equal(undo._reverse_permute_weights(gguf_export.permute(w, 3), 9, 3), w)
    assert not np.array_equal(gguf_export.permute(w, 3), w)


def test_ids_resolve_to_model_checkpoint_and_base(home):
    assert ex.resolve(MODEL, home["dir"]).job["id"] == "ftjob-exporttest"
    ckpt = ex.resolve(MODEL + ":ckpt-step-6", home["dir"])
    assert ckpt.adapter_dir.exists() and ckpt.checkpoint["step_number"] == 6
    assert ex.resolve("gpt-4.1-nano-2025-04-14", home["dir"]).adapter_dir is None


def test_unknown_and_training_models_are_refused(home):
    with pytest.raises(ex.ExportError, match="Modello sconosciuto") as err:
        ex.resolve("ft:nope", home["dir"])
    assert err.value.code == "model_not_found"
    store = Store(home["dir"])
    store.add_job({"id": "ftjob-running", "status": "running", "model": "gpt-4.1-nano-2025-04-14"})
    store.update_job("ftjob-running", state={"model_name": "ft:gpt-4.1-nano-2025-04-14:o:run:1"})
    with pytest.raises(ex.ExportError, match="ftjob-running") as err:
        ex.export("ft:gpt-4.1-nano-2025-04-14:o:run:1", format="hf", out=home["root"] / "run",
                  data_dir=home["dir"], progress=False)
    assert err.value.code == "model_still_training" and not (home["root"] / "run").exists()


def test_existing_folder_is_kept_unless_forced(home):
    target = home["root"] / "kept"
    target.mkdir()
    (target / "mine.txt").write_text("non toccare")
    with pytest.raises(ex.ExportError) as err:
        _export(home, "kept", format="gguf", quant="q8_0")
    assert err.value.code == "output_exists" and (target / "mine.txt").read_text() == "non toccare"
    _export(home, "kept", format="gguf", quant="q8_0", force=True)
    assert not (target / "mine.txt").exists() and (target / "model-q8_0.gguf").exists()
    assert not [p for p in home["root"].iterdir() if p.name.startswith(".")]   # no partial/old dirs


def test_full_disk_leaves_nothing_behind(home, monkeypatch):
    monkeypatch.setattr(ex.shutil, "disk_usage", lambda p: type("U", (), {"free": 10 * 2**20})())
    with pytest.raises(ex.ExportError) as err:
        _export(home, "full1", format="hf")
    assert err.value.code == "disk_full" and not (home["root"] / "full1").exists()
    monkeypatch.undo()

    def no_space(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(ex, "_write_hf", no_space)
    with pytest.raises(ex.ExportError) as err:
        _export(home, "full2", format="hf")
    assert err.value.code == "disk_full" and not (home["root"] / "full2").exists()
    assert not [p for p in home["root"].iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("kw, code", [({"format": "onnx"}, "invalid_format"),
                                      ({"format": "gguf", "quant": "q4_k"}, "invalid_quant"),
                                      ({"format": "hf", "quant": "q8_0"}, "invalid_quant")])
def test_bad_options(home, kw, code):
    with pytest.raises(ex.ExportError) as err:
        _export(home, "bad", **kw)
    assert err.value.code == code


def test_english_messages_and_the_public_name(home, monkeypatch):
    monkeypatch.setenv("FTLAB_LANG", "en")
    with pytest.raises(ex.ExportError, match="Unknown sandbox model"):
        ftlab.export("ft:nope", format="hf", out=home["root"] / "y", data_dir=home["dir"])
    assert callable(ftlab.export) and "export" in ftlab.__all__


@pytest.fixture(scope="module")
def llama_cpp():
    return pytest.importorskip(
        "llama_cpp", reason="llama-cpp-python is not installed (it compiles llama.cpp from source: "
                            "`pip install -e .[llama]`, see README; benchmarks/bench_export.py reports the same check)")


@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_llama_cpp_reads_the_gguf_and_answers_like_the_sandbox(llama_cpp, home, sandbox_answers, quant, capsys):
    from ftlab import llamacpp
    out = home["root"] / quant if (home["root"] / quant).exists() else _export(home, quant, format="gguf", quant=quant)
    llama = llamacpp.open_llama(out / f"model-{quant}.gguf", n_ctx=1024)
    answers = llamacpp.greedy_answers(llama, prompts(), max_tokens=N_TOKENS)
    got = ex.agreement(answers, sandbox_answers)
    with capsys.disabled():
        print(f"\nllama.cpp {llama_cpp.__version__} on {quant}: {got}")
    assert got.identical >= len(answers) - 1


def test_llama_cpp_server_serves_the_gguf_to_the_openai_sdk(llama_cpp, home):
    """The exported file behind llama.cpp's own OpenAI-compatible server: the SDK code of the course
    runs unchanged, greedy answers are llama.cpp's own (no hidden repeat penalty), it wants its key."""
    import openai

    from ftlab import llamacpp
    out = home["root"] / "q8_0" if (home["root"] / "q8_0").exists() else _export(home, "q8_0", format="gguf", quant="q8_0")
    direct = llamacpp.greedy_answers(llamacpp.open_llama(out / "model-q8_0.gguf", n_ctx=1024), prompts(),
                                     max_tokens=N_TOKENS)
    with llamacpp.server(out / "model-q8_0.gguf", alias="mio-modello") as client:
        assert [m.id for m in client.models.list()] == ["mio-modello"]
        answers = [client.chat.completions.create(model="mio-modello", messages=m, temperature=0,
                                                  max_tokens=N_TOKENS).choices[0].message.content
                   for m in prompts()]
        assert answers == direct
        stream = client.chat.completions.create(model="mio-modello", messages=prompts(1)[0], temperature=0,
                                                max_tokens=N_TOKENS, stream=True)
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == answers[0]
        stranger = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            stranger.models.list()


def test_llama_cpp_server_that_cannot_start_says_why(llama_cpp, tmp_path):
    from ftlab import llamacpp
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(b"GGUF but not really")
    with pytest.raises(RuntimeError, match="exited"):
        with llamacpp.server(bad, alias="x"):
            pass


def test_plain_buffers_are_patched_for_the_load_only(llama_cpp):
    from ftlab import llamacpp
    low = llama_cpp.llama_cpp
    with llamacpp._plain_buffers(llama_cpp):
        assert low.llama_model_default_params().use_extra_bufts is False
    assert low.llama_model_default_params().use_extra_bufts is True


def test_agreement_counts_identical_answers_and_shared_prefixes():
    got = ex.agreement(["abcd", "abXX", "zz", ""], ["abcd", "abcd", "abcd", ""])
    assert (got.identical, got.total, got.prefix_share) == (2, 4, 0.25)   # median of 0.5 and 0.0
    assert "2/4 identical" in str(got) and "25%" in str(got)
    same = ex.agreement(["x"], ["x"])
    assert same.prefix_share is None and str(same) == "1/1 identical"
    assert ex.common_prefix("abc", "") == 0.0 and ex.common_prefix("", "") == 1.0
    with pytest.raises(ValueError):
        ex.agreement(["a"], ["a", "b"])


def test_round_weights_rounds_matrices_only():
    layer = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    with torch.no_grad():
        layer[0].weight.copy_(torch.full((4, 4), 1 + 2**-12))
        layer[1].weight.fill_(1 + 2**-12)
    ex.round_weights(layer, torch.bfloat16)
    assert torch.all(layer[0].weight == 1.0) and torch.all(layer[1].weight == 1 + 2**-12)


def test_llama_cpp_needs_plain_buffers_on_amx_only():
    from ftlab import llamacpp
    xeon = {"fpu", "avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"}
    assert llamacpp.needs_plain_buffers(xeon) and not llamacpp.needs_plain_buffers({"avx2", "avx512f"})
