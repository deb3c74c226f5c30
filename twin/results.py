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
from typing import TYPE_CHECKING, Any

from gwangju_twin.errors import TwinError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

FILES = ("summary.json", "events.csv", "trajectories.gpkg", "manifest.json")


def write_results(
    out_dir: Path,
    *,
    summary: dict[str, Any],
    manifest: dict[str, Any],
    events: Sequence[tuple],
    event_columns: Sequence[str],
    tracks: pd.DataFrame | None,
    crs: str,
    start: dt.datetime,
) -> None:
    """Write a complete results folder at ``out_dir``, replacing an earlier one atomically.

    ``events`` are the event log's rows (time in seconds first), written with the standard
    library's csv writer: a run that records no trajectories never imports pandas (0.3 s of a
    cold start). ``tracks`` is None when the run recorded no trajectories: no
    ``trajectories.gpkg`` then.
    """
    out_dir = Path(out_dir)
    _check_replaceable(out_dir)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        _events_csv(staging / "events.csv", event_columns, events)
        if tracks is not None:
            _trajectories(tracks, crs, start).to_file(staging / "trajectories.gpkg", layer="trajectories",
                                                      driver="GPKG")
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


def _trajectories(tracks: pd.DataFrame, crs: str, start: dt.datetime) -> gpd.GeoDataFrame:
    import geopandas as gpd  # here, not at the top: only runs that record trajectories pay its import
    import pandas as pd

    frame = tracks.copy()
    frame["time"] = pd.to_datetime(start) + pd.to_timedelta(frame["t_s"], unit="s")
    geometry = gpd.points_from_xy(frame.pop("x_m"), frame.pop("y_m"))
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=crs)
