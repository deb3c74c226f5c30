"""The shuttle services' audit checks: speed caps, service windows, battery reserve, vehicle-km and
on-demand rides, recomputed from a results folder alone (no code shared with the services)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.audit import (
    DISTANCE_TOLERANCE_M,
    SUMMARY_TOLERANCE_S,
    Check,
    Record,
    passed_if,
    speeds_within_caps,
)
from gwangju_twin.units import DAY_S, J_PER_KWH

if TYPE_CHECKING:
    import pandas as pd

SHUTTLE_KINDS = ("shuttle", "sweeper", "collector")

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
    """No shuttle faster than its fleet's cap, from recorded odometers and times."""
    skipped = _no_tracks(record, "speed_cap", "any")
    if skipped:
        return skipped
    caps = {fleet.id: fleet.max_speed_mps for fleet in record.spec.shuttles.fleet}
    return speeds_within_caps(record, "speed_cap", SHUTTLE_KINDS, lambda agent: caps.get(agent.rsplit("-", 1)[0]))


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



CHECKS = (check_speed_cap, check_service_windows, check_battery_reserve, check_vehicle_km, check_on_demand)
