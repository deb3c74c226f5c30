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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin import scenario as scenario_io
from gwangju_twin.errors import TwinError
from gwangju_twin.units import DAY_S, J_PER_KWH

if TYPE_CHECKING:
    import pandas as pd

SPEED_TOLERANCE = 1e-9  # relative: recorded times and odometers are floats
DISTANCE_TOLERANCE_M = 1e-3
SUMMARY_TOLERANCE_S = 0.1  # the summary rounds times to 0.1 s and the event log to 1 ms
SHUTTLE_KINDS = ("shuttle", "sweeper", "collector")


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
    checks: list[Check] = evidence.checks(record)
    for check in CHECKS:
        checks += check(record)
    return checks


# --- shuttles ------------------------------------------------------------------------------------
def _fleet_of(agent: str, fleets: dict[str, Any]) -> Any | None:
    """The fleet a vehicle belongs to: vehicles are named ``FLEET-N``."""
    return fleets.get(agent.rsplit("-", 1)[0]) if "-" in agent else None


def _vehicle_tracks(record: Record) -> Iterable[tuple[str, Any, pd.DataFrame]]:
    fleets = {fleet.id: fleet for fleet in record.spec.shuttles.fleet}
    assert record.tracks is not None
    rows = record.tracks[record.tracks["kind"].isin(SHUTTLE_KINDS)]
    for agent, frame in rows.groupby("agent", sort=True):
        fleet = _fleet_of(str(agent), fleets)
        if fleet is not None:  # a vehicle of no fleet has no cap, window or reserve to check (speed_cap flags it)
            yield str(agent), fleet, frame.sort_values(["t_s", "odometer_m"], kind="stable")


def _no_tracks(record: Record, name: str, what: str) -> list[Check] | None:
    if not record.spec.shuttles.fleet and what == "shuttles":
        return [Check(name, "SKIP", "no shuttle fleet in this run")]
    if record.tracks is None:
        return [Check(name, "SKIP", f"no trajectories to check ({record.tracks_missing_why})")]
    return None


def check_speed_cap(record: Record) -> list[Check]:
    """No vehicle or parts truck faster than its cap, from recorded odometers and times."""
    skipped = _no_tracks(record, "speed_cap", "any")
    if skipped:
        return skipped
    caps = {fleet.id: fleet.max_speed_mps for fleet in record.spec.shuttles.fleet}
    truck_mps = record.spec.certification.truck_speed_mps if record.spec.certification else None
    fastest_kmh, above, agents, unknown = 0.0, [], 0, []
    for agent, frame in record.tracks.groupby("agent", sort=True):
        kind = frame["kind"].iloc[0]
        if kind == "truck":
            cap = truck_mps
        elif kind in SHUTTLE_KINDS:
            cap = caps.get(str(agent).rsplit("-", 1)[0])
        else:
            continue
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
        return [Check("speed_cap", "FAIL", f"agents with no cap in the scenario: {', '.join(unknown[:5])}")]
    if not agents:
        return [Check("speed_cap", "SKIP", "nothing moved on the roads in this run")]
    figure = f"{len(above)} of {agents} vehicles above their cap; fastest {fastest_kmh:.3f} km/h"
    return [passed_if(not above, "speed_cap", figure + (f" ({'; '.join(above[:3])})" if above else ""))]


