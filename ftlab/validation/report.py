"""The result of ``validate``: issues, counts and token statistics (data only).

Plots and the notebook's HTML view are in ``display.py``; the ``Report`` methods that draw just
call it, so notebooks keep writing ``report.plot_tokens()``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from ftlab import tokens
from ftlab.i18n import tr
from ftlab.validation.rules import RULES, SEVERITIES


@dataclass
class Issue:
    code: str
    severity: str
    line: int | None
    message_index: int | None
    message: str
    example: int | None = None   # 1-based example number (the line, for files)
    file: str = "training"
    values: dict = field(default_factory=dict, repr=False)


def issues_of(raw: list, file: str) -> list[Issue]:
    """``Issue`` objects, in line then message order, from the scanner's ``(code, line, index, values)``."""
    out = []
    for code, line, index, values in sorted(raw, key=lambda t: (t[1] or 0, t[2] or 1 << 30)):
        values = dict(values, line=line, message_index=index)
        rule = RULES[code]
        out.append(Issue(code, rule.severity, line, index, rule.message(values), line, file, values))
    return out


def _count(n: int, it_one: str, it_many: str, en_one: str, en_many: str) -> str:
    """"1 errore", "2 errori", "0 errori" (English with FTLAB_LANG=en): the noun agrees with n."""
    return f"{n} " + (tr(it_one, en_one) if n == 1 else tr(it_many, en_many))


class Report:
    """What ``validate`` found: issues (at most ``ISSUES_PER_CODE`` per code), exact counts per
    code, tokens per example and, with labels, examples per class."""

    def __init__(self, *, source: str, model: str, fmt: str | None, n_examples: int, n_lines: int,
                 issues: list[Issue], counts: dict, token_counts: list[int], labels: dict | None,
                 validation_token_counts: list[int] | None = None):
        self.source, self.model, self.format = source, model, fmt
        self.n_examples, self.n_lines = n_examples, n_lines
        self.issues, self.counts = issues, counts
        self.token_counts = token_counts
        self.validation_token_counts = validation_token_counts  # of the validation file, if any
        self.token_stats = tokens.token_stats(token_counts)
        self.label_counts = labels  # label -> number of examples, or None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not any(RULES[c].severity == "error" for c, n in self.counts.items() if n)

    def job_error(self) -> dict | None:
        """The ``error`` OpenAI would put on a job trained on this file (None if it would start).

        The rule is the sandbox's (``ftlab.sandbox.job_errors``): it is what the server answers.
        """
        from ftlab.sandbox.job_errors import job_error
        return job_error(self)

    def to_frame(self):
        import pandas as pd
        cols = ["code", "severity", "file", "line", "message_index", "message"]
        frame = pd.DataFrame([{c: getattr(i, c) for c in cols} for i in self.issues], columns=cols)
        return frame.astype({"line": "Int64", "message_index": "Int64"})

    def to_dict(self) -> dict:
        return {"source": self.source, "model": self.model, "format": self.format, "ok": self.ok,
                "n_examples": self.n_examples, "n_lines": self.n_lines, "counts": self.counts,
                "token_stats": self.token_stats, "label_counts": self.label_counts,
                "job_error": self.job_error(),
                "issues": [{k: v for k, v in asdict(i).items() if k != "values"} for i in self.issues]}

    def to_json(self, **kw) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **kw)

    def summary(self) -> str:
        severity = {c: RULES[c].severity for c in self.counts}
        n_err = sum(n for c, n in self.counts.items() if severity[c] == "error")
        n_warn = sum(n for c, n in self.counts.items() if severity[c] == "warning")
        s = self.token_stats
        head = "{}: {} ({}), {}, {}.".format(
            self.source, _count(self.n_examples, "esempio", "esempi", "example", "examples"),
            self.format or "?", _count(n_err, "errore", "errori", "error", "errors"),
            _count(n_warn, "avviso", "avvisi", "warning", "warnings"))
        verdict = tr("Pronto per il caricamento.", "Ready to upload.") if self.ok else tr(
            "Da correggere prima del caricamento.", "Fix it before uploading.")
        toks = tr("Token per esempio ({m}): min {min}, mediana {median}, media {mean}, max {max}, p10 {p10}, p90 {p90}; totale {total}.",
                  "Tokens per example ({m}): min {min}, median {median}, mean {mean}, max {max}, p10 {p10}, p90 {p90}; total {total}.",
                  m=self.model, **{k: s[k] for k in ("min", "median", "mean", "max", "p10", "p90", "total")})
        lines = [head + " " + verdict, toks]
        for code, n in sorted(self.counts.items(), key=lambda kv: SEVERITIES.index(severity[kv[0]])):
            lines.append(f"  [{severity[code]}] {code}: {n}")
        if self.label_counts:
            lines.append(tr("Classi: ", "Classes: ") + ", ".join(f"{k}={v}" for k, v in self.label_counts.items()))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def plot_tokens(self, ax=None):
        """Histogram of tokens per example, with the model's limit if it is in view."""
        from ftlab.validation.display import plot_tokens
        return plot_tokens(self, ax)

    def plot_balance(self, ax=None):
        """Bar chart of examples per class (needs ``label_key`` or ``label`` in validate)."""
        from ftlab.validation.display import plot_balance
        return plot_balance(self, ax)

    def _repr_html_(self) -> str:
        from ftlab.validation.display import report_html
        return report_html(self)
