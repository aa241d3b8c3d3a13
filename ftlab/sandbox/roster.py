"""The class roster: one API key per student and the instructor's, stored only as hashes.

A key is ``sk-ftlab-`` + 32 random bytes (``secrets``), shown once when it is made; the data dir
keeps its sha256 (a key has 256 bits of entropy, so a fast hash is enough: there is nothing to
guess). Each student is a project (``Store.for_project``); the instructor sees every project.
Revoking or rotating a key takes effect on the next request: the server reads the roster per call.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import secrets
import sqlite3
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PREFIX = "sk-ftlab-"
INSTRUCTOR = "instructor"   # the role, and the instructor key's name
MAX_NAME = 64
SCHEMA = """
CREATE TABLE IF NOT EXISTS class_keys (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, key_hash TEXT NOT NULL, hint TEXT NOT NULL,
    created_at INTEGER NOT NULL, revoked_at INTEGER);
"""


class RosterError(ValueError):
    """A roster file or a name the class cannot take; ``code`` is stable, ``line`` 1-based or None."""

    def __init__(self, code: str, message: str, line: int | None = None):
        super().__init__(f"line {line}: {message}" if line else message)
        self.code, self.line = code, line


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a student (their own project), the instructor or the data dir's owner."""
    name: str
    role: str          # "student" | "instructor" | "owner"

    @property
    def project(self) -> str | None:
        """The store scope: a student's name; None (everything) for the instructor and the owner."""
        return self.name if self.role == "student" else None


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_name(name: str, line: int | None = None) -> str:
    """A student's name as the roster keeps it (trimmed); printable, at most 64 characters."""
    name = (name or "").strip()
    if not name:
        raise RosterError("empty_name", "the name is empty", line)
    if len(name) > MAX_NAME:
        raise RosterError("name_too_long", f"the name is longer than {MAX_NAME} characters", line)
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise RosterError("invalid_name", "the name contains control characters", line)
    if name.lower() == INSTRUCTOR:
        raise RosterError("reserved_name", f"'{INSTRUCTOR}' is the instructor key's name", line)
    return name


def read_names(path: str | Path) -> list[str]:
    """The ``name`` column of a roster CSV (other columns ignored); every error names its line."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError("invalid_encoding", f"{path} is not UTF-8 text ({exc.reason})") from None
    reader = csv.DictReader(io.StringIO(text))
    fields = [f.strip().lower() for f in reader.fieldnames or []]
    if "name" not in fields:
        raise RosterError("missing_name_column", "the first line must be a header with a 'name' column", 1)
    column = (reader.fieldnames or [])[fields.index("name")]
    names, seen = [], {}
    for row in reader:
        line = reader.line_num
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue   # a blank line
        name = check_name(row.get(column) or "", line)
        if name in seen:
            raise RosterError("duplicate_name", f"'{name}' is already on line {seen[name]}", line)
        seen[name] = line
        names.append(name)
    return names


class Roster:
    """The class's keys, in the data dir's database (its own table)."""

    def __init__(self, data_dir: str | Path):
        self.db_path = Path(data_dir) / "sandbox.db"
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        with self._conn() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.db_path, timeout=30)
        conn.row_factory = sqlite3.Row
        try:
            with conn:   # one transaction, committed on success
                yield conn
        finally:
            conn.close()

    def add(self, names: list[str]) -> list[tuple[str, str]]:
        """Make a key for each new name; ``(name, key)`` pairs, the only time the keys exist in clear.
        All or nothing: a name already on the roster refuses the whole batch."""
        names = [check_name(n) for n in names]
        with self._conn() as conn:
            taken = [n for n in names if conn.execute("SELECT 1 FROM class_keys WHERE name = ?", (n,)).fetchone()]
            if taken:
                raise RosterError("name_exists", f"already on the roster: {', '.join(taken)} "
                                                 "(use 'ftlab class rotate NAME' for a new key)")
            return [(n, self._put(conn, n, "student")) for n in names]

    def instructor(self) -> str:
        """A new instructor key (the previous one stops working)."""
        with self._conn() as conn:
            return self._put(conn, INSTRUCTOR, INSTRUCTOR)

    def rotate(self, name: str) -> str:
        """A new key for ``name`` (also a revoked one: rotating gives access back)."""
        with self._conn() as conn:
            row = conn.execute("SELECT role FROM class_keys WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise RosterError("unknown_name", f"'{name}' is not on the roster")
            return self._put(conn, name, row["role"])

    def revoke(self, name: str) -> None:
        with self._conn() as conn:
            if not conn.execute("UPDATE class_keys SET revoked_at = ? WHERE name = ?",
                                (int(time.time()), name)).rowcount:
                raise RosterError("unknown_name", f"'{name}' is not on the roster")

    def entries(self) -> list[dict]:
        """Every name with its role, key hint (``sk-ftlab-…`` + last 4) and state; no hash, no key."""
        with self._conn() as conn:
            rows = conn.execute("SELECT name, role, hint, created_at, revoked_at FROM class_keys "
                                "ORDER BY role = 'student', name").fetchall()
        return [dict(r) for r in rows]

    def caller(self, key: str) -> Caller | None:
        """Whose live key ``key`` is, or None. Every live hash is compared in constant time."""
        sent = key_hash(key)
        with self._conn() as conn:
            rows = conn.execute("SELECT name, role, key_hash FROM class_keys WHERE revoked_at IS NULL").fetchall()
        found = None
        for r in rows:
            if hmac.compare_digest(r["key_hash"], sent):
                found = Caller(r["name"], r["role"])
        return found

    @staticmethod
    def _put(conn: sqlite3.Connection, name: str, role: str) -> str:
        key = new_key()
        conn.execute("INSERT OR REPLACE INTO class_keys (name, role, key_hash, hint, created_at, revoked_at) "
                     "VALUES (?, ?, ?, ?, ?, NULL)", (name, role, key_hash(key), f"{PREFIX}…{key[-4:]}",
                                                      int(time.time())))
        return key
