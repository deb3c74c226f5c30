"""The audit's evidence checks: what a results folder says it holds must be there, and must agree.

These checks belong to no service. They hold a folder to its own word, so that an audit cannot
pass on evidence that is missing or was edited:

* ``files_written``: every file ``manifest.json`` lists is there, with its size and sha256 (a
  missing file is a FAIL, not a reason to skip the checks that needed it);
* ``events_on_tracks``: every pick-up, drop-off, stop, arrival, departure and collection happens
  where and when the tracks put its vehicle: at a recorded track point of that vehicle, at that
  time, and at the same place as every other event at that place;
* ``track_distance``: between two consecutive track points of a vehicle the straight-line
  distance never exceeds the odometer's advance (a point moved sideways, an odometer held back).

:func:`read` turns a damaged folder (bad JSON, a bad events row, a truncated GeoPackage) into one line.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.errors import TwinError

if TYPE_CHECKING:
    import pandas as pd

PLACED_EVENTS = ("pickup", "dropoff", "stop", "arrive", "depart", "collect")
EVENT_TIME_TOLERANCE_S = 0.002  # the event log keeps milliseconds; tracks keep full floats
PLACE_TOLERANCE_M = 1.0  # events at one place: one road node, so the same point within rounding
DISTANCE_TOLERANCE_M = 1e-3
DISTANCE_RELATIVE_TOLERANCE = 1e-9


def read(folder: Path, reader: Callable[[Path], Any]) -> Any:
    """``reader(folder)``, with any damage of the folder's files said in one line."""
    try:
        record = reader(folder)
        _columns(record)
        return record
    except TwinError:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever a damaged CSV, JSON or GeoPackage raises
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise TwinError(f"{folder}: a damaged results folder ({exc.__class__.__name__}: {first[:160]}); "
                        "run it again with the 'reproduce' line of its manifest.json") from None


EVENT_COLUMNS = ("t_s", "agent", "event", "detail")
TRACK_COLUMNS = ("agent", "kind", "t_s", "odometer_m", "x_m", "y_m")


def _columns(record: Any) -> None:
    """The event log and the tracks have the columns the twin writes, times as numbers."""
    import pandas as pd

    for name, frame, columns in (("events.csv", getattr(record, "events", None), EVENT_COLUMNS),
                                 ("trajectories.gpkg", getattr(record, "tracks", None), TRACK_COLUMNS)):
        if frame is None:
            continue
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} has no column {missing[0]!r}")
        if not pd.api.types.is_numeric_dtype(frame["t_s"]):
            raise ValueError(f"{name}: t_s holds something other than numbers")


def checks(record: Any, make: Callable[[str, str, str], Any]) -> list[Any]:
    """The evidence checks of a record read by :func:`twin.audit.read_record`, each made with
    ``make(name, status, figure)`` (the audit's ``Check``; this module imports nothing of the audit)."""
    found = [files_written(record.folder), events_on_tracks(record.events, record.tracks),
             track_distance(record.tracks)]
    return [make(name, status, figure) for name, status, figure in found]


def _check(ok: bool | None, name: str, figure: str) -> tuple[str, str, str]:
    return name, "SKIP" if ok is None else "PASS" if ok else "FAIL", figure


def files_written(folder: Path) -> tuple[str, str, str]:
    """Every file the manifest lists is there, unchanged; older manifests: the trajectories they count."""
    manifest = json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))
    listed = manifest.get("files")
    problems: list[str] = []
    if isinstance(listed, dict):
        for name, entry in sorted(listed.items()):
            problems += _file_problem(Path(folder), str(name), entry)
        figure = f"{len(listed)} files listed in manifest.json"
    else:  # a folder from before the manifest listed its files: its trajectories note still counts points
        note = str(manifest.get("trajectories", ""))
        if note.startswith("trajectories.gpkg") and not (Path(folder) / "trajectories.gpkg").is_file():
            problems.append(f"trajectories.gpkg missing (manifest.json: '{note}')")
        figure = "manifest.json lists no files (an older folder): its trajectories note checked"
    if problems:
        figure += f"; {len(problems)} missing or changed: {'; '.join(problems[:3])}"
    return _check(not problems, "files_written", figure)


