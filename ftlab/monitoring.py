"""Read a fine-tuning job's metrics, plot them, and say in plain Italian what they mean.

Sources: the job's result file (a CSV, which OpenAI serves base64-encoded) and its
``metrics`` events; both become one DataFrame indexed by ``step``. Checkpoints (one per epoch)
give the "best checkpoint" by validation loss.
"""
from __future__ import annotations

import base64
import binascii
import io
import math
from dataclasses import dataclass

import pandas as pd

from ftlab.i18n import num, tr

METRICS = ["train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
           "full_valid_loss", "full_valid_mean_token_accuracy"]
# The result CSV names the training accuracy differently from the events.
_CSV_RENAMES = {"train_accuracy": "train_mean_token_accuracy"}


# --------------------------------------------------------------------------- reading

def result_csv_text(content) -> str:
    """A result file's CSV text from its content (bytes or str): OpenAI serves it base64-encoded,
    older files and other servers plain; both are accepted."""
    error = ValueError(tr("Il file dei risultati non è un CSV (né CSV in base64).",
                          "The result file is not a CSV (nor base64 CSV)."))
    try:
        text = content.decode("utf-8-sig") if isinstance(content, bytes) else str(content)
        if not text.lstrip().startswith("step"):
            text = base64.b64decode(text.strip(), validate=True).decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise error from None
    if not text.lstrip().startswith("step"):
        raise error
    return text


def read_result_file(client, file_id: str) -> str:
    """The one way the course reads a result file: download it and return its CSV text."""
    return result_csv_text(client.files.content(file_id).content)


def read_result_csv(content) -> pd.DataFrame:
    """Parse a result file (bytes or str, plain CSV or base64 of it) into a frame by step."""
    frame = pd.read_csv(io.StringIO(result_csv_text(content))).rename(columns=_CSV_RENAMES)
    return frame.set_index("step").sort_index().apply(pd.to_numeric, errors="coerce")


def events_frame(events) -> pd.DataFrame:
    """Metrics events (any order, duplicates allowed) → one row per step."""
    rows = [dict(e.data) for e in events
            if getattr(e, "type", None) == "metrics" and isinstance(getattr(e, "data", None), dict)
            and "step" in e.data]
    if not rows:
        return pd.DataFrame(columns=METRICS, index=pd.Index([], name="step"), dtype=float)
    frame = pd.DataFrame(rows).drop_duplicates("step", keep="last").set_index("step").sort_index()
    return frame.drop(columns=["total_steps"], errors="ignore").apply(pd.to_numeric, errors="coerce")


def combine(csv: pd.DataFrame | None, events: pd.DataFrame | None) -> pd.DataFrame:
    """One frame: the result CSV where present, filled in from the metrics events."""
    parts = [f for f in (csv, events) if f is not None and not f.empty]
    if not parts:
        return pd.DataFrame(columns=METRICS, index=pd.Index([], name="step"), dtype=float)
    frame = parts[0] if len(parts) == 1 else parts[0].combine_first(parts[1])
    ordered = [c for c in METRICS if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in ordered]]
    frame.index = frame.index.astype(int)
    frame.index.name = "step"
    return frame


def result_frame(client, job) -> pd.DataFrame | None:
    """The job's result file as a frame, or None when the job has none (yet)."""
    if not job.result_files:
        return None
    return read_result_csv(read_result_file(client, job.result_files[0]))


def metrics_frame(client, job_id: str) -> pd.DataFrame:
    """All metrics of a job: result CSV (when finished) combined with its metrics events."""
    job = client.fine_tuning.jobs.retrieve(job_id)
    events = list(client.fine_tuning.jobs.list_events(job_id, limit=100))
    return combine(result_frame(client, job), events_frame(events))


def checkpoints_frame(client, job_id: str) -> pd.DataFrame:
    """The job's checkpoints (one per epoch, the last 3 kept), oldest first."""
    rows = [{"step": c.step_number, "checkpoint": c.fine_tuned_model_checkpoint, "id": c.id,
             **{m: getattr(c.metrics, m, None) for m in METRICS}}
            for c in client.fine_tuning.jobs.checkpoints.list(job_id, limit=100)]
    columns = ["step", "checkpoint", "id"] + METRICS
    return pd.DataFrame(rows, columns=columns).sort_values("step").reset_index(drop=True)


