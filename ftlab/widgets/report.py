"""Validation report viewer: pick (or upload) a JSONL file, press "Valida", read the tabs.

Tabs: Errori (every issue with line and message index), Statistiche (token statistics, issue
counts, cost/epoch estimate), Grafici (token-length histogram, class balance when labelled).
Everything is rendered into HTML and Image widgets, so tests can read what a student would see.
"""
from __future__ import annotations

import html
import io
from pathlib import Path

import ipywidgets as widgets

from ftlab import paths
from ftlab.i18n import tr
from ftlab.openai_spec import COURSE_MODEL

DEFAULT_MODEL = COURSE_MODEL
MAX_ROWS = 200  # a broken 100 MB file can have millions of issues; the tab shows the first ones
# Side files next to the datasets that are not training data (labels, evaluation checks)
SIDE_FILES = ("_meta.jsonl", "checks.jsonl")
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


class ReportViewer(widgets.VBox):
    """Choose a file under ``data_dir`` (sub-folders included) or upload one; ``run()`` validates it."""

    def __init__(self, data_dir=None, *, model: str = DEFAULT_MODEL, label=None, label_key=None):
        self.data_dir = Path(data_dir or paths.DATA_DIR)
        self.model, self.label, self.label_key = model, label, label_key
        self.report = None
        self.file = widgets.Dropdown(description=tr("File", "File"),
                                     layout=widgets.Layout(width="70%"))
        self.upload = widgets.FileUpload(accept=".jsonl", multiple=False,
                                         description=tr("Carica", "Upload"))
        self.upload.observe(lambda _: self.save_upload(), names="value")
        self.button = widgets.Button(description=tr("Valida", "Validate"), button_style="primary",
                                     icon="check")
        self.button.on_click(lambda _: self.run())
        self.summary = widgets.HTML()
        self.errors = widgets.HTML()
        self.stats = widgets.HTML()
        self.plots = widgets.VBox()
        self.tabs = widgets.Tab([self.errors, self.stats, self.plots])
        for i, title in enumerate(self.tab_titles()):
            self.tabs.set_title(i, title)
        super().__init__([widgets.HBox([self.file, self.upload, self.button]), self.summary, self.tabs])
        self.refresh_files()

    @property
    def widget(self):
        """The displayable root (the viewer itself), for symmetry with the other forms."""
        return self

    @staticmethod
    def tab_titles() -> list[str]:
        return [tr("Errori", "Errors"), tr("Statistiche", "Statistics"), tr("Grafici", "Plots")]

    def refresh_files(self, select=None) -> None:
        """List every ``.jsonl`` under the data dir, labelled by its relative path."""
        files = sorted(f for f in self.data_dir.rglob("*.jsonl") if not f.name.endswith(SIDE_FILES)) \
            if self.data_dir.exists() else []
        options = [(str(f.relative_to(self.data_dir)), f) for f in files]
        uploads = sorted(_upload_dir().glob("*.jsonl")) if _upload_dir().exists() else []
        options += [(tr("caricato: {n}", "uploaded: {n}", n=f.name), f) for f in uploads]
        self.file.options = options
        if select is not None:
            self.file.value = Path(select)

    def save_upload(self):
        """Copy the uploaded file into ``$FTLAB_HOME/uploads`` (never into the course data) and select it."""
        if not self.upload.value:
            return None
        item = self.upload.value[0]
        target = _upload_dir() / Path(item["name"]).name  # a bare name: no path can escape the dir
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(bytes(item["content"]))
        self.refresh_files(select=target)
        return target

    def run(self, path=None):
        """Validate ``path`` (default: the selected file), fill the summary and the three tabs."""
        from ftlab.validation import validate
        path = Path(path) if path is not None else self.file.value
        if path is None or not Path(path).is_file():
            self.summary.value = tr("❌ Scegli un file esistente.", "❌ Choose an existing file.")
            return None
        self.report = validate(path, model=self.model, label=self.label, label_key=self.label_key)
        self.summary.value = f"<pre>{html.escape(self.report.summary())}</pre>"
        self.errors.value = _errors_html(self.report)
        self.stats.value = _stats_html(self.report, self.model)
        self.plots.children = _plot_images(self.report, labelled=bool(self.label or self.label_key))
        self.tabs.selected_index = 0 if self.report.issues else 1
        return self.report


