"""The sandbox's state: SQLite (WAL) for files, jobs, events, checkpoints and models, plus blobs.

Every method opens its own short connection, so the API's threads and the worker process can use
the same data dir at once; state changes run in ``BEGIN IMMEDIATE`` transactions so that, say, a
cancel and the worker finishing a job cannot both win. Uploaded bytes are stored under the file's
generated id, never under the name the client sent, so no name can escape the blob directory.

Projects (class mode, one per student key): files, jobs, models and responses carry the project
that made them; ``for_project(p)`` is a view that sees and makes only project ``p``'s objects, so
another project's id is simply "not found". The unscoped store (``project=None``: the single-user
sandbox, the instructor, the worker) sees everything. Events and checkpoints belong to a job, and
the routes reach them only through a job the caller can see.
"""
from __future__ import annotations

import copy
import json
import secrets
import shutil
import sqlite3
import string
import time
from contextlib import contextmanager
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO, Iterator

_ALPHABET = string.ascii_letters + string.digits

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, bytes INTEGER NOT NULL,
    created_at INTEGER NOT NULL, filename TEXT NOT NULL, purpose TEXT NOT NULL,
    status TEXT NOT NULL, status_details TEXT);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, status TEXT NOT NULL,
    body TEXT NOT NULL, state TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, job_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL, type TEXT NOT NULL,
    data TEXT);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, seq);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, job_id TEXT NOT NULL,
    created_at INTEGER NOT NULL, step INTEGER NOT NULL, epoch INTEGER NOT NULL,
    model TEXT UNIQUE NOT NULL, metrics TEXT NOT NULL, adapter_dir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS file_checks (
    file_id TEXT NOT NULL, key TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (file_id, key));
