"""The drones' audit checks: separation between every pair of recorded tracks and the zone rules,
recomputed from a results folder alone (no code shared with the planner)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.drones.audit_index import TERMINAL_CELL_M, distinct, near_pairs
from gwangju_twin.audit import Check, Record, passed_if

if TYPE_CHECKING:
    import pandas as pd

# --- drones --------------------------------------------------------------------------------------
AIRBORNE_PHASES = ("climb", "cruise", "transition", "descent")  # a track point's state: the phase from it on
MERGE_GAP_S = 1.0  # two loss intervals of one pair closer than this are one encounter
FLOAT_M = 1e-6  # "closer than" a minimum: by more than rounding (layers lie exactly one minimum apart)
BOUNDARY_M = 0.05  # a point this far outside a terminal volume counts as inside it (the record rounds nothing,
# the declared centres are rounded to 1e-6 m; the planner allows 1e-3 m: the audit never holds it to more)


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


CHUNK = 2_000_000  # pairs checked at once, at most


def _track_arrays(tracks: pd.DataFrame | list[tuple] | Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """The drone rows as columns ``(agent, t_s, x_m, y_m, altitude_m, state)``, sorted by agent then time
    (stable: equal times keep their recorded order)."""
    names = ("agent", "t_s", "x_m", "y_m", "altitude_m", "state")
    if isinstance(tracks, list):
        from gwangju_twin.record import Tracks

        at = {name: k for k, name in enumerate(Tracks.COLUMNS)}
        rows = [r for r in tracks if r[at["kind"]] == "drone"]
        columns = list(zip(*rows)) if rows else [()] * len(Tracks.COLUMNS)
        agent, t, x, y, z, state = (columns[at[c]] for c in names)
    else:  # a table, or columns by name (twin.record.Tracks.arrays)
        drones = np.asarray(tracks["kind"]) == "drone"
        agent, t, x, y, z, state = (np.asarray(tracks[c])[drones] for c in names)
    t = np.asarray(t, dtype=float)
    names, code = _codes(agent)
    order = np.lexsort((t, code))
    xyz = np.column_stack([np.asarray(v, dtype=float) for v in (x, y, z)]) if len(t) else np.zeros((0, 3))
    return names, code[order], t[order], xyz[order], np.asarray(state, dtype=object)[order]


def _codes(agent: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """The distinct names (as text, sorted) and each row's index among them, as ``np.unique`` with
    ``return_inverse`` gives them; by a dictionary of the few distinct names, not a sort of every row."""
    spelled = list(map(str, agent))
    names = sorted(dict.fromkeys(spelled))
    rank = {name: k for k, name in enumerate(names)}
    code = np.fromiter(map(rank.__getitem__, spelled), dtype=np.int64, count=len(spelled))
    return np.array(names, dtype=object), code


def _pieces(tracks: pd.DataFrame | list[tuple]) -> tuple[np.ndarray, ...]:
    """Airborne pieces of every recorded track as arrays: agent names, and per piece the agent's
    index, start and end time, start and end point."""
    names, code, t, xyz, state = _track_arrays(tracks)
    if len(t) < 2:
        return names, np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))
    airborne = np.isin(state[:-1], AIRBORNE_PHASES)
    keep = np.flatnonzero((code[:-1] == code[1:]) & airborne & (t[1:] > t[:-1]))
    return names, code[keep], t[keep], t[keep + 1], xyz[keep], xyz[keep + 1]


def _below_all(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_below` for arrays: the interval of [0, 1] where ``a s^2 + b s + c < 0`` (empty: lo >= hi)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        flat, still = np.abs(a) < 1e-12, np.abs(b) < 1e-12
        root = -c / b
        linear_lo = np.where(still, np.where(c < 0, 0.0, 1.0), np.where(b > 0, -np.inf, root))
        linear_hi = np.where(still, np.where(c < 0, 1.0, 0.0), np.where(b > 0, root, np.inf))
        disc = b * b - 4 * a * c
        sq = np.sqrt(np.maximum(disc, 0.0))
        quad_lo = np.where(disc > 0, (-b - sq) / (2 * a), 1.0)
        quad_hi = np.where(disc > 0, (-b + sq) / (2 * a), 0.0)
    lo, hi = np.where(flat, linear_lo, quad_lo), np.where(flat, linear_hi, quad_hi)
    return np.maximum(lo, 0.0), np.minimum(hi, 1.0)


def _encounters(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...], horizontal_m: np.ndarray,
                vertical_m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_encounter` for arrays of piece pairs ``(t0, t1, p0, p1)``: closest distance, and the
    loss interval (start, end; NaN where both minima are never broken at once)."""
    lo, hi = np.maximum(a[0], b[0]), np.minimum(a[1], b[1])

    def at(piece: tuple[np.ndarray, ...], t_s: np.ndarray) -> np.ndarray:
        return piece[2] + (piece[3] - piece[2]) * ((t_s - piece[0]) / (piece[1] - piece[0]))[:, None]

    start = at(a, lo) - at(b, lo)
    change = (at(a, hi) - at(b, hi)) - start
    a3, b3 = (change * change).sum(axis=1), 2 * (start * change).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_min = np.where(a3 > 0, np.clip(-b3 / (2 * a3), 0.0, 1.0), 0.0)
    closest = np.sqrt(((start + change * s_min[:, None]) ** 2).sum(axis=1))
    f0, f1 = _below_all((change[:, :2] ** 2).sum(axis=1), 2 * (start[:, :2] * change[:, :2]).sum(axis=1),
                        (start[:, :2] ** 2).sum(axis=1) - horizontal_m**2)
    l0, l1 = _below_all(change[:, 2] ** 2, 2 * start[:, 2] * change[:, 2], start[:, 2] ** 2 - vertical_m**2)
    s0, s1 = np.maximum(f0, l0), np.minimum(f1, l1)
    loss = (f1 > f0) & (l1 > l0) & (s1 > s0)
    return closest, np.where(loss, lo + s0 * (hi - lo), np.nan), np.where(loss, lo + s1 * (hi - lo), np.nan)


