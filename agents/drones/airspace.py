"""The airspace as 4D trajectories: what the drone planner reserves and checks before a flight.

A flight is planned whole before it leaves: a piecewise-linear path in time and 3D (x, y in the
scenario's metric CRS, z above ground), phase by phase (pad, climb, cruise, transition, descent).
:class:`Airspace` keeps every committed trajectory, indexed by time, and answers one question for a
candidate: does it come closer than the separation minima (horizontal AND vertical: a cylinder)
to any committed one while both are airborne? Pads are reserved apart (:class:`agents.drones.vertiports.PadSet`), so
a drone leaves only when its landing pad will be free; nothing is left to chance in the air.

Only pairs that overlap in time are formed: committed segments are kept sorted by how long they
last (in classes doubling in length) and then by start time, so each candidate segment finds its
few neighbours in time by binary search; whether a pair breaks the minima is
:mod:`agents.drones.detection`'s question. The same index, widened by a look-ahead, gives the pairs
whose forbidden departure delays (:mod:`agents.drones.departure_windows`) the slot search jumps by.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from gwangju_twin.agents.drones.departure_windows import forbidden_delays
from gwangju_twin.agents.drones.detection import Segments, pair_conflicts

GROUND_PHASES = ("pad", "landed")  # on the ground: not subject to separation
SHORTEST_CLASS_S = 4.0  # the index's duration classes: up to this, twice this, four times, ... (a tuning choice)
CLASSES = 8  # duration classes; the last takes everything longer
KEY_SPAN_S = 1e7  # the index's keys: duration class * this + start time (every time lies in [0, this))
KEY_SLACK_S = 1.0  # each key search widened by this, against rounding in the keys (then filtered exactly)


@dataclass(frozen=True)
class Trajectory:
    """A drone's planned flight: points ``(t_s, x_m, y_m, z_m)`` and the phase that starts at each."""

    agent: str
    t_s: np.ndarray  # (n,)
    xyz_m: np.ndarray  # (n, 3)
    phases: tuple[str, ...]  # (n,): the phase from this point to the next; the last is "landed"
    horizontal_m: float  # this drone's separation minima (a pair keeps the larger of the two)
    vertical_m: float
    # per segment (n - 1,): the minima that apply there (terminal volumes have their own); None: the above
    segment_minima: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def start_s(self) -> float:
        return float(self.t_s[0])

    @property
    def end_s(self) -> float:
        return float(self.t_s[-1])

    def shifted(self, delay_s: float) -> Trajectory:
        return Trajectory(self.agent, self.t_s + delay_s, self.xyz_m, self.phases, self.horizontal_m, self.vertical_m,
                          self.segment_minima)

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


