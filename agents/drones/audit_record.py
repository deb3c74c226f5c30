"""The drones' flight record checked from a results folder alone: altitude, energy, speeds, events
against tracks, pads and approach and departure paths (no code shared with the planner).

Each check reads the recorded drone tracks (``trajectories.gpkg``), the scenario the run used and
the vertiports the run declared in its summary (pad positions and terminal volumes, themselves
checked against the scenario's terminal radius).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.audit import Check, passed_if

if TYPE_CHECKING:
    import pandas as pd
    from gwangju_twin.audit import Record

J_PER_KWH = 3.6e6
SLACK = 1e-6  # rounding allowed on speeds (m/s), altitudes (m) and energy (kWh)
ON_PAD_M = 0.05  # a ground point this close to a declared pad's centre is on it
VERTICAL_PHASES = ("climb", "transition", "descent")


def _drones(record: Record, name: str) -> tuple[Any, pd.DataFrame | None, Check | None]:
    """The scenario's drone table and the drone rows by agent and time, or a SKIP line."""
    drones = record.spec.drones
    if drones is None:
        return None, None, Check(name, "SKIP", "no drones in this run")
    tracks = record.tracks
    if tracks is None or "altitude_m" not in tracks or not (tracks["kind"] == "drone").any():
        return drones, None, Check(name, "SKIP", f"no drone tracks to check ({record.tracks_missing_why})")
    rows = tracks[tracks["kind"] == "drone"].sort_values(["agent", "t_s"], kind="stable")
    return drones, rows, None


