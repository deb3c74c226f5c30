"""A flight's 4D path: from its pad, up its departure path, along its corridors' layers, in along its
approach path, down onto its pad.

The climb is vertical over the take-off pad to the first corridor's layer; the drone then flies to
the corridor's gate (where its centre line leaves the terminal volume), along the corridor (offset
sideways if a resolution says so), changes layer vertically over an intermediate vertiport, flies
from the last gate to over its landing pad and descends vertically. Each segment carries the
separation minima that apply to it: the terminal minima when both its ends lie in one
vertiport's terminal volume, else the drone type's en-route minima.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from gwangju_twin.agents.drones.airspace import Trajectory
from gwangju_twin.agents.drones.energy import TAKEOFF_PAD_S
from gwangju_twin.agents.drones.vertiports import inside_terminals
from shapely.ops import substring

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.config import DroneType
    from gwangju_twin.agents.drones.places import Leg, Places


@dataclass(frozen=True)
class Shape:
    """How a flight is flown: airspeed fraction, layer index in its direction, sideways offset."""

    speed: float = 1.0
    layer: int = 0
    offset_m: float = 0.0


_PATHS: dict[tuple, np.ndarray] = {}


def _leg_path(places: Places, leg: Leg, offset_m: float, *, cut_start: bool, cut_end: bool) -> np.ndarray:
    """The leg's polyline (offset sideways), cut at the terminal boundary where it leaves or enters."""
    key = (id(places), leg.corridor.id, leg.forward, offset_m, cut_start, cut_end)
    if key not in _PATHS:
        _PATHS[key] = _cut_path(places, leg, offset_m, cut_start=cut_start, cut_end=cut_end)
    return _PATHS[key]


def _cut_path(places: Places, leg: Leg, offset_m: float, *, cut_start: bool, cut_end: bool) -> np.ndarray:
    line = shapely.LineString(leg.xy_m)
    if offset_m:
        line = line.offset_curve(offset_m)
    radius = places.config.terminal_radius_m
    start, end = (radius if cut_start else 0.0), (line.length - radius if cut_end else line.length)
    if start or end < line.length:
        line = substring(line, start, end)
    return np.asarray(line.coords, dtype=float)


def leg_altitude_m(places: Places, leg: Leg, layer: int) -> float:
    layers = places.layers(leg.corridor, leg.forward)
    return layers[min(layer, len(layers) - 1)]


@dataclass(frozen=True)
class _Geometry:
    """A flight's points in space, whatever its departure and speed: how each point's time follows
    from the previous one (a fixed number of seconds, or metres flown along leg k), the points, their
    phases and each segment's minima."""

    steps: tuple[tuple[int, float], ...]  # per point after the climb's start: (leg, metres) or (-1, seconds)
    xyz: np.ndarray
    phases: tuple[str, ...]
    segment_minima: tuple[np.ndarray, np.ndarray]


_GEOMETRIES: dict[tuple, _Geometry] = {}


def _geometry(places: Places, kind: DroneType, legs: list[Leg], pads_xy: tuple, shape: Shape,
              minima: tuple[float, float]) -> _Geometry:
    (x, y), (px, py) = (float(v) for v in pads_xy[0]), (float(v) for v in pads_xy[1])
    points, steps = [(x, y, 0.0, "pad"), (x, y, 0.0, "climb")], []
    z = leg_altitude_m(places, legs[0], shape.layer)
    steps.append((-1, z / kind.climb_rate_mps))
    last = len(legs) - 1
    for k, leg in enumerate(legs):
        altitude = leg_altitude_m(places, leg, shape.layer)
        if altitude != z:  # a transition to the next corridor's layer, over the vertiport
            points.append((x, y, z, "transition"))
            rate = kind.climb_rate_mps if altitude > z else kind.descent_rate_mps
            steps.append((-1, abs(altitude - z) / rate))
            z = altitude
        path = _leg_path(places, leg, shape.offset_m, cut_start=k == 0, cut_end=k == last)
        for x1, y1 in (*path, *([(px, py)] if k == last else [])):
            step_m = float(np.hypot(x1 - x, y1 - y))
            if step_m > 0:
                points.append((x, y, z, "cruise"))
                steps.append((k, step_m))
                x, y = float(x1), float(y1)
    points.append((x, y, z, "descent"))
    steps.append((-1, z / kind.descent_rate_mps))
    points.append((x, y, 0.0, "landed"))
    xyz = np.array([p[:3] for p in points], dtype=float)
    xyz.flags.writeable = False  # shared by every flight of this shape
    return _Geometry(tuple(steps), xyz, tuple(p[3] for p in points), segment_minima(places, xyz, minima))


