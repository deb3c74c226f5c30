"""A run's results folder, written so that a crash never leaves half of it.

Layout of ``DIR``: ``summary.json`` (KPIs), ``events.csv`` (the event log),
``trajectories.gpkg`` (points with time, for QGIS's temporal controller; only when the scenario
records trajectories, its default) and ``manifest.json``
(everything needed to reproduce the run). Everything is first written to a hidden staging
folder beside ``DIR`` and then swapped in with renames.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from gwangju_twin.errors import TwinError

FILES = ("summary.json", "events.csv", "trajectories.gpkg", "manifest.json")


def write_results(
    out_dir: Path,
    *,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    events: Sequence[tuple],
    event_columns: Sequence[str],
    tracks: Sequence[tuple] | None,
    track_columns: Sequence[str] = (),
    crs: str,
    start: dt.datetime,
) -> None:
    """Write a complete results folder at ``out_dir``, replacing an earlier one atomically.

    ``events`` are the event log's rows (time in seconds first), written with the standard
    library's csv writer: a run that records no trajectories never imports pandas (0.3 s of a
    cold start). ``tracks`` are the trajectory rows (named by ``track_columns``, which include
    ``x_m`` and ``y_m``), None when the run recorded no trajectories: no ``trajectories.gpkg``
    then. They are written by :mod:`twin.gpkg` (sqlite3, no GDAL: 0.25 s of a cold start).
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _events_csv(staging / "events.csv", event_columns, events)
        if tracks is not None:
            _trajectories(staging / "trajectories.gpkg", tracks, track_columns, crs, start)
        _json(staging / "manifest.json", manifest)
        _json(staging / "summary.json", summary)
        _swap_in(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _events_csv(path: Path, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """The event log as CSV: times with three decimals (milliseconds), the rest as text."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows((f"{t_s:.3f}", *rest) for t_s, *rest in rows)


def _check_replaceable(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise TwinError(f"{out_dir}: exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / "manifest.json").is_file():
        raise TwinError(f"{out_dir}: exists and is not a twin results folder; choose another --out")


def _swap_in(staging: Path, out_dir: Path) -> None:
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        os.replace(out_dir, old)
    os.replace(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _json(path: Path, data: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=False)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


def _trajectories(path: Path, rows: Sequence[tuple], columns: Sequence[str], crs: str, start: dt.datetime) -> None:
    """Points with their attributes and the wall-clock ``time`` (QGIS's temporal controller reads it).

    Columns keep the rows' order without ``x_m`` and ``y_m`` (the geometry); text stays text, the rest
    are numbers. ``time`` is ``start`` plus ``t_s`` to the millisecond, as pyogrio and GDAL wrote it.
    """
    from gwangju_twin import gpkg

    x, y = columns.index("x_m"), columns.index("y_m")
    keep = [i for i in range(len(columns)) if i not in (x, y)]
    first = rows[0] if rows else ()
    fields = [(columns[i], "TEXT" if isinstance(first[i], str) else "REAL") for i in keep] + [("time", "DATETIME")]
    t = columns.index("t_s")
    gpkg.write_points(path, layer="trajectories", crs=crs, fields=fields,
                      rows=([*(row[i] for i in keep), _gdal_time(start, row[t])] for row in rows),
                      xy=((row[x], row[y]) for row in rows))


def _gdal_time(start: dt.datetime, t_s: float) -> str:
    """``start`` plus ``t_s`` as the GDAL writer spelled it: pandas' nanoseconds (whole seconds, then
    the fraction rounded to 9 digits), cut to the millisecond; whole seconds without a fraction."""
    whole = int(t_s)
    ns = whole * 1_000_000_000 + int(round(t_s - whole, 9) * 1e9)
    at = start + dt.timedelta(milliseconds=ns // 1_000_000)
    return at.isoformat(timespec="milliseconds" if at.microsecond else "seconds")