def _file_problem(folder: Path, name: str, entry: Any) -> list[str]:
    if name == "manifest.json":
        return []
    path = folder / name
    if "/" in name or name.startswith(".") or not path.is_file():
        return [f"{name} missing"]
    if not isinstance(entry, dict):
        return [f"{name}: no size or checksum listed"]
    if path.stat().st_size != entry.get("bytes"):
        return [f"{name} has {path.stat().st_size} bytes, not {entry.get('bytes')}"]
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return [] if digest.hexdigest() == entry.get("sha256") else [f"{name} changed (sha256 differs)"]


QUANTITY = re.compile(r"\s+-?\d+(?:\.\d+)?\s+[A-Za-z/%]+$")  # "bin_3 62.7 kg": the load, not the place


def _place(event: str, detail: str) -> str | None:
    """Where an event happens, as the log names it: its detail without a trailing quantity
    (a site, a bin, a node); pick-ups and drop-offs are placed through their request's row."""
    if event in ("pickup", "dropoff"):
        return None  # placed through the request's own row (see _request_places)
    place = QUANTITY.sub("", detail.strip())
    return place or None


def _request_places(events: pd.DataFrame) -> dict[str, tuple[str, str]]:
    """``request id -> (from node, to node)`` from the log's request rows."""
    places: dict[str, tuple[str, str]] = {}
    for detail in events.loc[events["event"] == "request", "detail"]:
        words = str(detail).split()
        if len(words) >= 9 and words[2] == "from" and words[6] == "to":
            places[words[1]] = (f"node {words[5]}", f"node {words[9] if len(words) > 9 else words[-1]}")
    return places


def _placed_events(events: pd.DataFrame, agents: set[str]) -> list[tuple[str, float, str, str]]:
    """``(agent, t_s, event, place key)`` of the events with a place, of vehicles that have tracks."""
    requests = _request_places(events)
    rows = events[events["event"].isin(PLACED_EVENTS) & events["agent"].isin(agents)]
    placed = []
    for agent, t_s, event, detail in zip(rows["agent"], rows["t_s"], rows["event"], rows["detail"], strict=True):
        if event in ("pickup", "dropoff"):
            words = str(detail).split()
            ends = requests.get(words[1]) if len(words) >= 2 else None
            place = None if ends is None else ends[0 if event == "pickup" else 1]
        else:
            place = _place(event, str(detail))
        if place is not None:
            fleet = str(agent).rsplit("-", 1)[0]
            placed.append((str(agent), float(t_s), str(event), place if place.startswith("node ") else f"{fleet}:{place}"))
    return placed


def _where(frame: pd.DataFrame, t_s: float) -> np.ndarray | None:
    """Where the tracks put a vehicle at ``t_s`` if it is at a recorded point or at rest then, else None."""
    times = frame["t_s"].to_numpy(dtype=float)
    xy = frame[["x_m", "y_m"]].to_numpy(dtype=float)
    near = int(np.argmin(np.abs(times - t_s)))
    if abs(times[near] - t_s) <= EVENT_TIME_TOLERANCE_S:
        return xy[near]
    before = int(np.searchsorted(times, t_s, side="right")) - 1
    if 0 <= before < len(times) - 1 and np.allclose(xy[before], xy[before + 1], rtol=0.0, atol=1e-6):
        return xy[before]  # at rest between two points at one place
    if before == len(times) - 1:
        return xy[before]  # after its last point the vehicle stays where that point put it
    return None


