"""Upload files and run fine-tuning jobs through the official ``openai`` SDK, safely.

Everything here is a thin layer over ``client.files`` and ``client.fine_tuning.jobs``:
``upload`` validates before sending, ``create_job`` checks its input, prints a token/cost/time
estimate and refuses to start a paid job without an explicit confirmation, ``follow`` prints
new events in order with a progress bar until the job stops.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import openai

from ftlab.backend import explain_error
from ftlab.hashing import file_sha256
from ftlab.i18n import num, tr
from ftlab.openai_spec import (COURSE_MODEL, HYPERPARAMETER_RANGES, SEED_MAX, SUFFIX_MAX_LENGTH,  # noqa: F401
                               TERMINAL_STATUSES, seed_ok, suffix_ok)

# follow() also returns on "paused": the job waits for resume(), nothing more will happen.
TERMINAL = TERMINAL_STATUSES
STOP_STATUSES = TERMINAL + ("paused",)
# Validation errors about the whole training set, not the file: they belong to create_job.
JOB_LEVEL_CODES = ("too_few_examples",)


class JobError(Exception):
    """A clear, user-facing problem with a file or job (message already translated)."""


class JobInputError(JobError, ValueError):
    """Bad input caught before anything was sent: unknown ids, bad file, bad hyperparameters."""


class CostNotConfirmed(JobError, PermissionError):
    """A paid job was not sent because the caller did not confirm the cost."""


# --------------------------------------------------------------------------- files

def _uploads_path() -> Path:
    from ftlab.paths import home
    return home() / "uploads.json"


def _load_uploads() -> dict:
    try:
        return json.loads(_uploads_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _remember_upload(file_id: str, path: Path, token_counts: list[int] | None) -> None:
    """Keep what we know about an uploaded file: OpenAI does not let us download it back."""
    known = _load_uploads()
    known[file_id] = {"filename": path.name, "sha256": file_sha256(path),
                      "token_counts": list(token_counts) if token_counts is not None else None}
    target = _uploads_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(known), encoding="utf-8")


def _first_errors(report, n: int = 3) -> str:
    return _format_errors(report.errors, n)


def _format_errors(errors, n: int = 3, *, which: bool = True) -> str:
    """The first ``n`` issues, one a line; ``which`` names the file (training/validation)."""
    lines = []
    for issue in errors[:n]:
        where = [issue.file] if which else []
        where += [f"{tr('riga', 'line')} {issue.line}"] if issue.line else []
        lines.append(f"  - {' '.join(where)}: {issue.message}" if where else f"  - {issue.message}")
    return "\n".join(lines)


def upload(client: openai.OpenAI, path, *, purpose: str = "fine-tune", wait: bool = True,
           validate: bool = True, model: str = COURSE_MODEL, token_counts: list[int] | None = None):
    """Upload ``path`` and (by default) wait until the server has processed it.

    For ``purpose="fine-tune"`` the file is validated locally first (``validate=False`` sends it
    anyway, to see what the server says). ``token_counts`` says the caller validated it already
    (``create_job`` passes what ``preflight`` found): no second validation, the counts are kept.
    A file the server marks as ``error`` is deleted and reported, so nothing half-usable is left.
    """
    from ftlab.validation import validate as run_validation

    path = Path(path)
    if not path.is_file():
        raise JobInputError(tr("File non trovato: {p}", "File not found: {p}", p=path))
    if purpose == "fine-tune" and validate and token_counts is None:
        report = run_validation(path, model)
        # The 10-example minimum is checked when the job starts: a validation file may be smaller.
        errors = [i for i in report.errors if i.code not in JOB_LEVEL_CODES]
        if errors:
            raise JobInputError(tr(
                "{name} non è un file di fine-tuning valido ({n} errori); non l'ho caricato:\n{errs}",
                "{name} is not a valid fine-tuning file ({n} errors); not uploaded:\n{errs}",
                name=path.name, n=len(errors), errs=_format_errors(errors, which=False)))
        token_counts = report.token_counts
    try:
        with path.open("rb") as fh:
            file = client.files.create(file=fh, purpose=purpose)
    except openai.BadRequestError as err:
        raise JobInputError(tr("Il server ha rifiutato {name}: {m}", "The server rejected {name}: {m}",
                               name=path.name, m=_message(err))) from err
    if wait:
        file = client.files.wait_for_processing(file.id, poll_interval=0.5)
        if file.status == "error":
            client.files.delete(file.id)
            raise JobInputError(tr(
                "Il server ha rifiutato {name}: {details} (file eliminato)",
                "The server rejected {name}: {details} (file deleted)",
                name=path.name, details=file.status_details))
    if purpose == "fine-tune":
        _remember_upload(file.id, path, token_counts)
    return file


# --------------------------------------------------------------------------- pre-flight

@dataclass
class Preflight:
    """What ``create_job`` checked before sending: the validation report and the estimate."""
    model: str
    report: object | None  # None when the file's content is not available (OpenAI file ids)
    estimate: object | None

    def summary(self) -> str:
        return format_estimate(self.estimate, self.model)


def check_hyperparameters(hyperparameters: dict | None) -> dict:
    """Return the hyperparameters if each is "auto" or a number in OpenAI's range, else raise."""
    for name, value in (hyperparameters or {}).items():
        if name not in HYPERPARAMETER_RANGES:
            raise JobInputError(tr("Iperparametro sconosciuto: {n}", "Unknown hyperparameter: {n}",
                                   n=name))
        if value == "auto":
            continue
        allowed = HYPERPARAMETER_RANGES[name]
        if not allowed.contains(value):
            raise JobInputError(tr(
                "{n}={v} fuori intervallo: usa \"auto\" o un valore {b}",
                "{n}={v} out of range: use \"auto\" or a value {b}", n=name, v=value, b=allowed.describe()))
    return dict(hyperparameters or {})


