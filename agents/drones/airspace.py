"""The airspace as 4D trajectories: what the drone planner reserves and checks before a flight.

A flight is planned whole before it leaves: a piecewise-linear path in time and 3D (x, y in the
scenario's metric CRS, z above ground), phase by phase (pad, climb, cruise, transition, descent).
:class:`Airspace` keeps every committed trajectory, indexed by time, and answers one question for a
candidate: does it come closer than the separation minima (horizontal AND vertical: a cylinder)
to any committed one while both are airborne? Pads are reserved apart (:class:`agents.drones.vertiports.PadSet`), so
a drone leaves only when its landing pad will be free; nothing is left to chance in the air.

Only pairs that overlap in time are formed: committed segments are kept sorted by start time, so
each candidate segment finds its few neighbours in time by binary search, and a departure-slot
search checks a whole batch of slots in one pass; whether a pair breaks the minima is
:mod:`agents.drones.detection`'s question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from gwangju_twin.agents.drones.detection import Segments, pair_conflicts

GROUND_PHASES = ("pad", "landed")  # on the ground: not subject to separation


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
    """Committed flights' airborne segments, kept in arrays sorted by start time.

    Commits append; a check binary-searches the segments that start before the candidate's
    flight ends and keeps those still in the air when it starts (a segment lasts at most as long
    as the longest committed one, so everything else is skipped without a look). Flights that have
    ended are dropped in one vectorised pass. The candidate's own segments are computed once per
    planned shape (:meth:`segments_of`) and only shifted in time for each departure tried.
    """

    FIELDS = ("owner", "t0", "t1", "p0", "p1", "horizontal_m", "vertical_m")

    def __init__(self) -> None:
        self._agents: list[str] = []  # owner index -> drone name
        self._pending: list[tuple[Segments, float]] = []  # committed since the arrays were last merged, with landing
        self._store: Segments = Segments.of([])
        self._landing_s = np.zeros(0)  # per stored segment: when its flight lands
        self._lo, self._hi = np.zeros((0, 3)), np.zeros((0, 3))  # per stored segment: its box
        self._longest_s = 0.0

    def prune(self, now_s: float) -> None:
        """Forget flights that have ended: they constrain nothing from now on."""
        self._merge()
        if not len(self._store.t0):
            return
        keep = self._landing_s >= now_s
        if not keep.all():
            self._store = Segments(*(getattr(self._store, f)[keep] for f in self.FIELDS))
            self._landing_s = self._landing_s[keep]
            self._lo, self._hi = self._lo[keep], self._hi[keep]

    def commit(self, trajectory: Trajectory) -> None:
        owner = len(self._agents)
        self._agents.append(trajectory.agent)
        segments = Segments.of([trajectory])
        if len(segments.t0):
            self._pending.append((Segments(np.full(len(segments.t0), owner), *(getattr(segments, f)
                                                                              for f in self.FIELDS[1:])),
                                  trajectory.end_s))
            self._longest_s = max(self._longest_s, float((segments.t1 - segments.t0).max()))

    def _merge(self) -> None:
        if not self._pending:
            return
        parts = [self._store, *(segments for segments, _ in self._pending)]
        merged = Segments(*(np.concatenate([getattr(p, f) for p in parts]) for f in self.FIELDS))
        landing = np.concatenate([self._landing_s, *(np.full(len(seg.t0), end_s) for seg, end_s in self._pending)])
        order = np.argsort(merged.t0, kind="stable")
        self._store = Segments(*(getattr(merged, f)[order] for f in self.FIELDS))
        self._landing_s = landing[order]
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
        store = self._store
        found: list[set[int]] = [set() for _ in tries]
        if not len(store.t0) or not tries:
            return [[] for _ in tries]
        shapes = [shape for shape, _ in tries]
        sizes = [len(shape.t0) for shape in shapes]
        group = np.repeat(np.arange(len(tries)), sizes)
        if not len(group):
            return [[] for _ in tries]
        shift = np.repeat(np.array([delay for _, delay in tries]), sizes)
        mine = Segments(group, np.concatenate([shape.t0 for shape in shapes]) + shift,
                        np.concatenate([shape.t1 for shape in shapes]) + shift,
                        *(np.concatenate([getattr(shape, f) for shape in shapes]) for f in self.FIELDS[3:]))
        # The committed segments each one may meet: sorted by start, those that start before it ends
        # and not so long before it starts that they must have ended (none lasts longer than the longest).
        first = np.searchsorted(store.t0, mine.t0 - self._longest_s, side="left")
        last = np.searchsorted(store.t0, mine.t1, side="left")
        counts = np.maximum(last - first, 0)
        if not counts.any():
            return [[] for _ in tries]
        rows = np.repeat(np.arange(len(mine.t0)), counts)
        columns = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(first, counts)
        overlap = (store.t1[columns] > mine.t0[rows]) & (store.t0[columns] < mine.t1[rows])
        rows, columns = rows[overlap], columns[overlap]
        # Boxes apart by a minimum (the largest anywhere) or more: no conflict possible, no exact check.
        reach = np.array([*[max(store.horizontal_m.max(), mine.horizontal_m.max())] * 2,
                          max(store.vertical_m.max(), mine.vertical_m.max())])
        lo, hi = np.minimum(mine.p0, mine.p1), np.maximum(mine.p0, mine.p1)
        near = (np.maximum(self._lo[columns] - hi[rows], lo[rows] - self._hi[columns]) < reach).all(axis=1)
        rows, columns = rows[near], columns[near]
        hit = pair_conflicts(mine, rows, store, columns)
        for k, owner in zip(mine.owner[rows[hit]], store.owner[columns[hit]]):
            found[k].add(int(owner))
        return [sorted({self._agents[o] for o in owners} - {agent}) for owners in found]
