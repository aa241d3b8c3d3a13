"""Example editor: write one chat example, see its tokens and problems, append it to a JSONL file.

The form checks each example with the same validator the course uses on whole files
(``ftlab.validation.validate``), keeping only the issues that concern the example itself:
dataset-wide rules such as "at least 10 examples" make no sense for a single line.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

import ipywidgets as widgets

from ftlab.i18n import tr
from ftlab.openai_spec import COURSE_MODEL

DEFAULT_MODEL = COURSE_MODEL


class ExampleEditor(widgets.VBox):
    """A form with system/user/assistant fields; ``add()`` appends a valid example to ``path``."""

    def __init__(self, path, *, system: str = "", model: str = DEFAULT_MODEL):
        self.path = Path(path)
        self.model = model
        layout = widgets.Layout(width="100%")
        self.system = widgets.Textarea(value=system, description=tr("Sistema", "System"),
                                       placeholder=tr("(facoltativo) istruzioni per il modello",
                                                      "(optional) instructions for the model"),
                                       layout=layout)
        self.user = widgets.Textarea(description=tr("Utente", "User"), layout=layout,
                                     placeholder=tr("la richiesta dell'utente", "the user's request"))
        self.assistant = widgets.Textarea(description=tr("Assistente", "Assistant"), layout=layout,
                                          placeholder=tr("la risposta ideale", "the ideal answer"))
        self.tokens = widgets.HTML()
        self.problems = widgets.HTML()
        self.status = widgets.HTML()
        self.button = widgets.Button(description=tr("Aggiungi", "Add"), button_style="primary",
                                     icon="plus")
        self.button.on_click(lambda _: self.add())
        for field in (self.system, self.user, self.assistant):
            field.observe(lambda _: self.refresh(), names="value")
        super().__init__([self.system, self.user, self.assistant,
                          widgets.HBox([self.button, self.tokens]), self.problems, self.status])
        self.refresh()

    @property
    def widget(self):
        """The displayable root (the form itself), for symmetry with the other forms."""
        return self

    def example(self) -> dict:
        """The chat example the fields describe; the system message only when it is filled in."""
        messages = []
        if self.system.value.strip():
            messages.append({"role": "system", "content": self.system.value})
        messages.append({"role": "user", "content": self.user.value})
        messages.append({"role": "assistant", "content": self.assistant.value})
        return {"messages": messages}

    def issues(self) -> list:
        """Validator issues about this example alone (those with a line number)."""
        from ftlab.validation import validate
        report = validate([self.example()], model=self.model)
        return [issue for issue in report.issues if issue.line is not None]

    def blocking(self, issues) -> list[str]:
        """Why the example cannot be added: validator errors, or an empty request or answer.

        For a whole file an empty message is only a warning; in a form it is a mistake.
        """
        reasons = [i.code for i in issues if i.severity == "error"]
        if not self.user.value.strip() or not self.assistant.value.strip():
            reasons.append("empty_field")
        return reasons

    def token_count(self) -> int:
        """Tokens of the example as the fine-tuning service counts them (chat overhead included)."""
        from ftlab.tokens import example_tokens
        return example_tokens(self.example())

    def count(self) -> int:
        """How many examples the target file holds (non-blank lines)."""
        if not self.path.exists():
            return 0
        with self.path.open(encoding="utf-8") as f:
            return sum(1 for line in f if line.strip())

    def refresh(self) -> None:
        """Update the token counter and the inline problems after every keystroke."""
        from ftlab.tokens import token_limit
        n, limit = self.token_count(), token_limit(self.model)
        self.tokens.value = tr("Token: <b>{n}</b> / {limit}", "Tokens: <b>{n}</b> / {limit}",
                               n=n, limit=f"{limit:,}".replace(",", "."))
        issues = self.issues()
        self.button.disabled = bool(self.blocking(issues))
        self.problems.value = _issues_html(issues)
        self.status.value = self._count_text()

    def add(self) -> bool:
        """Append the example to the file if it has no errors; clear user and assistant fields."""
        if self.blocking(self.issues()):
            self.status.value = tr("❌ Esempio non aggiunto: compila utente e assistente e correggi "
                                   "gli errori sopra.",
                                   "❌ Example not added: fill in user and assistant and fix the "
                                   "errors above.")
            return False
        _append_jsonl(self.example(), self.path)
        self.user.value = ""       # keep the system message: it is usually the same for every line
        self.assistant.value = ""
        self.refresh()
        self.status.value = "✅ " + self._count_text()
        return True

    def _count_text(self) -> str:
        return tr("{n} esempi in <code>{name}</code>", "{n} examples in <code>{name}</code>",
                  n=self.count(), name=html.escape(self.path.name))


def _append_jsonl(example: dict, path: Path) -> None:
    """Append one line, adding the missing newline of a hand-edited file first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    needs_newline = False
    if path.exists() and path.stat().st_size > 0:
        with path.open("rb") as f:
            f.seek(-1, 2)
            needs_newline = f.read(1) != b"\n"
    with path.open("a", encoding="utf-8", newline="\n") as f:
        if needs_newline:
            f.write("\n")
        f.write(json.dumps(example, ensure_ascii=False) + "\n")


def _issues_html(issues) -> str:
    if not issues:
        return tr("<span style='color:green'>✔ Nessun problema</span>",
                  "<span style='color:green'>✔ No problems</span>")
    icons = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}
    items = "".join(f"<li>{icons.get(i.severity, '')} <code>{html.escape(i.code)}</code> "
                    f"{html.escape(i.message)}</li>" for i in issues)
    return f"<ul style='margin:0'>{items}</ul>"