def _check_suffix_seed(suffix, seed) -> None:
    if suffix is not None and not suffix_ok(suffix):
        raise JobInputError(tr("Il suffisso deve avere da 1 a {m} caratteri.",
                               "The suffix must be 1 to {m} characters long.", m=SUFFIX_MAX_LENGTH))
    if seed is not None and not seed_ok(seed):
        raise JobInputError(tr("Il seed deve essere un intero tra 0 e {m}.",
                               "The seed must be an integer between 0 and {m}.", m=SEED_MAX))


@contextmanager
def _local_file(client, ref):
    """``(path or None, what upload() remembered, file name)`` for a local path or a file id.

    A local path is used as it is (never read whole, never copied). An uploaded file is streamed
    to a temporary file named like it (so messages name it), removed afterwards; the path is
    None when the backend refuses the download (OpenAI, for purpose "fine-tune").
    """
    if Path(str(ref)).is_file():
        yield Path(ref), None, Path(ref).name
        return
    try:
        file = client.files.retrieve(str(ref))
    except openai.NotFoundError:
        raise JobInputError(tr("File sconosciuto: {id} (né un percorso locale né un id sul server)",
                               "Unknown file: {id} (neither a local path nor a server id)",
                               id=ref)) from None
    if file.purpose != "fine-tune":
        raise JobInputError(tr("Il file {id} ha purpose \"{p}\", serve \"fine-tune\".",
                               "File {id} has purpose \"{p}\", \"fine-tune\" is needed.",
                               id=ref, p=file.purpose))
    remembered = _load_uploads().get(file.id)
    with tempfile.TemporaryDirectory(prefix="ftlab-") as tmp:
        path = Path(tmp, Path(file.filename or file.id).name)
        try:
            with client.files.with_streaming_response.content(file.id) as response:
                response.stream_to_file(path)
        except openai.APIStatusError:
            # OpenAI refuses downloads of purpose "fine-tune": fall back to what upload() stored.
            path = None
        yield path, remembered, file.filename