def _window_intervals(fleet: Any, duration_s: float) -> list[tuple[float, float]]:
    spans = [(day * DAY_S + start_s, day * DAY_S + end_s)
             for day in range(int(duration_s // DAY_S) + 1) for start_s, end_s in fleet.windows_s]
    return sorted(spans)


def _stops_by_agent(events: pd.DataFrame) -> dict[str, list[tuple[float, float]]]:
    """Each vehicle's disengagements as ``(stopped_at_s, resumed_at_s)``, from the event log."""
    stops: dict[str, list[tuple[float, float]]] = defaultdict(list)
    open_at: dict[str, float] = {}
    for t_s, agent, event in events.loc[events["event"].isin(["disengage", "resume"]), ["t_s", "agent", "event"]].itertuples(index=False):
        if event == "disengage":
            open_at[agent] = t_s
        elif agent in open_at:
            stops[agent].append((open_at.pop(agent), t_s))
    for agent, t_s in open_at.items():
        stops[agent].append((t_s, float("inf")))
    return stops


def _allowed(windows: list[tuple[float, float]], stops: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Windows, each stretched by the time remote operators held the vehicle during it."""
    stretched = []
    for start_s, end_s in windows:
        for stopped_s, resumed_s in stops:
            if start_s <= stopped_s <= end_s:
                end_s += resumed_s - stopped_s
        stretched.append((start_s, end_s))
    return stretched


def _outside_m(frame: pd.DataFrame, allowed: list[tuple[float, float]]) -> float:
    """Metres driven outside ``allowed``: each recorded leg's distance, shared evenly over its time."""
    t = frame["t_s"].to_numpy()
    odo = frame["odometer_m"].to_numpy()
    total = 0.0
    for t0, t1, d in zip(t[:-1], t[1:], np.diff(odo)):
        if d <= DISTANCE_TOLERANCE_M or t1 <= t0:
            continue
        inside = sum(max(0.0, min(t1, b) - max(t0, a)) for a, b in allowed)
        total += d * max(0.0, 1.0 - inside / (t1 - t0))
    return total


def check_service_windows(record: Record) -> list[Check]:
    """Kilometres driven outside the service windows, per fleet (a disengagement's delay is allowed)."""
    skipped = _no_tracks(record, "service_windows", "shuttles")
    if skipped:
        return skipped
    stops = _stops_by_agent(record.events)
    outside: dict[str, float] = {fleet.id: 0.0 for fleet in record.spec.shuttles.fleet}
    worst: list[str] = []
    for agent, fleet, frame in _vehicle_tracks(record):
        metres = _outside_m(frame, _allowed(_window_intervals(fleet, record.duration_s), stops.get(agent, [])))
        outside[fleet.id] += metres
        if metres > DISTANCE_TOLERANCE_M:
            worst.append(f"{agent} {metres / 1000:.3f} km")
    total_km = sum(outside.values()) / 1000.0
    per_fleet = ", ".join(f"{fid} {m / 1000:.3f}" for fid, m in outside.items())
    figure = f"{total_km:.3f} km outside windows (by fleet: {per_fleet})"
    return [passed_if(not worst, "service_windows", figure + (f"; vehicles: {', '.join(worst[:5])}" if worst else ""))]


def check_battery_reserve(record: Record) -> list[Check]:
    """No battery below its reserve, from the battery level recorded at every node."""
    skipped = _no_tracks(record, "battery_reserve", "shuttles")
    if skipped:
        return skipped
    below, lowest = [], None
    for agent, fleet, frame in _vehicle_tracks(record):
        reserve_kwh = fleet.energy.reserve * fleet.energy.battery_j / J_PER_KWH
        level = float(frame["battery_kwh"].min())
        if lowest is None or level - reserve_kwh < lowest[0]:
            lowest = (level - reserve_kwh, agent, level, reserve_kwh)
        if level < reserve_kwh - 1e-9:
            below.append(f"{agent} {level:.3f} kWh < {reserve_kwh:.3f} kWh")
    if lowest is None:
        return [Check("battery_reserve", "SKIP", "no shuttle was recorded")]
    figure = f"{len(below)} vehicles below reserve; closest {lowest[1]} at {lowest[2]:.3f} kWh (reserve {lowest[3]:.3f} kWh)"
    return [passed_if(not below, "battery_reserve", figure + (f" ({'; '.join(below[:3])})" if below else ""))]


def check_vehicle_km(record: Record) -> list[Check]:
    """Each fleet's vehicle-km in the summary equals the recorded odometers."""
    skipped = _no_tracks(record, "vehicle_km", "shuttles")
    if skipped:
        return skipped
    recorded: dict[str, float] = defaultdict(float)
    for _, fleet, frame in _vehicle_tracks(record):
        recorded[fleet.id] += float(frame["odometer_m"].max())
    kpis = record.summary["kpis"]
    wrong = [f"{fid}: summary {kpis[fid]['vehicle_km']} km, recorded {recorded[fid] / 1000:.3f} km"
             for fid in (f.id for f in record.spec.shuttles.fleet)
             if abs(kpis[fid]["vehicle_km"] - recorded[fid] / 1000.0) > 0.0015]
    figure = f"{sum(recorded.values()) / 1000:.3f} km recorded over {len(recorded)} fleets"
    return [passed_if(not wrong, "vehicle_km", figure + (f"; {'; '.join(wrong)}" if wrong else " = summary"))]


# --- on-demand rides -----------------------------------------------------------------------------
def _rides(events: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Every request from the log: when asked, who took it, when picked up and dropped off."""
    rides: dict[str, dict[str, Any]] = {}
    for t_s, agent, event, detail in events.itertuples(index=False):
        if event == "request":
            key = detail.split(" from ")[0]
            rides[key] = {"fleet": agent, "t_s": t_s, "rejected": False, "vehicle": None,
                          "pickup_s": None, "dropoff_s": None, "errors": []}
        elif event in ("reject", "pickup", "dropoff") and detail.startswith("request "):
            ride = rides.get(detail)
            if ride is None:
                rides[detail] = ride = {"fleet": "?", "t_s": None, "rejected": False, "vehicle": None,
                                        "pickup_s": None, "dropoff_s": None, "errors": ["never requested"]}
            if event == "reject":
                ride["rejected"] = True
            elif event == "pickup":
                if ride["pickup_s"] is not None:
                    ride["errors"].append("picked up twice")
                ride["pickup_s"], ride["vehicle"] = t_s, agent
            else:
                if ride["pickup_s"] is None or ride["vehicle"] != agent:
                    ride["errors"].append("dropped off by a vehicle that did not pick it up")
                ride["dropoff_s"] = t_s
    return rides


def _on_demand_fleets(record: Record) -> list[Any]:
    return [f for f in record.spec.shuttles.fleet if f.service == "on_demand"]


def check_on_demand(record: Record) -> list[Check]:
    """Rides recomputed from the event log: counts, waits and ride times against the summary; seats."""
    fleets = _on_demand_fleets(record)
    if not fleets:
        return [Check("on_demand_rides", "SKIP", "no on-demand fleet in this run"),
                Check("vehicle_capacity", "SKIP", "no on-demand fleet in this run")]
    rides = _rides(record.events)
    problems, figures = [], []
    for fleet in fleets:
        mine = [r for r in rides.values() if r["fleet"] == fleet.id]
        served = [r for r in mine if r["dropoff_s"] is not None and r["pickup_s"] is not None and r["t_s"] is not None]
        rejected = sum(r["rejected"] for r in mine)
        waits = [r["pickup_s"] - r["t_s"] for r in served]
        ride_s = [r["dropoff_s"] - r["pickup_s"] for r in served]
        kpis = record.summary["kpis"][fleet.id]
        for label, mine_value, theirs in (("requests", len(mine), kpis["requests"]), ("served", len(served), kpis["served"]),
                                          ("rejected", rejected, kpis["rejected"])):
            if mine_value != theirs:
                problems.append(f"{fleet.id} {label}: log {mine_value}, summary {theirs}")
        for label, values, theirs in (("wait_mean_s", waits, kpis["wait_mean_s"]), ("ride_mean_s", ride_s, kpis["ride_mean_s"])):
            if values and (theirs is None or abs(float(np.mean(values)) - theirs) > SUMMARY_TOLERANCE_S):
                problems.append(f"{fleet.id} {label}: log {np.mean(values):.1f}, summary {theirs}")
            if not values and theirs is not None:
                problems.append(f"{fleet.id} {label}: no served ride in the log, summary {theirs}")
        problems += [f"{key}: {error}" for key, r in rides.items() if r["fleet"] == fleet.id for error in r["errors"]]
        mean_wait = f"{np.mean(waits):.1f} s" if waits else "none served"
        figures.append(f"{fleet.id} {len(mine)} requests, {len(served)} served, {rejected} rejected, wait mean {mean_wait}")
    orphans = [key for key, r in rides.items() if r["fleet"] == "?"]
    problems += [f"{key}: never requested" for key in orphans[:3]]
    rides_check = passed_if(not problems, "on_demand_rides",
                            "; ".join(figures) + (f" -- {'; '.join(problems[:4])}" if problems else " = summary"))
    return [rides_check, _check_capacity(record, fleets)]


def _check_capacity(record: Record, fleets: list[Any]) -> Check:
    capacity = {f.id: f.capacity for f in fleets}
    onboard: dict[str, int] = defaultdict(int)
    most: dict[str, int] = defaultdict(int)
    over = []
    events = record.events[record.events["event"].isin(["pickup", "dropoff"])]
    for agent, event in events[["agent", "event"]].itertuples(index=False):
        onboard[agent] += 1 if event == "pickup" else -1
        most[agent] = max(most[agent], onboard[agent])
        fleet_id = agent.rsplit("-", 1)[0]
        if onboard[agent] > capacity.get(fleet_id, 0) or onboard[agent] < 0:
            over.append(agent)
    fleet_most = {fid: max((n for a, n in most.items() if a.rsplit("-", 1)[0] == fid), default=0) for fid in capacity}
    figure = ", ".join(f"{fid} at most {n} of {capacity[fid]} seats" for fid, n in fleet_most.items())
    return passed_if(not over, "vehicle_capacity", figure + (f"; over capacity: {', '.join(sorted(set(over))[:5])}" if over else ""))


# --- certification -------------------------------------------------------------------------------
OPEN_STATES = ("in_transit", "waiting", "in_test", "rework")


@dataclass
class Queues:
    """Time parts spent queueing for each equipment type, replayed from the log."""

    waited_s: dict[str, float]
    entries: dict[str, int]

    def join(self, part: dict[str, Any], part_type: Any, t_s: float) -> None:
        if part["step"] < len(part_type.tests):
            part["queued"] = (part_type.tests[part["step"]].equipment, t_s)

    def leave(self, part: dict[str, Any], t_s: float) -> None:
        equipment, since_s = part.pop("queued")
        self.waited_s[equipment] = self.waited_s.get(equipment, 0.0) + t_s - since_s
        self.entries[equipment] = self.entries.get(equipment, 0) + 1


def _part_paths(record: Record) -> tuple[dict[str, str], list[str], Queues]:
    """Replay every part's events against its test sequence: final states, missteps, queueing."""
    cert = record.spec.certification
    types = {p.id: p for p in cert.parts}
    parts: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    queues = Queues({}, {})
    steps = ("shipped", "arrived", "test_start", "passed", "failed", "reworked", "rejected", "certificate")
    rows = record.events.loc[record.events["event"].isin(steps), ["t_s", "agent", "event", "detail"]]
    for t_s, agent, event, detail in rows.itertuples(index=False):
        part_type = types.get(agent.rsplit("-", 1)[0])
        if part_type is None:
            errors.append(f"{agent}: no part type of that name")
            continue
        if event == "shipped":
            if agent in parts:
                errors.append(f"{agent}: shipped twice")
            parts[agent] = {"state": "in_transit", "step": 0, "failures": 0}
            continue
        part = parts.get(agent)
        if part is None:
            errors.append(f"{agent}: {event} before it was shipped")
            continue
        error = _advance(part, part_type, event, detail, cert.max_failures)
        if error:
            errors.append(f"{agent}: {error}")
        elif event in ("arrived", "passed", "reworked"):
            queues.join(part, part_type, t_s)
        elif event == "test_start":
            queues.leave(part, t_s)
    for part in parts.values():  # still queueing at the end: waited until now
        if "queued" in part:
            queues.leave(part, record.summary["simulated_s"])
    return {name: p["state"] for name, p in parts.items()}, errors, queues


def _advance(part: dict[str, Any], part_type: Any, event: str, detail: str, max_failures: int) -> str | None:
    """Move one part through one event; the reason if the event is not allowed there."""
    state, step = part["state"], part["step"]
    expected = part_type.tests[step].name if step < len(part_type.tests) else None
    if event == "arrived" and state == "in_transit":
        part["state"] = "waiting"
    elif event == "test_start" and state == "waiting" and detail.startswith(f"{expected} on "):
        part["state"] = "in_test"
    elif event == "passed" and state == "in_test" and detail == expected:
        part["step"], part["state"] = step + 1, "waiting"
    elif event == "failed" and state == "in_test" and detail == expected:
        part["failures"] += 1
        part["state"] = "rework"
    elif event == "rejected" and state == "rework" and part["failures"] >= max_failures:
        part["state"] = "rejected"
    elif event == "reworked" and state == "rework" and detail == expected and part["failures"] < max_failures:
        part["state"] = "waiting"
    elif event == "certificate" and state == "waiting" and step == len(part_type.tests):
        part["state"] = "certified"
    else:
        return f"{event} {detail!r} while {state} at test {step + 1} ({expected or 'all passed'})"
    return None


def check_parts(record: Record) -> list[Check]:
    """Parts conserved (shipped = certified + rejected + in system) and every path through the procedures."""
    if record.spec.certification is None:
        return [Check(name, "SKIP", "no certification center in this run")
                for name in ("parts_conserved", "part_procedures", "lab_queues")]
    final, errors, queues = _part_paths(record)
    counts = {state: sum(1 for s in final.values() if s == state) for state in (*OPEN_STATES, "certified", "rejected")}
    kpis = record.summary["kpis"]["certification"]
    in_system = sum(counts[s] for s in OPEN_STATES)
    figure = (f"{len(final)} shipped = {counts['certified']} certified + {counts['rejected']} rejected "
              f"+ {in_system} in system")
    differ = [f"{s}: log {counts[s]}, summary {kpis['states'][s]}" for s in counts if counts[s] != kpis["states"][s]]
    if len(final) != kpis["parts_shipped"]:
        differ.append(f"shipped: log {len(final)}, summary {kpis['parts_shipped']}")
    conserved = passed_if(not differ, "parts_conserved", figure + (f" -- {'; '.join(differ)}" if differ else " = summary"))
    tests = int((record.events["event"] == "test_start").sum())
    procedures = passed_if(not errors, "part_procedures",
                           f"{len(final)} parts, {tests} tests replayed, {len(errors)} out of order"
                           + (f" ({'; '.join(errors[:3])})" if errors else ""))
    return [conserved, procedures, _check_queues(record, queues)]


def _check_queues(record: Record, queues: Queues) -> Check:
    """Each equipment's mean queue and mean wait from the log against the summary (Little: L = lambda W)."""
    duration_s = record.summary["simulated_s"]
    equipment = record.summary["kpis"]["certification"]["equipment"]
    differ = []
    for rid, figures in equipment.items():
        waited_s, entries = queues.waited_s.get(rid, 0.0), queues.entries.get(rid, 0)
        queue_mean = waited_s / duration_s if duration_s else 0.0
        wait_h = waited_s / entries / 3600.0 if entries else None
        if abs(queue_mean - figures["queue_mean"]) > 0.0015 or entries != figures["tests_queued"] or (
                (wait_h is None) != (figures["wait_mean_h"] is None)
                or (wait_h is not None and abs(wait_h - figures["wait_mean_h"]) > 0.0015)):
            differ.append(f"{rid}: log queue {queue_mean:.3f}, wait {wait_h} h, {entries} queued; "
                          f"summary {figures['queue_mean']}, {figures['wait_mean_h']} h, {figures['tests_queued']}")
    busiest = max(equipment, key=lambda rid: queues.waited_s.get(rid, 0.0))
    figure = (f"{sum(queues.entries.values())} tests queued at {len(equipment)} equipment types; longest queue "
              f"{busiest} {queues.waited_s.get(busiest, 0.0) / duration_s:.3f} parts on average")
    return passed_if(not differ, "lab_queues", figure + (f" -- {'; '.join(differ[:2])}" if differ else " = summary"))


# --- drones --------------------------------------------------------------------------------------
AIRBORNE_PHASES = ("climb", "cruise", "transition", "descent")  # a track point's state: the phase from it on
MERGE_GAP_S = 1.0  # two loss intervals of one pair closer than this are one encounter


def _drone_segments(tracks: pd.DataFrame | list[tuple]) -> list[tuple[float, float, str, np.ndarray, np.ndarray]]:
    """Airborne pieces of every recorded drone track: ``(t0, t1, agent, point0, point1)``, by start time.

    ``tracks``: the record's table, or its rows as :class:`twin.record.Tracks` holds them (a
    running model's own figures, which need no pandas).
    """
    if isinstance(tracks, list):
        from gwangju_twin.record import Tracks

        at = {name: k for k, name in enumerate(Tracks.COLUMNS)}
        rows = [(r[at["agent"]], r[at["t_s"]], r[at["x_m"]], r[at["y_m"]], r[at["altitude_m"]], r[at["state"]])
                for r in tracks if r[at["kind"]] == "drone"]
    else:
        drones = tracks[tracks["kind"] == "drone"]
        rows = list(zip(drones["agent"], drones["t_s"], drones["x_m"], drones["y_m"], drones["altitude_m"],
                        drones["state"]))
    by_agent: dict[str, list[tuple]] = {}
    for row in rows:
        by_agent.setdefault(str(row[0]), []).append(row)
    pieces = []
    for agent in sorted(by_agent):
        points = sorted(by_agent[agent], key=lambda row: row[1])  # stable: equal times keep their order
        for (_, t0, x0, y0, z0, state), (_, t1, x1, y1, z1, _) in zip(points, points[1:]):
            if state in AIRBORNE_PHASES and t1 > t0:
                pieces.append((float(t0), float(t1), agent, np.array([x0, y0, z0], dtype=float),
                               np.array([x1, y1, z1], dtype=float)))
    pieces.sort(key=lambda piece: (piece[0], piece[2]))
    return pieces


def _at(piece: tuple, t_s: float) -> np.ndarray:
    t0, t1, _, p0, p1 = piece
    return p0 + (p1 - p0) * ((t_s - t0) / (t1 - t0))


def _below(a: float, b: float, c: float) -> tuple[float, float] | None:
    """The part of [0, 1] where ``a s^2 + b s + c < 0``, if it is one interval (it is, for a >= 0)."""
    if abs(a) < 1e-12:
        if abs(b) < 1e-12:
            return (0.0, 1.0) if c < 0 else None
        root = -c / b
        lo, hi = (-np.inf, root) if b > 0 else (root, np.inf)
    else:
        disc = b * b - 4 * a * c
        if disc <= 0:
            return None
        root = np.sqrt(disc)
        lo, hi = (-b - root) / (2 * a), (-b + root) / (2 * a)
    lo, hi = max(lo, 0.0), min(hi, 1.0)
    return (lo, hi) if hi > lo else None


def _encounter(first: tuple, second: tuple, horizontal_m: float, vertical_m: float) -> tuple[float, tuple | None]:
    """Closest 3D distance of two pieces over their common time, and when both minima were broken."""
    lo, hi = max(first[0], second[0]), min(first[1], second[1])
    start = _at(first, lo) - _at(second, lo)
    change = (_at(first, hi) - _at(second, hi)) - start
    # Squared distance along s in [0, 1] is a quadratic; its minimum is the closest approach.
    a3, b3 = float(change @ change), float(2 * start @ change)
    s_min = min(max(-b3 / (2 * a3), 0.0), 1.0) if a3 > 0 else 0.0
    closest = float(np.linalg.norm(start + change * s_min))
    a2, b2 = float(change[:2] @ change[:2]), float(2 * start[:2] @ change[:2])
    flat = _below(a2, b2, float(start[:2] @ start[:2]) - horizontal_m**2)
    level = _below(change[2] ** 2, 2 * start[2] * change[2], start[2] ** 2 - vertical_m**2)
    if flat is None or level is None or min(flat[1], level[1]) <= max(flat[0], level[0]):
        return closest, None
    s0, s1 = max(flat[0], level[0]), min(flat[1], level[1])
    return closest, (lo + s0 * (hi - lo), lo + s1 * (hi - lo))


def separation_figures(tracks: pd.DataFrame | list[tuple], minima: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Losses of separation between airborne drones, from their recorded 3D tracks alone.

    A loss is an encounter of two drones closer than BOTH minima at once (horizontal and vertical,
    each pair keeping the larger of its two types' minima; a drone's type is its name up to the
    first '-'). Every pair of recorded straight pieces that overlap in time is checked exactly.
    """
    pieces = _drone_segments(tracks)
    widest = (max((h for h, _ in minima.values()), default=0.0), max((v for _, v in minima.values()), default=0.0))
    closest, losses, active = None, {}, []
    for piece in pieces:
        active = [other for other in active if other[1] > piece[0]]
        for other in active:
            if other[2] == piece[2]:
                continue
            h_a, v_a = minima.get(piece[2].split("-")[0], widest)
            h_b, v_b = minima.get(other[2].split("-")[0], widest)
            distance, loss = _encounter(other, piece, max(h_a, h_b), max(v_a, v_b))
            closest = distance if closest is None else min(closest, distance)
            if loss is not None:
                losses.setdefault(tuple(sorted((piece[2], other[2]))), []).append(loss)
        active.append(piece)
    episodes, seconds = 0, 0.0
    for intervals in losses.values():
        end = -np.inf
        for t0, t1 in sorted(intervals):
            episodes += t0 > end + MERGE_GAP_S
            seconds += max(0.0, t1 - max(t0, end))
            end = max(end, t1)
    return {"losses_of_separation": int(episodes), "time_in_loss_s": round(float(seconds), 1),
            "closest_approach_m": round(float(closest), 1) if closest is not None else None,
            "pairs_in_loss": sorted(f"{a} & {b}" for a, b in losses)[:10]}


def check_separation(record: Record) -> list[Check]:
    """No two airborne drones closer than both minima, from the recorded 3D tracks."""
    drones = record.spec.drones
    if drones is None:
        return [Check("drone_separation", "SKIP", "no drones in this run")]
    if record.tracks is None or "altitude_m" not in record.tracks or not (record.tracks["kind"] == "drone").any():
        return [Check("drone_separation", "SKIP", f"no drone tracks to check ({record.tracks_missing_why})")]
    minima = {t.id: (t.separation_horizontal_m or drones.separation_horizontal_m,
                     t.separation_vertical_m or drones.separation_vertical_m) for t in drones.types}
    figures = separation_figures(record.tracks, minima)
    flights = int(((record.tracks["kind"] == "drone") & (record.tracks["state"] == "pad")).sum())
    closest = figures["closest_approach_m"]
    figure = (f"{figures['losses_of_separation']} losses in {flights} flights, {figures['time_in_loss_s']} s in loss; "
              f"closest approach {'none (never two airborne at once)' if closest is None else f'{closest} m'}")
    summary = record.summary["kpis"].get("drones", {}).get("losses_of_separation")
    if summary is not None and summary != figures["losses_of_separation"]:
        figure += f"; the summary says {summary}"
    if figures["pairs_in_loss"]:
        figure += f" ({', '.join(figures['pairs_in_loss'][:3])})"
    return [passed_if(figures["losses_of_separation"] == 0 and summary in (None, 0), "drone_separation", figure)]


def _zone_shape(zone_id: str, record: Record, crs: str) -> tuple[str, str, Any]:
    """A zone's id on the map the run used (its stand-in there), its kind, and its polygon in ``crs``."""
    import pyproj
    import shapely
    from gwangju_twin.areas import load_area

    actual = zone_id
    if record.summary.get("stand_in"):  # the map of another area was used: its zones stand in
        used = {record.summary["area"], *record.summary.get("areas", {}).values()}
        for area_id in sorted(used):
            actual = load_area(area_id).spec.zone_aliases.get(zone_id, actual)
    area = load_area(actual)
    to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    parts = [shapely.Polygon(np.column_stack(to_m.transform(r[:, 0], r[:, 1]))) for r in area.rings_wgs84]
    return actual, area.spec.kind, shapely.union_all(parts)


def check_airspace(record: Record) -> list[Check]:
    """Drones keep out of geofences, enter control zones only with a corridor's approval, and drones
    based where every corridor is confined to an operational volume stay inside it; from the tracks."""
    import shapely

    drones = record.spec.drones
    if drones is None:
        return [Check("drone_airspace", "SKIP", "no drones in this run")]
    if record.tracks is None or not (record.tracks["kind"] == "drone").any():
        return [Check("drone_airspace", "SKIP", f"no drone tracks to check ({record.tracks_missing_why})")]
    crs = str(record.crs)
    zones = [_zone_shape(z, record, crs) for z in drones.geofences]
    approved = any(c.approval for c in drones.corridors)
    confined: dict[str, Any] = {}  # home vertiport -> the volume its drones must stay in
    for port in drones.vertiports:
        own = [c for c in drones.corridors if port.site in (c.start, c.end)]
        if own and all(c.operational_volume for c in own):
            confined[port.site] = shapely.union_all([_zone_shape(c.operational_volume, record, crs)[2] for c in own])
    rows = record.tracks[record.tracks["kind"] == "drone"].sort_values(["agent", "t_s"], kind="stable")
    problems: list[str] = []
    segments = 0
    for agent, frame in rows.groupby("agent", sort=True):
        xy = frame[["x_m", "y_m"]].to_numpy()
        airborne = (frame["state"].to_numpy()[:-1] != "landed") & (np.hypot(*np.diff(xy, axis=0).T) > 0)
        lines = shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)[airborne])
        segments += len(lines)
        for zone_id, kind, shape in zones:
            inside = shapely.intersects(lines, shapely.buffer(shape, -1.0))
            if inside.any() and (kind != "control_zone" or not approved):
                problems.append(f"{agent} enters {kind.replace('_', ' ')} {zone_id}")
        home = next((site for site in confined if f"-{site}-" in str(agent)), None)
        if home is not None and len(lines):
            leaving = ~shapely.within(lines, shapely.buffer(confined[home], 1.0))
            if leaving.any():
                problems.append(f"{agent} leaves its operational volume ({int(leaving.sum())} segments)")
    kinds = ", ".join(f"{z} ({k.replace('_', ' ')})" for z, k, _ in zones) or "no zones"
    figure = (f"{len(problems)} drones break zone rules over {segments} flown segments; zones {kinds}; "
              f"{len(confined)} home vertiports confined to an operational volume")
    if problems:
        figure += f" ({'; '.join(problems[:3])})"
    return [passed_if(not problems, "drone_airspace", figure)]


CHECKS: tuple[Callable[[Record], list[Check]], ...] = (
    check_speed_cap, check_service_windows, check_battery_reserve, check_vehicle_km, check_on_demand, check_parts,
    check_separation, check_airspace,
)
