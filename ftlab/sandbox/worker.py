"""The job runner: a separate process that takes jobs through OpenAI's lifecycle.

validating_files → queued → running → succeeded | failed | cancelled, with ``paused`` in between
(pause/resume). Each worker process (a *slot*; one by default, ``FTLAB_WORKERS`` on the class
server) trains one job at a time; the others wait in ``queued`` and train in the fair queue's order
(``queue``: round-robin across students). A slot claims a job atomically in the store, and after a
crash recovers only the jobs it was running. The API process only
changes a job's status (cancel, pause); the trainer polls ``should_stop`` and stops within a
second or two. A :class:`Supervisor` thread in the server starts this process and restarts it if
it dies; on start the worker recovers jobs that were ``running`` when the previous one died.
"""
from __future__ import annotations

import base64
import csv
import fcntl
import io
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from ftlab.openai_spec import checkpoint_model_name, ft_model_name

from . import catalog, queue, settings
from .store import Store, new_id

log = logging.getLogger("ftlab.sandbox.worker")
LOCK_BUSY = 3  # exit code: another worker already serves this data dir
RECYCLE = 4    # exit code: a job ran; a fresh process gives its memory (torch, the model) back
POLL = 0.5


STOP_FILE = "worker.stop"   # a worker on another machine (Ray) is asked to stop through the data dir


class Stopping:
    """Set when the worker must stop: SIGTERM, the server that started it is gone, or (a Ray task,
    whose parent is Ray's) the data dir's stop file exists."""

    def __init__(self, stop_file: Path | None = None):
        self.flag, self.stop_file = False, stop_file
        self.parent = os.getppid()

    def __call__(self) -> bool:
        return (self.flag or os.getppid() != self.parent
                or (self.stop_file is not None and self.stop_file.exists()))


# -- validation ----------------------------------------------------------------------------------
def validate_job(store: Store, job: dict, slots: int = 1) -> None:
    """Run ftlab's validator over the job's files; fail the job like OpenAI does, or queue it."""
    from ftlab.validation import validate

    text = f"Validating training file: {job['training_file']}"
    if job["validation_file"]:
        text += f" and validation file: {job['validation_file']}"
    store.add_event(job["id"], text)
    method = job["method"]["type"]
    for param in ("training_file", "validation_file"):
        file_id = job[param]
        if not file_id:
            continue
        path = store.file_path(file_id)
        if not path.exists():
            return fail(store, job["id"], {"code": "invalid_training_file", "param": param,
                                           "message": f"File {file_id} was deleted before it could be validated."})
        error = checked_file_error(store, file_id, job["model"], method,
                                   lambda: file_error(validate, path, job["model"], method))
        # OpenAI's 10-example minimum applies to the training file only.
        if error and not (param == "validation_file" and error.get("code") == "invalid_n_examples"):
            return fail(store, job["id"], {**error, "param": param})
    if store.update_job(job["id"], expect=("validating_files",), status="queued",
                        events=["Files validated, moving job to queued state"]):
        if store.job_project(job["id"]):   # a student's job on the class server
            queued_event(store, job["id"], slots)


def queued_event(store: Store, job_id: str, slots: int) -> None:
    """Tell a student where their job stands in the class queue and when it should be done."""
    place = queue.estimates(store, time.time(), slots).get(job_id)
    if place:
        position, finish = place
        at = time.strftime("%H:%M:%S UTC", time.gmtime(finish))
        store.add_event(job_id, f"Job queued at position {position} of {len(queue.fair_queue(store))} in the "
                                f"class queue; estimated finish {at}",
                        data={"queue_position": position, "estimated_finish": finish})


def checked_file_error(store: Store, file_id: str, model: str, method: str, check) -> dict | None:
    """A file's job error, validated once: the verdict is kept per file, model and method (files
    never change), so a second job on the same file, or a restarted worker, does not read it again."""
    key = f"{model}/{method}"
    kept = store.file_check(file_id, key)
    if kept is not None:
        return kept["error"]
    error = check()
    store.set_file_check(file_id, key, {"error": error})
    return error


def file_error(validate, path: Path, model: str, method: str) -> dict | None:
    """OpenAI's job error for a file: the format is detected first (so a prompt/completion file
    gets "Unexpected file format…"); a chat file on a DPO job, or the reverse, is a mismatch."""
    report = validate(path, model=model, method=None, near_duplicates=False)
    if report.format in ("chat", "dpo") and report.format != {"supervised": "chat"}.get(method, method):
        report = validate(path, model=model, method=method, near_duplicates=False)
    return report.job_error()


