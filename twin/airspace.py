"""The airspace as 4D trajectories: what the drone planner reserves and checks before a flight.

A flight is planned whole before it leaves: a piecewise-linear path in time and 3D (x, y in the
scenario's metric CRS, z above ground), phase by phase (pad, climb, cruise, transition, descent).
:class:`Airspace` keeps every committed trajectory, indexed by time, and answers one question for a
candidate: does it come closer than the separation minima (horizontal AND vertical: a cylinder)
to any committed one while both are airborne? Pads are reserved on :class:`PadTimeline` too, so a
drone leaves only when its landing pad will be free; nothing is left to chance in the air.

The check is exact for linear motion: over each pair of segments that overlap in time the vertical
gap is linear and the horizontal distance quadratic in time, so the instants where both minima are
broken form an interval found in closed form (vectorised over all segment pairs with numpy).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np

GROUND_PHASES = ("pad", "landed")  # on the ground: not subject to separation
TOLERANCE_M = 1e-6


@dataclass(frozen=True)
class Trajectory:
    """A drone's planned flight: points ``(t_s, x_m, y_m, z_m)`` and the phase that starts at each."""

    agent: str
    t_s: np.ndarray  # (n,)
    xyz_m: np.ndarray  # (n, 3)
    phases: tuple[str, ...]  # (n,): the phase from this point to the next; the last is "landed"
    horizontal_m: float  # this drone's separation minima (a pair keeps the larger of the two)
    vertical_m: float

    @property
    def start_s(self) -> float:
        return float(self.t_s[0])

    @property
    def end_s(self) -> float:
        return float(self.t_s[-1])

    def shifted(self, delay_s: float) -> Trajectory:
        return Trajectory(self.agent, self.t_s + delay_s, self.xyz_m, self.phases, self.horizontal_m, self.vertical_m)

    def airborne(self) -> np.ndarray:
        """Indices of the segments flown in the air."""
        return np.array([i for i, phase in enumerate(self.phases[:-1]) if phase not in GROUND_PHASES], dtype=int)

    def position(self, t_s: float) -> tuple[float, float, float]:
        """Where the drone is at ``t_s`` (its first point before, its last after)."""
        i = min(max(int(np.searchsorted(self.t_s, t_s, side="right")) - 1, 0), len(self.t_s) - 2)
        span = self.t_s[i + 1] - self.t_s[i]
        f = min(max((t_s - self.t_s[i]) / span, 0.0), 1.0) if span > 0 else 1.0
        x, y, z = self.xyz_m[i] + f * (self.xyz_m[i + 1] - self.xyz_m[i])
        return float(x), float(y), float(z)

    def phase(self, t_s: float) -> str:
        i = int(np.searchsorted(self.t_s, t_s, side="right")) - 1
        return self.phases[min(max(i, 0), len(self.phases) - 1)]

    def horizontal_length_m(self) -> float:
        return float(np.hypot(*np.diff(self.xyz_m[:, :2], axis=0).T).sum())


@dataclass(frozen=True)
class Segments:
    """Airborne segments of several trajectories as arrays (structure of arrays)."""

    owner: np.ndarray  # index into the list of trajectories
    t0: np.ndarray
    t1: np.ndarray
    p0: np.ndarray  # (m, 3)
    p1: np.ndarray
    horizontal_m: np.ndarray
    vertical_m: np.ndarray

    @staticmethod
    def of(trajectories: list[Trajectory]) -> Segments:
        parts = []
        for k, trajectory in enumerate(trajectories):
            i = trajectory.airborne()
            parts.append((np.full(len(i), k), trajectory.t_s[i], trajectory.t_s[i + 1], trajectory.xyz_m[i],
                          trajectory.xyz_m[i + 1], np.full(len(i), trajectory.horizontal_m),
                          np.full(len(i), trajectory.vertical_m)))
        if not parts:
            empty = np.zeros(0)
            return Segments(empty.astype(int), empty, empty, np.zeros((0, 3)), np.zeros((0, 3)), empty, empty)
        return Segments(*(np.concatenate([p[j] for p in parts]) for j in range(7)))


