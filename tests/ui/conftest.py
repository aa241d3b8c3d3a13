"""Fixtures for the browser tests: a real JupyterLab on a temp copy of the notebooks, headless Chromium.

The UI tests run only when ``tests/ui`` is named on the command line (``make test-ui``): a plain
``pytest tests`` deselects them (pytest reports them as deselected), because a browser run of the
whole course takes many minutes and needs Chromium.

- ``lab`` (session): JupyterLab on a free port with a token, root dir = a temp copy of
  ``notebooks/`` with outputs cleared, its own Jupyter config/runtime dirs and settings
  (no news pop-up, no windowed notebook so every cell is in the page), and a temp ``FTLAB_HOME``
  (or ``$FTLAB_TEST_HOME``, the one `make test` shares with the nbval run).
  Afterwards it stops JupyterLab and the sandbox server the kernels may have started.
- ``browser`` (session): Debian's ``/usr/bin/chromium`` driven by Playwright (no browser download).
- ``notebook`` (function): opens a notebook in a fresh browser page: ``nb = notebook("01_...")``,
  then ``nb.run_all()``, ``nb.assert_clean()``, ``nb.screenshot()``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from ftlab import paths

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = "install chromium: apt-get install chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
UI_DIR = Path(__file__).resolve().parent
SCREENSHOTS = UI_DIR / "screenshots-run"  # gitignored; the run prints where they are
LAB_START_TIMEOUT = 180   # s; ~15 s on an idle machine, much more when the 2 cores are shared
OPEN_TIMEOUT = 180_000    # ms, opening a notebook and starting its kernel
# JupyterLab user settings for the test profile (plugin id -> settings)
SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    # every cell stays in the DOM: the checks and the full-page screenshot need all of them
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
_SCROLLERS = ".jp-NotebookPanel .jp-WindowedPanel-outer, .jp-NotebookPanel-notebook"
WIDGET_PROBLEMS = ("Error displaying widget", "Loading widget")


# --------------------------------------------------------------------------- collection

def pytest_collection_modifyitems(config, items):
    """Keep the UI tests out of runs that do not name tests/ui explicitly."""
    named = any(_under_ui(arg) for arg in config.args)
    if named:
        # the whole course first, in chapter order, then the forms: they reuse its trained model
        items.sort(key=lambda item: 0 if item.path.name == "test_notebooks.py" else 1)
        return
    ui, rest = [], []
    for item in items:
        (ui if _under_ui(str(item.path)) else rest).append(item)
    if ui:
        config.hook.pytest_deselected(items=ui)
        items[:] = rest


def _under_ui(arg: str) -> bool:
    path = Path(arg.split("::")[0]).resolve()
    return path == UI_DIR or UI_DIR in path.parents


# --------------------------------------------------------------------------- JupyterLab

class Lab:
    """A running JupyterLab: ``url(path)``, ``root`` (its notebooks copy), ``home`` (FTLAB_HOME)."""

    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        # FTLAB_TEST_HOME: the sandbox home the notebooks' nbval run used (`make test` shares it), so
        # the browser finds the course models trained and the evaluations answered; else a new one.
        shared = os.environ.get("FTLAB_TEST_HOME")
        self.home = Path(shared) if shared else base / "ftlab-home"
        self.token = uuid.uuid4().hex
        self.port = _free_port()
        self.log = base / "jupyterlab.log"
        self.proc = None

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path}{sep}token={self.token}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "FTLAB_BACKEND")}
        env.update(FTLAB_HOME=str(self.home), FTLAB_LANG="it",
                   JUPYTER_CONFIG_DIR=str(self.base / "jupyter-config"),
                   JUPYTER_RUNTIME_DIR=str(self.base / "jupyter-runtime"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.base / "jupyter-workspaces"),
                   PYDEVD_DISABLE_FILE_VALIDATION="1")
        return env

    def prepare(self) -> None:
        """Copy the notebooks (outputs cleared) and write the Jupyter settings."""
        (self.root / "notebooks").mkdir(parents=True)
        for source in sorted(paths.NOTEBOOKS_DIR.glob("*.ipynb")):
            clear_outputs(source, self.root / "notebooks" / source.name)
        self.home.mkdir(exist_ok=True)
        settings = self.base / "jupyter-config" / "lab" / "user-settings"
        for plugin, values in SETTINGS.items():
            file = settings / f"{plugin}.jupyterlab-settings"
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(json.dumps(values), encoding="utf-8")

    def start(self) -> None:
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")  # JupyterLab refuses to start as root otherwise
        self.proc = subprocess.Popen(cmd, env=self.env(), cwd=self.root, stdin=subprocess.DEVNULL,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + LAB_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab not up after {LAB_START_TIMEOUT} s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the server shuts its kernels down
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # the notebooks' ftlab.connect() starts a sandbox server for FTLAB_HOME: stop it too
        subprocess.run([sys.executable, "-m", "ftlab.sandbox.control", "stop"], env=self.env(),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.url(f"api/{path}"), method=method)
        with urllib.request.urlopen(request, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def end_sessions(self, notebook_path: str) -> None:
        """Shut down the kernels of a notebook (what closing its tab with "shut down" does)."""
        for session in self.api("sessions"):
            if session.get("path") == notebook_path:
                self.api(f"sessions/{session['id']}", method="DELETE")

    def log_tail(self, n: int = 40) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(lines[-n:])


def clear_outputs(source: Path, target: Path) -> None:
    """Copy a notebook without outputs/execution counts, so a run shows only fresh results."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    nb.get("metadata", {}).pop("widgets", None)  # stale widget state would render as "loading"
    target.write_text(json.dumps(nb, ensure_ascii=False, indent=1), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("lab"))
    lab.prepare()
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


