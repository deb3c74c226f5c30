"""A sweep's results in an embedded DuckDB file: one row per run, written as each run ends.

Table ``runs``: ``run_key`` (primary key: parameters and seed), ``sweep``, ``seed``, ``params``
and ``kpis`` (JSON), ``status`` (``ok``, ``error``: the run raised, ``lost``: its worker died more
often than allowed), ``error``, ``attempts``, ``duration_s``, ``versions``, ``map_fingerprint`` and
``finished_utc``, and ``map``: the map the run drove on, saying which area's map stood in for which
(``"map of helsinki_test stands in for bitgreen"``; the area's own name on its own map). Each row is one transaction, so a crash never leaves half a run.
View ``results``: the same with one column per parameter and per KPI, named by its path.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
from gwangju_twin.errors import TwinError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_key VARCHAR PRIMARY KEY,
    sweep VARCHAR NOT NULL,
    seed BIGINT NOT NULL,
    params JSON NOT NULL,
    status VARCHAR NOT NULL,
    error VARCHAR,
    attempts INTEGER NOT NULL,
    duration_s DOUBLE,
    versions JSON,
    map_fingerprint VARCHAR,
    finished_utc TIMESTAMP DEFAULT current_timestamp,
    kpis JSON,
    map VARCHAR
)
"""


class ResultsDB:
    """One sweep database file.

    Only the commands that own a database (sweep, design) open it for writing; query, report and
    export open it read-only, with the ``results`` view made as a temporary view of their own.
    """

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        if read_only and not self.path.is_file():
            raise TwinError(f"{self.path}: no such results database")
        if self.path.is_dir():
            raise TwinError(f"{self.path}: is a folder, not a results database")
        try:
            if not read_only:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise TwinError(f"{self.path}: {_open_failure(exc)}") from None
        except OSError as exc:
            raise TwinError(f"{self.path}: cannot create its folder ({exc.strerror or exc})") from None
        try:
            if not read_only:
                self.con.execute(SCHEMA)
                self.con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS map VARCHAR")  # files from before it
            self.con.execute("SELECT run_key, status, params, kpis FROM runs LIMIT 0")
        except duckdb.Error as exc:
            self.con.close()
            raise TwinError(f"{self.path}: not a results database written by 'twin sweep' "
                            f"({str(exc).splitlines()[0]})") from None

    def close(self) -> None:
        self.con.close()

    def finished(self) -> set[str]:
        """Keys of runs that need not run again: those that ended ``ok`` (failed runs are tried again)."""
        rows = self.con.execute("SELECT run_key FROM runs WHERE status = 'ok'").fetchall()
        return {key for (key,) in rows}

    def status_of(self, keys: list[str]) -> dict[str, tuple[str, str | None]]:
        """``run_key -> (status, error)`` for the given runs that are recorded."""
        rows = self.con.execute("SELECT run_key, status, error FROM runs WHERE list_contains(?, run_key)",
                                [keys]).fetchall()
        return {key: (status, error) for key, status, error in rows}

    def kpis_of(self, keys: list[str]) -> dict[str, dict[str, float]]:
        """``run_key -> flat KPIs`` for the given runs that finished."""
        rows = self.con.execute("SELECT run_key, kpis FROM runs WHERE status = 'ok' AND list_contains(?, run_key)",
                                [keys]).fetchall()
        return {key: json.loads(kpis) for key, kpis in rows}

    def failures(self, keys: list[str]) -> list[tuple[str, int]]:
        """The distinct errors (first line) of the runs among ``keys`` that did not end ``ok``, most frequent first."""
        rows = self.con.execute(
            "SELECT split_part(coalesce(error, status), chr(10), 1) AS first, count(*) AS n FROM runs "
            "WHERE status <> 'ok' AND list_contains(?, run_key) GROUP BY first ORDER BY n DESC, first",
            [keys]).fetchall()
        return [(first, int(n)) for first, n in rows]

    def record(self, sweep: str, result: dict[str, Any], attempts: int) -> None:
        """Write one run's row in its own transaction (replacing an earlier 'lost' row)."""
        with _signals_held():
            self._insert(sweep, result, attempts)

    def _insert(self, sweep: str, result: dict[str, Any], attempts: int) -> None:
        self.con.execute(
            "INSERT OR REPLACE INTO runs (run_key, sweep, seed, params, status, error, attempts, duration_s, "
            "versions, map_fingerprint, finished_utc, kpis, map) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp, ?, ?)",
            [result["key"], sweep, result["seed"], json.dumps(result["params"]), result["status"], result.get("error"),
             attempts, result.get("duration_s"), json.dumps(result.get("versions", {})),
             result.get("map_fingerprint"), json.dumps(result.get("kpis", {})), result.get("map")],
        )

    def refresh_view(self) -> None:
        """(Re)create ``results`` with a column per parameter and per KPI."""
        params, kpis = self._keys("params"), self._keys("kpis")
        columns = [f"json_extract_string(params, '$.\"{k}\"') AS \"{k}\"" for k in params]
        columns += [f"TRY_CAST(json_extract(kpis, '$.\"{k}\"') AS DOUBLE) AS \"{k}\"" for k in kpis]
        select = ", ".join(["run_key", "sweep", "seed", "status", "error", "attempts", "duration_s",
                            "map", "map_fingerprint", "finished_utc", *columns])
        kind = "TEMP VIEW" if self.read_only else "VIEW"
        with _signals_held():
            self.con.execute(f"CREATE OR REPLACE {kind} results AS SELECT {select} FROM runs")

    def _keys(self, column: str) -> list[str]:
        rows = self.con.execute(f"SELECT DISTINCT unnest(json_keys({column})) FROM runs").fetchall()
        return sorted(key for (key,) in rows)

    def query(self, sql: str) -> tuple[list[str], list[tuple]]:
        try:
            cursor = self.con.execute(sql)
        except duckdb.Error as exc:
            raise TwinError(f"{self.path}: query failed: {str(exc).splitlines()[0]}") from None
        return [d[0] for d in cursor.description or []], cursor.fetchall()

    def export_parquet(self, target: Path) -> None:
        """Write the ``results`` view to ``target`` as Parquet, atomically."""
        from gwangju_twin.fileio import atomic_path

        with atomic_path(target) as tmp:
            quoted = str(tmp).replace("'", "''")
            self.con.execute(f"COPY (SELECT * FROM results) TO '{quoted}' (FORMAT PARQUET)")


def _open_failure(exc: Exception) -> str:
    """Why a database did not open, in words: locked by another process, or not a database."""
    text = str(exc)
    if "lock" in text.lower():
        holder = re.search(r"\(PID (\d+)\)", text)
        by = f" by process {holder.group(1)}" if holder else ""
        return (f"is locked{by} (a sweep writing it?); wait for it to finish, or query a copy of the file")
    first = text.splitlines()[0] if text else exc.__class__.__name__
    return f"not a readable results database ({first})"


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C (SIGINT) and SIGTERM while a statement writes, then deliver them.

    duckdb polls for signals while it executes and aborts the statement ("Query interrupted"),
    which would drop the row of a run that has finished. A signal may reach any thread of the
    process, so masking one thread is not enough: the handlers are swapped for one that only
    notes the signal, and the noted signal is raised again once the row is written, so the sweep
    stops with that run safely recorded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, lambda signum, _frame: noted.append(signum)) for signum in held}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if noted:
            signal.raise_signal(noted[0])
