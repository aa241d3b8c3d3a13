"""LoRA training: hyperparameters, loss masks, learning, determinism, pause/resume, cancel, DPO.

Training tests are tiny (a handful of examples, a few steps) so the whole suite stays fast.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ftlab.sandbox import cpu, models, training  # noqa: I001  (cpu first: it sets the kernels before torch loads)
from ftlab.sandbox.training import config as training_config, encoding, lora, losses
from ftlab.sandbox.training import run as training_run

import torch

SYSTEM = "Rispondi con il codice segreto."


def example(i: int, weight: int | None = None) -> dict:
    answer = {"role": "assistant", "content": f"CODICE-ZETA-{i}"}
    if weight is not None:
        answer["weight"] = weight
    return {"messages": [{"role": "system", "content": SYSTEM},
                         {"role": "user", "content": f"Dammi il codice numero {i}."}, answer]}


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(models.base_model_dir(progress=False))


# ------------------------------------------------------------------ hyperparameters

@pytest.mark.parametrize("n, epochs", [(10, 10), (20, 5), (33, 3), (34, 3), (110, 3), (9000, 2), (30000, 1)])
def test_default_epochs_follow_the_reference_rule(n, epochs):
    assert training_config.default_epochs(n) == epochs


def test_resolve_hyperparameters_auto_and_explicit():
    auto = training.resolve_hyperparameters(110, {"n_epochs": "auto"})
    assert auto == {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    big = training.resolve_hyperparameters(5000, {})
    assert big["batch_size"] == 10 and big["n_epochs"] == 3
    assert training.resolve_hyperparameters(300_000, {})["batch_size"] == 256
    explicit = training.resolve_hyperparameters(50, {"n_epochs": 2, "batch_size": 4,
                                                    "learning_rate_multiplier": 0.5, "beta": "auto"})
    assert explicit == {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 0.5, "beta": 0.1}


# ------------------------------------------------------------------ masks

def trained_text(tokenizer, messages):
    ids, mask = training.encode_chat(tokenizer, messages)
    return tokenizer.decode([t for t, m in zip(ids, mask) if m])


def test_only_assistant_tokens_are_trained(tokenizer):
    ex = example(7)
    assert trained_text(tokenizer, ex["messages"]) == "CODICE-ZETA-7<|im_end|>"


def test_weight_zero_assistant_messages_are_not_trained(tokenizer):
    messages = [{"role": "system", "content": SYSTEM},
                {"role": "user", "content": "Primo?"},
                {"role": "assistant", "content": "RISPOSTA-SBAGLIATA", "weight": 0},
                {"role": "user", "content": "Secondo?"},
                {"role": "assistant", "content": "RISPOSTA-GIUSTA", "weight": 1}]
    assert trained_text(tokenizer, messages) == "RISPOSTA-GIUSTA<|im_end|>"
    messages[2]["weight"] = 1
    assert trained_text(tokenizer, messages) == "RISPOSTA-SBAGLIATA<|im_end|>RISPOSTA-GIUSTA<|im_end|>"


def test_masked_tokens_contribute_no_loss(tokenizer):
    """Only labelled positions reach the loss: the count of token losses equals the mask."""
    model, _ = models.load_base("cpu", progress=False)
    rows = [training.encode_chat(tokenizer, example(1)["messages"]),
            training.encode_chat(tokenizer, example(2, weight=0)["messages"])]
    ids, attn, labels = encoding.pad_batch(rows, tokenizer.pad_token_id, "cpu")
    with torch.inference_mode():
        logprobs, row_of, _ = losses.token_logprobs(model, ids, attn, labels)
    assert logprobs.numel() == sum(rows[0][1][1:]) > 0
    assert set(row_of.tolist()) == {0}          # the weight-0 example adds nothing


def test_frozen_prefix_gives_the_full_forward_hidden_states(tokenizer):
    """Kept lower-layer states + upper layers == the whole decoder, also in a padded micro-batch."""
    model, _ = models.load_base("cpu", progress=False)
    rows = [training.encode_chat(tokenizer, example(i)["messages"]) for i in (1, 22)]
    rows[1] = (rows[1][0] * 2, rows[1][1] * 2)   # a longer row: the first one gets padded
    ids, attn, labels = encoding.pad_batch(rows, tokenizer.pad_token_id, "cpu")
    prefix = lora.FrozenPrefix(model, lora.first_lora_layer(model))
    assert 0 < prefix.split < model.config.num_hidden_layers and prefix.check(rows[0][0])
    with torch.no_grad():
        full = model.get_decoder()(input_ids=ids, attention_mask=attn).last_hidden_state
        split = prefix.hidden(rows, attn)
        assert len(prefix._kept) == 2 and prefix.hidden(rows, attn).equal(split)   # kept, not redone
    real = attn.bool()
    assert torch.allclose(full[real], split[real], atol=1e-4)
    assert not lora.FrozenPrefix(model, 0).check(rows[0][0])   # nothing frozen: no split


# ------------------------------------------------------------------ real (tiny) trainings

def run(tmp_path, examples, valid=None, *, epochs=1, batch=1, lr=2.0, seed=3, stop=None, resume=None,
        name="run", method="supervised"):
    steps, checkpoints = [], []
    config = training.TrainConfig(n_epochs=epochs, batch_size=batch, learning_rate_multiplier=lr, seed=seed,
                                 method=method)
    result = training.train(examples, valid, config, tmp_path / name, on_step=steps.append,
                           on_checkpoint=lambda *a: checkpoints.append(a), should_stop=stop or (lambda: None),
                           resume_from=resume)
    return result, steps, checkpoints


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trained")
    examples = [example(i) for i in range(6)]
    return run(tmp, examples, [example(10), example(11)], epochs=3, batch=2, lr=5.0), examples


@pytest.mark.training
def test_training_lowers_the_loss_and_writes_checkpoints(trained):
    (result, steps, checkpoints), examples = trained
    assert result.stopped is None and result.steps == 9 == len(steps)
    assert steps[-1]["train_loss"] < steps[0]["train_loss"] / 3
    assert [s["step"] for s in steps] == list(range(1, 10)) and steps[0]["total_steps"] == 9
    ends = [s for s in steps if s["full_valid_loss"] is not None]
    assert [s["step"] for s in ends] == [3, 6, 9]
    assert ends[-1]["full_valid_loss"] < ends[0]["full_valid_loss"]
    assert [(c[0], c[1]) for c in checkpoints] == [(3, 1), (6, 2), (9, 3)]
    for step, _, adapter_dir, metrics in checkpoints:
        assert (adapter_dir / "adapter_model.safetensors").exists()
        assert json.loads((adapter_dir / "metrics.json").read_text())["step"] == step == metrics["step"]
    assert (result.final_adapter / "adapter_config.json").exists()
    assert result.trained_tokens == 3 * sum(training.billable_tokens(e, "supervised") for e in examples)


@pytest.mark.training
def test_adapter_changes_the_greedy_answer(trained):
    from ftlab.sandbox.inference import Engine
    (result, _, _), examples = trained
    engine = Engine()
    prompt = examples[0]["messages"][:2]
    base = engine.chat(prompt, temperature=0, max_tokens=12).choices[0].text
    tuned = engine.chat(prompt, adapter_dir=result.final_adapter, temperature=0, max_tokens=12).choices[0].text
    assert tuned != base and tuned.startswith("CODICE-ZETA")


@pytest.mark.training
def test_same_seed_same_losses_and_exact_resume(tmp_path):
    examples = [example(i) for i in range(4)]
    _, reference, _ = run(tmp_path, examples, name="a")
    _, again, _ = run(tmp_path, examples, name="b")
    assert [s["train_loss"] for s in again] == [s["train_loss"] for s in reference]
    _, other_seed, _ = run(tmp_path, examples, name="c", seed=4)
    assert [s["train_loss"] for s in other_seed] != [s["train_loss"] for s in reference]

    steps_d = []

    def stop_after_two():
        return "pause" if len(steps_d) >= 2 else None

    config = training.TrainConfig(n_epochs=1, batch_size=1, learning_rate_multiplier=2.0, seed=3)
    result = training.train(examples, None, config, tmp_path / "d", on_step=steps_d.append,
                           should_stop=stop_after_two)
    assert result.stopped == "pause" and result.steps == 2 and result.final_adapter is None
    assert (tmp_path / "d" / "pause" / "state.pt").exists()
    resumed, rest, _ = run(tmp_path, examples, name="d", resume=tmp_path / "d" / "pause")
    assert [s["step"] for s in rest] == [3, 4]
    assert [s["train_loss"] for s in steps_d + rest] == [s["train_loss"] for s in reference]
    assert resumed.trained_tokens == sum(training.billable_tokens(e, "supervised") for e in examples)


def test_cancel_while_preparing_ends_before_any_step(tmp_path):
    looks = []

    def cancel_on_second_look():   # the second look comes right after the model has loaded
        looks.append(1)
        return "cancel" if len(looks) >= 2 else None

    result, steps, checkpoints = run(tmp_path, [example(i) for i in range(40)], stop=cancel_on_second_look)
    assert result.stopped == "cancel" and result.steps == 0 and result.final_adapter is None
    assert steps == [] and checkpoints == [] and len(looks) == 2


@pytest.mark.training
def test_cancel_stops_before_the_next_micro_batch(tmp_path):
    result, steps, checkpoints = run(tmp_path, [example(i) for i in range(4)], stop=lambda: "cancel")
    assert result.stopped == "cancel" and result.steps == 0 and not steps and not checkpoints
    assert result.final_adapter is None and not (tmp_path / "run" / "adapter").exists()


@pytest.mark.training
def test_dpo_trains_the_preferred_answer_up(tmp_path):
    def pair(i):
        return {"input": {"messages": [{"role": "user", "content": f"Saluta {i}."}]},
                "preferred_output": [{"role": "assistant", "content": f"Buongiorno {i}!"}],
                "non_preferred_output": [{"role": "assistant", "content": f"Ciao {i}."}]}

    result, steps, _ = run(tmp_path, [pair(i) for i in range(4)], [pair(9)], epochs=2, batch=2, lr=5.0,
                           method="dpo")
    assert result.steps == 4 and result.final_adapter is not None
    assert steps[0]["train_loss"] == pytest.approx(0.6931, abs=1e-3)   # log 2: policy == reference
    assert steps[-1]["train_loss"] < steps[0]["train_loss"]
    assert steps[-1]["full_valid_loss"] is not None


def test_unknown_method_is_a_clear_error(tmp_path):
    config = training.TrainConfig(n_epochs=1, batch_size=1, learning_rate_multiplier=1.0, seed=1,
                                 method="reinforcement")
    with pytest.raises(training.TrainingError, match="reinforcement"):
        training.train([example(1)], None, config, tmp_path)


@pytest.mark.training
def test_losses_do_not_depend_on_the_thread_count(tmp_path, monkeypatch):
    """The sandbox switches between 1 and 2 threads with the machine's load; the same seed must
    still give the same losses (MKL's strict mode, set by ``cpu.configure``)."""
    monkeypatch.setattr(cpu, "share_threads", lambda *args, **kwargs: None)
    before, losses = torch.get_num_threads(), []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            _, steps, _ = run(tmp_path, [example(i) for i in range(3)], name=f"threads-{threads}")
            losses.append([s["train_loss"] for s in steps])
    finally:
        torch.set_num_threads(before)
    assert losses[0] == losses[1]


@pytest.mark.skipif(cpu.usable_cpus() < 2, reason="needs a core for the busy process and one for training")
def test_the_first_steps_already_leave_the_core_a_busy_process_takes(tmp_path):
    """The thread count is read again once the model has loaded: the reading taken when the run
    began had seen no interval yet, and the first steps kept its answer (all cores) for 10 s."""
    before = torch.get_num_threads()
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    threads = []
    try:
        config = training.TrainConfig(n_epochs=1, batch_size=1, learning_rate_multiplier=2.0, seed=3)
        training.train([example(i) for i in range(2)], None, config, tmp_path / "run",
                       on_step=lambda m: threads.append(torch.get_num_threads()))
    finally:
        hog.kill()
        hog.wait()
        torch.set_num_threads(before)
    assert threads and threads[0] <= cpu.usable_cpus() - 1


# ------------------------------------------------------------------ bfloat16 matmuls for frozen weights

@pytest.mark.parametrize("flags, dtype", [({"avx512f", "avx512_bf16"}, torch.bfloat16),
                                          ({"avx512f", "amx_bf16", "amx_tile"}, torch.bfloat16),
                                          ({"avx2", "avx512f"}, None), (set(), None)])
def test_fast_dtype_follows_the_cpu_flags_and_can_be_turned_off(monkeypatch, flags, dtype):
    monkeypatch.setattr(cpu, "cpu_flags", lambda: flags)
    assert lora.fast_dtype(torch.device("cpu")) is dtype
    monkeypatch.setenv("FTLAB_TRAIN_DTYPE", "float32")
    assert lora.fast_dtype(torch.device("cpu")) is None


def test_cpu_flags_are_read_from_the_machine():
    flags = cpu.cpu_flags()
    assert isinstance(flags, set)
    if Path("/proc/cpuinfo").exists():
        assert "fpu" in flags or "neon" in flags or "asimd" in flags


def test_frozen_linear_keeps_float32_in_and_out_and_passes_gradients():
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 32).requires_grad_(False)
    frozen = lora.FrozenLinear(linear, torch.bfloat16)
    x = torch.randn(5, 64, requires_grad=True)
    out = frozen(x)
    assert out.dtype == torch.float32 and frozen.weight.dtype == torch.bfloat16
    assert torch.allclose(out, linear(x), rtol=0.05, atol=0.05)   # bfloat16: ~3 significant digits
    assert not torch.equal(out, linear(x))                        # and not the float32 path
    out.sum().backward()
    assert x.grad is not None and torch.allclose(x.grad, linear.weight.sum(0).expand(5, -1), atol=0.05)
    assert list(frozen.parameters()) == []                        # nothing of it is trained