def _terminal_index(p0: np.ndarray, p1: np.ndarray, terminals: dict[str, Any] | None) -> np.ndarray:
    """Per piece: the first terminal volume (index) holding both its ends, or -1."""
    where = np.full(len(p0), -1)
    if not terminals or not terminals["radii_m"]:
        return where
    centres, radii = np.asarray(terminals["centres_xy_m"], dtype=float), np.asarray(terminals["radii_m"], dtype=float)
    for k in reversed(range(len(radii))):
        inside = [np.hypot(*(p[:, :2] - centres[k]).T) <= radii[k] + BOUNDARY_M for p in (p0, p1)]
        where[inside[0] & inside[1]] = k
    return where


def _pair_minima(names: np.ndarray, agent: np.ndarray, where: np.ndarray, i: np.ndarray, j: np.ndarray,
                 minima: dict[str, tuple[float, float]], terminals: dict[str, Any] | None) -> tuple[np.ndarray, ...]:
    """Each pair's minima: the terminal ones when both pieces lie in one terminal volume, else the
    larger of the two types' (a drone's type is its name up to the first '-'; unknown: the widest)."""
    widest = (max((h for h, _ in minima.values()), default=0.0), max((v for _, v in minima.values()), default=0.0))
    own = np.array([minima.get(str(name).split("-")[0], widest) for name in names], dtype=float).reshape(-1, 2)
    horizontal = np.maximum(own[agent[i], 0], own[agent[j], 0])
    vertical = np.maximum(own[agent[i], 1], own[agent[j], 1])
    terminal = (where[i] >= 0) & (where[i] == where[j])
    if terminal.any():
        horizontal = np.where(terminal, terminals["minima_m"][0], horizontal)
        vertical = np.where(terminal, terminals["minima_m"][1], vertical)
    return horizontal, vertical


