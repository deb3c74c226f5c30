"""``twin audit``: recompute a run's safety and quality figures from its results folder alone.

The checker reads what a user can open (``events.csv``, ``trajectories.gpkg``, ``summary.json``
and the scenario text kept in ``manifest.json``) and nothing of the model: it shares no code with
the planners or the code that moves vehicles and parts, so a planner's mistake cannot hide in the
figure that is meant to catch it. It imports only the scenario schema, for the caps, windows,
capacities and test sequences the scenario promised.

Each check gives one line, ``PASS|FAIL|SKIP name: figure``; SKIP says why there is no figure (a
run with no on-demand fleet has no ride figures, not zero of them). The command exits 1 on any FAIL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin import scenario as scenario_io
from gwangju_twin.errors import TwinError

if TYPE_CHECKING:
    import pandas as pd

SPEED_TOLERANCE = 1e-9  # relative: recorded times and odometers are floats
DISTANCE_TOLERANCE_M = 1e-3
SUMMARY_TOLERANCE_S = 0.1  # the summary rounds times to 0.1 s and the event log to 1 ms


@dataclass(frozen=True)
class Check:
    """One audited figure."""

    name: str
    status: str  # PASS, FAIL or SKIP
    figure: str

    def line(self) -> str:
        return f"{self.status} {self.name}: {self.figure}"


def passed_if(ok: bool, name: str, figure: str) -> Check:
    return Check(name, "PASS" if ok else "FAIL", figure)


@dataclass(frozen=True)
class Record:
    """A results folder as read from disk."""

    folder: Path
    spec: Any  # twin.scenario.ScenarioSpec
    summary: dict[str, Any]
    events: pd.DataFrame
    tracks: pd.DataFrame | None  # None: the run wrote no trajectories
    tracks_missing_why: str
    duration_s: float
    crs: Any = None  # the tracks' CRS


def read_record(folder: Path) -> Record:
    """Read a results folder, or raise a TwinError naming what is missing."""
    import pandas as pd  # here: the drone model imports this module for its separation figures alone

    folder = Path(folder)
    for name in ("manifest.json", "summary.json", "events.csv"):
        if not (folder / name).is_file():
            raise TwinError(f"{folder}: no {name}; give a results folder written by 'twin run'")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    spec = scenario_io.loads(manifest["scenario_text"], manifest.get("scenario_file", "<manifest>")).spec
    events = pd.read_csv(folder / "events.csv", dtype={"agent": str, "event": str, "detail": str},
                         keep_default_na=False)
    tracks, why, crs = None, manifest.get("trajectories", "trajectories.gpkg was not written"), None
    if (folder / "trajectories.gpkg").is_file():
        import pyogrio  # here: an audit of events alone does not pay for GDAL

        frame = pyogrio.read_dataframe(folder / "trajectories.gpkg")
        tracks = pd.DataFrame(frame.drop(columns="geometry")).assign(x_m=frame.geometry.x, y_m=frame.geometry.y)
        crs = frame.crs
    return Record(folder, spec, summary, events, tracks, why, float(manifest.get("duration_s", summary["simulated_s"])),
                  crs)


def audit(folder: Path) -> list[Check]:
    """Every check on the results folder ``folder``, in a fixed order."""
    from gwangju_twin import evidence

    record = evidence.read(Path(folder), read_record)
    checks: list[Check] = evidence.checks(record, Check)
    for plugin, _ in record.spec.services_configs():  # the checks of the services the scenario has
        for check in plugin.audit_checks():
            checks += check(record)
    return checks


def speeds_within_caps(record: Record, name: str, kinds: tuple[str, ...], cap_of: Callable[[str], float | None]) -> list[Check]:
    """Check ``name``: no recorded agent of ``kinds`` faster than ``cap_of(agent)`` (m/s), from the
    recorded odometers and times; an agent with no cap fails the check, a jump in no time too."""
    assert record.tracks is not None
    fastest_kmh, above, agents, unknown = 0.0, [], 0, []
    rows = record.tracks[record.tracks["kind"].isin(kinds)]
    for agent, frame in rows.groupby("agent", sort=True):
        cap = cap_of(str(agent))
        if cap is None:
            unknown.append(str(agent))
            continue
        frame = frame.sort_values(["t_s", "odometer_m"], kind="stable")
        dt = np.diff(frame["t_s"].to_numpy())
        dd = np.diff(frame["odometer_m"].to_numpy())
        agents += 1
        jumps = (dd > DISTANCE_TOLERANCE_M) & (dt <= 0)
        speeds = dd[dt > 0] / dt[dt > 0]
        top = float(speeds.max()) if len(speeds) else 0.0
        fastest_kmh = max(fastest_kmh, top * 3.6)
        if jumps.any() or top > cap * (1 + SPEED_TOLERANCE):
            above.append(f"{agent} {top * 3.6:.3f} km/h > {cap * 3.6:g} km/h" if not jumps.any()
                         else f"{agent} moved in no time")
    if unknown:
        return [Check(name, "FAIL", f"agents with no cap in the scenario: {', '.join(unknown[:5])}")]
    if not agents:
        return [Check(name, "SKIP", "nothing of this kind moved on the roads in this run")]
    figure = f"{len(above)} of {agents} vehicles above their cap; fastest {fastest_kmh:.3f} km/h"
    return [passed_if(not above, name, figure + (f" ({'; '.join(above[:3])})" if above else ""))]

