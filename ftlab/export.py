"""Take a model home: export a sandbox model as a Hugging Face folder or a GGUF file.

``export("ft:…", format="hf", out="dir")`` merges the model's LoRA adapter into the base
(peft ``merge_and_unload``) and writes safetensors, config, tokenizer (with its chat template),
generation config and a model card carrying the job's metadata. ``format="gguf"`` writes the same
merged weights as one GGUF file for llama.cpp / Ollama / LM Studio (``ftlab.gguf_export``), plus
an Ollama ``Modelfile``. Works for fine-tuned models, their checkpoints and the base model.

Nothing half-written is left behind: everything goes to a temporary folder beside the target,
renamed into place at the end; an existing target is replaced only with ``force=True``.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import types
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tqdm.auto import tqdm

from ftlab.hashing import file_sha256
from ftlab.i18n import tr

FORMATS = ("hf", "gguf")
QUANTS = ("f16", "q8_0")
# bytes written per parameter (float32 safetensors; GGUF f16; q8_0 = 34 bytes per 32 weights)
_BYTES_PER_PARAM = {"hf": 4.0, "f16": 2.0, "q8_0": 34 / 32}
_ACTIVE = ("validating_files", "queued", "running", "paused")


class ExportError(Exception):
    """A clear, coded reason why an export (or import) cannot be done; nothing was written."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"[{self.code}] {self.args[0]}"


@dataclass
class Source:
    """What is being exported: the model id, its adapter (None = base), and where it came from."""
    model: str
    adapter_dir: Path | None
    job: dict | None = None
    checkpoint: dict | None = None
    files: list = field(default_factory=list)   # [{"param", "id", "filename", "sha256"}]
    final_metrics: dict = field(default_factory=dict)


# -- finding the model -----------------------------------------------------------------------------

def _store(data_dir=None):
    from ftlab.sandbox import control
    from ftlab.sandbox.store import Store
    return Store(control.data_dir(data_dir))


def _is_base(model: str) -> bool:
    from ftlab.sandbox import catalog
    return bool(catalog.base_of(model)) or model == catalog.STAND_IN_NAME


def _training(store, model: str) -> dict | None:
    """The unfinished job that will produce ``model``, if any."""
    for job in store.jobs_with_status(*_ACTIVE):
        if store.job_state(job["id"]).get("model_name") == model:
            return job
    return None


def _last_metrics(store, job_id: str) -> dict:
    events, _ = store.list_events(job_id, after=None, limit=1000)   # newest first
    return next((e["data"] for e in events if e["type"] == "metrics"), {})


def resolve(model: str, data_dir=None) -> Source:
    """The adapter and provenance of a sandbox model id; ``ExportError`` for unknown or unfinished ones."""
    if _is_base(model):
        return Source(model, None)
    store = _store(data_dir)
    adapter = store.adapter_for(model)
    if adapter is None:
        job = _training(store, model)
        if job is not None:
            raise ExportError("model_still_training", tr(
                "Il modello {m} non esiste ancora: il job {j} è nello stato '{s}'. Aspetta che finisca "
                "(ftlab.jobs.follow) oppure esporta un suo checkpoint.",
                "The model {m} does not exist yet: job {j} is '{s}'. Wait for it to finish "
                "(ftlab.jobs.follow) or export one of its checkpoints.", m=model, j=job["id"], s=job["status"]))
        raise ExportError("model_not_found", tr(
            "Modello sconosciuto nella sandbox: {m}. Elenca quelli disponibili con `ftlab models list`.",
            "Unknown sandbox model: {m}. List the available ones with `ftlab models list`.", m=model))
    row = store.get_model(model)
    job_id = (row and _model_job(store, model)) or _checkpoint_job(store, model)
    source = Source(model, adapter)
    if job_id:
        source.job = store.get_job(job_id)
        source.final_metrics = _last_metrics(store, job_id)
        for param in ("training_file", "validation_file"):
            file_id = source.job.get(param)
            if file_id and (f := store.get_file(file_id)):
                blob = store.file_path(file_id)
                source.files.append({"param": param, "id": file_id, "filename": f["filename"],
                                     "sha256": file_sha256(blob) if blob.exists() else None})
        ckpts, _ = store.list_checkpoints(job_id, after=None, limit=1000)
        source.checkpoint = next((c for c in ckpts if c["fine_tuned_model_checkpoint"] == model), None)
    return source