def _upload_dir() -> Path:
    return paths.home() / "uploads"


def _table(frame, **kw) -> str:
    """A compact, left-aligned HTML table (the widget has no notebook table styling)."""
    html_table = frame.to_html(na_rep="", escape=True, **kw)
    return html_table.replace('<table border="1" class="dataframe">',
                              '<table class="dataframe" style="border-collapse:collapse;text-align:left">')


def _errors_html(report) -> str:
    """Every issue, errors first, then by line; column names in the course's language."""
    frame = report.to_frame()
    if frame.empty:
        return tr("<p>✔ Nessun problema trovato.</p>", "<p>✔ No problems found.</p>")
    frame = (frame.assign(_rank=frame["severity"].map(SEVERITY_ORDER))
             .sort_values(["_rank", "line"], kind="stable", na_position="first")
             .drop(columns="_rank").astype(object))
    frame = frame.where(frame.notna(), "")
    frame = frame.rename(columns={
        "code": tr("codice", "code"), "severity": tr("gravità", "severity"),
        "file": "file", "line": tr("riga", "line"),
        "message_index": tr("n. messaggio", "message no."), "message": tr("messaggio", "message")})
    note = ""
    if len(frame) > MAX_ROWS:
        note = tr("<p>Mostrati i primi {m} problemi su {n}.</p>",
                  "<p>Showing the first {m} of {n} problems.</p>", m=MAX_ROWS, n=len(frame))
    return note + _table(frame.head(MAX_ROWS), index=False)


def _stats_html(report, model: str) -> str:
    import pandas as pd
    from ftlab.tokens import estimate_training

    parts = []
    if report.token_stats:
        names = {"min": tr("minimo", "min"), "max": tr("massimo", "max"), "mean": tr("media", "mean"),
                 "median": tr("mediana", "median"), "p10": "p10", "p90": "p90",
                 "total": tr("totale", "total"), "n": tr("esempi", "examples")}
        stats = {names.get(k, k): _number(v) for k, v in report.token_stats.items()}
        parts.append(_table(pd.Series(stats, name=tr("token per esempio", "tokens per example")).to_frame()))
    if report.counts:
        counts = pd.Series(report.counts, name=tr("occorrenze", "count")).rename_axis(tr("codice", "code"))
        parts.append(_table(counts.to_frame()))
    if report.token_counts:
        est = estimate_training(report.token_counts, model)
        rows = {
            tr("esempi", "examples"): est.n_examples,
            tr("epoche (auto)", "epochs (auto)"): est.epochs,
            tr("token fatturati", "billed tokens"): _number(est.billed_tokens),
            tr("costo stimato (listino)", "estimated cost (price list)"): f"${est.cost_usd:.4f}",
            tr("costo col prezzo del corso ($0,006/1K)", "cost at the course's price ($0.006/1K)"):
                f"${est.course_cost_usd:.4f}",
        }
        parts.append(_table(pd.Series(rows, name=model).to_frame()))
    return "<br>".join(parts) or tr("<p>Nessuna statistica.</p>", "<p>No statistics.</p>")


def _number(value) -> str:
    """Integers without decimals, others with one; Italian separators unless FTLAB_LANG=en."""
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    return text if tr("it", "en") == "en" else text.replace(",", "_").replace(".", ",").replace("_", ".")


def _plot_images(report, *, labelled: bool) -> list:
    """Render the report's plots off-screen (no pyplot state) into PNG Image widgets."""
    from matplotlib.figure import Figure

    plotters = [report.plot_tokens] + ([report.plot_balance] if labelled else [])
    images = []
    for plot in plotters:
        fig = Figure(figsize=(6, 3.2), layout="constrained")
        plot(ax=fig.subplots())
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90)
        images.append(widgets.Image(value=buf.getvalue(), format="png"))
    return images
