"""Registry browser: the registry as a table with filters, and promote / archive / rollback buttons."""
from __future__ import annotations

import html

import ipywidgets as widgets

from ftlab.i18n import tr

ALL = "__all__"
COLUMNS = ["model_id", "stage", "task", "version", "base_model", "tags", "metrics", "updated_at"]


class RegistryBrowser(widgets.VBox):
    """``refresh()`` redraws the table for the current filters; buttons act on ``selected``."""

    def __init__(self, registry):
        from ftlab.registry import STAGES

        self.registry = registry
        everything = (tr("tutti", "all"), ALL)
        self.stage = widgets.Dropdown(options=[everything, *[(s, s) for s in STAGES]], description=tr("Stadio", "Stage"))
        self.task = widgets.Dropdown(options=[everything], description=tr("Compito", "Task"))
        self.tag = widgets.Text(description="Tag")
        self.search = widgets.Text(description=tr("Cerca", "Search"))
        for w in (self.stage, self.task, self.tag, self.search):
            w.observe(lambda _: self.refresh(), names="value")
        self.selected = widgets.Dropdown(description=tr("Modello", "Model"), layout=widgets.Layout(width="80%"))
        self.buttons = {name: widgets.Button(description=label, button_style=style) for name, label, style in (
            ("promote", tr("Promuovi", "Promote"), "success"), ("archive", tr("Archivia", "Archive"), "warning"),
            ("rollback", tr("Rollback", "Rollback"), "danger"))}
        self.buttons["promote"].on_click(lambda _: self.promote())
        self.buttons["archive"].on_click(lambda _: self.archive())
        self.buttons["rollback"].on_click(lambda _: self.rollback())
        self.table, self.status = widgets.HTML(), widgets.HTML()
        super().__init__([widgets.HBox([self.stage, self.task]), widgets.HBox([self.tag, self.search]),
                          self.table, self.selected, widgets.HBox(list(self.buttons.values())), self.status])
        self.refresh()

    def filters(self) -> dict:
        return {"stage": None if self.stage.value == ALL else self.stage.value,
                "task": None if self.task.value == ALL else self.task.value,
                "tag": self.tag.value.strip() or None, "search": self.search.value.strip() or None}

    def refresh(self):
        """Redraw the task list, the table and the model selector; returns the shown frame."""
        tasks = sorted({m.task for m in self.registry.list() if m.task})
        options = [(tr("tutti", "all"), ALL)] + [(t, t) for t in tasks]
        if list(self.task.options) != options:
            keep = self.task.value if self.task.value in dict(options).values() else ALL
            self.task.options, self.task.value = options, keep
        frame = self.registry.frame(**self.filters())[COLUMNS]
        self.table.value = frame.to_html(index=False, escape=True) if len(frame) else tr(
            "<p>Nessun modello con questi filtri.</p>", "<p>No model matches these filters.</p>")
        ids = frame.model_id.tolist()
        keep = self.selected.value if self.selected.value in ids else (ids[0] if ids else None)
        self.selected.options, self.selected.value = ids, keep
        return frame

    def _act(self, action, model_id=None):
        model_id = model_id or self.selected.value
        if model_id is None:
            self.status.value = tr("Scegli un modello.", "Choose a model.")
            return None
        try:
            mv = action(model_id)
        except (KeyError, LookupError, ValueError) as exc:
            self.status.value = "❌ " + html.escape(str(exc.args[0] if exc.args else exc))
            return None
        self.refresh()
        self.status.value = tr("✔ {m} → {s}", "✔ {m} → {s}", m=html.escape(mv.model_id), s=mv.stage)
        return mv

    def promote(self, model_id: str | None = None):
        return self._act(lambda m: self.registry.promote(m, tr("dal browser", "from the browser")), model_id)

    def archive(self, model_id: str | None = None):
        return self._act(lambda m: self.registry.archive(m, tr("dal browser", "from the browser")), model_id)

    def rollback(self, task: str | None = None):
        """Roll back the selected model's task (or ``task``)."""
        def action(model_id):
            return self.registry.rollback(task or self.registry.get(model_id).task)
        return self._act(action)