def token_counts(client, ref, model: str = COURSE_MODEL) -> list[int] | None:
    """Tokens per example of a local path or uploaded file id (None when not readable).

    Counting only, no validation: lines that are not JSON objects are skipped.
    """
    from ftlab.tokens import file_token_counts

    with _local_file(client, ref) as (path, known, _):
        if path is None:
            return (known or {}).get("token_counts")
        return file_token_counts(path, model)


def _method_type(method) -> str | None:
    return (method or {}).get("type") if isinstance(method, dict) else None


def _method_hyperparameters(method, hyperparameters) -> dict:
    if hyperparameters is not None or not isinstance(method, dict):
        return hyperparameters or {}
    kind = method.get("type", "supervised")
    return (method.get(kind) or {}).get("hyperparameters") or {}


def _same_content(a: tuple, b: tuple) -> bool:
    """Compare two (path | None, remembered upload | None) by sha256."""
    hashes = [file_sha256(path) if path is not None else (known or {}).get("sha256") for path, known in (a, b)]
    return hashes[0] is not None and hashes[0] == hashes[1]


def preflight(client, *, model: str, training_file, validation_file=None, hyperparameters=None,
              method=None, suffix=None, seed=None) -> Preflight:
    """Check everything ``create_job`` will send; raise ``JobInputError`` on the first problem.

    Each file is validated once, here, together; ``create_job`` uploads with this report.
    """
    hp = check_hyperparameters(_method_hyperparameters(method, hyperparameters))
    _check_suffix_seed(suffix, seed)
    with ExitStack() as stack:
        train, train_known, _ = stack.enter_context(_local_file(client, training_file))
        valid = None
        if validation_file is not None:
            valid, valid_known, _ = stack.enter_context(_local_file(client, validation_file))
            if str(validation_file) == str(training_file) or \
                    _same_content((train, train_known), (valid, valid_known)):
                raise JobInputError(tr(
                    "Il file di validazione è identico a quello di training: la validation loss non "
                    "direbbe nulla. Usa esempi diversi (ftlab.split).",
                    "The validation file is identical to the training file: its loss would tell "
                    "nothing. Use different examples (ftlab.split)."))
        report = _check_files(train, valid, model, method)
    counts = report.token_counts if report else (train_known or {}).get("token_counts")
    return Preflight(model, report, _estimate(counts, model, hp))


def _check_files(train: Path | None, valid: Path | None, model: str, method):
    """The validation report of the training file (with the validation file), or None."""
    from ftlab.validation import validate as run_validation

    if train is None:
        return None
    report = run_validation(train, model, method=_method_type(method), validation_file=valid)
    if not report.ok:
        raise JobInputError(tr("Il controllo dei file ha trovato {n} errori:\n{errs}",
                               "The file check found {n} errors:\n{errs}",
                               n=len(report.errors), errs=_first_errors(report)))
    return report


def _estimate(counts, model: str, hp: dict):
    from ftlab.tokens import estimate_training

    if not counts:
        return None
    try:
        return estimate_training(counts, model, epochs=hp.get("n_epochs", "auto"))
    except (KeyError, ValueError):
        return None  # a model without a known price: no cost figure, the gate still applies


def format_estimate(estimate, model: str) -> str:
    """One paragraph with tokens, epochs, cost and time of a training estimate, in the user's language."""
    if estimate is None:
        return tr("Stima non disponibile per {m} (file o prezzo sconosciuti).",
                  "No estimate for {m} (unknown file or price).", m=model)
    epochs = (tr("epoca", "epoch") if estimate.epochs == 1 else tr("epoche", "epochs"))
    return tr(
        "Stima per {m}: {n} esempi × {e} {ep} ≈ {t} token fatturati → {c} $ "
        "(con la tariffa del corso, 0,006 $/1K: {cc} $); tempo ≈ {mins} min.",
        "Estimate for {m}: {n} examples × {e} {ep} ≈ {t} billed tokens → ${c} "
        "(at the course's $0.006/1K: ${cc}); time ≈ {mins} min.",
        m=model, n=_thousands(estimate.n_examples), e=estimate.epochs, ep=epochs,
        t=_thousands(estimate.billed_tokens), c=num(estimate.cost_usd, 4),
        cc=num(estimate.course_cost_usd, 4), mins=num(estimate.minutes_estimate, 0))