@pytest.mark.training
def test_bfloat16_training_tracks_float32(tmp_path, monkeypatch):
    """The same run with bfloat16 matmuls for the frozen weights and in plain float32: the LoRA
    path, attention and loss are float32 in both, so the losses agree closely (not bitwise)."""
    examples = [example(i) for i in range(4)]
    losses = {}
    for dtype in (torch.bfloat16, None):
        monkeypatch.setattr(training_run, "fast_dtype", lambda device, dtype=dtype: dtype)
        _, steps, _ = run(tmp_path, examples, [example(10)], name=str(dtype))
        losses[dtype] = [s["train_loss"] for s in steps] + [steps[-1]["full_valid_loss"]]
    assert losses[torch.bfloat16] != losses[None]
    assert losses[torch.bfloat16] == pytest.approx(losses[None], rel=0.02)


def test_bfloat16_run_freezes_every_decoder_linear(tmp_path, monkeypatch):
    monkeypatch.setattr(training_run, "fast_dtype", lambda device: torch.bfloat16)
    config = training.TrainConfig(n_epochs=1, batch_size=1, learning_rate_multiplier=1.0, seed=1)
    state = training_run.Run([example(1)], None, config, tmp_path, None)
    layers = state.model.get_base_model().get_decoder().layers
    frozen_float32 = [m for m in layers.modules() if type(m) is torch.nn.Linear and not m.weight.requires_grad]
    assert frozen_float32 == []
    assert sum(isinstance(m, lora.FrozenLinear) for m in layers.modules()) == 7 * len(layers)
    assert state.head.dtype == torch.bfloat16 and state.prefix.ok
    assert all(p.dtype == torch.float32 for p in state.model.parameters() if p.requires_grad)


def test_describe_names_the_instruction_sets_a_figure_holds_for(monkeypatch):
    monkeypatch.setattr(cpu, "_cpuinfo", lambda: "model name\t: Test CPU 9000\nflags\t\t: fpu avx2 avx512f\n")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    line = cpu.describe()
    assert line.startswith("CPU: Test CPU 9000 · AVX2 AVX512F ·") and "AVX512-BF16" not in line
    assert line.endswith("ONEDNN_MAX_CPU_ISA=AVX2")
    monkeypatch.setattr(cpu, "_cpuinfo", lambda: "")
    assert cpu.describe().startswith("CPU: unknown CPU · no AVX2 ·")