def _model_job(store, model: str) -> str | None:
    with store._conn() as conn:
        row = conn.execute("SELECT job_id FROM models WHERE id = ?", (model,)).fetchone()
    return row["job_id"] if row else None


def _checkpoint_job(store, model: str) -> str | None:
    with store._conn() as conn:
        row = conn.execute("SELECT job_id FROM checkpoints WHERE model = ?", (model,)).fetchone()
    return row["job_id"] if row else None


# -- the merged model --------------------------------------------------------------------------------

def merged_model(source: Source):
    """``(model, tokenizer)``: the base with the adapter merged into its weights (float32, CPU)."""
    from ftlab.sandbox import models

    model, tokenizer = models.load_base("cpu", progress=False)
    if source.adapter_dir is not None:
        from peft import PeftModel
        model = PeftModel.from_pretrained(model, str(source.adapter_dir)).merge_and_unload()
    return model.eval(), tokenizer


def _write_hf(model, tokenizer, out: Path) -> None:
    model.save_pretrained(out)              # safetensors, config.json, generation_config.json
    tokenizer.save_pretrained(out)          # tokenizer.json, tokenizer_config.json, chat_template.jinja


# -- the model card ------------------------------------------------------------------------------------

def _date(ts) -> str | None:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if ts else None


def _evaluation(model: str, given: dict | None) -> dict:
    """Evaluation figures: those passed in, else the ones recorded in the course's registry."""
    if given:
        return dict(given)
    from ftlab.registry import Registry
    found = Registry().find(model)
    return dict(found.metrics) if found and found.metrics else {}


def model_card(source: Source, fmt: str, quant: str | None, evaluation: dict | None = None) -> str:
    """README.md for the exported model: what it is, how it was trained, what was measured."""
    from ftlab import openai_spec
    from ftlab.sandbox import models

    job = source.job or {}
    method = (job.get("method") or {})
    hp = (method.get(method.get("type") or "", {}) or {}).get("hyperparameters") or job.get("hyperparameters") or {}
    lines = ["---", "license: apache-2.0", f"base_model: {models.STAND_IN}", "library_name: transformers",
             "tags: [ftlab, lora, sft]" if fmt == "hf" else "tags: [ftlab, lora, sft, gguf]", "---", "",
             f"# {source.model}", "",
             f"Exported by ftlab on {_date(time.time())} as **{fmt}**" + (f" ({quant})" if quant else "") + ".",
             f"Weights: {models.STAND_IN} (the sandbox's stand-in for the course's model names)"
             + (", with the LoRA adapter below merged in." if source.adapter_dir else ", unchanged."), ""]
    if job:
        lines += ["## Training", "",
                  f"- job: `{job['id']}` ({job.get('status')}), requested model `{job.get('model')}`",
                  f"- method: {method.get('type', 'supervised')}; seed {job.get('seed')}",
                  f"- hyperparameters: {json.dumps(hp, sort_keys=True)}",
                  f"- trained tokens: {job.get('trained_tokens')}",
                  f"- created {_date(job.get('created_at'))}, finished {_date(job.get('finished_at'))}"]
        lines += [f"- {f['param']}: `{f['id']}` {f['filename']}, sha256 `{f['sha256']}`" for f in source.files]
        if source.checkpoint:
            lines.append(f"- checkpoint at step {source.checkpoint['step_number']}: "
                         f"{json.dumps(source.checkpoint['metrics'], sort_keys=True)}")
        final = {k: v for k, v in source.final_metrics.items() if k.endswith("loss") and v is not None}
        if final:
            lines.append(f"- final losses (step {source.final_metrics.get('step')}): "
                         + ", ".join(f"{k} {v:.4f}" for k, v in sorted(final.items())))
        lines.append("")
    figures = _evaluation(source.model, evaluation)
    lines += ["## Evaluation", ""]
    lines += ([f"- {k}: {v}" for k, v in figures.items()] if figures
              else ["No evaluation figures were recorded for this model."])
    lines += ["", "## Chat format", "", "ChatML (`<|im_start|>role … <|im_end|>`); the template is "
              "embedded in the tokenizer" + (" and in the GGUF metadata." if fmt == "gguf" else "."),
              "", f"Sandbox names: {', '.join(openai_spec.COURSE_MODELS)} run on this base in ftlab.", ""]
    return "\n".join(lines)