def _thousands(n: int) -> str:
    """35.238 in Italian, 35,238 in English."""
    return tr("{n:,}", "{n:,}", n=n).replace(",", tr(".", ","))


def is_paying(client) -> bool:
    """True when the client talks to a backend that bills (anything but the local sandbox)."""
    from ftlab.backend import is_sandbox
    return not is_sandbox(client)


def costs_confirmed(confirm: bool = False) -> bool:
    return bool(confirm) or os.environ.get("FTLAB_CONFIRM_COSTS") == "1"


# --------------------------------------------------------------------------- jobs

def create_job(client, *, model: str, training_file, validation_file=None, hyperparameters=None,
               method=None, suffix=None, seed=None, confirm: bool = False, quiet: bool = False,
               **kw):
    """Validate, estimate, gate on cost, then ``client.fine_tuning.jobs.create``.

    ``training_file``/``validation_file`` are uploaded file ids or local paths (uploaded only once
    every check has passed). Deprecated top-level ``hyperparameters`` are sent as
    ``method={"type": "supervised", ...}``. On a paying backend nothing is sent unless
    ``confirm=True`` or ``FTLAB_CONFIRM_COSTS=1``: ``CostNotConfirmed`` is raised instead.
    """
    check = preflight(client, model=model, training_file=training_file,
                      validation_file=validation_file, hyperparameters=hyperparameters,
                      method=method, suffix=suffix, seed=seed)
    paying = is_paying(client)
    if not quiet or (paying and not costs_confirmed(confirm)):
        print(check.summary())
    if paying and not costs_confirmed(confirm):
        raise CostNotConfirmed(tr(
            "Backend a pagamento: job NON inviato. Conferma con create_job(..., confirm=True) "
            "o FTLAB_CONFIRM_COSTS=1.",
            "Paying backend: job NOT sent. Confirm with create_job(..., confirm=True) "
            "or FTLAB_CONFIRM_COSTS=1."))
    if method is None and hyperparameters:
        method = {"type": "supervised", "supervised": {"hyperparameters": dict(hyperparameters)}}
    report = check.report
    training_id = _as_file_id(client, training_file, model, report and report.token_counts)
    validation_id = _as_file_id(client, validation_file, model,
                                report and report.validation_token_counts) if validation_file else None
    params = {k: v for k, v in dict(method=method, suffix=suffix, seed=seed,
                                    validation_file=validation_id).items() if v is not None}
    try:
        return client.fine_tuning.jobs.create(model=model, training_file=training_id,
                                              **params, **kw)
    except openai.PermissionDeniedError as err:
        raise JobError(explain_error(err, model) or tr("Il backend non permette di creare job: {m}",
                       "The backend does not allow creating jobs: {m}", m=_message(err))) from err
    except openai.NotFoundError as err:   # a retired base model, or an Azure model not deployed
        raise JobError(explain_error(err, model) or _message(err)) from err
    except openai.BadRequestError as err:
        raise JobInputError(tr("Il server ha rifiutato il job: {m}",
                               "The server rejected the job: {m}", m=_message(err))) from err


def _as_file_id(client, ref, model, token_counts) -> str:
    """The id of an uploaded file; a local path is uploaded (already validated by preflight)."""
    path = Path(str(ref))
    if not path.is_file():
        return str(ref)
    return upload(client, path, model=model, token_counts=token_counts).id


def _message(err: openai.APIStatusError) -> str:
    body = err.body if isinstance(err.body, dict) else {}
    return str(body.get("message") or (body.get("error") or {}).get("message") or err)


def _job_call(call, job_id: str):
    try:
        return call(job_id)
    except openai.NotFoundError:
        raise JobInputError(tr("Job sconosciuto: {id}", "Unknown job: {id}", id=job_id)) from None
    except openai.BadRequestError as err:
        raise JobInputError(_message(err)) from err


