"""A/B comparison form: one prompt, two models side by side, vote buttons whose votes are stored.

With ``blind=True`` (default) the answers are shown as "Risposta 1/2" in a random order, so the
vote is not swayed by the model's name; the stored vote always names the real models.
"""
from __future__ import annotations

import html
import json
import random
from datetime import datetime, timezone
from pathlib import Path

import ipywidgets as widgets

from ftlab import paths
from ftlab.i18n import tr

CHOICES = ("A", "B", "pari")


class ABComparison(widgets.VBox):
    """``compare()`` asks both models; ``vote("A"|"B"|"pari")`` appends the vote to a JSONL file."""

    def __init__(self, client, models, *, system: str | None = None, params: dict | None = None,
                 votes_path=None, blind: bool = True, seed: int | None = None):
        self.client, self.system, self.params, self.blind = client, system, params, blind
        self.votes_path = Path(votes_path or paths.home() / "ab_votes.jsonl")
        self.rng = random.Random(seed)
        self.current: dict | None = None
        options = list(models.items()) if isinstance(models, dict) else [(m, m) for m in models]
        self.prompt = widgets.Textarea(description=tr("Richiesta", "Prompt"), layout=widgets.Layout(width="95%"))
        self.model_a = widgets.Dropdown(options=options, description="A")
        self.model_b = widgets.Dropdown(options=options, description="B",
                                        value=options[min(1, len(options) - 1)][1])
        self.run_button = widgets.Button(description=tr("Confronta", "Compare"), button_style="primary")
        self.run_button.on_click(lambda _: self.compare())
        self.left, self.right = widgets.HTML(), widgets.HTML()
        self.vote_buttons = {c: widgets.Button(description=label, disabled=True) for c, label in zip(
            CHOICES, (tr("1 è meglio", "1 is better"), tr("2 è meglio", "2 is better"), tr("Pari", "Tie")))}
        for choice, button in self.vote_buttons.items():
            button.on_click(lambda _, c=choice: self.vote(c))
        self.status = widgets.HTML()
        super().__init__([self.prompt, widgets.HBox([self.model_a, self.model_b, self.run_button]),
                          widgets.HBox([self.left, self.right]), widgets.HBox(list(self.vote_buttons.values())),
                          self.status])

    def compare(self, prompt: str | None = None) -> dict | None:
        """Ask both models; show the answers (shuffled when blind); enable voting."""
        from ftlab.evaluation import complete

        if prompt is not None:
            self.prompt.value = prompt
        if not self.prompt.value.strip():
            self.status.value = tr("Scrivi una richiesta.", "Write a prompt.")
            return None
        messages = ([{"role": "system", "content": self.system}] if self.system else []) + \
                   [{"role": "user", "content": self.prompt.value}]
        answers = {m: complete(self.client, m, messages, self.params) for m in (self.model_a.value, self.model_b.value)}
        order = [self.model_a.value, self.model_b.value]
        if self.blind:
            self.rng.shuffle(order)
        self.current = {"prompt": self.prompt.value, "shown": order,
                        "answers": {m: a["error"] or a["output"] for m, a in answers.items()}}
        for pane, i, model in ((self.left, 1, order[0]), (self.right, 2, order[1])):
            title = tr("Risposta {i}", "Answer {i}", i=i) if self.blind else html.escape(model)
            pane.value = (f"<b>{title}</b><pre style='white-space:pre-wrap;width:40em'>"
                          f"{html.escape(self.current['answers'][model])}</pre>")
        for button in self.vote_buttons.values():
            button.disabled = False
        self.status.value = ""
        return self.current

    def vote(self, choice: str) -> dict:
        """Store a vote for answer 1 ("A"), answer 2 ("B") or a tie; returns the stored record."""
        if choice not in CHOICES:
            raise ValueError(choice)
        if self.current is None:
            raise RuntimeError(tr("Prima premi Confronta.", "Press Compare first."))
        first, second = self.current["shown"]
        winner = {"A": first, "B": second, "pari": None}[choice]
        record = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "prompt": self.current["prompt"],
                  "model_a": self.model_a.value, "model_b": self.model_b.value, "winner": winner,
                  "blind": self.blind, "answers": self.current["answers"]}
        self.votes_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.votes_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
        for button in self.vote_buttons.values():
            button.disabled = True  # one vote per comparison
        self.status.value = tr("Voto salvato: {w}.", "Vote saved: {w}.", w=html.escape(winner or tr("pari", "tie")))
        self.current = None
        return record

    def records(self) -> list[dict]:
        """Every stored vote (``winner`` None = tie)."""
        lines = self.votes_path.read_text(encoding="utf-8").splitlines() if self.votes_path.exists() else []
        return [json.loads(line) for line in lines if line.strip()]

    def votes(self):
        import pandas as pd

        return pd.DataFrame(self.records(), columns=["at", "prompt", "model_a", "model_b", "winner", "blind", "answers"])

    def tally(self):
        """Per model: comparisons, wins, ties, losses and win rate."""
        import pandas as pd

        rows = {}
        for v in self.records():
            for m in {v["model_a"], v["model_b"]}:
                r = rows.setdefault(m, {"confronti": 0, "vinte": 0, "pari": 0, "perse": 0})
                r["confronti"] += 1
                key = "pari" if v["winner"] is None else ("vinte" if v["winner"] == m else "perse")
                r[key] += 1
        table = pd.DataFrame.from_dict(rows, orient="index")
        if not table.empty:
            table["tasso_vittorie"] = (table.vinte / table.confronti).round(3)
        return table
