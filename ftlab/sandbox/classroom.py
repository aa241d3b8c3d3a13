"""``ftlab class status``: the class server's queue and each student's files and jobs, read from the
data dir (no key needed: whoever can read the data dir is the machine's admin)."""
from __future__ import annotations

import time
from pathlib import Path

from ftlab.i18n import tr

from . import queue, settings
from .quotas import ACTIVE
from .roster import Roster
from .store import Store


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def status_rows(data_dir: str | Path) -> list[dict]:
    """One row per roster name: key state, files, storage, active and finished jobs."""
    usage = Store(data_dir).usage()
    rows = []
    for e in Roster(data_dir).entries():
        if e["role"] != "student":
            continue
        u = usage.get(e["name"], {"files": 0, "bytes": 0, "jobs": {}})
        rows.append({"name": e["name"], "key": "revoked" if e["revoked_at"] else "active",
                     "files": u["files"], "bytes": u["bytes"],
                     "active": sum(u["jobs"].get(s, 0) for s in ACTIVE),
                     "succeeded": u["jobs"].get("succeeded", 0), "failed": u["jobs"].get("failed", 0)})
    return rows


def status_text(data_dir: str | Path) -> str:
    store = Store(data_dir)
    lines = [tr("Studenti:", "Students:"),
             f"  {'name':<24} {'key':<8} {'files':>5} {'storage':>10} {'active':>6} {'ok':>4} {'failed':>6}"]
    for r in status_rows(data_dir):
        lines.append(f"  {r['name']:<24} {r['key']:<8} {r['files']:>5} {_mb(r['bytes']):>10} "
                     f"{r['active']:>6} {r['succeeded']:>4} {r['failed']:>6}")
    running = store.jobs_with_status("running")
    lines.append(tr("In addestramento: {n}", "Training: {n}", n=len(running)))
    for job in running:
        lines.append(f"  {job['id']}  {store.job_project(job['id']) or '-'}")
    waiting = queue.fair_queue(store)
    places = queue.estimates(store, time.time(), settings.current().worker_slots(class_mode=True))
    lines.append(tr("In coda: {n}", "Queued: {n}", n=len(waiting)))
    for item in waiting:
        position, finish = places[item["job"]["id"]]
        at = time.strftime("%H:%M", time.localtime(finish))
        lines.append(f"  {position:>3}. {item['job']['id']}  {item['project'] or '-':<24} ~{at}")
    return "\n".join(lines)