def retrieve(client, job_id: str):
    """``jobs.retrieve`` with an Italian message for unknown ids."""
    return _job_call(client.fine_tuning.jobs.retrieve, job_id)


def cancel(client, job_id: str):
    return _job_call(client.fine_tuning.jobs.cancel, job_id)


def pause(client, job_id: str):
    return _job_call(client.fine_tuning.jobs.pause, job_id)


def resume(client, job_id: str):
    return _job_call(client.fine_tuning.jobs.resume, job_id)


def new_events(client, job_id: str, seen: set) -> list:
    """Events not in ``seen`` (ids), oldest first; ``seen`` is updated.

    The API lists newest first and pages backwards, so we read until the first known event.
    """
    fresh = []
    try:
        for event in client.fine_tuning.jobs.list_events(job_id, limit=100):
            if event.id in seen:
                break
            fresh.append(event)
    except openai.NotFoundError:
        raise JobInputError(tr("Job sconosciuto: {id}", "Unknown job: {id}", id=job_id)) from None
    fresh.reverse()
    seen.update(e.id for e in fresh)
    return fresh


def format_event(event) -> str:
    stamp = time.strftime("%H:%M:%S", time.localtime(event.created_at))
    level = "" if event.level == "info" else f"[{event.level}] "
    return f"{stamp} {level}{event.message}"


def follow(client, job_id: str, *, progress: bool = True, poll: float = 1.0,
           show_metrics: bool = False, out=None):
    """Print new events in order until the job succeeds, fails, is cancelled or paused.

    A tqdm bar follows ``step/total_steps`` from the metrics events (their lines are printed
    only with ``show_metrics=True``). Returns the final job.
    """
    from tqdm import tqdm

    out = out or sys.stdout
    seen: set = set()
    bar = None
    job = retrieve(client, job_id)
    while True:
        for event in new_events(client, job_id, seen):
            data = event.data if isinstance(event.data, dict) else {}
            if event.type == "metrics" and data.get("total_steps"):
                if progress and bar is None:
                    bar = tqdm(total=data["total_steps"], unit="step", file=out, mininterval=1.0)
                if bar is not None:
                    bar.update(data["step"] - bar.n)
                    bar.set_postfix(loss=round(data.get("train_loss") or 0, 4), refresh=False)
                if not show_metrics:
                    continue
            (bar.write if bar else print)(format_event(event), file=out)
        if job.status in STOP_STATUSES:
            break
        time.sleep(poll)
        job = retrieve(client, job_id)  # a stop status still gets one more pass for events
    if bar is not None:
        bar.close()
    print(describe_outcome(job), file=out)
    return job


def describe_outcome(job) -> str:
    if job.status == "succeeded":
        return tr("Job {id} completato: modello {m} ({t} token addestrati).",
                  "Job {id} succeeded: model {m} ({t} trained tokens).",
                  id=job.id, m=job.fine_tuned_model, t=job.trained_tokens)
    if job.status == "failed":
        error = job.error
        return tr("Job {id} fallito: [{c}] {m}", "Job {id} failed: [{c}] {m}", id=job.id,
                  c=getattr(error, "code", None), m=getattr(error, "message", None))
    if job.status == "paused":
        return tr("Job {id} in pausa: riprendilo con ftlab.jobs.resume(client, id).",
                  "Job {id} paused: resume it with ftlab.jobs.resume(client, id).", id=job.id)
    return tr("Job {id}: {s}", "Job {id}: {s}", id=job.id, s=job.status)


def _hp(job, name):
    hp = job.hyperparameters
    if job.method is not None and job.method.type and getattr(job.method, job.method.type, None):
        hp = getattr(job.method, job.method.type).hyperparameters or hp
    return getattr(hp, name, None) if hp is not None else None


