"""The live monitor driven headlessly: refresh/wait, the polling thread, the buttons."""
from __future__ import annotations

import pytest

from ftlab.widgets.monitor import JobMonitor
from fakes import FakeOpenAI, job_json
from test_jobs import scripted


@pytest.fixture
def fake():
    return FakeOpenAI()


def test_wait_follows_the_job_to_the_end(fake):
    scripted(fake)
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0)
    assert monitor.job.status == "running" and monitor.progress.value == 2
    job = monitor.wait()
    assert job.status == "succeeded" and monitor.done
    assert (monitor.progress.value, monitor.progress.max) == (4, 4)
    log = monitor.event_log.value.splitlines()
    assert [line.split(" ", 1)[1] for line in log[:2]] == ["Created fine-tuning job: ftjob-1",
                                                           "Fine-tuning job started"]
    assert not any("Step" in line for line in log)  # metrics go to the plot, not the log
    assert len([line for line in log if "nota" in line]) == 120
    assert bytes(monitor.plot.value).startswith(b"\x89PNG")
    assert "succeeded" in monitor.status.value and "ft:gpt-4.1-nano" in monitor.status.value
    assert all(b.disabled for b in monitor.buttons.values())
    assert fake.script["ftjob-1"]  # no polling after the terminal status


def test_thread_stops_by_itself_at_a_terminal_status(fake):
    scripted(fake)
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0.01)
    monitor.start()
    monitor._thread.join(timeout=10)
    assert not monitor.polling and monitor.job.status == "succeeded"


def test_closing_stops_polling(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0.01)
    monitor.start()
    assert monitor.polling
    monitor.close()
    assert not monitor.polling
    calls = len(fake.requests)
    monitor._stop.wait(0.1)
    assert len(fake.requests) == calls


def test_buttons_pause_resume_cancel(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0)
    assert not monitor.buttons["pause"].disabled and monitor.buttons["resume"].disabled
    monitor.buttons["pause"].click()
    assert monitor.job.status == "paused" and not monitor.buttons["resume"].disabled
    assert monitor.wait().status == "paused"  # wait() returns on pause instead of hanging
    monitor.buttons["resume"].click()
    assert monitor.job.status == "queued"
    monitor.buttons["cancel"].click()
    assert monitor.job.status == "cancelled" and monitor.buttons["cancel"].disabled


def test_action_errors_are_shown(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0)
    monitor.job_id = "ftjob-nope"
    assert monitor.act("cancel") is None
    assert "Job sconosciuto: ftjob-nope" in monitor.message.value


def test_polls_by_itself_only_once_a_frontend_renders_it(fake):
    fake.jobs["ftjob-1"] = job_json("ftjob-1", "running")
    monitor = JobMonitor(fake.client, "ftjob-1", poll=0.01)
    assert not monitor.polling  # displayed or not, no frontend has rendered a view yet
    monitor._view_count = 1  # what the browser reports when it draws the widget
    assert monitor.polling
    monitor.close()
    assert not monitor.polling
    quiet = JobMonitor(fake.client, "ftjob-1", poll=0.01, autostart=False)
    quiet._view_count = 1
    assert not quiet.polling