# -- the export ----------------------------------------------------------------------------------------

def _check_target(out: Path, force: bool) -> None:
    if out.exists() and not force:
        raise ExportError("output_exists", tr(
            "La cartella {p} esiste già: scegli un'altra destinazione o usa force=True (--force) per "
            "sostituirla.", "The folder {p} already exists: choose another target or use force=True "
            "(--force) to replace it.", p=out))
    if out.exists() and not out.is_dir():
        raise ExportError("output_not_a_folder", tr("{p} esiste e non è una cartella.",
                                                    "{p} exists and is not a folder.", p=out))


def _check_space(parent: Path, fmt: str, quant: str) -> None:
    from ftlab.sandbox import models
    weights = models.base_model_dir(progress=False) / "model.safetensors"
    params = weights.stat().st_size / 4 if weights.exists() else 135e6
    need = int(params * _BYTES_PER_PARAM["hf" if fmt == "hf" else quant]) + 50 * 2**20
    free = shutil.disk_usage(parent).free
    if free < need:
        raise _disk_full(parent, need, free)


def _disk_full(parent: Path, need: int | None = None, free: int | None = None) -> ExportError:
    return ExportError("disk_full", tr(
        "Spazio su disco insufficiente in {p}{detail}: niente è stato scritto.",
        "Not enough disk space in {p}{detail}: nothing was written.", p=parent,
        detail=f" ({need / 2**20:.0f} MB → {free / 2**20:.0f} MB)" if need else ""))


def _check_options(fmt: str, quant: str | None) -> str | None:
    if fmt not in FORMATS:
        raise ExportError("invalid_format", tr("Formato {f!r} non valido: usa uno tra {all}.",
                                               "Invalid format {f!r}: use one of {all}.",
                                               f=fmt, all=", ".join(FORMATS)))
    if fmt == "hf":
        if quant not in (None, "f32"):
            raise ExportError("invalid_quant", tr(
                "La quantizzazione vale solo per gguf: il formato hf salva i pesi float32.",
                "Quantization applies to gguf only: the hf format saves float32 weights."))
        return None
    quant = quant or "f16"
    if quant not in QUANTS:
        raise ExportError("invalid_quant", tr("Quantizzazione {q!r} non valida: usa uno tra {all}.",
                                              "Invalid quantization {q!r}: use one of {all}.",
                                              q=quant, all=", ".join(QUANTS)))
    return quant


