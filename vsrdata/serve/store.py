"""The server's state in SQLite: the upscaling jobs and the training runs it started.

A job is ``queued`` → ``running`` → ``done`` | ``failed``. A worker claims the oldest queued
job in one write transaction and stamps it with a random token; every later write of that
worker (progress, done, failed) names the token, so a worker whose claim was taken back (the
server restarted and queued the job again) can no longer change the job. The files a job
owns are named by its id: ``uploads/<id>`` and ``results/<id>.mp4`` (+ preview PNGs).
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL,
    model TEXT NOT NULL, label TEXT NOT NULL, scale INTEGER NOT NULL,
    state TEXT NOT NULL, token TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, started REAL, finished REAL,
    done INTEGER NOT NULL DEFAULT 0, total INTEGER, rate REAL, remaining REAL,
    width INTEGER, height INTEGER, fps REAL, frames INTEGER,
    input_bytes INTEGER NOT NULL DEFAULT 0, output_bytes INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner, created);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created);
CREATE TABLE IF NOT EXISTS runs (
    name TEXT PRIMARY KEY, pid INTEGER, started REAL, argv TEXT
);
"""

ACTIVE = ("queued", "running")
FIELDS = ("id", "name", "model", "label", "scale", "state", "attempts", "created", "started",
          "finished", "done", "total", "rate", "remaining", "width", "height", "fps", "frames",
          "input_bytes", "output_bytes", "error")  # fmt: skip


def new_id() -> str:
    """A random job id (128 bits, URL- and file-name-safe)."""
    return secrets.token_hex(16)


class Store:
    """One SQLite file shared by the server's threads and its worker processes (WAL mode; a
    connection per call, so any thread or process may use it)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- jobs as their owner sees them --------------------------------------------------------

    def add(self, owner: str, job_id: str, **fields: Any) -> None:
        row = {"id": job_id, "owner": owner, "state": "queued", "created": time.time(), **fields}
        names = ", ".join(row)
        with self.connect() as db:
            db.execute(f"INSERT INTO jobs ({names}) VALUES ({', '.join('?' * len(row))})",
                       tuple(row.values()))  # fmt: skip

    def jobs(self, owner: str) -> list[dict[str, Any]]:
        with self.connect() as db:
            rows = db.execute("SELECT * FROM jobs WHERE owner = ? ORDER BY created DESC", (owner,))
            return [_public(r) for r in rows]

    def job(self, owner: str, job_id: str) -> dict[str, Any] | None:
        """The job if ``owner`` owns it (another user's job is as absent as a missing one)."""
        with self.connect() as db:
            row = db.execute(
                "SELECT * FROM jobs WHERE id = ? AND owner = ?", (job_id, owner)
            ).fetchone()
        return _public(row) if row else None

    def remove(self, owner: str, job_id: str) -> bool:
        with self.connect() as db:
            return db.execute(
                "DELETE FROM jobs WHERE id = ? AND owner = ?", (job_id, owner)
            ).rowcount > 0  # fmt: skip

    def usage(self, owner: str) -> tuple[int, int]:
        """(jobs queued or running, bytes stored) of one user."""
        with self.connect() as db:
            active, stored = db.execute(
                "SELECT COALESCE(SUM(state IN ('queued', 'running')), 0), "
                "COALESCE(SUM(input_bytes + output_bytes), 0) FROM jobs WHERE owner = ?",
                (owner,),
            ).fetchone()
        return int(active), int(stored)

    # -- the workers' side --------------------------------------------------------------------

    def claim(self) -> dict[str, Any] | None:
        """The oldest queued job, now running under a fresh token (None: nothing queued)."""
        with self.transaction() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = 'queued' ORDER BY created LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            token = secrets.token_hex(8)
            db.execute(
                "UPDATE jobs SET state = 'running', token = ?, started = ?, done = 0, "
                "attempts = attempts + 1 WHERE id = ?",
                (token, time.time(), row["id"]),
            )
            claimed = db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return {**_public(claimed), "token": token, "owner": claimed["owner"]}

    def update(self, job_id: str, token: str, **fields: Any) -> bool:
        """Write a running job's fields; False when the job is gone or no longer this claim's
        (deleted by its owner, or queued again by a restarted server)."""
        sets = ", ".join(f"{k} = ?" for k in fields)
        with self.connect() as db:
            return db.execute(
                f"UPDATE jobs SET {sets} WHERE id = ? AND token = ? AND state = 'running'",
                (*fields.values(), job_id, token),
            ).rowcount > 0  # fmt: skip

    def recover(self) -> list[str]:
        """At start-up: jobs left running by a killed server are queued again (they restart
        from the beginning). Returns their ids."""
        with self.transaction() as db:
            ids = [r["id"] for r in db.execute("SELECT id FROM jobs WHERE state = 'running'")]
            db.execute(
                "UPDATE jobs SET state = 'queued', token = NULL, done = 0, rate = NULL, "
                "remaining = NULL WHERE state = 'running'"
            )
        return ids

    def expired(self, before: float) -> list[dict[str, Any]]:
        """Finished jobs older than ``before`` (seconds since the epoch), removed from the
        table; the caller deletes their files."""
        with self.transaction() as db:
            rows = db.execute(
                "SELECT id, owner FROM jobs WHERE state IN ('done', 'failed') AND finished < ?",
                (before,),
            ).fetchall()
            db.execute(
                "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished < ?", (before,)
            )
        return [dict(r) for r in rows]

    def ids(self) -> set[str]:
        with self.connect() as db:
            return {r["id"] for r in db.execute("SELECT id FROM jobs")}

    # -- training runs started here -----------------------------------------------------------

    def run_started(self, name: str, pid: int, argv: list[str]) -> None:
        with self.connect() as db:
            db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                       (name, pid, time.time(), json.dumps(argv)))  # fmt: skip

    def run_pids(self) -> dict[str, int]:
        with self.connect() as db:
            return {r["name"]: int(r["pid"]) for r in db.execute("SELECT name, pid FROM runs")}

    def run_argv(self, name: str) -> list[str] | None:
        with self.connect() as db:
            row = db.execute("SELECT argv FROM runs WHERE name = ?", (name,)).fetchone()
        return list(json.loads(row["argv"])) if row else None


def _public(row: sqlite3.Row) -> dict[str, Any]:
    return {k: row[k] for k in FIELDS}