def fail(store: Store, job_id: str, error: dict) -> None:
    error = {"code": error.get("code") or "server_error", "message": error.get("message") or "",
             "param": error.get("param")}
    store.update_job(job_id, expect=("validating_files", "queued", "running", "paused"),
                     status="failed", error=error, finished_at=int(time.time()), estimated_finish=None,
                     events=[(error["message"], "error")])


# -- training ------------------------------------------------------------------------------------
def read_examples(path: Path) -> list:
    with open(path, encoding="utf-8-sig") as f:
        return [json.loads(line) for line in f if line.strip()]


def results_csv(store: Store, job_id: str) -> bytes:
    """``step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy`` from the metrics events
    (a resumed job's steps included; a repeated step keeps its latest values)."""
    newest_first, after = [], None
    while True:
        events, more = store.list_events(job_id, after=after, limit=1000)
        newest_first += events
        if not more:
            break
        after = events[-1]["id"]
    rows = {e["data"]["step"]: e["data"] for e in reversed(newest_first) if e["type"] == "metrics"}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["step", "train_loss", "train_accuracy", "valid_loss", "valid_mean_token_accuracy"])
    blank = lambda v: "" if v is None else v  # noqa: E731
    for step in sorted(rows):
        d = rows[step]
        w.writerow([step, blank(d.get("train_loss")), blank(d.get("train_mean_token_accuracy")),
                    blank(d.get("valid_loss")), blank(d.get("valid_mean_token_accuracy"))])
    return out.getvalue().encode()


def step_message(m: dict) -> str:
    text = f"Step {m['step']}/{m['total_steps']}: training loss={m['train_loss']:.2f}"
    if m.get("valid_loss") is not None:
        text += f", validation loss={m['valid_loss']:.2f}"
    return text


class JobRun:
    """Callbacks the trainer calls while one job trains (events, checkpoints, stop requests)."""

    def __init__(self, store: Store, job: dict, model_name: str, stopping: Stopping):
        self.store, self.job_id, self.model_name, self.stopping = store, job["id"], model_name, stopping
        self.started, self.first_step, self._checked, self._verdict = time.time(), None, 0.0, None

    def on_step(self, m: dict) -> None:
        m = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in m.items()}
        self.store.add_event(self.job_id, step_message(m), type="metrics", data=m)
        if self.first_step is None:
            self.first_step, self.started = m["step"], time.time()
        done = m["step"] - self.first_step + 1
        per_step = (time.time() - self.started) / max(1, done - 1) if done > 1 else None
        if per_step is not None:
            finish = int(time.time() + per_step * (m["total_steps"] - m["step"]))
            self.store.update_job(self.job_id, expect=("running",), estimated_finish=finish)

    def on_checkpoint(self, step: int, epoch: int, adapter_dir, metrics: dict) -> None:
        name = checkpoint_model_name(self.model_name, step)
        metrics = {"step": step, **{k: metrics.get(k) for k in (
            "train_loss", "train_mean_token_accuracy", "valid_loss", "valid_mean_token_accuracy",
            "full_valid_loss", "full_valid_mean_token_accuracy")}}
        self.store.add_checkpoint(self.job_id, step=step, epoch=epoch, model=name, metrics=metrics,
                                  adapter_src=Path(adapter_dir))
        self.store.add_event(self.job_id, f"Checkpoint created at step {step} with Snapshot ID: {name}")

    def should_stop(self):
        """"cancel" / "pause" once the job was cancelled or paused (or the worker must stop)."""
        if self.stopping():
            return "pause"
        if time.time() - self._checked >= 0.25:
            self._checked = time.time()
            job = self.store.get_job(self.job_id)
            self._verdict = {"cancelled": "cancel", "paused": "pause"}.get(job["status"] if job else "cancelled")
        return self._verdict