class Airspace:
    """Committed flights' airborne segments, in arrays sorted by duration class and then start time.

    A check looks, for each candidate segment and each duration class, at the committed segments
    of that class that start before the candidate ends and not so long before it starts that they
    must have ended (none lasts longer than the longest of its class). With one class for all, a
    few long cruise segments would widen every look to everything that started in the last minutes;
    with classes doubling in length, each look is at most about twice as wide as the segments it
    finds. The classes change only how much is looked at, never the answer (every pair that
    overlaps in time with boxes closer than the minima gets the exact test of
    :func:`agents.drones.detection.pair_conflicts`). Flights that have ended are dropped in one
    vectorised pass. The candidate's own segments are computed once per planned shape (:meth:`segments_of`) and only
    shifted in time for each departure tried.
    """

    FIELDS = ("owner", "t0", "t1", "p0", "p1", "horizontal_m", "vertical_m")

    def __init__(self) -> None:
        self._agents: list[str] = []  # owner index -> drone name
        self._owned: dict[str, list[int]] = {}  # drone name -> its owner indices
        self._pending: list[tuple[Segments, float]] = []  # committed since the arrays were last merged, with landing
        self._store: Segments = Segments.of([])
        self._key = np.zeros(0)  # per stored segment: its duration class * KEY_SPAN_S + its start; sorted
        self._landing_s = np.zeros(0)  # per stored segment: when its flight lands
        self._lo, self._hi = np.zeros((0, 3)), np.zeros((0, 3))  # per stored segment: its box
        self._longest_s = np.zeros(CLASSES)  # per duration class: its longest segment
        self._reach = np.zeros(3)  # the largest minima committed: (horizontal, horizontal, vertical)

    def prune(self, now_s: float) -> None:
        """Forget flights that have ended: they constrain nothing from now on."""
        self._merge()
        keep = self._landing_s >= now_s
        if not keep.all():
            self._store = Segments(*(getattr(self._store, f)[keep] for f in self.FIELDS))
            self._key, self._landing_s = self._key[keep], self._landing_s[keep]
            self._lo, self._hi = self._lo[keep], self._hi[keep]

    def commit(self, trajectory: Trajectory) -> None:
        owner = len(self._agents)
        self._agents.append(trajectory.agent)
        self._owned.setdefault(trajectory.agent, []).append(owner)
        segments = Segments.of([trajectory])
        if len(segments.t0):
            self._pending.append((Segments(np.full(len(segments.t0), owner), *(getattr(segments, f)
                                                                              for f in self.FIELDS[1:])),
                                  trajectory.end_s))
            lasting = segments.t1 - segments.t0
            np.maximum.at(self._longest_s, duration_class(lasting), lasting)
            self._reach = np.maximum(self._reach, [segments.horizontal_m.max()] * 2 + [segments.vertical_m.max()])

    def _merge(self) -> None:
        if not self._pending:
            return
        parts = [self._store, *(segments for segments, _ in self._pending)]
        merged = Segments(*(np.concatenate([getattr(p, f) for p in parts]) for f in self.FIELDS))
        landing = np.concatenate([self._landing_s, *(np.full(len(seg.t0), end_s) for seg, end_s in self._pending)])
        key = np.concatenate([self._key, *(duration_class(seg.t1 - seg.t0) * KEY_SPAN_S + seg.t0
                                           for seg, _ in self._pending)])
        order = np.argsort(key, kind="stable")
        self._store = Segments(*(getattr(merged, f)[order] for f in self.FIELDS))
        self._key, self._landing_s = key[order], landing[order]
        self._lo, self._hi = np.minimum(self._store.p0, self._store.p1), np.maximum(self._store.p0, self._store.p1)
        self._pending = []

    @staticmethod
    def segments_of(candidate: Trajectory) -> Segments:
        """A candidate's airborne segments, to check it at several departure times."""
        return Segments.of([candidate])

    def conflicts_with(self, candidate: Trajectory) -> list[str]:
        """The drones whose committed flights the candidate would come too close to (sorted, unique)."""
        return self.conflicts_at(candidate.agent, [(self.segments_of(candidate), 0.0)])[0]

    def conflicts_at(self, agent: str, tries: list[tuple[Segments, float]]) -> list[list[str]]:
        """For each ``(segments, delay_s)``, a flight of ``agent`` shaped so and left ``delay_s`` later:
        the drones whose committed flights it would come too close to (sorted, unique). One
        vectorised pass for all, so a departure-slot search checks many slots at once."""
        self._merge()
        found: list[set[int]] = [set() for _ in tries]
        sizes = [len(shape.t0) for shape, _ in tries]
        if len(self._key) and sum(sizes):
            shift = np.repeat(np.array([delay for _, delay in tries]), sizes)
            stacked = self._stacked([shape for shape, _ in tries])
            mine = replace(stacked, t0=stacked.t0 + shift, t1=stacked.t1 + shift)
            rows, columns = self._near(mine)
            hit = pair_conflicts(mine, rows, self._store, columns)
            for k, owner in zip(mine.owner[rows[hit]].tolist(), self._store.owner[columns[hit]].tolist()):
                found[k].add(owner)
        return [sorted({self._agents[o] for o in owners} - {agent}) for owners in found]

    def forbidden_at(self, agent: str, shapes: list[Segments], *, from_s: float,
                     window_s: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """For each shape (a flight of ``agent`` planned to leave now), the delays that would break the
        minima against some committed flight, as intervals ``(lo, hi)``: complete for the delays in
        ``[from_s, from_s + window_s]`` (:func:`agents.drones.departure_windows.forbidden_delays`
        over the pairs the time index finds for any such delay)."""
        self._merge()
        sizes = [len(shape.t0) for shape in shapes]
        if not (len(self._key) and sum(sizes)):
            return [(np.zeros(0), np.zeros(0)) for _ in shapes]
        stacked = self._stacked(shapes)
        (owner, t0, t1, p0, p1, horizontal, vertical) = (getattr(stacked, f) for f in self.FIELDS)
        rows, columns = self._near(replace(stacked, t0=t0 + from_s, t1=t1 + from_s + window_s))
        store = self._store
        if agent in self._owned:
            others = ~np.isin(store.owner[columns], self._owned[agent])
            rows, columns = rows[others], columns[others]
        lo, hi = forbidden_delays(np.stack([t0[rows], t1[rows]], axis=1), np.stack([p0[rows], p1[rows]], axis=1),
                                  np.stack([store.t0[columns], store.t1[columns]], axis=1),
                                  np.stack([store.p0[columns], store.p1[columns]], axis=1),
                                  np.maximum(horizontal[rows], store.horizontal_m[columns]),
                                  np.maximum(vertical[rows], store.vertical_m[columns]))
        which = owner[rows]
        return [(lo[which == k], hi[which == k]) for k in range(len(shapes))]

    def _stacked(self, shapes: list[Segments]) -> Segments:
        """Several candidates' segments as one, each segment's owner the index of its shape."""
        sizes = [len(shape.t0) for shape in shapes]
        return Segments(np.repeat(np.arange(len(shapes)), sizes),
                        *(np.concatenate([getattr(shape, f) for shape in shapes]) for f in self.FIELDS[1:]))

    def _near(self, mine: Segments) -> tuple[np.ndarray, np.ndarray]:
        """The (candidate segment, stored segment) pairs that overlap in time with boxes closer than the
        largest minima: the only pairs that may break the minima."""
        classes = np.flatnonzero(self._longest_s > 0)
        rows = np.repeat(np.arange(len(mine.t0)), len(classes))
        base = np.tile(classes, len(mine.t0)) * KEY_SPAN_S
        first = np.searchsorted(self._key, base + mine.t0[rows] - np.tile(self._longest_s[classes], len(mine.t0))
                                - KEY_SLACK_S, side="left")
        last = np.searchsorted(self._key, base + mine.t1[rows] + KEY_SLACK_S, side="left")
        columns, query = _spans(first, np.maximum(last - first, 0))
        rows, store = rows[query], self._store
        overlap = (store.t1[columns] > mine.t0[rows]) & (store.t0[columns] < mine.t1[rows])
        rows, columns = rows[overlap], columns[overlap]
        reach = np.maximum(self._reach, [mine.horizontal_m.max()] * 2 + [mine.vertical_m.max()])
        lo, hi = np.minimum(mine.p0, mine.p1), np.maximum(mine.p0, mine.p1)
        near = (np.maximum(self._lo[columns] - hi[rows], lo[rows] - self._hi[columns]) < reach).all(axis=1)
        return rows[near], columns[near]


def duration_class(lasting_s: np.ndarray) -> np.ndarray:
    """Each duration's class in the index: 0 up to SHORTEST_CLASS_S, then one more per doubling."""
    ratio = np.maximum(lasting_s / SHORTEST_CLASS_S, 1.0)
    return np.minimum(np.ceil(np.log2(ratio)), CLASSES - 1).astype(np.int64)


def _spans(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The indices ``starts[k], ..., starts[k] + counts[k] - 1`` for every k, run together, and each one's k."""
    owner = np.repeat(np.arange(len(counts)), counts)
    return np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts), owner
