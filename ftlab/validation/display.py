"""How a ``Report`` looks: the token histogram, the class-balance chart and the notebook's HTML."""
from __future__ import annotations

import html

from ftlab.i18n import tr
from ftlab.openai_spec import token_limit
from ftlab.validation.rules import RULES


def plot_tokens(report, ax=None):
    """Histogram of tokens per example, with the model's limit if it is in view."""
    import matplotlib.pyplot as plt
    counts = report.token_counts
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    ax.hist(counts, bins=min(50, max(5, len(counts) // 5 or 5)), color="#3b7dd8")
    ax.set_xlabel(tr("token per esempio", "tokens per example"))
    ax.set_ylabel(tr("esempi", "examples"))
    ax.set_title(tr("Lunghezza degli esempi ({m})", "Example length ({m})", m=report.model))
    limit = token_limit(report.model)
    if counts and max(counts) > limit * 0.5:
        ax.axvline(limit, color="red", linestyle="--", label=tr("limite", "limit"))
        ax.legend()
    return ax


def plot_balance(report, ax=None):
    """Bar chart of examples per class (needs ``label_key`` or ``label`` in validate)."""
    import matplotlib.pyplot as plt
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    counts = report.label_counts or {}
    ax.bar([str(k) for k in counts], list(counts.values()), color="#e08a2c")
    ax.set_ylabel(tr("esempi", "examples"))
    ax.set_title(tr("Equilibrio delle classi", "Class balance") if counts else
                 tr("Nessuna etichetta: usa label_key o label", "No labels: use label_key or label"))
    ax.tick_params(axis="x", rotation=30)
    return ax


def report_html(report) -> str:
    """The verdict, the token statistics, the counts per code and the first 50 issues."""
    color = "#1a7f37" if report.ok else "#c62828"
    head = html.escape(report.summary().split("\n")[0])
    names = "".join(f"<th>{k}</th>" for k in report.token_stats)
    stats = "".join(f"<td>{html.escape(str(v))}</td>" for v in report.token_stats.values())
    counts = "".join(f"<tr><td><code>{c}</code></td><td>{RULES[c].severity}</td><td>{n}</td></tr>"
                     for c, n in report.counts.items())
    frame = report.to_frame().head(50)
    issues = frame.to_html(index=False, na_rep="", escape=True) if len(frame) else ""
    more = tr("(primi 50 di {n})", "(first 50 of {n})", n=len(report.issues)) if len(report.issues) > 50 else ""
    title = tr("Token per esempio", "Tokens per example")
    return (f"<div><p style='color:{color};font-weight:bold'>{head}</p>"
            f"<p>{title}</p><table><tr>{names}</tr><tr>{stats}</tr></table>"
            + (f"<table><tr><th>code</th><th>severity</th><th>n</th></tr>{counts}</table>" if counts else "")
            + f"{issues}<p>{more}</p></div>")