# --------------------------------------------------------------------------- Chromium

@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: {INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # launch() uses a fresh, empty user-data dir each time
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def screenshots_dir():
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    if _SHOTS_TAKEN:
        terminalreporter.write_line(f"UI screenshots ({len(_SHOTS_TAKEN)}): {SCREENSHOTS}")
    for line in _TIMINGS:
        terminalreporter.write_line(line)


_TIMINGS: list[str] = []  # "browser run time" lines printed in the summary
_SHOTS_TAKEN: list[Path] = []


# --------------------------------------------------------------------------- a notebook page

class NotebookPage:
    """One notebook open in JupyterLab, driven through its menus as a student would."""

    def __init__(self, page, lab: Lab, name: str, shots: Path):
        self.page, self.lab, self.name, self.shots = page, lab, name, shots
        self.run_seconds = None

    # opening and running

    def open(self) -> "NotebookPage":
        # a workspace of its own: JupyterLab would otherwise restore the tabs of earlier tests
        workspace = f"ui-{uuid.uuid4().hex[:8]}"
        self.page.goto(self.lab.url(f"lab/workspaces/{workspace}/tree/notebooks/{self.name}"),
                       timeout=OPEN_TIMEOUT)
        self.page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=OPEN_TIMEOUT)
        self._accept_kernel_dialog()
        self.wait_idle(OPEN_TIMEOUT)
        # fold the file browser away: the notebook gets the width (and the screenshots too)
        current = self.page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current")
        if current.count():
            current.first.click()
        return self

    def _accept_kernel_dialog(self) -> None:
        """A notebook without kernelspec metadata asks for a kernel: keep the proposed one."""
        dialog = self.page.locator(".jp-Dialog")
        try:
            dialog.wait_for(timeout=3000)
        except Exception:
            return
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    def wait_idle(self, timeout_ms: float) -> None:
        self.page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(
            timeout=timeout_ms)

    def menu(self, top: str, item: str) -> None:
        """Click a main-menu entry, e.g. ``menu("Run", "Run All Cells")``."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
        self.page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel",
                          has_text=re.compile(f"^{re.escape(item)}$")).click()

    def prompts(self) -> list[str]:
        """The execution prompts of every code cell: "[3]:", "[*]:", "[ ]:"."""
        return self.page.locator(
            ".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt").all_inner_texts()

    def run_all(self, timeout_s: float = 1800, start_timeout_s: float = 120) -> float:
        """Run → Run All Cells; wait until the run ends (all counted, or stopped at an error)."""
        start = time.monotonic()
        self.menu("Run", "Run All Cells")
        started = False
        while True:
            texts = [t.strip() for t in self.prompts()]
            started = started or any(re.search(r"\d|\*", t) for t in texts)
            busy = any("*" in t for t in texts)
            idle = self.page.locator(
                ".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
            if started and not busy and idle:
                break
            elapsed = time.monotonic() - start
            assert started or elapsed < start_timeout_s, f"{self.name}: Run All did not start"
            assert elapsed < timeout_s, f"{self.name}: still running after {timeout_s} s: {texts}"
            time.sleep(0.5)
        self.run_seconds = time.monotonic() - start
        _TIMINGS.append(f"browser run time {self.name}: {self.run_seconds:.0f} s")
        return self.run_seconds

    def cell(self, containing: str):
        """The code cell whose source contains ``containing``."""
        return self.page.locator(".jp-NotebookPanel .jp-CodeCell", has=self.page.locator(
            ".jp-InputArea-editor", has_text=containing)).first

    def run_cell(self, containing: str, timeout_s: float = 900) -> None:
        """Click into a cell and press Shift+Enter; wait for its execution count."""
        cell = self.cell(containing)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        self._wait_counted(cell, timeout_s)

    def add_cell_below(self, containing: str, code: str, timeout_s: float = 900):
        """Type a new cell under an existing one (Esc, B, Enter, type, Shift+Enter) and run it."""
        self.cell(containing).locator(".jp-InputArea-editor").click()
        for key in ("Escape", "b", "Enter"):
            self.page.keyboard.press(key)
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Shift+Enter")
        new = self.cell(code.splitlines()[0])
        self._wait_counted(new, timeout_s)
        return new

    def _wait_counted(self, cell, timeout_s: float) -> None:
        prompt = cell.locator(".jp-InputArea-prompt")
        deadline = time.monotonic() + timeout_s
        while not re.search(r"\[\d+\]", prompt.inner_text()):
            assert time.monotonic() < deadline, f"{self.name}: cell did not finish: {prompt.inner_text()}"
            time.sleep(0.3)

    # checks

    def outputs_text(self) -> str:
        return "\n".join(self.page.locator(".jp-NotebookPanel .jp-OutputArea").all_inner_texts())

    def wait_widgets(self, timeout_s: float = 60) -> None:
        """Give the widget manager time to render every view (they arrive after the kernel is idle)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and "Loading widget" in self.outputs_text():
            time.sleep(0.5)

    def save(self) -> dict:
        """File → Save Notebook, then read back what the front end holds."""
        file = self.lab.root / "notebooks" / self.name
        before = file.stat().st_mtime_ns
        self.menu("File", "Save Notebook")
        deadline = time.monotonic() + 60
        while file.stat().st_mtime_ns == before and time.monotonic() < deadline:
            time.sleep(0.2)
        return json.loads(file.read_text(encoding="utf-8"))

    def assert_clean(self) -> None:
        """Every code cell ran, no error output, every widget rendered."""
        self.wait_widgets()
        prompts = [t.strip() for t in self.prompts()]
        not_run = [i for i, t in enumerate(prompts) if not re.search(r"\[\d+\]", t)]
        nb = self.save()
        errors = [(i, o.get("ename"), o.get("evalue"))
                  for i, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code")
                  for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors, f"{self.name}: error outputs (code cell, exception, message): {errors}"
        assert not not_run, f"{self.name}: code cells without an execution count: {not_run} {prompts}"
        text = self.outputs_text()
        assert "Traceback (most recent call last)" not in text, f"{self.name}: a traceback is shown"
        shown = [p for p in WIDGET_PROBLEMS if p in text]
        assert not shown, f"{self.name}: widget not rendered: {shown}"

    # pictures

    def screenshot(self, stem: str | None = None) -> Path:
        """A full-notebook PNG: the viewport grows to the notebook's height for the shot."""
        path = self.shots / f"{stem or Path(self.name).stem}.png"
        size = self.page.viewport_size
        height = self.page.evaluate(
            "() => { const n = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
            "  || document.querySelector('.jp-NotebookPanel-notebook');"
            "  return n ? n.scrollHeight : document.body.scrollHeight; }")
        chrome = size["height"] - self.page.evaluate(
            "() => { const n = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer')"
            "  || document.querySelector('.jp-NotebookPanel-notebook');"
            "  return n ? n.clientHeight : 0; }")
        self.page.set_viewport_size({"width": size["width"],
                                     "height": min(int(height + chrome) + 20, 30000)})
        try:
            self.page.wait_for_timeout(500)  # let the layout settle
            self.page.evaluate(f"() => document.querySelectorAll({_SCROLLERS!r})"
                               ".forEach(n => n.scrollTop = 0)")
            self.page.wait_for_timeout(200)
            self.page.screenshot(path=str(path), full_page=True)
        finally:
            self.page.set_viewport_size(size)
        _SHOTS_TAKEN.append(path)
        return path

    def screenshot_element(self, locator, stem: str) -> Path:
        """A PNG of one part of the page (a form, an output), e.g. for the README."""
        path = self.shots / f"{stem}.png"
        locator.scroll_into_view_if_needed()
        locator.screenshot(path=str(path))
        _SHOTS_TAKEN.append(path)
        return path

    def screenshot_view(self, locator, stem: str) -> Path:
        """The JupyterLab window as the student sees it, scrolled to the cell holding ``locator``."""
        path = self.shots / f"{stem}.png"
        locator.evaluate("e => (e.closest('.jp-Cell') || e).scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(path))
        _SHOTS_TAKEN.append(path)
        return path

    def close(self) -> None:
        """Close the page and end the notebook's session, so a later test starts its own kernel."""
        self.page.close()
        self.lab.end_sessions(f"notebooks/{self.name}")


@pytest.fixture
def notebook(lab, browser, screenshots_dir):
    """``notebook(name)`` opens ``notebooks/<name>`` in a fresh page of a fresh browser context."""
    pages = []

    def open_notebook(name: str) -> NotebookPage:
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        context.set_default_timeout(60_000)
        nb = NotebookPage(context.new_page(), lab, name, screenshots_dir)
        pages.append((context, nb))
        return nb.open()

    yield open_notebook
    for context, nb in pages:
        nb.close()
        context.close()
