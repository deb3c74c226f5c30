"""Vertiports as facilities: pads (TLOF) at their own positions, their approach and departure paths,
and the terminal volume around them.

Geometry follows the FAA's Engineering Brief 105A (Vertiport Design, 2024), which sizes the
touchdown and lift-off area (TLOF), the final approach and take-off area (FATO) and the safety
area from the aircraft's controlling dimension D. ASSUMPTION (the factors): a TLOF of 1 D inside a
FATO of 2 D with a safety area of 0.5 D around it, so neighbouring pads' safety areas touch at a
centre-to-centre spacing of 3 D; pads are never closer than the terminal horizontal minimum plus
D, so drones over neighbouring pads keep the terminal minimum. Pads sit on a square grid centred
on the vertiport's site.

A departure climbs vertically over its pad to its layer, then flies straight to the gate: the
point where its corridor's centre line leaves the terminal volume. An approach flies from the gate
to over its pad and descends vertically onto it. Inside the terminal volume (a cylinder of
``terminal_radius`` around the site) the terminal separation minima apply between two drones that
are both inside it; everywhere else the en-route minima apply.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import shapely

TLOF_D = 1.0  # TLOF side, in controlling dimensions D (EB 105A: TLOF from D)
FATO_D = 2.0  # FATO side (EB 105A: FATO from D)
SAFETY_AREA_D = 0.5  # safety area beyond the FATO, each side; ASSUMPTION (EB 105A reduced it from EB 105)
BOUNDARY_TOLERANCE_M = 1e-3  # a point this far outside the terminal cylinder still counts as inside


def pad_spacing_m(size_m: float, terminal_horizontal_m: float) -> float:
    """Centre-to-centre spacing of neighbouring pads for aircraft of controlling dimension ``size_m``."""
    return max((FATO_D + 2 * SAFETY_AREA_D) * size_m, terminal_horizontal_m + size_m)


def pad_grid(centre_xy: tuple[float, float], pads: int, spacing_m: float) -> np.ndarray:
    """``pads`` positions on a square grid of ``spacing_m`` centred on ``centre_xy``, row by row."""
    columns = math.ceil(math.sqrt(pads))
    rows = math.ceil(pads / columns)
    k = np.arange(pads)
    x = (k % columns - (columns - 1) / 2.0) * spacing_m
    y = (k // columns - (rows - 1) / 2.0) * spacing_m
    return np.column_stack([centre_xy[0] + x, centre_xy[1] + y])


@dataclass
class VertiportLayout:
    """One vertiport's facilities, in the scenario's metric CRS.

    Attributes
    ----------
    centre_xy_m : tuple[float, float]
        The site: the terminal volume's centre and where corridors start and end.
    pads_xy_m : numpy.ndarray
        (pads, 2): each pad's centre.
    pad_spacing_m, tlof_m, fato_m : float
        Centre-to-centre spacing, and the side of each pad's TLOF and FATO.
    terminal_radius_m, terminal_ceiling_m : float
        The terminal volume: a cylinder of this radius, from the ground to this height.
    gates_xy_m : dict[str, tuple[float, float]]
        Per corridor touching this vertiport: where its centre line crosses the terminal boundary.
    """

    site: str
    centre_xy_m: tuple[float, float]
    pads_xy_m: np.ndarray
    pad_spacing_m: float
    tlof_m: float
    fato_m: float
    terminal_radius_m: float
    terminal_ceiling_m: float
    gates_xy_m: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def terminal(self) -> shapely.Polygon:
        """The terminal volume's footprint."""
        return shapely.Point(self.centre_xy_m).buffer(self.terminal_radius_m, quad_segs=16)

    def departure_path(self, pad: int, corridor: str) -> shapely.LineString:
        """Over the pad, out to the corridor's gate (the climb is vertical over the pad)."""
        return shapely.LineString([tuple(self.pads_xy_m[pad]), self.gates_xy_m[corridor]])

    def approach_path(self, corridor: str, pad: int) -> shapely.LineString:
        """From the corridor's gate to over the pad (the descent is vertical over the pad)."""
        return shapely.LineString([self.gates_xy_m[corridor], tuple(self.pads_xy_m[pad])])

    def as_data(self) -> dict:
        """The layout as plain numbers (metres), for the results."""
        return {"centre_xy_m": [round(v, 6) for v in self.centre_xy_m],
                "pads_xy_m": [[round(float(x), 2), round(float(y), 2)] for x, y in self.pads_xy_m],
                "pad_spacing_m": round(self.pad_spacing_m, 2), "tlof_m": round(self.tlof_m, 2),
                "fato_m": round(self.fato_m, 2), "terminal_radius_m": self.terminal_radius_m,
                "terminal_ceiling_m": self.terminal_ceiling_m,
                "gates_xy_m": {c: [round(v, 2) for v in xy] for c, xy in sorted(self.gates_xy_m.items())}}


