"""A run's results folder: the twin's own object, written so that a crash never leaves half of it.

Layout of ``DIR``: ``summary.json`` (KPIs), ``events.csv`` (the event log),
``trajectories.gpkg`` (points with time, for QGIS's temporal controller; only when the scenario
records trajectories, its default) and ``manifest.json`` (everything needed to reproduce the run,
the folder's ``format`` and every file the run wrote with its size and sha256).

Everything is first written to a hidden staging folder beside ``DIR`` and then swapped in with
renames. A folder the twin did not write is refused (unless ``force``); replacing an earlier
results folder replaces only the files its manifest lists: whatever else a user put there is
carried over (hard links, so nothing is copied twice) before the swap, so it is never deleted.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from gwangju_twin.errors import TwinError

FORMAT = "gwangju-twin results 2"
FILES = ("summary.json", "events.csv", "trajectories.gpkg", "manifest.json")  # what the twin may write


class Terminated(TwinError):
    """SIGTERM arrived while a results folder was written: the staging folder was removed."""


def owned_files(out_dir: Path, *, force: bool = False) -> set[str]:
    """The names in ``out_dir`` that an earlier run of the twin wrote (and a new run may replace).

    An absent or empty folder owns nothing. A folder whose ``manifest.json`` names this format is
    the twin's: its ``files``. A folder from before the format was named (a manifest with the
    twin's ``reproduce`` line) owns the twin's usual files. Anything else is refused in one line,
    unless ``force``: then only the names this run writes are replaced, the rest is kept.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise TwinError(f"{out_dir}: exists and is not a folder; choose another --out")
    if not out_dir.is_dir() or not any(out_dir.iterdir()):
        return set()
    manifest = _read_manifest(out_dir / "manifest.json")
    if manifest is not None and manifest.get("format") == FORMAT and isinstance(manifest.get("files"), dict):
        return {name for name in manifest["files"] if isinstance(name, str) and name in FILES}
    if manifest is not None and "format" not in manifest and "reproduce" in manifest and "scenario_text" in manifest:
        return set(FILES)
    if force:
        return set()
    raise TwinError(f"{out_dir}: exists and was not written by the twin (no twin manifest.json); choose another "
                    "--out, or add --force to write the results into it (its other files are kept)")


