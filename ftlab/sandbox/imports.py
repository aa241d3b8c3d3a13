"""Bring a model back into the sandbox: ``import_model(DIR)`` registers it for chat completions.

The sandbox's engine keeps one base model (the stand-in) in memory and serves LoRA adapters on it,
so what it can serve honestly is:

- a **PEFT LoRA adapter folder** made for the stand-in (``adapter_config.json``): checked by
  loading it onto the base, then registered as is;
- a **Hugging Face model folder of the stand-in's architecture and shape** (e.g. one made by
  ``ftlab export --format hf``): its difference from the base must be a low-rank update of linear
  layers, which is exactly what a merged LoRA is. That difference is factored back into a LoRA
  adapter with an SVD (exact up to float rounding) and registered.

Anything else (another architecture or size, another tokenizer, a full fine-tune whose update is
not low-rank, changed norms or embeddings) is refused with a coded error: serving it would need a
second full model in memory, which the engine does not do.

The model lands in the store's ``models`` table (no job), so ``/v1/models`` lists it and chat
completions resolve it like any fine-tuned model, with no change to the server.
"""
from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

from ftlab.export import ExportError
from ftlab.i18n import tr

PREFIX = "imported:"
OWNER = "ftlab-import"
MAX_RANK = 64            # a larger update is not a LoRA any more: refused
_SHAPE_KEYS = ("model_type", "hidden_size", "intermediate_size", "num_hidden_layers",
               "num_attention_heads", "num_key_value_heads", "vocab_size")


class ImportFailed(ExportError):
    """The folder cannot be served by the sandbox (coded, translated message)."""


def _fail(code: str, it: str, en: str, **values) -> ImportFailed:
    return ImportFailed(code, tr(it, en, **values))