def export(model: str, *, format: str = "hf", quant: str | None = None, out, force: bool = False,
           evaluation: dict | None = None, data_dir=None, progress: bool = True) -> Path:
    """Export a sandbox model (``ft:…``, ``ft:…:ckpt-step-N`` or the base) to the folder ``out``.

    ``format="hf"``: merged float32 safetensors + tokenizer + card. ``format="gguf"`` with
    ``quant="f16"`` (default) or ``"q8_0"``: ``model-<quant>.gguf`` + ``Modelfile`` + card.
    ``evaluation``: figures for the card (default: the registry's metrics for the model).
    Returns the folder written.
    """
    quant = _check_options(format, quant)
    out = Path(out).expanduser().resolve()
    _check_target(out, force)
    source = resolve(model, data_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    _check_space(out.parent, format, quant)
    steps = 3
    bar = tqdm(total=steps, disable=not progress, desc=tr("Esporto {m}", "Exporting {m}", m=model))
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.partial-"))
    try:
        bar.set_postfix_str(tr("unisco LoRA e base", "merging LoRA into the base"))
        merged, tokenizer = merged_model(source)
        bar.update()
        bar.set_postfix_str(tr("scrivo i pesi", "writing the weights"))
        if format == "hf":
            _write_hf(merged, tokenizer, tmp)
        else:
            from ftlab import gguf_export
            gguf_export.write(merged, tokenizer, tmp / f"model-{quant}.gguf", quant,
                              name=model, progress=progress)
            (tmp / "Modelfile").write_text(gguf_export.modelfile(f"model-{quant}.gguf"), encoding="utf-8")
        bar.update()
        (tmp / "README.md").write_text(model_card(source, format, quant, evaluation), encoding="utf-8")
        _replace(tmp, out)
        bar.update()
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise _disk_full(out.parent) from exc
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        bar.close()
    return out


def _replace(tmp: Path, out: Path) -> None:
    """Move the finished folder into place; an old one (force) goes only once the new one is whole."""
    tmp.chmod(0o755)   # mkdtemp made it private; the export is meant to be shared and copied
    for f in tmp.iterdir():
        f.chmod(0o644)
    if out.exists():
        old = out.with_name(f".{out.name}.old-{int(time.time())}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


# -- answers of an exported model (the round-trip check) ----------------------------------------------

@dataclass
class Agreement:
    """How closely greedy answers follow the reference ones (the sandbox's)."""
    identical: int
    total: int
    prefix_share: float | None   # median, over the non-identical answers, of common prefix / reference

    def __str__(self) -> str:
        rest = ("" if self.prefix_share is None else
                f"; the others keep a median {self.prefix_share:.0%} of the reference as common prefix")
        return f"{self.identical}/{self.total} identical{rest}"


def common_prefix(answer: str, reference: str) -> float:
    """Share of ``reference`` (characters) that ``answer`` repeats from the start (1.0 if both are empty)."""
    if not reference:
        return float(not answer)
    return len(os.path.commonprefix([answer, reference])) / len(reference)


def agreement(answers: list[str], reference: list[str]) -> Agreement:
    """Identical answers, and how far the others go before they part from the reference."""
    if len(answers) != len(reference):
        raise ValueError(f"{len(answers)} answers for {len(reference)} references")
    shares = [common_prefix(a, r) for a, r in zip(answers, reference) if a != r]
    return Agreement(len(answers) - len(shares), len(answers),
                     statistics.median(shares) if shares else None)


def round_weights(model, dtype) -> None:
    """Round every weight matrix to ``dtype`` and back in place: a perturbation of q8_0's size whose
    effect on greedy answers is the noise floor their agreement is judged against."""
    import torch
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1:
                p.copy_(p.to(dtype).to(p.dtype))


def greedy_answers(path, conversations: list[list[dict]], *, max_tokens: int = 64,
                   rounded_to=None) -> list[str]:
    """Greedy answers of an exported model loaded with plain transformers (HF folder or GGUF file);
    ``rounded_to`` (e.g. ``torch.bfloat16``): its weights rounded first (``round_weights``)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = Path(path)
    where = {"pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name} if path.is_file() \
        else {"pretrained_model_name_or_path": str(path)}
    tokenizer = AutoTokenizer.from_pretrained(**where)
    model = AutoModelForCausalLM.from_pretrained(**where, dtype=torch.float32).eval()
    if rounded_to is not None:
        round_weights(model, rounded_to)
    return answers_of(model, tokenizer, conversations, max_tokens=max_tokens)


def answers_of(model, tokenizer, conversations: list[list[dict]], *, max_tokens: int = 64) -> list[str]:
    """Greedy answers of a transformers model, one conversation at a time (no padding)."""
    import torch

    from ftlab.sandbox import cpu
    cpu.share_threads_now()   # the cores other processes leave free: busy threads would wait for each other
    answers = []
    for messages in conversations:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model.generate(ids, do_sample=False, max_new_tokens=max_tokens,
                                 eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id)
        answers.append(tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True))
    return answers


class _CallableModule(types.ModuleType):
    """``ftlab.export(...)`` must call the function even once ``import ftlab.export`` has bound the
    package attribute ``export`` to this module (a submodule and a function sharing one name)."""

    def __call__(self, *args, **kwargs):
        return export(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