def run_job(store: Store, job: dict, stopping: Stopping, slot: int = 0) -> bool:
    """Train the job if this slot can claim it (False: another worker took it first)."""
    from . import models, training

    job_id = job["id"]
    state = store.job_state(job_id)
    kind = job["method"]["type"]
    requested = job["method"][kind]["hyperparameters"]
    train = read_examples(store.file_path(job["training_file"]))
    valid = read_examples(store.file_path(job["validation_file"])) if job["validation_file"] else []
    hp = training.resolve_hyperparameters(len(train), requested)
    model_name = state.get("model_name") or ft_model_name(job["model"], catalog.ORG, job.get("suffix"), new_id("", 8))
    resume_from = state.get("resume_from")
    method = {"type": kind, kind: {"hyperparameters": {**requested, **hp}}}
    if not store.update_job(job_id, expect=("queued",), status="running", method=method,
                            hyperparameters={k: hp[k] for k in ("n_epochs", "batch_size", "learning_rate_multiplier")},
                            state={"model_name": model_name, "started_at": time.time(), "slot": slot},
                            events=["Fine-tuning job started" if not resume_from
                                    else f"Fine-tuning job resumed from step {state.get('resume_step', '?')}"]):
        return False
    models.base_model_dir(progress=False)  # fetches the stand-in on first use (ModelUnavailable)
    config = training.TrainConfig(n_epochs=hp["n_epochs"], batch_size=hp["batch_size"],
                                 learning_rate_multiplier=hp["learning_rate_multiplier"], seed=job["seed"],
                                  method=kind, **({"beta": hp["beta"]} if kind == "dpo" and "beta" in hp else {}))
    run = JobRun(store, job, model_name, stopping)
    result = training.train(train, valid, config, store.work / job_id, on_step=run.on_step,
                           on_checkpoint=run.on_checkpoint, should_stop=run.should_stop,
                           resume_from=Path(resume_from) if resume_from else None)
    if result.stopped == "pause":
        paused(store, job_id, result, stopping())
    elif result.stopped != "cancel":
        finish(store, job_id, model_name, result)
    return True


def paused(store: Store, job_id: str, result, shutdown: bool) -> None:
    """Remember where to resume; on a shutdown put the job back in the queue for the next start."""
    resume = store.work / job_id / "pause"  # where training.train saves a paused run
    state = {"resume_from": str(resume), "resume_step": result.steps}
    if shutdown:
        if store.update_job(job_id, expect=("running",), status="queued", estimated_finish=None, state=state,
                            events=[f"The sandbox stopped at step {result.steps}; the job will resume "
                                    "from there when the sandbox starts again"]):
            return
    store.update_job(job_id, state=state, events=[f"Training paused at step {result.steps}"])


def finish(store: Store, job_id: str, model_name: str, result) -> None:
    owner = store.for_project(store.job_project(job_id))   # the model and result file are the job's project's
    owner.add_model(model_name, job_id=job_id, adapter_src=Path(result.final_adapter),
                    owned_by=catalog.ORGANIZATION_ID)
    # OpenAI serves the result file base64-encoded (the cookbook decodes it with base64.b64decode)
    results = owner.add_bytes(base64.b64encode(results_csv(store, job_id)), "step_metrics.csv",
                              "fine-tune-results")
    done = store.update_job(job_id, expect=("running", "paused"), status="succeeded",
                            fine_tuned_model=model_name, finished_at=int(time.time()), estimated_finish=None,
                            trained_tokens=int(result.trained_tokens), result_files=[results["id"]],
                            state={"resume_from": None},
                            events=[f"New fine-tuned model created: {model_name}",
                                    "The job has successfully completed"])
    if not done:  # cancelled in the last instant: the model must not appear
        owner.delete_model(model_name)


# -- the loop ------------------------------------------------------------------------------------
def recover(store: Store, slot: int = 0, slots: int = 1) -> None:
    """Jobs this slot left ``running`` when it died (slot 0 also takes those of slots that no longer
    exist): resume them if state was saved, else fail them. Its validation claims are given back."""
    store.release(slot)
    for job in store.jobs_with_status("running"):
        state = store.job_state(job["id"])
        owner = state.get("slot", 0)
        if owner != slot and not (slot == 0 and owner >= slots):
            continue   # a live sibling's job
        resume = state.get("resume_from")
        if resume and Path(resume).exists():
            store.update_job(job["id"], expect=("running",), status="queued",
                             events=["The sandbox restarted; the job is queued to resume from step "
                                     f"{state.get('resume_step')}"])
            continue
        ckpt = store.last_checkpoint(job["id"])
        saved = (f" Checkpoint {ckpt['fine_tuned_model_checkpoint']} (step {ckpt['step_number']}) was saved "
                 "and can still be used for chat completions." if ckpt else "")
        fail(store, job["id"], {"code": "training_interrupted", "message":
             "The sandbox server or its worker stopped while this job was running, before it could save "
             f"its training state; the job cannot continue.{saved} Create a new job to train again."})