def model_id(folder: Path, name: str | None = None) -> str:
    """``imported:<name>``: the folder's name (or ``name``), lower case, safe characters only."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", (name or folder.name).lower()).strip("-.") or "model"
    return PREFIX + slug


def _store(data_dir=None):
    from ftlab.sandbox import control
    from ftlab.sandbox.store import Store
    return Store(control.data_dir(data_dir))


def import_model(folder, *, name: str | None = None, force: bool = False, data_dir=None) -> str:
    """Register an adapter or HF model folder with the sandbox; returns the new model id."""
    folder = Path(folder).expanduser().resolve()
    if not folder.is_dir():
        raise _fail("import_not_found", "La cartella {p} non esiste.", "The folder {p} does not exist.", p=folder)
    store = _store(data_dir)
    mid = model_id(folder, name)
    if store.adapter_for(mid) is not None:
        if not force:
            raise _fail("import_exists", "Il modello {m} esiste già nella sandbox: scegli un altro nome "
                        "(--name) o usa --force per sostituirlo.", "The model {m} already exists in the "
                        "sandbox: choose another name (--name) or use --force to replace it.", m=mid)
        store.delete_model(mid)
    if (folder / "adapter_config.json").exists():
        _check_adapter(folder)
        store.add_model(mid, job_id=None, adapter_src=folder, owned_by=OWNER)
    elif (folder / "config.json").exists():
        with tempfile.TemporaryDirectory(prefix="ftlab-import-") as tmp:
            adapter_from_full(folder, Path(tmp) / "adapter")
            store.add_model(mid, job_id=None, adapter_src=Path(tmp) / "adapter", owned_by=OWNER)
    else:
        raise _fail("import_unrecognized", "{p} non è né un adapter PEFT (adapter_config.json) né un modello "
                    "Hugging Face (config.json).", "{p} is neither a PEFT adapter (adapter_config.json) nor a "
                    "Hugging Face model (config.json).", p=folder)
    return mid


# -- adapters --------------------------------------------------------------------------------------------

def _check_adapter(folder: Path) -> None:
    """A LoRA adapter whose layers and shapes fit the stand-in (checked by really loading it)."""
    config = json.loads((folder / "adapter_config.json").read_text(encoding="utf-8"))
    if config.get("peft_type") != "LORA":
        raise _fail("import_not_lora", "L'adapter in {p} è di tipo {t}: la sandbox serve solo adapter LoRA.",
                    "The adapter in {p} is of type {t}: the sandbox serves LoRA adapters only.",
                    p=folder, t=config.get("peft_type"))
    from peft import PeftModel

    from ftlab.sandbox import models
    base, _ = models.load_base("cpu", progress=False)
    try:
        PeftModel.from_pretrained(base, str(folder))
    except Exception as exc:   # wrong module names or shapes: another base model
        raise _fail("import_incompatible", "L'adapter in {p} non si applica al modello base della sandbox "
                    "({base}): {exc}", "The adapter in {p} does not fit the sandbox's base model ({base}): "
                    "{exc}", p=folder, base=models.STAND_IN, exc=str(exc)[:300]) from exc


# -- full HF folders ------------------------------------------------------------------------------------

def _check_shape(folder: Path, base_dir: Path) -> None:
    mine = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    base = json.loads((base_dir / "config.json").read_text(encoding="utf-8"))
    diff = [f"{k}={mine.get(k)} (base {base.get(k)})" for k in _SHAPE_KEYS if mine.get(k) != base.get(k)]
    if diff:
        raise _fail("import_unsupported_architecture", "Il modello in {p} non ha l'architettura del modello base "
                    "della sandbox: {d}. La sandbox serve solo adapter LoRA sul suo modello base; un modello "
                    "diverso va servito con un altro server (llama.cpp, vLLM…).",
                    "The model in {p} does not have the sandbox base model's architecture: {d}. The sandbox "
                    "serves only LoRA adapters on its base; serve a different model with another server "
                    "(llama.cpp, vLLM…).", p=folder, d="; ".join(diff))
    vocab = lambda d: json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))["model"]["vocab"]  # noqa: E731
    if (folder / "tokenizer.json").exists() and vocab(folder) != vocab(base_dir):
        raise _fail("import_tokenizer_mismatch", "Il tokenizer in {p} è diverso da quello del modello base.",
                    "The tokenizer in {p} differs from the base model's.", p=folder)


def _weights(folder: Path) -> dict:
    from safetensors.torch import load_file
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise _fail("import_no_weights", "Nessun file .safetensors in {p}.", "No .safetensors file in {p}.", p=folder)
    state = {}
    for f in files:
        state.update(load_file(str(f)))
    return state


def low_rank(delta, rel_tol: float = 1e-3):
    """``(B, A)`` with ``B @ A ≈ delta`` of the smallest rank that keeps the error under ``rel_tol``
    of the norm, or None when no rank up to ``MAX_RANK`` does. A randomized SVD (``svd_lowrank``,
    a few times cheaper than a full one) finds the top ``MAX_RANK`` directions; whatever energy
    they leave out is the error, so a full-rank update is recognised as such."""
    import torch
    delta = delta.double()
    total = float(delta.square().sum())
    if total == 0.0:
        return None
    with torch.random.fork_rng(devices=[]):   # a fixed sketch: same folder, same adapter
        torch.manual_seed(0)
        u, s, v = torch.svd_lowrank(delta, q=min(MAX_RANK + 8, *delta.shape), niter=3)
    kept = s.square().cumsum(0)
    for k in range(1, min(MAX_RANK, len(s)) + 1):
        if total - float(kept[k - 1]) <= (rel_tol ** 2) * total:
            root = s[:k].sqrt()
            return (u[:, :k] * root).float(), (root[:, None] * v[:, :k].T).float()
    return None


def adapter_from_full(folder: Path, out: Path) -> Path:
    """Factor a full HF folder of the stand-in's shape into a LoRA adapter at ``out``."""
    import torch

    from ftlab.sandbox import cpu, models
    base_dir = models.base_model_dir(progress=False)
    _check_shape(folder, base_dir)
    cpu.share_threads_now()   # ~200 SVDs: on a busy machine one thread beats two waiting for each other
    base, _ = models.load_base("cpu", progress=False)
    mine = _weights(folder)
    problems, changed = [], {}
    for name, param in base.state_dict().items():   # cheap checks first: refuse before any SVD
        if name not in mine:
            if name != "lm_head.weight":   # tied to the embeddings
                problems.append(tr("manca {n}", "missing {n}", n=name))
            continue
        delta = mine[name].float() - param
        if not torch.any(delta != 0):
            continue
        if param.dim() == 2 and ".layers." in name:
            changed[name] = delta
        elif float(delta.abs().max()) > 1e-6:
            problems.append(tr("{n} è cambiato", "{n} changed", n=name))
    factors = {}
    for name, delta in ({} if problems else changed).items():
        pair = low_rank(delta)
        if pair is None:
            problems.append(tr("{n}: aggiornamento non a basso rango", "{n}: not a low-rank update", n=name))
            break
        factors[name.removesuffix(".weight")] = pair
    if problems:
        raise _fail("import_not_low_rank", "I pesi in {p} non differiscono dal modello base per un aggiornamento "
                    "LoRA (basso rango sui soli strati lineari), quindi la sandbox non può servirli: {d}.",
                    "The weights in {p} do not differ from the base by a LoRA update (low rank, linear layers "
                    "only), so the sandbox cannot serve them: {d}.", p=folder, d="; ".join(problems[:5]))
    return _save_adapter(base, factors, out)


def _save_adapter(base, factors: dict, out: Path) -> Path:
    """A LoRA adapter with one module per factored matrix (its own rank, scaling 1)."""
    import torch
    from peft import LoraConfig, get_peft_model

    if not factors:   # the base itself: one zero update keeps the adapter valid
        first = next(n for n, m in base.named_modules() if isinstance(m, torch.nn.Linear) and ".layers." in n)
        factors = {first: (torch.zeros(base.get_submodule(first).out_features, 1),
                           torch.zeros(1, base.get_submodule(first).in_features))}
    ranks = {re.escape(n): b.shape[1] for n, (b, _) in factors.items()}
    config = LoraConfig(r=max(ranks.values()), lora_alpha=max(ranks.values()), lora_dropout=0.0,
                        target_modules=list(factors),
                        rank_pattern=ranks, alpha_pattern=dict(ranks), task_type="CAUSAL_LM")
    model = get_peft_model(base, config)
    with torch.no_grad():
        for name, (b, a) in factors.items():
            layer = model.base_model.model.get_submodule(name)
            layer.lora_A["default"].weight.copy_(a)
            layer.lora_B["default"].weight.copy_(b)
    model.save_pretrained(out)
    return out
