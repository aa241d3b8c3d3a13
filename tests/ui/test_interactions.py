"""The course's forms used through the browser: typing in fields, choosing in lists, clicking buttons.

Each test opens its chapter's notebook, runs it (Run → Run All Cells) and then uses the widget as a
student would; the effect is checked where it lands (the JSONL file, the sandbox, the page).
"""
from __future__ import annotations

import json
import re
import time

import pytest

from ftlab import paths
from ftlab.tokens import example_tokens
from ftlab.validation import validate

pytestmark = pytest.mark.slow


def widget(root, kind: str, label: str):
    """The ipywidgets control of ``kind`` (e.g. "textarea") whose description is ``label``."""
    return root.locator(f".widget-{kind}:has(> label.widget-label:text-is('{label}'))")


def button(root, label: str):
    return root.locator("button.jupyter-button", has_text=re.compile(f"^\\s*{re.escape(label)}\\s*$"))


def output_with(page, text_in_widget: str):
    """The output area of the cell that displays a widget containing ``text_in_widget``."""
    return page.locator(".jp-OutputArea-output", has=page.locator(
        ".jupyter-widgets", has_text=text_in_widget)).last


def table_rows(table) -> list[dict]:
    """The rows of a rendered pandas HTML table as dicts keyed by the header."""
    header = [h.strip() for h in table.locator("thead th").all_inner_texts()]
    return [dict(zip(header, [c.strip() for c in row.locator("td").all_inner_texts()]))
            for row in table.locator("tbody tr").all()]


def eventually(check, timeout: float = 120, what: str = "condition"):
    """Poll ``check()`` until it returns a truthy value (the kernel answers asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


# --------------------------------------------------------------------------- 01: example editor

def test_example_editor_appends_one_valid_line(notebook):
    nb = notebook("01_preparazione_dati.ipynb")
    nb.run_all()
    page = nb.page
    form = page.locator(".widget-vbox", has=button(page, "Aggiungi")).last
    target = nb.lab.home / "lavoro" / "miei_esempi.jsonl"
    before = target.read_text(encoding="utf-8").splitlines() if target.exists() else []

    user = "Converti in python: restituisci il quadrato di un numero"
    assistant = 'def quadrato(x: float) -> float:\n    """Il quadrato di x."""\n    return x * x'
    widget(form, "textarea", "Utente").locator("textarea").fill(user)
    widget(form, "textarea", "Assistente").locator("textarea").fill(assistant)
    system = widget(form, "textarea", "Sistema").locator("textarea").input_value()
    expected = {"messages": ([{"role": "system", "content": system}] if system.strip() else [])
                + [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
    tokens = example_tokens(expected)
    # the counter beside the button follows the typing
    eventually(lambda: f"Token: {tokens} /" in form.inner_text(), what=f"'Token: {tokens}' shown")
    add = button(form, "Aggiungi")
    eventually(add.is_enabled, what="Aggiungi enabled")
    nb.screenshot_element(form, "01_editor_compilato")
    add.click()

    after = eventually(lambda: (lambda lines: lines if len(lines) == len(before) + 1 else None)(
        target.read_text(encoding="utf-8").splitlines()), what="one more line in the JSONL")
    assert after[:-1] == before
    added = json.loads(after[-1])
    assert added == expected
    line_issues = [i for i in validate([added]).issues if i.line is not None and i.severity == "error"]
    assert line_issues == []
    eventually(lambda: f"{len(after)} esempi in" in form.inner_text(), what="the new count shown")
    # the fields are emptied for the next example
    assert widget(form, "textarea", "Utente").locator("textarea").input_value() == ""


# --------------------------------------------------------------------------- 02: validation report

def first_bad_json_line(path) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            json.loads(line)
        except json.JSONDecodeError:
            return number
    raise AssertionError(f"{path} has no malformed line")


def test_report_viewer_shows_the_error_line_and_code(notebook):
    chosen = paths.DATA_DIR / "esempi_errati" / "invalid_json.jsonl"
    line = first_bad_json_line(chosen)
    nb = notebook("02_validazione.ipynb")
    nb.run_all()
    page = nb.page
    viewer = page.locator(".widget-vbox", has=button(page, "Valida")).last
    widget(viewer, "dropdown", "File").locator("select").select_option(
        label="esempi_errati/invalid_json.jsonl")
    button(viewer, "Valida").click()

    errors_tab = viewer.locator(".lm-TabBar-tab", has_text="Errori")
    eventually(lambda: "invalid_json" in viewer.inner_text(), what="the report of invalid_json.jsonl")
    errors_tab.click()
    # Italian headers, as the student reads them
    table = table_rows(viewer.locator(".widget-tab-contents table:visible").first)
    assert {"codice": "invalid_json", "riga": str(line)} in [
        {k: r.get(k) for k in ("codice", "riga")} for r in table], table
    nb.screenshot_element(viewer, "02_report_errori")
    nb.screenshot_view(viewer, "02_report_in_jupyterlab")



# --------------------------------------------------------------------------- 04: job form + monitor

MONITOR_CELL = """from ftlab.widgets import JobMonitor
monitor_ui = JobMonitor(client, modulo.job.id, poll=2)
monitor_ui.start()
monitor_ui"""


def test_job_form_starts_a_job_that_the_monitor_follows_to_succeeded(notebook):
    nb = notebook("04_job.ipynb")
    # only the cells the form needs (Run All would train the course's whole job once more)
    nb.run_cell("client = ftlab.connect()")
    nb.run_cell("jobs.upload(client")
    nb.run_cell("JobForm(client)")
    page = nb.page
    form = page.locator(".widget-vbox", has=button(page, "Avvia")).last
    form.wait_for()

    # a short trial run: the 20-example validation set as training data, 1 epoch
    training = widget(form, "dropdown", "Training").locator("select")
    label = next(o for o in training.locator("option").all_inner_texts()
                 if o.startswith("validation.jsonl"))
    training.select_option(label=label)
    widget(form, "dropdown", "Validazione").locator("select").select_option(label="(nessuno)")
    epochs = form.locator(".widget-hbox", has=page.locator(".widget-label", has_text="n_epochs"))
    epochs.locator("input[type=checkbox]").uncheck()
    epochs.locator("input[type=number], input[type=text]").last.fill("1")
    epochs.locator("input[type=number], input[type=text]").last.press("Tab")
    widget(form, "text", "Suffisso").locator("input").fill("prova-browser")
    eventually(lambda: "× 1 epoche" in form.inner_text(), what="the estimate for 1 epoch")
    button(form, "Avvia").click()

    created = eventually(lambda: re.search(r"Job creato: (ftjob-\S+)", form.inner_text()),
                         what="the created job id")
    job_id = created.group(1)

    nb.add_cell_below("JobForm(client)", MONITOR_CELL)
    monitor = page.locator(".widget-vbox", has=page.locator(".widget-html", has_text=job_id)).filter(
        has=button(page, "Pausa")).last
    eventually(lambda: re.search(r"\bsucceeded\b", monitor.inner_text()), timeout=1500,
               what=f"{job_id} succeeded in the monitor")
    plot = monitor.locator("img").first
    eventually(lambda: plot.evaluate("img => img.complete && img.naturalWidth > 100"),
               what="the loss plot drawn")
    nb.screenshot_element(monitor, "04_monitor_succeeded")
    nb.screenshot_view(form, "04_job_in_jupyterlab")
