"""A model registry in one SQLite file, naming conventions for suffixes, and a fallback router.

The registry records what the course says to keep for every fine-tuned version: base model, job,
dataset path and sha256, hyperparameters, metrics, tags, stage (candidate → production →
archived), notes and timestamps, plus the history of stage changes (so a rollback knows what was
in production before).
"""
from __future__ import annotations

import json
import random
import re
import sqlite3
import time
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ftlab import paths
from ftlab.hashing import file_sha256
from ftlab.i18n import tr
from ftlab.openai_spec import SUFFIX_MAX_LENGTH, is_fine_tuned, parse_ft_model_name, suffix_ok

STAGES = ("candidate", "production", "archived")
SUFFIX_RE = re.compile(r"^(?P<task>[a-z0-9]+(?:-[a-z0-9]+)*?)(?:-v(?P<version>\d+))?$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS models (
    model_id TEXT PRIMARY KEY, base_model TEXT, task TEXT, version INTEGER, job_id TEXT,
    dataset_path TEXT, dataset_sha256 TEXT, hyperparameters TEXT NOT NULL DEFAULT '{}',
    metrics TEXT NOT NULL DEFAULT '{}', tags TEXT NOT NULL DEFAULT '[]',
    stage TEXT NOT NULL DEFAULT 'candidate' CHECK (stage IN ('candidate', 'production', 'archived')),
    notes TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stage_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id TEXT NOT NULL, old_stage TEXT, new_stage TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL);
"""
_JSON_FIELDS = ("hyperparameters", "metrics", "tags")


# ----------------------------------------------------------------------------- naming
def make_suffix(task: str, version: int) -> str:
    """The course's convention: ``<task>-v<N>``, lower-case kebab, e.g. ``converti-python-v2``."""
    slug = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")
    suffix = f"{slug}-v{int(version)}"
    if not slug or not suffix_ok(suffix):
        raise ValueError(tr("Suffisso non valido: {s!r} (1–{m} caratteri).", "Invalid suffix: {s!r} (1–{m} chars).",
                            s=suffix, m=SUFFIX_MAX_LENGTH))
    return suffix


def parse_suffix(suffix: str | None) -> tuple[str | None, int | None]:
    """``"converti-python-v2"`` → ``("converti-python", 2)``; no version → ``(task, None)``."""
    m = SUFFIX_RE.match(suffix or "")
    if not m:
        return (suffix or None, None)
    return (m.group("task"), int(m.group("version")) if m.group("version") else None)


def suffix_problems(suffix: str) -> list[str]:
    """Why a suffix breaks the convention (empty list: it follows it)."""
    problems = []
    if not suffix_ok(suffix):
        problems.append(tr("lunghezza fuori da 1–{m}", "length outside 1–{m}", m=SUFFIX_MAX_LENGTH))
    if not re.fullmatch(r"[a-z0-9-]+", suffix):
        problems.append(tr("usa solo minuscole, cifre e trattini", "use only lower case, digits and dashes"))
    if parse_suffix(suffix)[1] is None:
        problems.append(tr("manca la versione finale -vN", "missing the trailing -vN version"))
    return problems


# ``ft:{base}:{org}:{suffix}:{id}[:ckpt-step-N]`` → its parts: OpenAI's format, read in one place
parse_model_name = parse_ft_model_name


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ----------------------------------------------------------------------------- registry
@dataclass
class ModelVersion:
    model_id: str
    base_model: str | None = None
    task: str | None = None
    version: int | None = None
    job_id: str | None = None
    dataset_path: str | None = None
    dataset_sha256: str | None = None
    hyperparameters: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    tags: list = field(default_factory=list)
    stage: str = "candidate"
    notes: str = ""
    created_at: str = ""
    updated_at: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