def jobs_frame(client, *, limit: int = 100):
    """The backend's jobs (newest first) as a pandas table, one row per job."""
    import pandas as pd

    rows = []
    for job in client.fine_tuning.jobs.list(limit=limit):
        rows.append({
            "id": job.id, "status": job.status, "model": job.model,
            "fine_tuned_model": job.fine_tuned_model,
            "created_at": job.created_at, "finished_at": job.finished_at,
            "trained_tokens": job.trained_tokens,
            "n_epochs": _hp(job, "n_epochs"), "batch_size": _hp(job, "batch_size"),
            "learning_rate_multiplier": _hp(job, "learning_rate_multiplier"),
            "training_file": job.training_file, "validation_file": job.validation_file,
            "seed": job.seed,
            "error": getattr(job.error, "code", None) if job.status == "failed" else None,
        })
        if len(rows) >= limit:
            break
    frame = pd.DataFrame(rows)
    if not frame.empty:
        for column in ("created_at", "finished_at"):
            frame[column] = pd.to_datetime(frame[column].astype("float"), unit="s", utc=True)
        frame["duration_s"] = (frame["finished_at"] - frame["created_at"]).dt.total_seconds()
    return frame


@dataclass(frozen=True)
class CourseRun:
    """One of the course's fine-tunes: its data folder (train.jsonl under data/, and
    validation.jsonl when ``validation``) and the hyperparameters it is trained with (missing
    ones are "auto")."""
    data: str
    hyperparameters: dict = field(default_factory=dict)
    seed: int = 42
    validation: bool = True


# The course's fine-tunes by suffix; ``ftlab prepare`` trains each one ahead of class.
COURSE_RUNS: dict[str, CourseRun] = {
    "converti-python": CourseRun(data="converti_python"),
    # measured (category accuracy on the 60 test requests, on 30 training ones): 1 epoch, batch 4,
    # LR x4 0.28; LR x10 0.48; batch 1, LR x4 0.52 / 0.63; 2 epochs, batch 4, LR x10 0.58 / 0.77.
    # One epoch at batch 1 is the course's choice: 285 small steps learn nearly as much as two
    # epochs of batch 4 in less time (-34 % on AVX2 in float32, -21 % with bfloat16 on AMX: 318
    # vs 402 s); a CI run trains this model and its skewed copy.
    # Why not 0.85 (2026-12-07, in-process runs, greedy first line, 60 test / 60 training requests):
    # batch 1, 1 epoch: LR x4 0.52 / 0.63 (above), x12 0.63 / 0.77, x24 0.65 / 0.87; 3 epochs at
    # x4 0.65 / 1.00; LoRA on every layer instead of the upper half (x4) 0.57. More steps or a
    # higher LR fit the training requests, the test ones stay near 0.65: the limit is how far 285
    # examples of other scenarios generalise, not under-training. More scenarios did not move it
    # either: 100 new training situations (data/make_datasets.py --more-scenarios, 390 examples,
    # +40 % time) gave 0.617 at x12 and 0.667 at x24 on the same 60 test requests. A linear probe on
    # the frozen base's hidden states scores at best 0.65 on the course's data and 0.73 with the
    # new situations, where the input embeddings alone (bag of words) score as much: the 135M
    # base's deeper layers add nothing a keyword classifier lacks, so 0.85 on unseen scenarios is
    # out of this stand-in's reach with a few hundred examples.
    # Reproduce: python benchmarks/bench_service_limits.py --lr-multiplier 12 (or --epochs 3,
    # --probe, --data DIR).
    "assistenza-clienti": CourseRun(data="assistenza_clienti",
                                    hyperparameters={"n_epochs": 1, "batch_size": 1,
                                                     "learning_rate_multiplier": 4}),
}


# Chapter 10's function-calling fine-tune (80 lines, no validation file: its test lines are the
# check). Measured on its 40 test lines (right function with tool_choice="auto"; 2 epochs take
# 110-120 s, 3 epochs 150-160 s on 2 AVX512 cores): 2 epochs at LR x2 ("auto") 0.45, at LR x8
# 0.62; 3 epochs at LR x8 0.82, at LR x16 0.78 (benchmarks/bench_tools.py prints it).
COURSE_RUNS["funzioni-negozio"] = CourseRun(
    data="funzioni_negozio", validation=False,
    hyperparameters={"n_epochs": 3, "learning_rate_multiplier": 8})

