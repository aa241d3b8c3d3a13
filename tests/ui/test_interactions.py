"""The course's forms used through the browser: typing in fields, choosing in lists, clicking buttons.

Each test opens its chapter's notebook, runs it (Run → Run All Cells, or only the cells the form
needs, or a cell typed as a student would) and then uses the widget as a student would; the effect
is checked where it lands (the JSONL file, the sandbox, the votes file, the registry, the page).
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
    eventually(lambda: "× 1 epoca" in form.inner_text(), what="the estimate for 1 epoch")
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


# --------------------------------------------------------------------------- 05: a successful course job

COURSE_MONITOR_CELL = """# a course job (trained by ftlab prepare or chapter 04), as the README shows it
from ftlab import jobs
from ftlab.widgets import JobMonitor
job_corso = jobs.course_job(client, suffix="converti-python")
monitor_corso = JobMonitor(client, job_corso.id, poll=2)
monitor_corso.start()
monitor_corso"""


def test_monitor_shows_the_course_job_succeeded_with_its_loss_curve(notebook):
    """The README's screenshot: a real course job (not a trial run), succeeded, its loss falling.

    After test_notebooks the job exists (chapter 04 trained it); run alone, the cell trains it.
    """
    nb = notebook("05_monitoraggio.ipynb")
    nb.run_cell("client = ftlab.connect()")
    nb.add_cell_below("client = ftlab.connect()", COURSE_MONITOR_CELL, timeout_s=1800)
    page = nb.page
    monitor = page.locator(".widget-vbox", has=button(page, "Pausa")).last  # the only monitor on the page
    eventually(lambda: re.search(r"\bsucceeded\b", monitor.inner_text()), timeout=300,
               what="the course job succeeded in the monitor")
    plot = monitor.locator("img").first
    eventually(lambda: plot.evaluate("img => img.complete && img.naturalWidth > 100"),
               what="the loss plot drawn")
    nb.screenshot_view(monitor, "05_course_job_in_jupyterlab")


# --------------------------------------------------------------------------- 06: A/B comparison

BASE = "gpt-4.1-nano-2025-04-14"
SYSTEM = "Converti la richiesta in una funzione Python."
AB_PARAMS = {"temperature": 0, "max_tokens": 40, "seed": 42}  # short answers: ~3 s each on the sandbox
AB_SUFFIX = "ab-browser"


def sandbox_client(lab):
    """The official SDK on the sandbox of the lab's FTLAB_HOME (the kernels' ftlab.connect() finds it)."""
    import openai

    from ftlab.sandbox import control

    info = control.start(lab.home, env=lab.env())
    return openai.OpenAI(base_url=info["base_url"], api_key=control.token(lab.home))


def small_fine_tuned_model(lab, client) -> str:
    """A real fine-tuned model, as cheap as one can be: 10 course examples, 1 epoch (~30 s here).

    The sandbox really trains it; after 10 steps it already answers with a ``def`` where the base
    model talks about Python, so the two answers of the comparison differ.
    """
    tag = f":{AB_SUFFIX}:"
    for job in client.fine_tuning.jobs.list(limit=100):
        if job.status == "succeeded" and tag in (job.fine_tuned_model or ""):
            return job.fine_tuned_model  # already trained in this lab's home (a rerun)
    lines = (paths.DATA_DIR / "converti_python" / "train.jsonl").read_text(encoding="utf-8").splitlines()
    data = lab.base / "ab_train_10.jsonl"
    data.write_text("\n".join(lines[:10]) + "\n", encoding="utf-8")
    with data.open("rb") as f:
        uploaded = client.files.create(file=f, purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model=BASE, training_file=uploaded.id, suffix=AB_SUFFIX,
                                         hyperparameters={"n_epochs": 1}, seed=42)
    job = eventually(lambda: (lambda j: j if j.status in ("succeeded", "failed", "cancelled") else None)(
        client.fine_tuning.jobs.retrieve(job.id)), timeout=900, what=f"{job.id} finished")
    assert job.status == "succeeded", job.error
    return job.fine_tuned_model


def read_votes(lab) -> list[dict]:
    path = lab.home / "ab_votes.jsonl"  # ABComparison's default: $FTLAB_HOME/ab_votes.jsonl
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def indexed_table_rows(table) -> dict[str, dict]:
    """A rendered DataFrame whose index is shown (one <th> per row): {index: {column: text}}."""
    header = [h.strip() for h in table.locator("thead tr").last.locator("th").all_inner_texts()][1:]
    return {row.locator("th").first.inner_text().strip():
            dict(zip(header, [c.strip() for c in row.locator("td").all_inner_texts()]))
            for row in table.locator("tbody tr").all()}


def test_ab_comparison_shows_two_answers_and_records_the_vote(lab, notebook):
    # base vs a really fine-tuned model: the comparison chapter 06 teaches (two names of the same
    # base weights would show the same text twice and could not tell the panes apart)
    client = sandbox_client(lab)
    ft = small_fine_tuned_model(lab, client)
    votes_before = read_votes(lab)

    nb = notebook("06_valutazione.ipynb")
    nb.run_cell("client = ftlab.connect()")
    # the chapter's own form cell needs the course model of notebook 04: the student types one
    # with the model just trained (and short answers)
    nb.add_cell_below("client = ftlab.connect()", f"""# confronto A/B: base contro il modello appena addestrato
