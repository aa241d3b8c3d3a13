"""Job form: choose model, files and hyperparameters, see the estimate, press "Avvia".

The model list comes from the backend (``client.models.list()``), the files from the uploaded
ones (``client.files.list(purpose="fine-tune")``). Each hyperparameter is "auto" or a number in
OpenAI's range. ``submit()`` calls ``ftlab.jobs.create_job``, so the same checks and the cost
gate apply; on a paying backend the "Confermo i costi" box must be ticked.
"""
from __future__ import annotations

import html

import ipywidgets as widgets

from ftlab import jobs
from ftlab.i18n import tr
from ftlab.openai_spec import HYPERPARAMETER_RANGES, is_fine_tuned, parse_ft_model_name

NO_VALIDATION = None


def _trainable(model_id: str) -> bool:
    """Base models with a known training price, and fine-tuned models (not checkpoints)."""
    from ftlab.tokens import price

    if is_fine_tuned(model_id):
        return parse_ft_model_name(model_id)["checkpoint_step"] is None
    try:
        price(model_id)
        return True
    except KeyError:
        return False


def _int_field(value: int, name: str) -> widgets.BoundedIntText:
    """A number field bounded by OpenAI's range for ``name``."""
    allowed = HYPERPARAMETER_RANGES[name]
    return widgets.BoundedIntText(value, min=allowed.low, max=allowed.high)


class HyperParameter(widgets.HBox):
    """An "auto" checkbox beside a number field that is enabled only when auto is off."""

    def __init__(self, name: str, number: widgets.Widget):
        self.name, self.number = name, number
        self.auto = widgets.Checkbox(value=True, description="auto", indent=False,
                                     layout=widgets.Layout(width="70px"))
        self.number.disabled = True
        self.auto.observe(lambda change: setattr(self.number, "disabled", change["new"]), names="value")
        super().__init__([widgets.Label(name, layout=widgets.Layout(width="190px")), self.auto,
                          self.number])

    @property
    def value(self):
        return "auto" if self.auto.value else self.number.value


class JobForm(widgets.VBox):
    """Start a fine-tuning job from a form; ``job`` holds the created job."""

    def __init__(self, client, *, model: str = jobs.COURSE_MODEL):
        self.client, self.job = client, None
        self._counts: dict = {}  # file id -> tokens per example
        wide = widgets.Layout(width="520px")
        self.model = widgets.Dropdown(description=tr("Modello", "Model"), layout=wide)
        self.training_file = widgets.Dropdown(description="Training", layout=wide)
        self.validation_file = widgets.Dropdown(description=tr("Validazione", "Validation"),
                                                layout=wide)
        self.n_epochs = HyperParameter("n_epochs", _int_field(3, "n_epochs"))
        self.batch_size = HyperParameter("batch_size", _int_field(1, "batch_size"))
        # OpenAI's range is (0, ∞): the form offers a practical window of it
        self.learning_rate_multiplier = HyperParameter(
            "learning_rate_multiplier", widgets.BoundedFloatText(1.0, min=0.01, max=100.0, step=0.1))
        self.suffix = widgets.Text(description=tr("Suffisso", "Suffix"),
                                   placeholder=tr("es. converti-python", "e.g. converti-python"))
        self.seed = widgets.Text(value="42", description="Seed",
                                 placeholder=tr("vuoto = casuale", "empty = random"))
        self.confirm = widgets.Checkbox(description=tr("Confermo i costi", "I accept the costs"),
                                        layout=widgets.Layout(display="" if jobs.is_paying(client)
                                                              else "none"))
        self.estimate = widgets.HTML()
        self.button = widgets.Button(description=tr("Avvia", "Start"), button_style="primary",
                                     icon="play")
        self.button.on_click(lambda _: self.submit())
        self.reload = widgets.Button(description=tr("Aggiorna elenchi", "Reload lists"), icon="refresh")
        self.reload.on_click(lambda _: self.refresh(self.model.value))
        self.result = widgets.HTML()
        for w in (self.model, self.training_file, self.n_epochs.auto, self.n_epochs.number):
            w.observe(lambda _: self.update_estimate(), names="value")
        super().__init__([self.model, self.training_file, self.validation_file, self.n_epochs,
                          self.batch_size, self.learning_rate_multiplier, self.suffix, self.seed,
                          self.estimate, self.confirm, widgets.HBox([self.button, self.reload]),
                          self.result])
        self.refresh(model)

    def refresh(self, model: str | None = None) -> None:
        """Reload models and uploaded files from the backend."""
        ids = sorted(m.id for m in self.client.models.list() if _trainable(m.id))
        self.model.options = ids
        self.model.value = model if model in ids else (ids[0] if ids else None)
        files = [f for f in self.client.files.list(purpose="fine-tune")
                 if f.status == "processed"]
        options = [(f"{f.filename} ({f.id})", f.id) for f in files]
        chosen = self.training_file.value, self.validation_file.value
        ids = [file_id for _, file_id in options]
        self.training_file.options = options
        self.training_file.value = chosen[0] if chosen[0] in ids else (ids[0] if ids else None)
        self.validation_file.options = [(tr("(nessuno)", "(none)"), NO_VALIDATION)] + options
        self.validation_file.value = chosen[1] if chosen[1] in ids else NO_VALIDATION
        self.update_estimate()

    def hyperparameters(self) -> dict:
        return {hp.name: hp.value for hp in (self.n_epochs, self.batch_size,
                                             self.learning_rate_multiplier)}

    def update_estimate(self) -> None:
        """Tokens, epochs, cost and time for the current choices (training file tokens cached).

        Tokens are counted, not validated: create_job validates when the job is started."""
        from ftlab.tokens import estimate_training

        file_id, model = self.training_file.value, self.model.value
        if not file_id or not model:
            self.estimate.value = tr("<i>Scegli modello e file di training.</i>",
                                     "<i>Choose a model and a training file.</i>")
            return
        if file_id not in self._counts:
            self._counts[file_id] = jobs.token_counts(self.client, file_id, model)
        counts = self._counts[file_id]
        try:
            est = estimate_training(counts, model, self.n_epochs.value) if counts else None
        except KeyError:
            est = None
        self.estimate.value = f"<b>{html.escape(jobs.format_estimate(est, model))}</b>"

    def submit(self):
        """Create the job with the form's values; show its id or a clear error."""
        seed = self.seed.value.strip()
        try:
            if seed and not seed.isdigit():
                raise jobs.JobInputError(tr("Il seed deve essere un intero.",
                                            "The seed must be an integer."))
            self.job = jobs.create_job(
                self.client, model=self.model.value, training_file=self.training_file.value,
                validation_file=self.validation_file.value,
                method={"type": "supervised",
                        "supervised": {"hyperparameters": self.hyperparameters()}},
                suffix=self.suffix.value.strip() or None, seed=int(seed) if seed else None,
                confirm=self.confirm.value, quiet=True)
        except jobs.JobError as err:
            self.job = None
            self.result.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return None
        self.result.value = tr("Job creato: <code>{id}</code> (stato: {s})",
                               "Job created: <code>{id}</code> (status: {s})",
                               id=self.job.id, s=self.job.status)
        return self.job