def step(store: Store, stopping: Stopping, slot: int = 0, slots: int = 1) -> str | None:
    """Do one unit of work: "validated", "trained", or None when there was nothing to do."""
    for job in store.jobs_with_status("validating_files"):
        if store.claim(job["id"], "validating_files", slot):
            guarded(store, job, lambda s, j: validate_job(s, j, slots))
            return "validated"
    for item in queue.fair_queue(store):
        if guarded(store, item["job"], lambda s, j: run_job(s, j, stopping, slot)):
            return "trained"
    return None


def guarded(store: Store, job: dict, fn):
    """Run ``fn`` and return its result; any exception fails the job with the reason (the worker
    itself carries on) and counts as work done."""
    try:
        return fn(store, job)
    except Exception as exc:
        log.error("job %s failed:\n%s", job["id"], traceback.format_exc())
        code = "model_unavailable" if type(exc).__name__ == "ModelUnavailable" else "training_failed"
        fail(store, job["id"], {"code": code, "message": f"Training failed: {type(exc).__name__}: {exc}"})
        return True


def lock_name(slot: int) -> str:
    return "worker.lock" if slot == 0 else f"worker-{slot}.lock"


def main(data_dir: str, slot: int = 0, slots: int = 1, *, stop_file: bool = False) -> int:
    """The worker loop of one slot; ``stop_file``: also stop when the data dir's stop file appears."""
    from . import cpu
    cpu.configure()   # before training imports torch
    os.nice(settings.current().worker_niceness(class_mode=False))   # FTLAB_WORKER_NICE, set by the Supervisor
    store = Store(data_dir)
    lock = open(store.dir / lock_name(slot), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return LOCK_BUSY
    stopping = Stopping(store.dir / STOP_FILE if stop_file else None)
    for sig in (signal.SIGTERM, signal.SIGINT):   # a graceful stop: the running job saves its state
        signal.signal(sig, lambda *_: setattr(stopping, "flag", True))
    recover(store, slot, slots)
    while not stopping():
        done = step(store, stopping, slot, slots)
        if done == "trained":
            return RECYCLE
        if done is None:
            time.sleep(POLL)
    return 0


class Supervisor:
    """Runs the server's worker processes (``slots`` of them) and restarts one that dies."""

    def __init__(self, data_dir: Path, slots: int = 1, niceness: int = 0):
        self.data_dir, self.slots, self.niceness = Path(data_dir), max(1, slots), niceness
        self.procs: list[subprocess.Popen | None] = [None] * self.slots
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="ftlab-worker-supervisor")

    def start(self) -> None:
        for slot in range(self.slots):
            self._spawn(slot)
        self._thread.start()

    def alive(self) -> bool:
        return all(self._alive(slot) for slot in range(self.slots))

    def _alive(self, slot: int) -> bool:
        return self.procs[slot] is not None and self.procs[slot].poll() is None

    def _spawn(self, slot: int) -> None:
        logfile = open(self.data_dir / "worker.log", "ab")
        extra = [str(slot), str(self.slots)] if self.slots > 1 else []
        env = {**os.environ, "FTLAB_WORKER_NICE": str(self.niceness)}
        self.procs[slot] = subprocess.Popen([sys.executable, "-m", "ftlab.sandbox.worker", str(self.data_dir), *extra],
                                            stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        logfile.close()

    def _loop(self) -> None:
        while not self._stop.wait(POLL):
            for slot in range(self.slots):
                if self._alive(slot):
                    continue
                code = self.procs[slot].returncode if self.procs[slot] else None
                if code != RECYCLE:
                    log.warning("worker %s exited with code %s; restarting", slot, code)
                if self._stop.wait(2.0 if code == LOCK_BUSY else 0.2):
                    return
                self._spawn(slot)

    def stop(self, timeout: float = 45.0) -> None:
        """Ask the workers to stop (running jobs save their state and go back to the queue)."""
        self._stop.set()
        running = [p for p in self.procs if p and p.poll() is None]
        for proc in running:
            proc.terminate()
        for proc in running:
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sys.exit(main(sys.argv[1], *map(int, sys.argv[2:4])))
