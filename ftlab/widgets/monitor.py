"""Live job monitor: status, step progress, loss plot, event log and pause/resume/cancel.

``refresh()`` polls the backend once and updates every widget; ``wait()`` refreshes until the
job stops (what a notebook cell, or nbval, calls); ``start()`` polls in a background thread
instead, so the buttons stay usable while the kernel is free. The thread starts by itself when a
browser renders the monitor (never under nbval). Polling ends at a terminal status and when the
monitor is closed.
"""
from __future__ import annotations

import html
import io
import threading
import time

import ipywidgets as widgets

from ftlab import jobs, monitoring
from ftlab.i18n import tr

STATUS_COLORS = {"succeeded": "#080", "failed": "#b00", "cancelled": "#777", "paused": "#b60"}
MAX_LOG_LINES = 300


class JobMonitor(widgets.VBox):
    """Watch ``job_id``; ``poll`` seconds between refreshes in ``wait()`` and ``start()``."""

    def __init__(self, client, job_id: str, *, poll: float = 2.0, autostart: bool = True):
        self.client, self.job_id, self.poll = client, job_id, poll
        self.job, self.events, self._seen, self._plotted = None, [], set(), None
        self._thread, self._stop, self._lock = None, threading.Event(), threading.Lock()
        self.status = widgets.HTML()
        self.progress = widgets.IntProgress(min=0, max=1, description=tr("Passi", "Steps"))
        self.plot = widgets.Image(format="png", layout=widgets.Layout(width="560px"))
        self.event_log = widgets.Textarea(disabled=True, rows=10, layout=widgets.Layout(width="95%"))
        self.message = widgets.HTML()
        self.buttons = {}
        for action, label, icon in (("pause", tr("Pausa", "Pause"), "pause"),
                                    ("resume", tr("Riprendi", "Resume"), "play"),
                                    ("cancel", tr("Annulla", "Cancel"), "stop")):
            button = widgets.Button(description=label, icon=icon)
            button.on_click(lambda _, a=action: self.act(a))
            self.buttons[action] = button
        super().__init__([self.status, self.progress, self.plot,
                          widgets.HBox(list(self.buttons.values())), self.message, self.event_log])
        self.refresh()
        if autostart:
            # ipywidgets counts the views a real frontend renders (opt-in with 0): poll in the
            # background only then, never under nbconvert/nbval where nothing is rendered.
            self._view_count = 0
            self.observe(self._on_views, names="_view_count")

    def _on_views(self, change) -> None:
        if (change["new"] or 0) > 0 and not self.done:
            self.start()

    # ------------------------------------------------------------------ polling

    @property
    def done(self) -> bool:
        return self.job is not None and self.job.status in jobs.TERMINAL

    def refresh(self):
        """Poll once: job, new events, progress, plot, buttons. Returns the job."""
        with self._lock:
            self.job = jobs.retrieve(self.client, self.job_id)
            fresh = jobs.new_events(self.client, self.job_id, self._seen)
            self.events.extend(fresh)
            self._update_log(fresh)
            self._update_progress()
            self._update_status()
            self._update_plot()
            return self.job

    def wait(self, timeout: float | None = None):
        """Refresh until the job succeeds, fails, is cancelled or paused (or ``timeout`` s)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.refresh().status not in jobs.STOP_STATUSES:
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(self.poll)
        return self.job

    def start(self) -> None:
        """Poll in a background thread until the job ends or ``stop()``/``close()``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"monitor-{self.job_id}")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                if self.refresh().status in jobs.TERMINAL:
                    return
            except Exception as err:  # a dropped connection must not kill the widget silently
                self.message.value = html.escape(str(err))
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def polling(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def close(self) -> None:
        self.stop()
        super().close()

    # ------------------------------------------------------------------ actions

    def act(self, action: str):
        """Pause, resume or cancel the job (what the buttons call)."""
        try:
            getattr(jobs, action)(self.client, self.job_id)
        except jobs.JobError as err:
            self.message.value = f"<span style='color:#b00'>{html.escape(str(err))}</span>"
            return None
        self.message.value = ""
        return self.refresh()

    # ------------------------------------------------------------------ rendering

    def _update_log(self, fresh) -> None:
        if fresh:
            lines = (self.event_log.value.splitlines() + [jobs.format_event(e) for e in fresh
                                                    if e.type != "metrics"])
            self.event_log.value = "\n".join(lines[-MAX_LOG_LINES:])

    def metrics(self):
        """The metrics seen so far (the result file too, once the job has one)."""
        frame = monitoring.events_frame(self.events)
        if self.done and self.job.result_files:
            frame = monitoring.combine(monitoring.result_frame(self.client, self.job), frame)
        return frame

    def _update_progress(self) -> None:
        for event in reversed(self.events):
            data = event.data if isinstance(event.data, dict) else {}
            if event.type == "metrics" and data.get("total_steps"):
                self.progress.max = data["total_steps"]
                self.progress.value = data["step"]
                return
        if self.job.status == "succeeded":
            self.progress.value = self.progress.max

    def _update_status(self) -> None:
        status = self.job.status
        color = STATUS_COLORS.get(status, "#06c")
        text = tr("Job <code>{id}</code>: <b style='color:{c}'>{s}</b> — passo {n}/{t}",
                  "Job <code>{id}</code>: <b style='color:{c}'>{s}</b> — step {n}/{t}",
                  id=self.job_id, c=color, s=status, n=self.progress.value, t=self.progress.max)
        if status in jobs.TERMINAL:
            text += "<br>" + html.escape(jobs.describe_outcome(self.job))
        self.status.value = text
        self.buttons["pause"].disabled = status != "running"
        self.buttons["resume"].disabled = status != "paused"
        self.buttons["cancel"].disabled = status in jobs.TERMINAL

    def _update_plot(self) -> None:
        key = (sum(1 for e in self.events if e.type == "metrics"),
               bool(self.done and self.job.result_files))
        if key == self._plotted:
            return
        self._plotted = key
        frame = self.metrics()
        if frame.empty:
            return
        from matplotlib.figure import Figure  # no pyplot: safe from a background thread

        fig = Figure(figsize=(6, 3.2))
        monitoring.plot_loss(frame, fig.add_subplot(), title=self.job_id)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=80)
        self.plot.value = buffer.getvalue()