def best_checkpoint(checkpoints: pd.DataFrame):
    """The checkpoint row with the lowest validation loss (full one when available), or None."""
    for column in ("full_valid_loss", "valid_loss"):
        if column in checkpoints and checkpoints[column].notna().any():
            return checkpoints.loc[checkpoints[column].astype(float).idxmin()]
    return None


# --------------------------------------------------------------------------- plots

def smooth(series: pd.Series, weight: float = 0.6) -> pd.Series:
    """TensorBoard-style exponential smoothing (0 = none, 0.9 = strong), skipping missing points."""
    values = series.dropna().astype(float)
    return values if weight <= 0 else values.ewm(alpha=1 - weight, adjust=False).mean()


def _plot(frame, columns, ax, smoothing, ylabel, title):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for column, label in columns:
        if column not in frame or frame[column].isna().all():
            continue
        raw = frame[column].dropna()
        style = "o-" if column.startswith("full_") else "-"
        line, = ax.plot(raw.index, raw.values, style, alpha=0.3 if smoothing > 0 else 1.0,
                        label=None if smoothing > 0 else label)
        if smoothing > 0:
            ax.plot(raw.index, smooth(raw, smoothing).values, style, color=line.get_color(),
                    label=label)
    ax.set_xlabel(tr("passo", "step"))
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_loss(frame, ax=None, smoothing: float = 0.6, title=None):
    """Training/validation loss (raw lines faint, smoothed lines solid)."""
    columns = [("train_loss", "training"), ("valid_loss", tr("validazione", "validation")),
               ("full_valid_loss", tr("validazione completa", "full validation"))]
    return _plot(frame, columns, ax, smoothing, "loss", title)


def plot_accuracy(frame, ax=None, smoothing: float = 0.6, title=None):
    """Mean token accuracy on training and validation."""
    columns = [("train_mean_token_accuracy", "training"),
               ("valid_mean_token_accuracy", tr("validazione", "validation")),
               ("full_valid_mean_token_accuracy", tr("validazione completa", "full validation"))]
    return _plot(frame, columns, ax, smoothing, tr("accuratezza sui token", "token accuracy"), title)


