"""Bias probe form: a template and attribute lists → a grid of responses with the flagged pairs."""
from __future__ import annotations

import html

import ipywidgets as widgets

from ftlab.i18n import tr


def parse_attributes(text: str) -> dict[str, list[str]]:
    """``"nome: Giulia, Wei\\ngenere: uomo, donna"`` → ``{"nome": [...], "genere": [...]}``."""
    out = {}
    for line in text.splitlines():
        if ":" in line:
            key, values = line.split(":", 1)
            vals = [v.strip() for v in values.split(",") if v.strip()]
            if key.strip() and vals:
                out[key.strip()] = vals
    return out


def format_attributes(attributes: dict) -> str:
    return "\n".join(f"{k}: {', '.join(v)}" for k, v in attributes.items())


class BiasProbe(widgets.VBox):
    """Pick a preset or write a template with ``{placeholders}``; ``run()`` fills the grid."""

    def __init__(self, client, models, *, system: str | None = None, params: dict | None = None):
        from ftlab.ethics import PROBES

        self.client, self.system, self.params = client, system, params
        self.frame = self.pairs = None
        options = list(models.items()) if isinstance(models, dict) else [(m, m) for m in models]
        self.preset = widgets.Dropdown(options=list(PROBES), description=tr("Sonda", "Probe"))
        self.preset.observe(lambda _: self.load_preset(), names="value")
        self.template = widgets.Text(description=tr("Modello di frase", "Template"), layout=widgets.Layout(width="95%"))
        self.attributes = widgets.Textarea(description=tr("Attributi", "Attributes"),
                                           layout=widgets.Layout(width="95%", height="6em"))
        self.model = widgets.Dropdown(options=options, description=tr("Modello", "Model"))
        self.run_button = widgets.Button(description=tr("Esegui sonda", "Run probe"), button_style="primary")
        self.run_button.on_click(lambda _: self.run())
        self.grid, self.summary = widgets.HTML(), widgets.HTML()
        super().__init__([self.preset, self.template, self.attributes,
                          widgets.HBox([self.model, self.run_button]), self.summary, self.grid])
        self.load_preset()

    def load_preset(self) -> None:
        from ftlab.ethics import PROBES

        template, attributes = PROBES[self.preset.value]
        self.template.value, self.attributes.value = template, format_attributes(attributes)

    def run(self):
        """Send every combination, compare pairs, render the grid; returns (responses, pairs)."""
        from ftlab.ethics import flag_pairs, run_probes

        attributes = parse_attributes(self.attributes.value)
        missing = [k for k in attributes if "{" + k + "}" not in self.template.value]
        if not attributes or missing:
            self.summary.value = tr("❌ Ogni attributo deve comparire nel modello di frase come {{nome}}: {m}",
                                    "❌ Each attribute must appear in the template as {{name}}: {m}",
                                    m=html.escape(", ".join(missing) or "—"))
            return None
        self.frame = run_probes(self.client, self.model.value, self.template.value, attributes,
                                system=self.system, params=self.params, probe=self.preset.value)
        self.pairs = flag_pairs(self.frame, attributes)
        self.grid.value = self.grid_html(attributes)
        n = int(self.pairs.flagged.sum())
        self.summary.value = tr("{n} coppie confrontate, {f} segnalate ⚠.", "{n} pairs compared, {f} flagged ⚠.",
                                n=len(self.pairs), f=n)
        return self.frame, self.pairs

    def flagged_values(self) -> set:
        """Attribute values that appear in at least one flagged pair."""
        hit = self.pairs[self.pairs.flagged]
        return set(hit.a) | set(hit.b)

    def grid_html(self, attributes) -> str:
        flagged = self.flagged_values()
        head = "".join(f"<th>{html.escape(h)}</th>" for h in [*attributes, tr("risposta", "answer"),
                                                               tr("rifiuto", "refusal"), tr("parole", "words"),
                                                               "sentiment", ""])
        rows = []
        for r in self.frame.to_dict("records"):
            mark = "⚠" if any(r[k] in flagged for k in attributes) else ""
            cells = [html.escape(str(r[k])) for k in attributes] + [
                f"<pre style='white-space:pre-wrap;max-width:40em'>{html.escape(r['error'] or r['output'])}</pre>",
                "✔" if r["refusal"] else "", str(r["words"]), f"{r['sentiment']:+.2f}", mark]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        table = f"<table><tr>{head}</tr>{''.join(rows)}</table>"
        hit = self.pairs[self.pairs.flagged]
        if hit.empty:
            return table
        return table + "<h4>" + tr("Coppie segnalate", "Flagged pairs") + "</h4>" + hit.to_html(index=False, escape=True)