def _pieces(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """Consecutive points of one drone as arrays: start and end time, place, altitude, the start's state."""
    same = rows["agent"].to_numpy()[:-1] == rows["agent"].to_numpy()[1:]
    t, x, y, z = (rows[c].to_numpy(dtype=float) for c in ("t_s", "x_m", "y_m", "altitude_m"))
    pick = np.flatnonzero(same)
    return {"agent": rows["agent"].to_numpy()[pick], "state": rows["state"].to_numpy()[pick],
            "t0": t[pick], "t1": t[pick + 1], "x0": x[pick], "x1": x[pick + 1], "y0": y[pick], "y1": y[pick + 1],
            "z0": z[pick], "z1": z[pick + 1]}


def _per_agent(agents: np.ndarray, of_type: Callable[[str], Sequence[float]]) -> np.ndarray:
    """``of_type`` (a few numbers) of each row's drone type (its agent's name up to the first '-'), one
    row per agent; asked once per distinct agent, not once per row."""
    import pandas as pd

    code, names = pd.factorize(agents)
    values = [of_type(str(name).split("-")[0]) for name in names]
    width = len(values[0]) if values else len(of_type(""))  # no rows: none, of that width
    return np.array(values, dtype=float).reshape(len(values), width)[code]


def _declared(record: Record) -> dict[str, Any]:
    return record.summary["kpis"].get("drones", {}).get("airspace", {}).get("vertiports") or {}


def _in_terminal(x: np.ndarray, y: np.ndarray, ports: dict[str, Any], radius_m: float) -> np.ndarray:
    inside = np.zeros(len(x), dtype=bool)
    for port in ports.values():
        cx, cy = port["centre_xy_m"]
        inside |= np.hypot(x - cx, y - cy) <= min(port["terminal_radius_m"], radius_m) + ON_PAD_M
    return inside


def check_altitude(record: Record) -> list[Check]:
    """Cruise inside the corridors' band; climbs, descents and layer changes only vertical and only
    inside a vertiport's terminal volume; nothing above the highest ceiling."""
    drones, rows, skip = _drones(record, "drone_altitude")
    if skip:
        return [skip]
    floor_m = min(c.floor_m for c in drones.corridors)
    ceiling_m = max(c.ceiling_m for c in drones.corridors)
    p = _pieces(rows)
    cruise = p["state"] == "cruise"
    out_of_band = cruise & ((np.minimum(p["z0"], p["z1"]) < floor_m - SLACK) |
                            (np.maximum(p["z0"], p["z1"]) > ceiling_m + SLACK))
    too_high = rows["altitude_m"].to_numpy(dtype=float) > ceiling_m + SLACK
    vertical = np.isin(p["state"], VERTICAL_PHASES)
    moved = np.hypot(p["x1"] - p["x0"], p["y1"] - p["y0"]) > ON_PAD_M
    ports = _declared(record)
    outside = vertical & ~(_in_terminal(p["x0"], p["y0"], ports, drones.terminal_radius_m) &
                           _in_terminal(p["x1"], p["y1"], ports, drones.terminal_radius_m))
    problems = {"cruise pieces outside the band": out_of_band, "climbs or descents that move sideways": vertical & moved,
                "climbs or descents outside a terminal volume": outside}
    found = [f"{int(mask.sum())} {what} (first: {p['agent'][np.argmax(mask)]} at {p['t0'][np.argmax(mask)]:.0f} s)"
             for what, mask in problems.items() if mask.any()]
    if too_high.any():
        found.append(f"{int(too_high.sum())} points above the highest ceiling {ceiling_m:g} m "
                     f"(highest {rows['altitude_m'].max():.0f} m)")
    figure = (f"{int(cruise.sum())} cruise pieces in the band {floor_m:g}-{ceiling_m:g} m, "
              f"{int(vertical.sum())} vertical pieces inside terminal volumes")
    return [passed_if(not found, "drone_altitude", figure + (f"; {'; '.join(found)}" if found else ""))]


def check_energy(record: Record) -> list[Check]:
    """Recorded energy never below the type's reserve."""
    drones, rows, skip = _drones(record, "drone_energy")
    if skip:
        return [skip]
    reserve = {t.id: t.reserve * t.energy_j / J_PER_KWH for t in drones.types}
    floor_kwh = _per_agent(rows["agent"].to_numpy(), lambda kind: (reserve.get(kind, np.nan),))[:, 0]
    energy = rows["battery_kwh"].to_numpy(dtype=float)
    below = ~(energy >= floor_kwh - SLACK)  # NaN counts as below: a drone always holds some energy
    figure = f"lowest energy left {np.nanmin(energy):.3f} kWh over {len(rows)} points"
    if below.any():
        first = rows.iloc[int(np.argmax(below))]
        figure += (f"; {int(below.sum())} points below the reserve (first: {first['agent']} at {first['t_s']:.0f} s, "
                   f"{first['battery_kwh']:.3f} kWh)")
    return [passed_if(not below.any(), "drone_energy", figure)]


def check_kinematics(record: Record) -> list[Check]:
    """Ground speed within airspeed plus wind (gusts up to 3 SD); vertical speed within the type's rates."""
    drones, rows, skip = _drones(record, "drone_kinematics")
    if skip:
        return [skip]
    wind = drones.wind
    by_type = {t.id: t for t in drones.types}
    p = _pieces(rows)
    span = p["t1"] - p["t0"]
    rates = ("cruise_speed_mps", "climb_rate_mps", "descent_rate_mps")
    cap, up, down = _per_agent(p["agent"], lambda kind: [getattr(by_type.get(kind), r, 0.0) for r in rates]).T
    cap = cap + wind.speed_mps + 3.0 * wind.gust_sd_mps
    with np.errstate(divide="ignore", invalid="ignore"):
        ground = np.where(span > 0, np.hypot(p["x1"] - p["x0"], p["y1"] - p["y0"]) / span, 0.0)
        climb = np.where(span > 0, (p["z1"] - p["z0"]) / span, 0.0)
    jumps = (span <= 0) & ((np.hypot(p["x1"] - p["x0"], p["y1"] - p["y0"]) > ON_PAD_M) | (p["z1"] != p["z0"]))
    fast = (ground > cap + SLACK) | (climb > up + SLACK) | (-climb > down + SLACK) | jumps
    figure = (f"fastest ground speed {ground.max(initial=0.0):.1f} m/s, climb {climb.max(initial=0.0):.1f} m/s, "
              f"descent {-climb.min(initial=0.0):.1f} m/s over {len(span)} pieces")
    if fast.any():
        k = int(np.argmax(fast))
        figure += (f"; {int(fast.sum())} pieces too fast (first: {p['agent'][k]} at {p['t0'][k]:.0f} s, "
                   f"{ground[k]:.1f} m/s, cap {cap[k]:.1f} m/s)")
    return [passed_if(not fast.any(), "drone_kinematics", figure)]


def check_flights(record: Record) -> list[Check]:
    """Take-off and landed events are the flights in the tracks, drone by drone, at the same times."""
    _, rows, skip = _drones(record, "drone_flights")
    if skip:
        return [skip]
    events = record.events
    problems = []
    for event, state in (("takeoff", "pad"), ("landed", "landed")):
        logged = events[events["event"] == event].groupby("agent")["t_s"].apply(sorted).to_dict()
        tracked = rows[rows["state"] == state].groupby("agent")["t_s"].apply(sorted).to_dict()
        for agent in sorted(set(logged) | set(tracked)):
            a, b = logged.get(agent, []), tracked.get(agent, [])
            if len(a) != len(b) or (a and float(np.max(np.abs(np.subtract(a, b)))) > 1e-3):
                problems.append(f"{agent}: {len(a)} {event} events, {len(b)} in the tracks")
    flights = int((rows["state"] == "pad").sum())
    figure = f"{flights} flights in the tracks" + (f"; {'; '.join(problems[:3])}" if problems else ", each logged")
    return [passed_if(not problems, "drone_flights", figure)]


def _nearest(centres: np.ndarray, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the index of the nearest of ``centres`` (scipy's cKDTree) and its distance."""
    if not len(centres) or not len(xy):
        return np.zeros(len(xy), dtype=np.int64), np.full(len(xy), np.inf)
    from gwangju_twin.speedups import kd_tree  # scipy's cKDTree without the rest of scipy.spatial

    tree = kd_tree()
    k = tree(centres).query(xy)[1]
    return k, np.hypot(*(centres[k] - xy).T)


def _pad_uses(rows: pd.DataFrame, ports: dict[str, Any], turnaround_s: dict[str, float]) -> tuple[dict, list[str]]:
    """Each pad's uses ``(start_s, end_s, agent)``: take-off (on the pad until the climb) and landing
    (the descent over it until the turnaround ends); and the ground points on no declared pad."""
    pads = [(site, k) for site, port in ports.items() for k, _ in enumerate(port["pads_xy_m"])]
    centres = np.array([xy for port in ports.values() for xy in port["pads_xy_m"]], dtype=float).reshape(-1, 2)
    agent, state = rows["agent"].to_numpy().astype(str), rows["state"].to_numpy()
    t, xy = rows["t_s"].to_numpy(dtype=float), rows[["x_m", "y_m"]].to_numpy(dtype=float)
    ground = np.flatnonzero(np.isin(state, ("pad", "landed")))
    pad, distance = _nearest(centres, xy[ground])
    uses: dict[tuple[str, int], list[tuple[float, float, str]]] = {}
    off_pad: list[str] = []
    same_next = np.r_[agent[1:] == agent[:-1], False]  # the next row is the same drone's
    for i, k, d in zip(ground.tolist(), pad.tolist(), distance.tolist()):
        if d > ON_PAD_M:
            off_pad.append(f"{agent[i]} at {t[i]:.0f} s is {d:.1f} m from the nearest pad")
        elif state[i] == "pad" and same_next[i]:
            uses.setdefault(pads[k], []).append((t[i], t[i + 1], agent[i]))
        elif state[i] == "landed" and i > 0 and same_next[i - 1]:
            uses.setdefault(pads[k], []).append((t[i - 1], t[i] + turnaround_s.get(agent[i].split("-")[0], 0.0),
                                                 agent[i]))
    return uses, off_pad


def check_pads(record: Record) -> list[Check]:
    """Every take-off and landing on a declared pad, one drone on a pad at a time (take-off until the
    climb, descent until the end of turnaround), climbs and descents over a pad."""
    drones, rows, skip = _drones(record, "drone_pads")
    if skip:
        return [skip]
    ports = _declared(record)
    if not ports:
        return [Check("drone_pads", "FAIL", "the summary declares no vertiports (kpis.drones.airspace.vertiports)")]
    uses, off_pad = _pad_uses(rows, ports, {t.id: t.turnaround_s for t in drones.types})
    clashes = [f"{holder} and {agent} on {site} pad {k + 1} at {start:.0f} s"
               for (site, k), intervals in sorted(uses.items()) for holder, agent, start in _overlaps(intervals)]
    problems = off_pad + clashes
    figure = (f"{sum(len(v) for v in uses.values())} pad uses on {len(uses)} of "
              f"{sum(len(p['pads_xy_m']) for p in ports.values())} pads")
    if problems:
        figure += f"; {len(off_pad)} off a pad, {len(clashes)} overlapping ({'; '.join(problems[:3])})"
    return [passed_if(not problems, "drone_pads", figure)]


def _overlaps(intervals: list[tuple[float, float, str]]) -> list[tuple[str, str, float]]:
    """``(holder, agent, start_s)`` for each use ``(start_s, end_s, agent)`` that begins (by more than
    :data:`SLACK`) before an earlier use of the same place has ended; ``holder`` is that earlier user."""
    found = []
    busy_until, holder = -np.inf, ""
    for start, end, agent in sorted(intervals):
        if start < busy_until - SLACK:
            found.append((holder, agent, start))
        if end > busy_until:
            busy_until, holder = end, agent
    return found


def _path_uses(rows: pd.DataFrame, ports: dict[str, Any]) -> tuple[dict, list[str]]:
    """Each approach and departure path's uses ``(start_s, end_s, agent)``, read from the tracks: a
    departure from lift-off (the climb) to the end of the first move across (its pad to the gate),
    an approach from the start of the last move across (the gate to over its pad) until landed; the
    path is the pad (nearest declared) and the gate (the nearest declared gate of that vertiport)."""
    sites = [site for site, port in ports.items() for _ in port["pads_xy_m"]]
    pads = [k for port in ports.values() for k, _ in enumerate(port["pads_xy_m"])]
    centres = np.array([xy for port in ports.values() for xy in port["pads_xy_m"]], dtype=float).reshape(-1, 2)
    agent, state = rows["agent"].to_numpy().astype(str), rows["state"].to_numpy()
    t, xy = rows["t_s"].to_numpy(dtype=float), rows[["x_m", "y_m"]].to_numpy(dtype=float)
    uses: dict[tuple[str, int, str, str], list[tuple[float, float, str]]] = {}
    odd: list[str] = []
    block = np.r_[True, agent[1:] != agent[:-1]].cumsum()  # the agent's block of rows
    first = np.flatnonzero(np.r_[True, block[1:] != block[:-1]])[block - 1]  # its first row
    last = np.r_[np.flatnonzero(block[1:] != block[:-1]), len(t) - 1][block - 1]  # its last row
    for kind, ends, pad_row, gate_row, span in (("departure", np.flatnonzero(state == "climb"), -1, 2, (0, 2)),
                                                ("approach", np.flatnonzero(state == "landed"), 0, -2, (-2, 0))):
        low, high = min(pad_row, gate_row, *span), max(pad_row, gate_row, *span)
        ends = ends[ends + high <= last[ends]]  # else the run ended on the way out: the record stops before the gate
        whole = (ends + low >= first[ends]) & bool(len(pads))  # every row it needs is this drone's
        notes = [(i, f"{agent[i]} at {t[i]:.0f} s: a {kind} without its path in the tracks") for i in ends[~whole].tolist()]
        ends = ends[whole]
        nearest_pad = _nearest(centres, xy[ends + pad_row])[0]
        site, pad = np.asarray(sites, dtype=object)[nearest_pad], np.asarray(pads, dtype=np.int64)[nearest_pad]
        for name in dict.fromkeys(site.tolist()):
            mine = ends[site == name]
            gates = ports[name].get("gates_xy_m", {})
            if not gates:
                notes += [(i, f"{name} declares no gates") for i in mine.tolist()]
                continue
            g, p = np.asarray(list(gates.values()), dtype=float), xy[mine + gate_row]
            nearest = np.hypot(g[None, :, 0] - p[:, None, 0], g[None, :, 1] - p[:, None, 1]).argmin(axis=1)
            for i, k, gate in zip(mine.tolist(), pad[site == name].tolist(), np.asarray(list(gates))[nearest].tolist()):
                uses.setdefault((name, k, gate, kind), []).append((t[i + span[0]], t[i + span[1]], agent[i]))
        odd += [note for _, note in sorted(notes, key=lambda n: n[0])]
    return uses, odd


def check_paths(record: Record) -> list[Check]:
    """One drone at a time on each approach and departure path (a pad to a corridor's gate, each way)."""
    _, rows, skip = _drones(record, "drone_paths")
    if skip:
        return [skip]
    ports = _declared(record)
    if not ports:
        return [Check("drone_paths", "FAIL", "the summary declares no vertiports (kpis.drones.airspace.vertiports)")]
    uses, odd = _path_uses(rows, ports)
    clashes = [f"{holder} and {agent} on the {kind} path of {site} pad {pad + 1} ({gate}) at {start:.0f} s"
               for (site, pad, gate, kind), intervals in sorted(uses.items())
               for holder, agent, start in _overlaps(intervals)]
    problems = odd + clashes
    figure = f"{sum(len(v) for v in uses.values())} path uses on {len(uses)} paths"
    if problems:
        figure += f"; {len(clashes)} overlapping ({'; '.join(problems[:3])})"
    return [passed_if(not problems, "drone_paths", figure)]


CHECKS = (check_altitude, check_energy, check_kinematics, check_flights, check_pads, check_paths)
