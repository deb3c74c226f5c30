"""The drones' audit checks: separation between every pair of recorded tracks and the zone rules,
recomputed from a results folder alone (no code shared with the planner)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.audit import Check, Record, passed_if

if TYPE_CHECKING:
    import pandas as pd

# --- drones --------------------------------------------------------------------------------------
AIRBORNE_PHASES = ("climb", "cruise", "transition", "descent")  # a track point's state: the phase from it on
MERGE_GAP_S = 1.0  # two loss intervals of one pair closer than this are one encounter
FLOAT_M = 1e-6  # "closer than" a minimum: by more than rounding (layers lie exactly one minimum apart)
BOUNDARY_M = 0.05  # a point this far outside a terminal volume counts as inside it (the record rounds nothing,
# the declared centres are rounded to 1e-6 m; the planner allows 1e-3 m: the audit never holds it to more)


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


def _terminal_of(pieces: list[tuple], terminals: dict[str, Any] | None) -> list[int]:
    """Per piece: the terminal volume (index) holding both its ends, or -1."""
    if not terminals or not terminals["radii_m"]:
        return [-1] * len(pieces)
    centres, radii = np.asarray(terminals["centres_xy_m"], dtype=float), np.asarray(terminals["radii_m"], dtype=float)
    found = []
    for piece in pieces:
        ends = [np.hypot(*(centres - p[:2]).T) <= radii + BOUNDARY_M for p in (piece[3], piece[4])]
        both = np.flatnonzero(ends[0] & ends[1])
        found.append(int(both[0]) if len(both) else -1)
    return found


def separation_figures(tracks: pd.DataFrame | list[tuple], minima: dict[str, tuple[float, float]],
                       terminals: dict[str, Any] | None = None) -> dict[str, Any]:
    """Losses of separation between airborne drones, from their recorded 3D tracks alone.

    A loss is an encounter of two drones closer than BOTH minima at once (horizontal and vertical,
    each pair keeping the larger of its two types' minima; a drone's type is its name up to the
    first '-'). Where both pieces lie inside one vertiport's terminal volume (``terminals``:
    ``centres_xy_m``, ``radii_m`` and ``minima_m``), the terminal minima apply instead. Every pair
    of recorded straight pieces that overlap in time is checked exactly.
    """
    pieces = _drone_segments(tracks)
    where = _terminal_of(pieces, terminals)
    pieces = [(*piece, k) for piece, k in zip(pieces, where)]
    widest = (max((h for h, _ in minima.values()), default=0.0), max((v for _, v in minima.values()), default=0.0))
    closest, losses, active = None, {}, []
    for piece in pieces:
        active = [other for other in active if other[1] > piece[0]]
        for other in active:
            if other[2] == piece[2]:
                continue
            if piece[5] >= 0 and piece[5] == other[5]:
                horizontal, vertical = terminals["minima_m"]
            else:
                h_a, v_a = minima.get(piece[2].split("-")[0], widest)
                h_b, v_b = minima.get(other[2].split("-")[0], widest)
                horizontal, vertical = max(h_a, h_b), max(v_a, v_b)
            distance, loss = _encounter(other[:5], piece[:5], horizontal - FLOAT_M, vertical - FLOAT_M)
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
    figures = separation_figures(record.tracks, minima, declared_terminals(record))
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


def declared_terminals(record: Record) -> dict[str, Any] | None:
    """The terminal volumes the run declared in its summary, with the scenario's terminal minima."""
    drones = record.spec.drones
    ports = record.summary["kpis"].get("drones", {}).get("airspace", {}).get("vertiports")
    if not ports:
        return None
    return {"centres_xy_m": [p["centre_xy_m"] for p in ports.values()],
            "radii_m": [min(p["terminal_radius_m"], drones.terminal_radius_m) for p in ports.values()],
            "minima_m": (drones.terminal_separation_horizontal_m, drones.terminal_separation_vertical_m)}


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

CHECKS = (check_separation, check_airspace)