def events_on_tracks(events: pd.DataFrame, tracks: pd.DataFrame | None) -> tuple[str, str, str]:
    """Each placed event at a track point of its vehicle at its time, and each place at one point."""
    if tracks is None:
        return _check(None, "events_on_tracks", "no trajectories in this run to hold the events against")
    placed = _placed_events(events, {str(a) for a in tracks["agent"].dropna().unique()})
    if not placed:  # before a table per vehicle is made (a day of drones places no event: 0.2 s)
        return _check(None, "events_on_tracks", "no pick-up, drop-off, stop, arrival or collection of a tracked vehicle")
    by_agent = {str(a): f.sort_values("t_s", kind="stable") for a, f in tracks.groupby("agent", sort=True)}
    problems: list[str] = []
    points: dict[str, list[tuple[str, float, np.ndarray]]] = defaultdict(list)
    for agent, t_s, event, place in placed:
        point = _where(by_agent[agent], t_s)
        if point is None:
            problems.append(f"{agent} {event} at {t_s:.3f} s: the tracks have it driving then, not stopped")
            continue
        points[place].append((agent, t_s, point))
    for place, seen in points.items():
        centre = np.median(np.array([p for *_, p in seen]), axis=0)
        for agent, t_s, point in seen:
            off_m = float(np.hypot(*(point - centre)))
            if off_m > PLACE_TOLERANCE_M:
                problems.append(f"{agent} at {place.split(':')[-1]} at {t_s:.3f} s is {off_m:.0f} m from the "
                                "other events there")
    figure = f"{len(placed)} events of {len({a for a, *_ in placed})} vehicles at {len(points)} places"
    if problems:
        figure += f"; {len(problems)} not where or when the tracks put the vehicle: {'; '.join(problems[:3])}"
    return _check(not problems, "events_on_tracks", figure)


def track_distance(tracks: pd.DataFrame | None) -> tuple[str, str, str]:
    """Between consecutive points of a vehicle, the straight line is no longer than the odometer's advance.

    Every vehicle's points at once, sorted by vehicle, time and odometer (stable, as each vehicle's
    table sorted alone): a day of 1,000 drones has 1,000 vehicles, and a table per vehicle cost 0.6 s."""
    if tracks is None:
        return _check(None, "track_distance", "no trajectories in this run")
    import pandas as pd

    code, names = pd.factorize(tracks["agent"], sort=True)
    t, x, y, odometer = (tracks[c].to_numpy(dtype=float) for c in ("t_s", "x_m", "y_m", "odometer_m"))
    rows = np.flatnonzero(code >= 0)
    rows = rows[np.lexsort((odometer[rows], t[rows], code[rows]))]
    code, t, x, y, odometer = code[rows], t[rows], x[rows], y[rows], odometer[rows]
    measured = np.zeros(len(names), dtype=bool)
    measured[code[~np.isnan(odometer)]] = True  # a vehicle with no odometer at all is not checked
    step = np.flatnonzero((code[1:] == code[:-1]) & measured[code[1:]])  # from row step to row step + 1
    excess_m = (np.hypot(x[step + 1] - x[step], y[step + 1] - y[step]) - (odometer[step + 1] - odometer[step])
                - (DISTANCE_TOLERANCE_M + DISTANCE_RELATIVE_TOLERANCE * np.abs(odometer[step + 1])))
    pairs = len(step)
    bad = np.flatnonzero(~(excess_m <= 0))  # NaN (a damaged odometer) counts as bad too
    worst: list[tuple[float, str, float]] = []
    for vehicle in dict.fromkeys(code[step[bad]].tolist()):  # in the vehicles' order
        mine = bad[code[step[bad]] == vehicle]
        k = int(mine[np.nanargmax(excess_m[mine])]) if not np.isnan(excess_m[mine]).all() else int(mine[0])
        worst.append((float(excess_m[k]), str(names[vehicle]), float(t[step[k] + 1])))
    figure = f"{pairs} consecutive track points"
    if worst:
        worst.sort(key=lambda w: -w[0] if not math.isnan(w[0]) else math.inf)
        shown = "; ".join(f"{agent} at {t_s:.1f} s: {excess:.1f} m more than its odometer" for excess, agent, t_s in worst[:3])
        figure += f"; {len(worst)} vehicles move further than they drove: {shown}"
    return _check(not worst, "track_distance", figure)