def separation_figures(tracks: pd.DataFrame | list[tuple] | Mapping[str, np.ndarray], minima: dict[str, tuple[float, float]],
                       terminals: dict[str, Any] | None = None) -> dict[str, Any]:
    """Losses of separation between airborne drones, from their recorded 3D tracks alone.

    A loss is an encounter of two drones closer than BOTH minima at once (horizontal and vertical,
    each pair keeping the larger of its two types' minima; a drone's type is its name up to the
    first '-'). Where both pieces lie inside one vertiport's terminal volume (``terminals``:
    ``centres_xy_m``, ``radii_m`` and ``minima_m``), the terminal minima apply instead. Every pair
    of recorded straight pieces that overlap in time and pass near each other is checked exactly
    (a grid finds them; it widens until the closest approach lies within its reach, so that figure
    is exact too). ``tracks``: the record's table, or its rows as :class:`twin.record.Tracks` holds
    them (a running model's own figures, which need no pandas).
    """
    names, agent, t0, t1, p0, p1 = _pieces(tracks)
    where = _terminal_index(p0, p1, terminals)
    smallest = min([h for h, _ in minima.values()] + ([terminals["minima_m"][0]] if terminals else []), default=1.0)
    extent = float(np.ptp(np.vstack([p0, p1]), axis=0).max()) + 1.0 if len(t0) else 0.0
    guard_m = 2.0 * max(smallest, 0.5)  # the closest approach is exact once it is below this
    while True:
        pairs = _candidates(agent, where, (t0, t1, p0, p1), guard_m, minima, terminals)
        pairs = pairs[agent[pairs[:, 0]] != agent[pairs[:, 1]]]
        closest, losses = np.inf, []
        for part in range(0, len(pairs), CHUNK):
            i, j = pairs[part:part + CHUNK, 0], pairs[part:part + CHUNK, 1]
            horizontal, vertical = _pair_minima(names, agent, where, i, j, minima, terminals)
            distance, start, end = _encounters((t0[i], t1[i], p0[i], p1[i]), (t0[j], t1[j], p0[j], p1[j]),
                                               horizontal - FLOAT_M, vertical - FLOAT_M)
            closest = min(closest, float(distance.min()))
            loss = ~np.isnan(start)
            losses.append((i[loss], j[loss], start[loss], end[loss]))
        if closest < guard_m or guard_m >= extent:
            break
        guard_m = min(8.0 * guard_m, extent)
    return _loss_figures(names, agent, losses, closest if len(pairs) else None)