def plot_metrics(frame, smoothing: float = 0.6, title=None):
    """Loss and token accuracy side by side; returns the matplotlib Figure."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5))
    plot_loss(frame, left, smoothing)
    plot_accuracy(frame, right, smoothing)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- diagnosis

@dataclass
class Overfitting:
    """Result of ``check_overfitting``: ``start_step`` is where validation loss stops falling."""
    detected: bool
    start_step: int | None
    best_valid_loss: float | None
    final_valid_loss: float | None
    rise: float  # relative rise of the smoothed validation loss after its minimum
    train_falling: bool


def _validation_series(frame) -> pd.Series:
    full = frame["full_valid_loss"].dropna() if "full_valid_loss" in frame else pd.Series(dtype=float)
    if len(full) >= 3:
        return full
    return frame["valid_loss"].dropna() if "valid_loss" in frame else pd.Series(dtype=float)


def check_overfitting(frame, *, smoothing: float = 0.6, tolerance: float = 0.05) -> Overfitting:
    """Overfitting = smoothed validation loss rises more than ``tolerance`` above its minimum
    while the smoothed training loss keeps falling after that minimum."""
    valid = _validation_series(frame)
    if len(valid) < 3 or "train_loss" not in frame or frame["train_loss"].isna().all():
        return Overfitting(False, None, None, None, 0.0, False)
    # Full-validation points are exact per-epoch values: smoothing them would only add lag.
    s_valid = valid.astype(float) if valid.name == "full_valid_loss" else smooth(valid, smoothing)
    best_step = int(s_valid.idxmin())
    best, final = float(s_valid.min()), float(s_valid.iloc[-1])
    rise = (final - best) / best if best > 0 else 0.0
    s_train = smooth(frame["train_loss"], smoothing)
    before = s_train[s_train.index <= best_step]
    train_at_best = float(before.iloc[-1]) if len(before) else float(s_train.iloc[0])
    train_falling = float(s_train.iloc[-1]) < train_at_best
    detected = rise > tolerance and train_falling and best_step < int(valid.index[-1])
    return Overfitting(detected, best_step if detected else None, best, final, rise, train_falling)


def diagnose(frame, checkpoints: pd.DataFrame | None = None) -> str:
    """A few Italian sentences a student can act on."""
    if frame is None or "train_loss" not in frame or frame["train_loss"].dropna().empty:
        return tr("Ancora nessuna metrica: il job non ha iniziato ad addestrare.",
                  "No metrics yet: the job has not started training.")
    train = smooth(frame["train_loss"])
    lines = [tr("Training loss: da {a} a {b}.", "Training loss: from {a} to {b}.",
                a=num(train.iloc[0], 3), b=num(train.iloc[-1], 3))]
    if train.iloc[-1] > 0.95 * train.iloc[0]:
        lines.append(tr("La training loss quasi non scende: controllate i dati, aumentate le epoche "
                        "o learning_rate_multiplier.",
                        "Training loss barely falls: check the data, raise epochs or "
                        "learning_rate_multiplier."))
    if _validation_series(frame).empty:
        lines.append(tr("Senza file di validazione non si può riconoscere l'overfitting.",
                        "Without a validation file overfitting cannot be recognised."))
        return "\n".join(lines)
    check = check_overfitting(frame)
    if check.detected:
        lines.append(tr(
            "Overfitting: dal passo {s} la validation loss risale ({b} → {f}, +{r:.0%}) "
            "mentre la training loss continua a scendere: il modello memorizza gli esempi.",
            "Overfitting: from step {s} validation loss rises ({b} → {f}, +{r:.0%}) "
            "while training loss keeps falling: the model memorises the examples.",
            s=check.start_step, b=num(check.best_valid_loss, 3), f=num(check.final_valid_loss, 3), r=check.rise))
        lines.append(_advice(check, checkpoints))
    elif check.best_valid_loss is not None and check.rise == 0:
        lines.append(tr("Nessun overfitting: la validation loss scende fino alla fine ({f}); "
                        "qualche epoca in più potrebbe ancora aiutare.",
                        "No overfitting: validation loss falls until the end ({f}); "
                        "a few more epochs might still help.", f=num(check.final_valid_loss, 3)))
    elif check.best_valid_loss is not None:
        lines.append(tr("Nessun overfitting evidente: la validation loss si è stabilizzata "
                        "intorno a {f}; le epoche sono adeguate.",
                        "No clear overfitting: validation loss settled around {f}; "
                        "the number of epochs is about right.", f=num(check.final_valid_loss, 3)))
    else:
        lines.append(tr("Troppi pochi punti di validazione per giudicare.",
                        "Too few validation points to judge."))
    return "\n".join(lines)


def _advice(check: Overfitting, checkpoints) -> str:
    best = best_checkpoint(checkpoints) if checkpoints is not None and len(checkpoints) else None
    steps_per_epoch = int(checkpoints["step"].diff().dropna().median()) \
        if checkpoints is not None and len(checkpoints) > 1 else None
    parts = []
    if best is not None and int(best["step"]) <= check.start_step:
        parts.append(tr("usate il checkpoint migliore ({c}, passo {s})",
                        "use the best checkpoint ({c}, step {s})",
                        c=best["checkpoint"], s=int(best["step"])))
    elif best is not None:  # only the last 3 epochs are kept: all may be past the turning point
        parts.append(tr("i checkpoint conservati vengono tutti dopo il passo {t} (il meno peggio è "
                        "{c}, passo {s}): meglio riaddestrare",
                        "the kept checkpoints all come after step {t} (the least bad is {c}, "
                        "step {s}): better retrain", t=check.start_step, c=best["checkpoint"],
                        s=int(best["step"])))
    if steps_per_epoch:
        epochs = max(1, math.ceil(check.start_step / steps_per_epoch))
        parts.append(tr("riaddestrate con n_epochs={e}", "retrain with n_epochs={e}", e=epochs))
    parts.append(tr("aggiungete esempi o abbassate learning_rate_multiplier",
                    "add examples or lower learning_rate_multiplier"))
    return tr("Cosa fare: ", "What to do: ") + "; ".join(parts) + "."