CREATE TABLE IF NOT EXISTS models (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, created INTEGER NOT NULL,
    owned_by TEXT NOT NULL, job_id TEXT, adapter_dir TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS responses (
    id TEXT PRIMARY KEY, body TEXT NOT NULL, conversation TEXT NOT NULL);
"""
# tables whose rows belong to a project ('' = made without one: the single-user sandbox's)
PROJECT_TABLES = ("files", "jobs", "models", "responses")


class PageError(ValueError):
    """``after`` names an object that is not in the list."""


class TooLarge(ValueError):
    """An upload exceeded the size limit."""


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(n))


def now() -> int:
    return int(time.time())


def safe_filename(name: str | None) -> str:
    """The last path component of a client-sent name (``../../x.jsonl`` → ``x.jsonl``)."""
    name = PureWindowsPath(PurePosixPath(name or "").name).name.replace("\x00", "")
    return name if name not in ("", ".", "..") else "upload"


class Store:
    """All persistent state of one sandbox data dir."""

    def __init__(self, data_dir: str | Path):
        self.project: str | None = None
        self.dir = Path(data_dir)
        self.blobs = self.dir / "blobs"
        self.adapters = self.dir / "adapters"
        self.work = self.dir / "work"
        for d in (self.dir, self.blobs, self.adapters, self.work):
            d.mkdir(parents=True, exist_ok=True)
        self.db_path = self.dir / "sandbox.db"
        with self._conn() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)
            _add_project_columns(conn)

    def for_project(self, project: str | None) -> "Store":
        """A view of this store limited to ``project`` (None: everything)."""
        view = copy.copy(self)
        view.project = project
        return view

    def _mine(self, column: str = "project") -> tuple[str, tuple]:
        """A WHERE clause (and its args) keeping only this view's rows."""
        return ("1", ()) if self.project is None else (f"{column} = ?", (self.project,))

    def _owner(self) -> str:
        return self.project or ""

    # -- plumbing ------------------------------------------------------------------------------
    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (no lost updates between processes)."""
        with self._conn() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _page(self, table: str, where: str, args: tuple, *, after: str | None, limit: int,
              desc: bool = True) -> tuple[list[sqlite3.Row], bool]:
        """One page of ``table`` ordered by insertion, and whether more follow."""
        with self._conn() as conn:
            if after:
                row = conn.execute(f"SELECT seq FROM {table} WHERE id = ? AND {where}",
                                   (after, *args)).fetchone()
                if row is None:
                    raise PageError(after)
                where += " AND seq < ?" if desc else " AND seq > ?"
                args += (row["seq"],)
            order = "DESC" if desc else "ASC"
            rows = conn.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY seq {order} LIMIT ?",
                                args + (limit + 1,)).fetchall()
        return rows[:limit], len(rows) > limit

    # -- files ---------------------------------------------------------------------------------
    def add_file(self, source: BinaryIO, filename: str, purpose: str, *, max_bytes: int) -> dict:
        file_id = new_id("file-", 22)
        blob = self.blobs / file_id
        size = 0
        with open(blob, "wb") as out:
            while chunk := source.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    out.close()
                    blob.unlink(missing_ok=True)
                    raise TooLarge(size)
                out.write(chunk)
        return self._insert_file(file_id, size, safe_filename(filename), purpose)

    def add_bytes(self, data: bytes, filename: str, purpose: str) -> dict:
        file_id = new_id("file-", 22)
        (self.blobs / file_id).write_bytes(data)
        return self._insert_file(file_id, len(data), safe_filename(filename), purpose)

    def _insert_file(self, file_id: str, size: int, filename: str, purpose: str) -> dict:
        with self.tx() as conn:
            conn.execute("INSERT INTO files (id, bytes, created_at, filename, purpose, status, project) "
                         "VALUES (?, ?, ?, ?, ?, 'processed', ?)",
                         (file_id, size, now(), filename, purpose, self._owner()))
        return self.get_file(file_id)

    def get_file(self, file_id: str) -> dict | None:
        where, args = self._mine()
        with self._conn() as conn:
            row = conn.execute(f"SELECT * FROM files WHERE id = ? AND {where}", (file_id, *args)).fetchone()
        return _file(row) if row else None

    def file_path(self, file_id: str) -> Path:
        return self.blobs / file_id

    def list_files(self, *, purpose: str | None, after: str | None, limit: int, order: str):
        where, args = self._mine()
        if purpose:
            where, args = f"{where} AND purpose = ?", (*args, purpose)
        rows, more = self._page("files", where, args, after=after, limit=limit, desc=order == "desc")
        return [_file(r) for r in rows], more

    def file_check(self, file_id: str, key: str) -> dict | None:
        """A validation verdict kept for the file under ``key`` (the worker's), or None."""
        with self._conn() as conn:
            row = conn.execute("SELECT result FROM file_checks WHERE file_id = ? AND key = ?",
                               (file_id, key)).fetchone()
        return json.loads(row["result"]) if row else None

    def set_file_check(self, file_id: str, key: str, result: dict) -> None:
        with self.tx() as conn:
            conn.execute("INSERT OR REPLACE INTO file_checks (file_id, key, result) VALUES (?, ?, ?)",
                         (file_id, key, json.dumps(result)))

    def delete_file(self, file_id: str) -> bool:
        where, args = self._mine()
        with self.tx() as conn:
            gone = conn.execute(f"DELETE FROM files WHERE id = ? AND {where}", (file_id, *args)).rowcount
            if not gone:
                return False
            conn.execute("DELETE FROM file_checks WHERE file_id = ?", (file_id,))
        self.file_path(file_id).unlink(missing_ok=True)
        return bool(gone)

    # -- jobs ----------------------------------------------------------------------------------
    def add_job(self, job: dict) -> dict:
        with self.tx() as conn:
            conn.execute("INSERT INTO jobs (id, status, body, project) VALUES (?, ?, ?, ?)",
                         (job["id"], job["status"], json.dumps(job), self._owner()))
        return job

    def get_job(self, job_id: str) -> dict | None:
        where, args = self._mine()
        with self._conn() as conn:
            row = conn.execute(f"SELECT body FROM jobs WHERE id = ? AND {where}", (job_id, *args)).fetchone()
        return json.loads(row["body"]) if row else None

    def job_project(self, job_id: str) -> str:
        """The project that made the job ('' for the single-user sandbox's)."""
        with self._conn() as conn:
            row = conn.execute("SELECT project FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row["project"] if row else ""

    def job_state(self, job_id: str) -> dict:
        """Private per-job state of the worker (resume dir, step timings); never sent to clients."""
        with self._conn() as conn:
            row = conn.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return json.loads(row["state"]) if row else {}

    def update_job(self, job_id: str, *, expect: tuple[str, ...] | None = None,
                   state: dict | None = None, events=(), **fields) -> dict | None:
        """Set ``fields`` on the job if its status is in ``expect``; return the new job or None.
        ``events`` (messages, or (message, level) pairs) are added in the same transaction: a client
        that sees the new status also sees the events that explain it."""
        with self.tx() as conn:
            row = conn.execute("SELECT body, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            job = json.loads(row["body"])
            if expect is not None and job["status"] not in expect:
                return None
            job.update(fields)
            new_state = {**json.loads(row["state"]), **(state or {})}
            conn.execute("UPDATE jobs SET status = ?, body = ?, state = ? WHERE id = ?",
                         (job["status"], json.dumps(job), json.dumps(new_state), job_id))
            for event in events:
                message, level = (event, "info") if isinstance(event, str) else event
                _insert_event(conn, job_id, message, level)
        return job

    def claim(self, job_id: str, status: str, slot: int) -> bool:
        """Worker ``slot`` takes the job while it is in ``status`` unless another slot already has it
        (two workers never validate the same files); ``release`` gives a dead slot's claims back."""
        with self.tx() as conn:
            row = conn.execute("SELECT status, state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None or row["status"] != status:
                return False
            state = json.loads(row["state"])
            if state.get("claim") not in (None, slot):
                return False
            conn.execute("UPDATE jobs SET state = ? WHERE id = ?", (json.dumps({**state, "claim": slot}), job_id))
        return True

    def release(self, slot: int) -> None:
        with self.tx() as conn:
            conn.execute("UPDATE jobs SET state = json_remove(state, '$.claim') "
                         "WHERE json_extract(state, '$.claim') = ?", (slot,))

    def list_jobs(self, *, after: str | None, limit: int, metadata: dict | None = None):
        rows, more = self._page("jobs", *self._mine(), after=after, limit=1_000_000)
        jobs = [json.loads(r["body"]) for r in rows]
        if metadata:
            jobs = [j for j in jobs if all((j.get("metadata") or {}).get(k) == v for k, v in metadata.items())]
        return jobs[:limit], len(jobs) > limit

    def jobs_with_status(self, *statuses: str) -> list[dict]:
        """Jobs in the given statuses, oldest first (the worker's queue)."""
        marks = ",".join("?" * len(statuses))
        with self._conn() as conn:
            rows = conn.execute(f"SELECT body FROM jobs WHERE status IN ({marks}) ORDER BY seq",
                                statuses).fetchall()
        return [json.loads(r["body"]) for r in rows]

    def usage(self) -> dict[str, dict]:
        """Per project: files and their bytes, and jobs per status (``ftlab class status``, quotas)."""
        where, args = self._mine()
        out: dict[str, dict] = {}
        with self._conn() as conn:
            for r in conn.execute(f"SELECT project, COUNT(*) n, COALESCE(SUM(bytes), 0) b FROM files "
                                  f"WHERE {where} GROUP BY project", args):
                out.setdefault(r["project"], {"files": 0, "bytes": 0, "jobs": {}}).update(files=r["n"], bytes=r["b"])
            for r in conn.execute(f"SELECT project, status, COUNT(*) n FROM jobs WHERE {where} "
                                  "GROUP BY project, status", args):
                out.setdefault(r["project"], {"files": 0, "bytes": 0, "jobs": {}})["jobs"][r["status"]] = r["n"]
        return out

    def queued_jobs(self) -> list[dict]:
        """The queued jobs, oldest first, each as ``{"job", "project", "seq"}`` (the fair queue's input)."""
        with self._conn() as conn:
            rows = conn.execute("SELECT body, project, seq FROM jobs WHERE status = 'queued' ORDER BY seq").fetchall()
        return [{"job": json.loads(r["body"]), "project": r["project"], "seq": r["seq"]} for r in rows]

    def last_starts(self) -> dict[str, float]:
        """When each project's latest job started training (``state.started_at``, set by the worker)."""
        with self._conn() as conn:
            rows = conn.execute("SELECT project, MAX(json_extract(state, '$.started_at')) t FROM jobs "
                                "WHERE json_extract(state, '$.started_at') IS NOT NULL GROUP BY project").fetchall()
        return {r["project"]: r["t"] for r in rows}

    def recent_durations(self, n: int = 5) -> list[float]:
        """Seconds from start of training to the end of the last ``n`` succeeded jobs, newest first."""
        with self._conn() as conn:
            rows = conn.execute("SELECT json_extract(body, '$.finished_at') - json_extract(state, '$.started_at') d "
                                "FROM jobs WHERE status = 'succeeded' AND json_extract(state, '$.started_at') "
                                "IS NOT NULL ORDER BY seq DESC LIMIT ?", (n,)).fetchall()
        return [r["d"] for r in rows if r["d"] is not None and r["d"] > 0]

    # -- events --------------------------------------------------------------------------------
    def add_event(self, job_id: str, message: str, *, level: str = "info", type: str = "message",
                  data: dict | None = None) -> None:
        with self.tx() as conn:
            _insert_event(conn, job_id, message, level, type, data)

    def list_events(self, job_id: str, *, after: str | None, limit: int):
        rows, more = self._page("events", "job_id = ?", (job_id,), after=after, limit=limit)
        return [_event(r) for r in rows], more

    # -- checkpoints ---------------------------------------------------------------------------
    def add_checkpoint(self, job_id: str, *, step: int, epoch: int, model: str, metrics: dict,
                       adapter_src: Path, keep: int = 3) -> dict:
        """Copy the adapter into the data dir, register it, and drop all but the last ``keep``."""
        ckpt_id = new_id("ftckpt_")
        dest = self.adapters / ckpt_id
        shutil.copytree(adapter_src, dest)
        with self.tx() as conn:
            conn.execute("INSERT INTO checkpoints (id, job_id, created_at, step, epoch, model, metrics, "
                         "adapter_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (ckpt_id, job_id, now(), step, epoch, model, json.dumps(metrics), str(dest)))
            old = conn.execute("SELECT id, adapter_dir FROM checkpoints WHERE job_id = ? "
                               "ORDER BY seq DESC LIMIT -1 OFFSET ?", (job_id, keep)).fetchall()
            conn.executemany("DELETE FROM checkpoints WHERE id = ?", [(r["id"],) for r in old])
        for r in old:
            shutil.rmtree(r["adapter_dir"], ignore_errors=True)
        return self.list_checkpoints(job_id, after=None, limit=1)[0][0]

    def list_checkpoints(self, job_id: str, *, after: str | None, limit: int):
        rows, more = self._page("checkpoints", "job_id = ?", (job_id,), after=after, limit=limit)
        return [_checkpoint(r) for r in rows], more

    def last_checkpoint(self, job_id: str) -> dict | None:
        with self._conn() as conn:
            row = conn.execute("SELECT * FROM checkpoints WHERE job_id = ? ORDER BY seq DESC LIMIT 1",
                               (job_id,)).fetchone()
        return {**_checkpoint(row), "adapter_dir": row["adapter_dir"]} if row else None

    # -- models --------------------------------------------------------------------------------
    def add_model(self, model_id: str, *, job_id: str, adapter_src: Path, owned_by: str) -> None:
        dest = self.adapters / model_id.replace(":", "_")
        shutil.copytree(adapter_src, dest, dirs_exist_ok=True)
        with self.tx() as conn:
            conn.execute("INSERT INTO models (id, created, owned_by, job_id, adapter_dir, project) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (model_id, now(), owned_by, job_id, str(dest), self._owner()))

    def list_models(self) -> list[dict]:
        where, args = self._mine()
        with self._conn() as conn:
            rows = conn.execute(f"SELECT * FROM models WHERE {where} ORDER BY seq", args).fetchall()
        return [_model(r) for r in rows]

    def adapter_for(self, model_id: str) -> Path | None:
        """The adapter dir of a fine-tuned model or of a checkpoint, or None if unknown."""
        where, args = self._mine()
        job_where, job_args = self._mine("jobs.project")
        with self._conn() as conn:
            row = (conn.execute(f"SELECT adapter_dir FROM models WHERE id = ? AND {where}",
                                (model_id, *args)).fetchone()
                   or conn.execute("SELECT checkpoints.adapter_dir FROM checkpoints JOIN jobs ON jobs.id = "
                                   f"checkpoints.job_id WHERE checkpoints.model = ? AND {job_where}",
                                   (model_id, *job_args)).fetchone())
        return Path(row["adapter_dir"]) if row else None

    def get_model(self, model_id: str) -> dict | None:
        where, args = self._mine()
        with self._conn() as conn:
            row = conn.execute(f"SELECT * FROM models WHERE id = ? AND {where}", (model_id, *args)).fetchone()
        return _model(row) if row else None

    def delete_model(self, model_id: str) -> bool:
        where, args = self._mine()
        with self.tx() as conn:
            row = conn.execute(f"SELECT adapter_dir FROM models WHERE id = ? AND {where}",
                               (model_id, *args)).fetchone()
            conn.execute(f"DELETE FROM models WHERE id = ? AND {where}", (model_id, *args))
        if row:
            shutil.rmtree(row["adapter_dir"], ignore_errors=True)
        return row is not None

    # -- responses (store=true): the object and the whole conversation, for previous_response_id --
    def add_response(self, response: dict, conversation: list[dict]) -> None:
        with self.tx() as conn:
            conn.execute("INSERT INTO responses (id, body, conversation, project) VALUES (?, ?, ?, ?)",
                         (response["id"], json.dumps(response), json.dumps(conversation), self._owner()))

    def get_response(self, response_id: str) -> tuple[dict, list[dict]] | None:
        where, args = self._mine()
        with self._conn() as conn:
            row = conn.execute(f"SELECT * FROM responses WHERE id = ? AND {where}",
                               (response_id, *args)).fetchone()
        return (json.loads(row["body"]), json.loads(row["conversation"])) if row else None

    def delete_response(self, response_id: str) -> bool:
        where, args = self._mine()
        with self.tx() as conn:
            return conn.execute(f"DELETE FROM responses WHERE id = ? AND {where}",
                                (response_id, *args)).rowcount > 0


def _add_project_columns(conn: sqlite3.Connection) -> None:
    """Give a data dir made before projects existed its ``project`` columns (rows become '')."""
    for table in PROJECT_TABLES:
        columns = {r["name"] for r in conn.execute(f"PRAGMA table_info({table})")}
        if "project" not in columns:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN project TEXT NOT NULL DEFAULT ''")


def _file(r: sqlite3.Row) -> dict:
    # OpenAIFile types expires_at (integer) and status_details (string) as optional, not nullable:
    # sent only when set (sandbox files never expire)
    f = {"id": r["id"], "object": "file", "bytes": r["bytes"], "created_at": r["created_at"],
         "filename": r["filename"], "purpose": r["purpose"], "status": r["status"]}
    if r["status_details"] is not None:
        f["status_details"] = r["status_details"]
    return f


def _event(r: sqlite3.Row) -> dict:
    return {"id": r["id"], "object": "fine_tuning.job.event", "created_at": r["created_at"],
            "level": r["level"], "message": r["message"], "type": r["type"],
            "data": json.loads(r["data"]) if r["data"] else {}}


def _checkpoint(r: sqlite3.Row) -> dict:
    return {"id": r["id"], "object": "fine_tuning.job.checkpoint", "created_at": r["created_at"],
            "fine_tuned_model_checkpoint": r["model"], "fine_tuning_job_id": r["job_id"],
            "step_number": r["step"],
            # the spec types every metric a number: a metric not measured (no validation) is left out
            "metrics": {k: v for k, v in json.loads(r["metrics"]).items() if v is not None}}


def _model(r: sqlite3.Row) -> dict:
    return {"id": r["id"], "object": "model", "created": r["created"], "owned_by": r["owned_by"]}


def _insert_event(conn, job_id: str, message: str, level: str = "info", type: str = "message",
                  data: dict | None = None) -> None:
    conn.execute("INSERT INTO events (id, job_id, created_at, level, message, type, data) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (new_id("ftevent-"), job_id, now(), level, message, type,
                  json.dumps(data) if data is not None else None))