from ftlab.widgets.ab import ABComparison
prova_ab = ABComparison(client, {{"base": "{BASE}", "fine-tuned": "{ft}"}},
                        system="{SYSTEM}", params={AB_PARAMS!r})
prova_ab""")
    page = nb.page
    form = page.locator(".widget-vbox", has=button(page, "Confronta")).first
    form.wait_for()
    one_better = button(form, "1 è meglio")
    assert one_better.is_disabled()  # nothing to vote on yet

    prompt = "Converti in Python: raddoppia un numero"
    widget(form, "dropdown", "A").locator("select").select_option(label="base")
    widget(form, "dropdown", "B").locator("select").select_option(label="fine-tuned")
    widget(form, "textarea", "Richiesta").locator("textarea").fill(prompt)
    button(form, "Confronta").click()

    panes = form.locator(".widget-html", has=page.locator("pre"))
    eventually(lambda: panes.count() == 2 and all(t.strip() for t in panes.locator("pre").all_inner_texts()),
               timeout=300, what="two answers shown")
    assert [p.locator("b").inner_text() for p in panes.all()] == ["Risposta 1", "Risposta 2"]  # blind
    shown = [t.strip() for t in panes.locator("pre").all_inner_texts()]
    # the panes hold the two models' real answers (greedy, so the SDK gets the same text again)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
    expected = {m: client.chat.completions.create(model=m, messages=messages, **AB_PARAMS)
                .choices[0].message.content.strip() for m in (BASE, ft)}
    assert sorted(shown) == sorted(expected.values()), (shown, expected)
    assert shown[0] != shown[1], shown
    eventually(one_better.is_enabled, what="the vote buttons enabled")
    nb.screenshot_element(form, "06_ab_risposte")

    one_better.click()
    eventually(lambda: "Voto salvato" in form.inner_text(), what="the vote confirmed on the page")
    votes = read_votes(lab)
    assert len(votes) == len(votes_before) + 1
    vote = votes[-1]
    first_model = next(m for m, text in expected.items() if text == shown[0])
    assert (vote["prompt"], vote["model_a"], vote["model_b"], vote["winner"], vote["blind"]) == (
        prompt, BASE, ft, first_model, True)
    assert {m: a.strip() for m, a in vote["answers"].items()} == expected
    assert f"Voto salvato: {first_model}." in form.inner_text()
    eventually(one_better.is_disabled, what="one vote per comparison")
    assert button(form, "2 è meglio").is_disabled() and button(form, "Pari").is_disabled()
    nb.screenshot_element(form, "06_ab_votato")

    # the tally the chapter shows next counts the vote
    tally = nb.add_cell_below("# confronto A/B", "prova_ab.tally()")
    rows = indexed_table_rows(eventually(lambda: (lambda t: t if t.count() else None)(
        tally.locator(".jp-OutputArea table")), what="the tally table"))
    loser = ft if first_model == BASE else BASE
    assert rows[first_model]["vinte"] == "1" and rows[loser]["perse"] == "1", rows


# --------------------------------------------------------------------------- 08: registry browser

REG_TASK = "registro-browser"  # a task of its own: the course's models (if any) stay out of the way
REG_V1 = f"ft:{BASE}:ftlab:{REG_TASK}-v1:UIREG1"
REG_V2 = f"ft:{BASE}:ftlab:{REG_TASK}-v2:UIREG2"

BROWSER_CELL = """# il registro del workspace, sfogliato dallo studente
from ftlab import registry as reg
from ftlab.widgets.registry_browser import RegistryBrowser
RegistryBrowser(reg.Registry())"""


def test_registry_browser_promote_changes_the_stage_in_the_table(lab, notebook):
    from ftlab.registry import Registry

    # two versions of one task in the workspace's registry: v1 in production, v2 a candidate
    registry = Registry(lab.home / "registry.sqlite")  # what reg.Registry() opens in the kernel
    registry.register(REG_V1, metrics={"passes": 0.4}, tags=["browser"])
    registry.register(REG_V2, metrics={"passes": 0.6}, tags=["browser"])
    registry.promote(REG_V1, "prima versione")

    nb = notebook("08_versionamento.ipynb")
    nb.add_cell_below("RegistryBrowser(registro)", BROWSER_CELL)
    page = nb.page
    browser = page.locator(".widget-vbox", has=button(page, "Promuovi")).first
    browser.wait_for()
    table = browser.locator(".widget-html table")

    def stages():
        return {r["model_id"]: r["stage"] for r in table_rows(table)} if table.count() else {}

    widget(browser, "dropdown", "Compito").locator("select").select_option(label=REG_TASK)
    eventually(lambda: stages() == {REG_V1: "production", REG_V2: "candidate"},
               what=f"only the {REG_TASK} versions in the table")
    widget(browser, "dropdown", "Modello").locator("select").select_option(label=REG_V2)
    button(browser, "Promuovi").click()

    # v2 goes to production; the task's previous production version is archived
    eventually(lambda: stages() == {REG_V1: "archived", REG_V2: "production"},
               what="the new stages in the table")
    assert f"✔ {REG_V2} → production" in browser.inner_text()
    assert (registry.get(REG_V2).stage, registry.get(REG_V1).stage) == ("production", "archived")
    last = registry.history(REG_V2).iloc[-1]
    assert (last.old_stage, last.new_stage, last.reason) == ("candidate", "production", "dal browser")
    nb.screenshot_element(browser, "08_registro_promosso")