def _read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


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
    force: bool = False,
) -> None:
    """Write a complete results folder at ``out_dir``, replacing an earlier one atomically.

    ``events`` are the event log's rows (time in seconds first), written with the standard
    library's csv writer: a run that records no trajectories never imports pandas (0.3 s of a
    cold start). ``tracks`` are the trajectory rows (named by ``track_columns``, which include
    ``x_m`` and ``y_m``), None when the run recorded no trajectories: no ``trajectories.gpkg``
    then. They are written by :mod:`twin.gpkg` (sqlite3, no GDAL: 0.25 s of a cold start). Files a
    user added to an earlier results folder are kept.
    """
    out_dir = Path(out_dir).absolute()
    replaced = owned_files(out_dir, force=force)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    with _terminate_raises() as swapping:
        shutil.rmtree(staging, ignore_errors=True)
        try:
            staging.mkdir(parents=True)
            _events_csv(staging / "events.csv", event_columns, events)
            if tracks is not None:
                _trajectories(staging / "trajectories.gpkg", tracks, track_columns, crs, start)
            _json(staging / "summary.json", summary)
            written = {p.name: _file_entry(p) for p in sorted(staging.iterdir())}
            _json(staging / "manifest.json", {"format": FORMAT, **manifest,
                                              "files": {**written, "manifest.json": "this file"}})
            _carry_over(out_dir, staging, keep_out=replaced | {p.name for p in staging.iterdir()})
            swapping.set()
            _swap_in(staging, out_dir)
        except OSError as exc:
            raise TwinError(f"{out_dir}: results could not be written ({exc.strerror or exc}); "
                            "nothing was replaced") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _file_entry(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def _carry_over(out_dir: Path, staging: Path, *, keep_out: set[str]) -> None:
    """Hard-link (or copy, across file systems) every entry of ``out_dir`` the twin does not own into staging."""
    if not out_dir.is_dir():
        return
    for entry in out_dir.iterdir():
        if entry.name in keep_out:
            continue
        target = staging / entry.name
        if entry.is_dir() and not entry.is_symlink():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        elif entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@contextlib.contextmanager
def _terminate_raises() -> Iterator[threading.Event]:
    """SIGTERM while writing: raise :class:`Terminated` (the staging folder is removed on the way out);
    while the folders are swapped (two renames), hold it until the swap is done."""
    swapping = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield swapping
        return
    noted: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if swapping.is_set():
            noted.append(signum)
        else:
            raise Terminated("terminated (SIGTERM) while writing results; nothing was replaced")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield swapping
    finally:
        signal.signal(signal.SIGTERM, previous)
        if noted:
            signal.raise_signal(noted[0])


def _events_csv(path: Path, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    """The event log as CSV: times with three decimals (milliseconds), the rest as text."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        values = list(zip(*rows))  # column by column: the times spelled in one pass, the rest as they are
        if values:
            writer.writerows(zip([f"{t_s:.3f}" for t_s in values[0]], *values[1:]))


def _swap_in(staging: Path, out_dir: Path) -> None:
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    if out_dir.exists():
        os.replace(out_dir, old)
    try:
        os.replace(staging, out_dir)
    except OSError:
        if old.exists():
            os.replace(old, out_dir)
        raise
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
    are numbers. Rows that hold their values by column (``rows.columns``, :meth:`twin.record.Tracks.view`)
    are taken as they are. ``time`` is ``start`` plus ``t_s`` to the millisecond, as pyogrio and GDAL wrote it.
    """
    from gwangju_twin import gpkg

    x, y = columns.index("x_m"), columns.index("y_m")
    keep = [i for i in range(len(columns)) if i not in (x, y)]
    values = getattr(rows, "columns", None) or list(zip(*rows)) or [() for _ in columns]  # column by column
    fields = [(columns[i], "TEXT" if rows and isinstance(values[i][0], str) else "REAL") for i in keep] + [("time", "DATETIME")]
    times = _gdal_times(start, values[columns.index("t_s")])
    gpkg.write_points(path, layer="trajectories", crs=crs, fields=fields, columns=[*[values[i] for i in keep], times],
                      xy=np.column_stack([np.asarray(values[x], dtype=float), np.asarray(values[y], dtype=float)]))


def _gdal_times(start: dt.datetime, times_s: Sequence[float]) -> list[str]:
    """:func:`_gdal_time` of every time, the same text: whole milliseconds counted with numpy and
    spelled by numpy's datetime64 (a naive ``start`` on a whole second; a time within 1e-5 ms of a
    whole millisecond, a negative one, and any other ``start`` go through datetime)."""
    if start.tzinfo is not None or start.microsecond:
        return [_gdal_time(start, t_s) for t_s in times_s]
    t = np.asarray(times_s, dtype=float)
    whole = np.trunc(t)
    fraction_ms = (t - whole) * 1000.0  # t - whole is exact
    near_edge = (np.abs(fraction_ms - np.rint(fraction_ms)) < 1e-5) & (fraction_ms != 0.0) | (t < 0) | ~np.isfinite(t)
    ms = whole * 1000.0 + np.floor(fraction_ms)
    at = np.datetime64(start, "ms") + np.where(near_edge, 0, ms).astype("timedelta64[ms]")
    spelled = np.where(ms % 1000 != 0, np.datetime_as_string(at, unit="ms"), np.datetime_as_string(at, unit="s"))
    out = spelled.tolist()
    for k in np.flatnonzero(near_edge).tolist():
        out[k] = _gdal_time(start, float(t[k]))
    return out


def _gdal_time(start: dt.datetime, t_s: float) -> str:
    """``start`` plus ``t_s`` as the GDAL writer spelled it: pandas' nanoseconds (whole seconds, then
    the fraction rounded to 9 digits), cut to the millisecond; whole seconds without a fraction."""
    whole = int(t_s)
    ns = whole * 1_000_000_000 + int(round(t_s - whole, 9) * 1e9)
    at = start + dt.timedelta(milliseconds=ns // 1_000_000)
    return at.isoformat(timespec="milliseconds" if at.microsecond else "seconds")