def build(places: Places, *, name: str, kind: DroneType, legs: list[Leg], pads_xy: tuple[np.ndarray, np.ndarray],
          depart_s: float, gust_mps: float, shape: Shape, minima: tuple[float, float]) -> Trajectory:
    """The flight as 4D points with each segment's minima (the points in space are worked out once per
    route, pads, shape and drone type; only the times follow the departure and the ground speed)."""
    key = (id(places), tuple((leg.corridor.id, leg.forward) for leg in legs), tuple(float(v) for v in pads_xy[0]),
           tuple(float(v) for v in pads_xy[1]), shape, kind.climb_rate_mps, kind.descent_rate_mps, minima)
    if key not in _GEOMETRIES:
        _GEOMETRIES[key] = _geometry(places, kind, legs, pads_xy, shape, minima)
    geometry = _GEOMETRIES[key]
    speeds = [places.ground_speed_mps(leg, kind.cruise_speed_mps * shape.speed, gust_mps) for leg in legs]
    t = depart_s + TAKEOFF_PAD_S
    times = [depart_s, t]
    for k, amount in geometry.steps:
        t += amount if k < 0 else amount / speeds[k]
        times.append(t)
    return Trajectory(name, np.array(times), geometry.xyz, geometry.phases, *minima,
                      segment_minima=geometry.segment_minima)


def with_pads(reference: Trajectory, pads_xy: tuple[np.ndarray, np.ndarray], first: int | None = None) -> Trajectory:
    """``reference`` (flown from and to the vertiports' centres) flown from and to the given pads instead.

    Only the ends change: the pad, the climb and the first cruise point move to the take-off pad,
    the descent and landing to the landing pad; the first and last cruise segments change length,
    so every later time shifts by the difference at the same ground speed. Terminal minima stay:
    pads lie inside their terminal volumes. ``first``: the first cruise point's index, when known.
    """
    t, xyz = reference.t_s.copy(), reference.xyz_m.copy()
    first = reference.phases.index("cruise") if first is None else first  # the first cruise point (over the pad)
    last = len(t) - 2  # the descent point
    for index, nxt, pad in ((first, first + 1, pads_xy[0]), (last, last - 1, pads_xy[1])):
        old_m = float(np.hypot(*(xyz[nxt, :2] - xyz[index, :2])))
        new_m = float(np.hypot(*(xyz[nxt, :2] - pad)))
        span_s = abs(t[nxt] - t[index])
        shift_s = span_s * (new_m / old_m - 1.0) if old_m > 0 else 0.0
        t[max(index, nxt):] += shift_s
        ground = slice(0, first + 1) if index == first else slice(last, len(t))
        xyz[ground, 0], xyz[ground, 1] = pad[0], pad[1]
    return Trajectory(reference.agent, t, xyz, reference.phases, reference.horizontal_m, reference.vertical_m,
                      reference.segment_minima)


def segment_minima(places: Places, xyz: np.ndarray, minima: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Each segment's (horizontal, vertical) minima: the terminal ones when both ends lie in one terminal volume."""
    cfg = places.config
    where = inside_terminals(xyz[:, :2], places.terminal_centres_m, places.terminal_radii_m)
    terminal = (where[:-1] >= 0) & (where[:-1] == where[1:])
    horizontal = np.where(terminal, cfg.terminal_separation_horizontal_m, minima[0])
    vertical = np.where(terminal, cfg.terminal_separation_vertical_m, minima[1])
    return horizontal, vertical


def path_windows(trajectory: Trajectory) -> tuple[tuple[float, float], tuple[float, float]]:
    """When the flight holds its departure path (lift-off to the first corridor's gate) and its
    approach path (the last gate until it has landed)."""
    t, first = trajectory.t_s, trajectory.phases.index("cruise")
    return (float(t[1]), float(t[first + 1])), (float(t[-3]), float(t[-1]))