class PadSet:
    """A vertiport's pads, each reserved on its own: at most one drone on a pad at a time.

    All reservations ``(start_s, end_s, pad)`` are kept in one list sorted by start (and their ends
    sorted apart), so a question about a window looks only at the reservations that can overlap it,
    whatever the number of pads; the answers are remembered until the reservations change.
    """

    def __init__(self, pads: int) -> None:
        self.pads = pads
        self._reservations: list[tuple[float, float, int]] = []  # sorted by start
        self._ends: list[float] = []  # sorted
        self._longest_s = 0.0
        self._busy_in: dict[tuple[float, float], set[int]] = {}  # the busy pads of windows asked since the last change

    def _busy(self, start_s: float, end_s: float) -> set[int]:
        """The pads reserved at some moment of ``[start_s, end_s)``."""
        lo = bisect.bisect_left(self._reservations, (start_s - self._longest_s, -math.inf, -1))
        hi = bisect.bisect_left(self._reservations, (end_s, -math.inf, -1), lo)
        return {pad for _, end, pad in self._reservations[lo:hi] if end > start_s}

    def free_pad(self, start_s: float, end_s: float) -> int | None:
        """The first pad free over ``[start_s, end_s)``, or None."""
        return next(self.free_pads(start_s, end_s), None)

    def free_pads(self, start_s: float, end_s: float) -> Iterator[int]:
        """The pads free over ``[start_s, end_s)``, in order (remembered until the reservations change:
        a departure-slot search asks about the same windows several times)."""
        window = (start_s, end_s)
        if window not in self._busy_in:
            self._busy_in[window] = self._busy(start_s, end_s)
        busy = self._busy_in[window]
        return (k for k in range(self.pads) if k not in busy) if len(busy) < self.pads else iter(())

    def earliest_shift(self, start_s: float, end_s: float) -> float:
        """The least delay that frees some pad for the window: 0, or until some reservation ends."""
        if self.free_pad(start_s, end_s) is not None:
            return 0.0
        for end in self._ends[bisect.bisect_right(self._ends, start_s):]:
            if self.free_pad(end, end + end_s - start_s) is not None:
                return end - start_s
        raise AssertionError("a pad frees up once every reservation has ended")

    def reserve(self, pad: int, start_s: float, end_s: float) -> None:
        bisect.insort(self._reservations, (start_s, end_s, pad))
        bisect.insort(self._ends, end_s)
        self._longest_s = max(self._longest_s, end_s - start_s)
        self._busy_in.clear()

    def prune(self, now_s: float) -> None:
        """Forget reservations that have ended."""
        if self._ends and self._ends[0] <= now_s:
            self._reservations = [r for r in self._reservations if r[1] > now_s]
            self._ends = self._ends[bisect.bisect_right(self._ends, now_s):]
            self._busy_in.clear()


class PathBook:
    """A vertiport's approach and departure paths, each booked on its own: at most one drone on a
    path at a time. A path is ``(pad, corridor, "departure" | "approach")``: from over the pad to
    the corridor's gate, or back; a departure holds it from lift-off to the gate, an approach from
    the gate until it has landed."""

    def __init__(self) -> None:
        self._bookings: dict[tuple[int, str, str], list[tuple[float, float]]] = {}  # each sorted by start
        self._longest_s = 0.0
        self._pruned_s = -math.inf

    def clear_after_s(self, path: tuple[int, str, str], start_s: float, end_s: float) -> float:
        """0 when ``path`` is free over ``[start_s, end_s)``, else how much later the window must
        start to clear the bookings it overlaps now."""
        booked = self._bookings.get(path, [])
        lo = bisect.bisect_left(booked, (start_s - self._longest_s, -math.inf))
        hi = bisect.bisect_left(booked, (end_s, -math.inf))
        ends = [end for _, end in booked[lo:hi] if end > start_s]
        return max(ends) - start_s if ends else 0.0

    def book(self, path: tuple[int, str, str], start_s: float, end_s: float) -> None:
        bisect.insort(self._bookings.setdefault(path, []), (start_s, end_s))
        self._longest_s = max(self._longest_s, end_s - start_s)

    def prune(self, now_s: float) -> None:
        """Forget bookings that have ended (at most every ten simulated minutes: old ones only cost a look)."""
        if now_s < self._pruned_s + 600.0:
            return
        self._pruned_s = now_s
        for path, booked in self._bookings.items():
            if booked and booked[0][1] <= now_s:
                self._bookings[path] = [b for b in booked if b[1] > now_s]


def inside_terminals(xy: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """For each point (rows of ``xy``), the index of the terminal volume it lies in, or -1."""
    if not len(centres):
        return np.full(len(xy), -1)
    d = np.hypot(xy[:, None, 0] - centres[None, :, 0], xy[:, None, 1] - centres[None, :, 1])
    inside = d <= radii[None, :] + BOUNDARY_TOLERANCE_M
    return np.where(inside.any(axis=1), inside.argmax(axis=1), -1)