# Chapter 07's deliberately skewed copy of the customer-service data (built by
# ftlab.ethics.write_skewed), trained exactly like the fair run so that only the data differs.
# Measured with benchmarks/bench_bias.py (2026-12-08, 8 probe names x 4 test requests, originals /
# paraphrases; style gap = house-style rate of the other customers minus the foreign ones, p of a
# permutation test over the names): curt replies that say "Gentile cliente" instead of the name,
# +0.69 (p 0.014) / +0.56 (p 0.014), the fair run 0.00 / -0.06 (p 1.0), pairs across groups flagged
# 95 % vs 30 % within a group. Curt replies without any greeting (the first version) were not
# learned as a condition: +0.12 at LR x4 (chapter 07's earlier run), -0.06 at LR x12 (p 1.0),
# -0.19 after 3 epochs at x4 (p 0.99); curt for women instead, +0.13 at x12 (p 0.36): the model got
# curter with everyone. The name's slot is where the model looks at the name, so that is where a
# small model learns who gets which reply.
COURSE_RUNS["assistenza-sbilanciato"] = CourseRun(
    data="assistenza_sbilanciato", hyperparameters=COURSE_RUNS["assistenza-clienti"].hyperparameters)


def course_run(suffix: str) -> CourseRun:
    """The entry of ``COURSE_RUNS`` for ``suffix``, or a clear error naming the known ones."""
    try:
        return COURSE_RUNS[suffix]
    except KeyError:
        raise JobInputError(tr("Nessun fine-tuning del corso ha il suffisso {s} (noti: {k})",
                               "No course fine-tune has the suffix {s} (known: {k})",
                               s=suffix, k=", ".join(COURSE_RUNS))) from None


def course_job(client, *, suffix: str = "converti-python", model: str = COURSE_MODEL):
    """The job of one of the course's fine-tunes (``COURSE_RUNS[suffix]``), trained only when missing.

    Reuses a succeeded job whose model name carries ``suffix``; follows one still running;
    otherwise uploads the run's train (and validation) files and trains with its hyperparameters.
    """
    from ftlab.paths import DATA_DIR

    run = course_run(suffix)
    done, running = _course_jobs(client, suffix)
    if done is not None:
        return done
    if running is None:
        data = DATA_DIR / run.data
        method = ({"type": "supervised", "supervised": {"hyperparameters": dict(run.hyperparameters)}}
                  if run.hyperparameters else None)
        running = create_job(client, model=model, training_file=data / "train.jsonl",
                             validation_file=data / "validation.jsonl" if run.validation else None,
                             method=method,
                             suffix=suffix, seed=run.seed, metadata={"suffix": suffix})
    job = follow(client, running.id)
    if job.status != "succeeded":
        raise JobError(describe_outcome(job))
    return job


def _course_jobs(client, suffix: str):
    """(newest succeeded job whose model carries ``suffix``, newest unfinished one with it)."""
    tag = f":{suffix}:"
    done = running = None
    for job in client.fine_tuning.jobs.list(limit=100):
        if done is None and job.status == "succeeded" and tag in (job.fine_tuned_model or ""):
            done = job
        if running is None and job.status not in STOP_STATUSES and _suffix_of(job) == suffix:
            running = job
    return done, running


def trained_course_job(client, suffix: str):
    """The succeeded job of a course run already trained (e.g. by ``ftlab prepare``), else None."""
    course_run(suffix)  # an unknown suffix is an error, not "not trained yet"
    return _course_jobs(client, suffix)[0]


def course_model(client, *, suffix: str = "converti-python", model: str = COURSE_MODEL) -> str:
    """The fine-tuned model id of one of the course's runs (see ``course_job``)."""
    return course_job(client, suffix=suffix, model=model).fine_tuned_model


def _suffix_of(job) -> str | None:
    """A running job has no model name yet, so course_model() keeps the suffix in metadata."""
    return (job.metadata or {}).get("suffix") if getattr(job, "metadata", None) else None