def cylinder_conflicts(a: Segments, b: Segments) -> np.ndarray:
    """For every pair (a segment of ``a``, a segment of ``b``): do they break both minima at once?

    Returns a boolean matrix (len(a), len(b)).
    """
    lo = np.maximum(a.t0[:, None], b.t0[None, :])
    hi = np.minimum(a.t1[:, None], b.t1[None, :])
    overlap = hi > lo
    if not overlap.any():
        return overlap
    va = (a.p1 - a.p0) / np.maximum(a.t1 - a.t0, 1e-12)[:, None]
    vb = (b.p1 - b.p0) / np.maximum(b.t1 - b.t0, 1e-12)[:, None]
    # Relative position at ``lo`` and relative velocity, per pair.
    pa = a.p0[:, None, :] + va[:, None, :] * (lo - a.t0[:, None])[..., None]
    pb = b.p0[None, :, :] + vb[None, :, :] * (lo - b.t0[None, :])[..., None]
    d0, dv = pa - pb, va[:, None, :] - vb[None, :, :]
    span = np.where(overlap, hi - lo, 0.0)
    h_min = np.maximum(a.horizontal_m[:, None], b.horizontal_m[None, :]) - TOLERANCE_M
    v_min = np.maximum(a.vertical_m[:, None], b.vertical_m[None, :]) - TOLERANCE_M
    # Instants (relative to lo) when the vertical gap is under its minimum: an interval.
    dz, vz = d0[..., 2], dv[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = (-v_min - dz) / vz, (v_min - dz) / vz
    still = np.abs(vz) < 1e-12
    enter = np.where(still, np.where(np.abs(dz) < v_min, 0.0, np.inf), np.minimum(r1, r2))
    leave = np.where(still, np.where(np.abs(dz) < v_min, span, -np.inf), np.maximum(r1, r2))
    enter, leave = np.maximum(enter, 0.0), np.minimum(leave, span)
    vertical = leave > enter
    # Closest horizontal approach within that interval.
    dh, vh = d0[..., :2], dv[..., :2]
    speed2 = (vh**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(speed2 > 0, -(dh * vh).sum(axis=-1) / speed2, 0.0)
    tau = np.where(vertical, np.clip(tau, np.where(vertical, enter, 0.0), np.where(vertical, leave, 0.0)), 0.0)
    closest = dh + vh * tau[..., None]
    return overlap & vertical & ((closest**2).sum(axis=-1) < h_min**2)


class Airspace:
    """Committed trajectories, indexed by time so a check looks only at flights in the air then."""

    def __init__(self) -> None:
        self._live: list[Trajectory] = []
        self._segments: Segments | None = None

    def prune(self, now_s: float) -> None:
        """Forget flights that have ended: they constrain nothing from now on."""
        if any(t.end_s < now_s for t in self._live):
            self._live = [t for t in self._live if t.end_s >= now_s]
            self._segments = None

    def commit(self, trajectory: Trajectory) -> None:
        self._live.append(trajectory)
        self._segments = None

    def conflicts_with(self, candidate: Trajectory) -> list[str]:
        """The drones whose committed flights the candidate would come too close to (sorted, unique)."""
        if not self._live:
            return []
        if self._segments is None:
            self._segments = Segments.of(self._live)
        mine = Segments.of([candidate])
        start, end = candidate.start_s, candidate.end_s
        window = (self._segments.t1 > start) & (self._segments.t0 < end)
        if not window.any() or not len(mine.t0):
            return []
        others = Segments(*(field[window] for field in (
            self._segments.owner, self._segments.t0, self._segments.t1, self._segments.p0, self._segments.p1,
            self._segments.horizontal_m, self._segments.vertical_m)))
        hit = cylinder_conflicts(mine, others).any(axis=0)
        return sorted({self._live[k].agent for k in others.owner[hit]} - {candidate.agent})


class PadTimeline:
    """Reservations of a vertiport's pads: ``[start_s, end_s)`` intervals, at most ``pads`` at once."""

    def __init__(self, pads: int) -> None:
        self.pads = pads
        self._intervals: list[tuple[float, float]] = []  # sorted by start

    def fits(self, start_s: float, end_s: float) -> bool:
        """Would one more reservation over ``[start_s, end_s)`` keep at most ``pads`` in use?"""
        overlapping = [(a, b) for a, b in self._intervals if a < end_s and b > start_s]
        if len(overlapping) < self.pads:
            return True
        # The most in use at once inside the window: count at every start within it.
        instants = [start_s] + [a for a, _ in overlapping if a > start_s]
        return all(sum(1 for a, b in overlapping if a <= t < b) < self.pads for t in instants)

    def earliest_shift(self, start_s: float, end_s: float) -> float:
        """The least delay that makes ``[start_s, end_s)`` fit: 0, or until some reservation ends."""
        if self.fits(start_s, end_s):
            return 0.0
        for end in sorted(b for _, b in self._intervals if b > start_s):
            if self.fits(end, end + end_s - start_s):
                return end - start_s
        raise AssertionError("a pad frees up once every reservation has ended")

    def reserve(self, start_s: float, end_s: float) -> None:
        bisect.insort(self._intervals, (start_s, end_s))

    def prune(self, now_s: float) -> None:
        self._intervals = [(a, b) for a, b in self._intervals if b > now_s]


def detour_m(start_xy: tuple[float, float], end_xy: tuple[float, float], obstacles: list, clearance_m: float,
             ) -> list[tuple[float, float]]:
    """The shortest path from ``start_xy`` to ``end_xy`` that keeps ``clearance_m`` from every obstacle.

    A visibility graph: the nodes are the two ends and the corners of each obstacle's convex hull
    grown by the clearance; an edge joins two nodes whose straight segment does not enter any grown
    obstacle. Returns the waypoints between the ends (empty when the straight line is clear).
    Raises ``ValueError`` when an end lies inside a grown obstacle or no path exists.
    """
    import networkx as nx
    import shapely

    grown = [shapely.convex_hull(o).buffer(clearance_m, quad_segs=4) for o in obstacles]
    blocked = shapely.union_all(grown)
    # corners pushed a metre outwards, so that a path along a hull's edge does not graze it
    corners = [tuple(c) for g in grown for c in np.asarray(g.buffer(1.0, join_style="mitre").exterior.coords)[:-1]]
    for end in (start_xy, end_xy):
        if blocked.contains(shapely.Point(end)):
            raise ValueError(f"the point {end[0]:.0f}, {end[1]:.0f} lies within {clearance_m:.0f} m of a zone")
    nodes = [tuple(start_xy), tuple(end_xy), *corners]
    xy = np.asarray(nodes, dtype=float)
    i, j = np.triu_indices(len(nodes), k=1)
    segments = shapely.linestrings(np.stack([xy[i], xy[j]], axis=1))
    clear = ~shapely.intersects(segments, shapely.buffer(blocked, -0.01))
    graph = nx.Graph()
    graph.add_nodes_from(range(len(nodes)))
    for a, b in zip(i[clear], j[clear]):
        graph.add_edge(int(a), int(b), length=float(np.hypot(*(xy[a] - xy[b]))))
    try:
        path = nx.shortest_path(graph, 0, 1, weight="length")
    except nx.NetworkXNoPath:
        raise ValueError("no path around the zones") from None
    return [nodes[k] for k in path[1:-1]]