class Registry:
    """Model versions in SQLite (default ``$FTLAB_HOME/registry.sqlite``)."""

    def __init__(self, path=None):
        self.path = Path(path) if path else paths.home() / "registry.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    # -- writing
    def register(self, model_id: str, *, base_model=None, job_id=None, dataset_path=None,
                 hyperparameters=None, metrics=None, tags=(), stage="candidate", notes="") -> ModelVersion:
        """Add a version, or update the given fields of an existing one (metrics and tags merge)."""
        name = parse_model_name(model_id)
        task, version = parse_suffix(name["suffix"])
        old = self.find(model_id)
        if stage not in STAGES:
            raise ValueError(tr("Stadio sconosciuto: {s}", "Unknown stage: {s}", s=stage))
        mv = old or ModelVersion(model_id, created_at=_now(), stage=stage)
        mv.base_model = base_model or mv.base_model or name["base"]
        mv.task, mv.version = mv.task or task, mv.version if mv.version is not None else version
        mv.job_id = job_id or mv.job_id
        if dataset_path:
            mv.dataset_path, mv.dataset_sha256 = str(dataset_path), file_sha256(dataset_path)
        mv.hyperparameters = hyperparameters or mv.hyperparameters
        mv.metrics = {**mv.metrics, **(metrics or {})}
        mv.tags = sorted(set(mv.tags) | set(tags))
        mv.notes = notes or mv.notes
        mv.updated_at = _now()
        self._save(mv)
        if old is None:
            self._log_stage(model_id, None, mv.stage, "register")
        return mv

    def _save(self, mv: ModelVersion) -> None:
        row = mv.to_dict()
        for key in _JSON_FIELDS:
            row[key] = json.dumps(row[key], ensure_ascii=False, sort_keys=True)
        cols = ", ".join(row)
        with closing(self._connect()) as db, db:
            db.execute(f"INSERT OR REPLACE INTO models ({cols}) VALUES ({', '.join('?' * len(row))})",
                       list(row.values()))

    def _log_stage(self, model_id, old, new, reason="") -> None:
        with closing(self._connect()) as db, db:
            db.execute("INSERT INTO stage_changes (model_id, old_stage, new_stage, reason, at) VALUES (?, ?, ?, ?, ?)",
                       (model_id, old, new, reason, _now()))

    def set_stage(self, model_id: str, stage: str, reason: str = "") -> ModelVersion:
        """Move a version to ``stage``; promoting archives the task's current production version."""
        if stage not in STAGES:
            raise ValueError(tr("Stadio sconosciuto: {s}", "Unknown stage: {s}", s=stage))
        mv = self.get(model_id)
        if stage == "production":
            for other in self.list(stage="production", task=mv.task):
                if other.model_id != model_id:
                    self._move(other, "archived", tr("sostituito da {m}", "replaced by {m}", m=model_id))
        return self._move(mv, stage, reason)

    def _move(self, mv: ModelVersion, stage: str, reason: str) -> ModelVersion:
        if mv.stage != stage:
            old, mv.stage, mv.updated_at = mv.stage, stage, _now()
            self._save(mv)
            self._log_stage(mv.model_id, old, stage, reason)
        return mv

    def promote(self, model_id: str, reason: str = "") -> ModelVersion:
        return self.set_stage(model_id, "production", reason)

    def archive(self, model_id: str, reason: str = "") -> ModelVersion:
        return self.set_stage(model_id, "archived", reason)

    def rollback(self, task: str | None = None) -> ModelVersion:
        """Put back in production the version that was there before the current one."""
        current = self.production(task)
        with closing(self._connect()) as db:
            rows = db.execute("SELECT model_id FROM stage_changes WHERE new_stage = 'production' "
                              "ORDER BY id DESC").fetchall()
        for row in rows:
            mv = self.find(row["model_id"])
            if mv and mv.model_id != current.model_id and mv.task == current.task:
                self._move(current, "archived", tr("rollback", "rollback"))
                return self._move(mv, "production", tr("rollback da {m}", "rollback from {m}", m=current.model_id))
        raise LookupError(tr("Nessuna versione precedente in produzione per {t}.",
                             "No previous production version for {t}.", t=current.task))

    def delete(self, model_id: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("DELETE FROM models WHERE model_id = ?", (model_id,))

    # -- reading
    def find(self, model_id: str) -> ModelVersion | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT * FROM models WHERE model_id = ?", (model_id,)).fetchone()
        return self._from_row(row) if row else None

    def get(self, model_id: str) -> ModelVersion:
        mv = self.find(model_id)
        if mv is None:
            raise KeyError(tr("Modello non registrato: {m}", "Model not registered: {m}", m=model_id))
        return mv

    @staticmethod
    def _from_row(row) -> ModelVersion:
        data = dict(row)
        for key in _JSON_FIELDS:
            data[key] = json.loads(data[key])
        return ModelVersion(**data)

    def list(self, *, stage=None, task=None, tag=None, base_model=None, search=None) -> list[ModelVersion]:
        """Versions matching every given filter, newest first."""
        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM models ORDER BY created_at DESC, rowid DESC").fetchall()
        out = [self._from_row(r) for r in rows]
        return [m for m in out if (stage is None or m.stage == stage) and (task is None or m.task == task)
                and (tag is None or tag in m.tags) and (base_model is None or m.base_model == base_model)
                and (not search or search.lower() in f"{m.model_id} {m.notes} {' '.join(m.tags)}".lower())]

    def production(self, task: str | None = None) -> ModelVersion:
        found = self.list(stage="production", task=task)
        if not found:
            raise LookupError(tr("Nessun modello in produzione{t}.", "No model in production{t}.",
                                 t=f" ({task})" if task else ""))
        return found[0]

    def frame(self, **filters):
        """The registry as a DataFrame (one row per version)."""
        import pandas as pd

        cols = list(ModelVersion.__dataclass_fields__)
        return pd.DataFrame([m.to_dict() for m in self.list(**filters)], columns=cols)

    def history(self, model_id: str | None = None):
        import pandas as pd

        with closing(self._connect()) as db:
            rows = db.execute("SELECT * FROM stage_changes ORDER BY id").fetchall()
        frame = pd.DataFrame([dict(r) for r in rows], columns=["id", "model_id", "old_stage", "new_stage", "reason", "at"])
        return frame if model_id is None else frame[frame.model_id == model_id]

    def compare(self, *model_ids: str):
        """Versions side by side: one column per model, one row per field, hyperparameter and metric."""
        import pandas as pd

        table = {}
        for mid in model_ids:
            mv = self.get(mid).to_dict()
            flat = {k: v for k, v in mv.items() if k not in _JSON_FIELDS}
            flat["tags"] = ", ".join(mv["tags"])
            flat |= {f"hp.{k}": v for k, v in mv["hyperparameters"].items()}
            flat |= {f"metric.{k}": v for k, v in mv["metrics"].items()}
            table[mid] = flat
        return pd.DataFrame(table)

    # -- the backend
    def import_from_backend(self, client, *, tags=("importato",)) -> list[ModelVersion]:
        """Register every succeeded fine-tuning job and every fine-tuned model the backend lists."""
        seen = []
        for job in client.fine_tuning.jobs.list(limit=100):
            if job.status == "succeeded" and job.fine_tuned_model:
                seen.append(self.register(job.fine_tuned_model, base_model=job.model, job_id=job.id,
                                          hyperparameters=_job_hyperparameters(job),
                                          metrics={"trained_tokens": job.trained_tokens}, tags=tags,
                                          notes=tr("file di training {f}", "training file {f}", f=job.training_file)))
        known = {m.model_id for m in seen}
        for model in client.models.list():
            if is_fine_tuned(model.id) and model.id not in known and \
                    parse_ft_model_name(model.id)["checkpoint_step"] is None:
                seen.append(self.register(model.id, tags=tags))
        return seen


def _job_hyperparameters(job) -> dict:
    method = getattr(job, "method", None)
    hp = None
    if method is not None and getattr(method, "type", None):
        section = getattr(method, method.type, None)
        hp = getattr(section, "hyperparameters", None)
    hp = hp or job.hyperparameters
    return hp.model_dump(exclude_none=True) if hasattr(hp, "model_dump") else dict(hp or {})


# ----------------------------------------------------------------------------- router
def _fallback_errors():
    import openai

    # Errors where another model may well answer; a 400 (bad request) would fail everywhere.
    return (openai.NotFoundError, openai.PermissionDeniedError, openai.RateLimitError,
            openai.InternalServerError, openai.APIConnectionError, openai.APITimeoutError)


class Router:
    """Send chat requests to a primary model, falling back along a chain on errors or retired
    models, optionally sending a share of traffic to a candidate version; logs who answered."""

    def __init__(self, client, primary: str, fallbacks=(), *, split: tuple[str, float] | None = None,
                 max_retries: int = 0, seed: int | None = None):
        self.client = client.with_options(max_retries=max_retries)  # fail fast, then fall back
        self.chain = [primary, *[f for f in fallbacks if f != primary]]
        self.split = split
        self.rng = random.Random(seed)
        self.log: list[dict] = []

    @classmethod
    def from_registry(cls, client, registry: Registry, task: str | None = None, *, base_fallback=True, **kw):
        """Primary = the task's production version; fallbacks = earlier archived versions, then the base."""
        prod = registry.production(task)
        earlier = [m.model_id for m in registry.list(stage="archived", task=prod.task)]
        chain = earlier + ([prod.base_model] if base_fallback and prod.base_model else [])
        return cls(client, prod.model_id, chain, **kw)

    def order(self) -> tuple[list[str], str]:
        """The models to try for one request and the variant name ("primary" or "split")."""
        if self.split and self.rng.random() < self.split[1]:
            return [self.split[0], *[m for m in self.chain if m != self.split[0]]], "split"
        return list(self.chain), "primary"

    def chat(self, messages: list, **params):
        """Like ``client.chat.completions.create`` without ``model``; raises only if all fail."""
        models, variant = self.order()
        errors, start = [], time.perf_counter()
        for model in models:
            try:
                resp = self.client.chat.completions.create(model=model, messages=messages, **params)
            except _fallback_errors() as exc:
                errors.append({"model": model, "error": f"{type(exc).__name__}: {getattr(exc, 'code', None) or exc}"})
                continue
            self._record(models[0], model, variant, errors, start)
            return resp
        self._record(models[0], None, variant, errors, start)
        raise RuntimeError(tr("Nessun modello ha risposto: {e}", "No model answered: {e}",
                              e="; ".join(e["error"] for e in errors)))

    def _record(self, first, answered, variant, errors, start) -> None:
        self.log.append({"at": _now(), "variant": variant, "first_choice": first, "answered_by": answered,
                         "fallback": answered != first, "errors": errors,
                         "latency_s": round(time.perf_counter() - start, 3)})

    def log_frame(self):
        import pandas as pd

        return pd.DataFrame(self.log, columns=["at", "variant", "first_choice", "answered_by", "fallback",
                                               "errors", "latency_s"])

    def stats(self):
        """How many requests each model answered (None = nobody)."""
        return self.log_frame().answered_by.value_counts(dropna=False)