def _candidates(agent: np.ndarray, where: np.ndarray, pieces: tuple[np.ndarray, ...], guard_m: float,
                minima: dict[str, tuple[float, float]], terminals: dict[str, Any] | None) -> np.ndarray:
    """Every pair of pieces that may break its minima or pass closer than ``guard_m`` (3D), sorted.

    Pairs inside one terminal volume keep the terminal minima: those pieces (many, close together
    around the pads) get an index of their own with small cells. Every other pair keeps at most the
    widest type minima; the pieces of a terminal volume farther than that from every other volume
    pair there only with the pieces outside them (``hub``), so the dense terminal pairs are never
    formed twice."""
    t0, t1, p0, p1 = pieces
    # A loss is closer than a minimum by more than FLOAT_M: layers exactly one minimum apart are not near.
    wide = (max([h - FLOAT_M for h, _ in minima.values()] + [guard_m]),
            max([v - FLOAT_M for _, v in minima.values()] + [guard_m]))
    inner = np.flatnonzero(where >= 0)
    if not len(inner):
        return near_pairs(t0, t1, p0, p1, *wide)
    near = (max(terminals["minima_m"][0] - FLOAT_M, guard_m), max(terminals["minima_m"][1] - FLOAT_M, guard_m))
    local = inner[near_pairs(t0[inner], t1[inner], p0[inner], p1[inner], *near, cell_m=TERMINAL_CELL_M)]
    centres = np.asarray(terminals["centres_xy_m"], dtype=float).reshape(-1, 2)
    radii = np.asarray(terminals["radii_m"], dtype=float) + BOUNDARY_M
    gaps = np.hypot(*(centres[:, None, :] - centres[None, :, :]).T) - radii[:, None] - radii[None, :]
    np.fill_diagonal(gaps, np.inf)
    isolated = gaps.min(axis=1) > wide[0]  # no piece of another volume within the widest minimum
    hub = (where < 0) | ~isolated[np.maximum(where, 0)]
    pairs = np.vstack([local, near_pairs(t0, t1, p0, p1, *wide, hub=hub)])
    n = max(len(t0), 1)
    code = distinct(pairs[:, 0] * n + pairs[:, 1])
    return np.column_stack([code // n, code % n])


def _loss_figures(names: np.ndarray, agent: np.ndarray, losses: list[tuple[np.ndarray, ...]],
                  closest: float | None) -> dict[str, Any]:
    """Loss intervals ``(i, j, start, end)`` merged pair by pair into encounters (gaps under
    MERGE_GAP_S join), and the figures."""
    by_pair: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for i, j, start, end in losses:
        for a, b, t0, t1 in zip(i, j, start, end):
            pair = tuple(sorted((str(names[agent[a]]), str(names[agent[b]]))))
            by_pair.setdefault(pair, []).append((float(t0), float(t1)))
    episodes, seconds = 0, 0.0
    for intervals in by_pair.values():
        last = -np.inf
        for t0, t1 in sorted(intervals):
            episodes += t0 > last + MERGE_GAP_S
            seconds += max(0.0, t1 - max(t0, last))
            last = max(last, t1)
    return {"losses_of_separation": int(episodes), "time_in_loss_s": round(float(seconds), 1),
            "closest_approach_m": round(closest, 1) if closest is not None else None,
            "pairs_in_loss": sorted(f"{a} & {b}" for a, b in by_pair)[:10]}


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
    agent, state = rows["agent"].to_numpy().astype(str), rows["state"].to_numpy()
    xy = rows[["x_m", "y_m"]].to_numpy(dtype=float)
    moved = (agent[:-1] == agent[1:]) & (state[:-1] != "landed") & (np.hypot(*np.diff(xy, axis=0).T) > 0)
    keep = np.flatnonzero(moved)
    lines, owner = shapely.linestrings(np.stack([xy[keep], xy[keep + 1]], axis=1)), agent[keep]
    segments = len(lines)
    found = _zone_problems(lines, owner, zones, approved, confined)
    problems = [line for name in sorted(found) for line in found[name]]
    kinds = ", ".join(f"{z} ({k.replace('_', ' ')})" for z, k, _ in zones) or "no zones"
    figure = (f"{len(problems)} drones break zone rules over {segments} flown segments; zones {kinds}; "
              f"{len(confined)} home vertiports confined to an operational volume")
    if problems:
        figure += f" ({'; '.join(problems[:3])})"
    return [passed_if(not problems, "drone_airspace", figure)]

def _zone_problems(lines: np.ndarray, owner: np.ndarray, zones: list[tuple[str, str, Any]], approved: bool,
                   confined: dict[str, Any]) -> dict[str, list[str]]:
    """Per drone, the zone rules its flown segments (``lines``, flown by ``owner``) break: zones
    entered (more than 1 m inside), and segments not within its home's operational volume (1 m slack)."""
    import shapely

    found: dict[str, list[str]] = {}
    for zone_id, kind, shape in zones:
        if kind == "control_zone" and approved:
            continue
        inside = shapely.buffer(shape, -1.0)
        shapely.prepare(inside)
        for name in sorted(set(owner[shapely.intersects(lines, inside)].tolist())):
            found.setdefault(name, []).append(f"{name} enters {kind.replace('_', ' ')} {zone_id}")
    names = sorted(set(owner.tolist()))
    home = {name: next((site for site in confined if f"-{site}-" in name), None) for name in names}
    for site, volume in confined.items():
        mine = np.isin(owner, [name for name in names if home[name] == site])
        if not mine.any():
            continue
        volume = shapely.buffer(volume, 1.0)
        shapely.prepare(volume)
        leaving = owner[mine][~shapely.within(lines[mine], volume)]
        for name, count in zip(*np.unique(leaving, return_counts=True)):
            found.setdefault(str(name), []).append(f"{name} leaves its operational volume ({int(count)} segments)")
    return found


CHECKS = (check_separation, check_airspace)
