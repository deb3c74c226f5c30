"""4D flight planning: a drone's whole flight is planned before it leaves.

A flight is a minute on the pad, a vertical climb to its corridor's layer, the corridor legs at its
ground speed (airspeed plus the wind and this flight's gust), a vertical transition where the next
corridor flies another layer, and a vertical descent onto a pad. The plan must

* keep the separation minima (horizontal AND vertical; per drone type, a pair keeps the larger)
  from every flight already committed, over the whole airspace (:class:`Airspace`);
* find its take-off pad free and its landing pad free from arrival to the end of turnaround, so
  no drone ever holds in the air (:class:`PadSet`, each pad on its own), and the departure path
  from its pad to its corridor's gate and the approach path from the last gate to its landing pad
  free while it flies them (:class:`PathBook`, each path on its own);
* leave the energy reserve intact.

The departure-slot search tries the nominal flight and the resolution strategies' alternatives at
each slot (:mod:`agents.drones.resolution`), each from the first few free take-off pads; with a
ground hold it moves on to a later slot. It does not step through later slots: it jumps to the
first delay at which the nominal flight may be clear, the end of the union of the delays it may
not leave at (:mod:`agents.drones.departure_windows`, one exact interval per pair of segments).
Stepping (2 s, 4 s, ... 120 s) checked every slot in between and left up to a step later than the
first clear moment. The exact check (:meth:`Airspace.conflicts_at`) still decides every flight.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.agents.drones import flightpath
from gwangju_twin.agents.drones.airspace import Airspace, Trajectory
from gwangju_twin.agents.drones.departure_windows import earliest_clear_s
from gwangju_twin.agents.drones.detection import Segments
from gwangju_twin.agents.drones.drone import Flight
from gwangju_twin.agents.drones.energy import TAKEOFF_PAD_S, phase_weights, trajectory_energy_j
from gwangju_twin.agents.drones.flightpath import Shape
from gwangju_twin.agents.drones.resolution import GroundHold, Option, Resolution, Room
from gwangju_twin.agents.drones.vertiports import PadSet, PathBook
from gwangju_twin.units import DAY_S

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.config import DroneType
    from gwangju_twin.agents.drones.drone import Drone
    from gwangju_twin.agents.drones.places import Leg, Places
    from gwangju_twin.agents.drones.vertiports import VertiportLayout

MAX_GROUND_HOLD_S = 2 * DAY_S
LOOK_AHEAD_S = 1800.0  # how far past a slot the forbidden delays are worked out, at most (a tuning choice)
FIRST_LOOK_AHEAD_S = 150.0  # and at first: twice the hold so far, between the two (short holds look little ahead)
MIN_JUMP_S = 1e-3  # a jump shorter than this means the intervals' end and the exact check disagree (rounding)
NUDGE_S = 0.5  # then the search moves on by this
PAD_CHOICES = 3  # take-off pads tried per option at a slot: the first free ones (a tuning choice)
# Jumps follow the nominal flight alone; the manoeuvres are still tried, exactly, at every slot. Jumping also
# to where a manoeuvre clears first (by 300 s) gave better answers (500 drones, 16 h: 4,680 deliveries
# against 4,437) for twice the planning time; to wherever one clears first, worse (benchmarks/RESULTS.md).


@dataclass
class Variant:
    """An option flown from given pads: the trajectory (departing now), and, worked out when first
    asked, its energy and airborne segments."""

    option: Option
    pads: tuple[int, int]
    trajectory: Trajectory
    kind: DroneType
    payload_kg: float
    weights: np.ndarray  # per segment, its power weight (the option's, whatever the pads)
    airborne: np.ndarray  # the airborne segments' indices (likewise)

    _energy_j: float | None = None
    _segments: Segments | None = None

    @property
    def energy_j(self) -> float:
        if self._energy_j is None:
            self._energy_j = trajectory_energy_j(self.kind, self.trajectory, self.payload_kg, self.weights)
        return self._energy_j

    @property
    def segments(self) -> Segments:
        if self._segments is None:
            self._segments = Segments.one(self.trajectory, self.airborne)
        return self._segments


@dataclass
class Choice:
    """What the search settled on, and what the first plan ran into."""

    variant: Variant
    delay_s: float
    first_conflicts: list[str]
    first_delay_s: float
    clear: bool  # a conflict-free option was found (False: no deconfliction, or the longest hold reached)
    nominal_s: float = 0.0  # how long the nominal flight lasts

    @property
    def option(self) -> Option:
        return self.variant.option


class FlightPlanner:
    """Plans flights against the committed airspace and each pad's timeline.

    Parameters
    ----------
    places : Places
        Corridors, vertiports (pads, gates, terminal volumes) and the wind.
    pads : dict[str, PadSet]
        Each vertiport's pads, each with its own reservations.
    paths : dict[str, PathBook]
        Each vertiport's approach and departure paths, each with its own bookings.
    strategies : list[Resolution]
        Shape changes tried, in order, when the nominal flight conflicts.
    hold : GroundHold or None
        Later departures, tried when no shape is clear; None: never hold for the airspace.
    """

    def __init__(self, places: Places, pads: dict[str, PadSet], paths: dict[str, PathBook], *,
                 strategies: list[Resolution], hold: GroundHold | None) -> None:
        self.places, self.config, self.pads, self.paths = places, places.config, pads, paths
        self.strategies, self.hold = strategies, hold
        self.airspace = Airspace()
        self.slots_tried = 0  # departure slots checked after the quick path (a figure for the benchmarks)

    def minima(self, kind: DroneType) -> tuple[float, float]:
        """A type's separation minima: its own if it sets them, else the airspace's."""
        return (kind.separation_horizontal_m or self.config.separation_horizontal_m,
                kind.separation_vertical_m or self.config.separation_vertical_m)

    def plan(self, drone: Drone, legs: list[Leg], destination: str, payload_kg: float, *, now_s: float,
             gust_mps: float) -> tuple[Flight, Choice]:
        """The earliest flight that keeps the minima, finds its pads free and keeps the reserve."""
        self.airspace.prune(now_s)
        for pad_set in self.pads.values():
            pad_set.prune(now_s)
        for book in self.paths.values():
            book.prune(now_s)
        search = _Search(self, drone, legs, destination, payload_kg, now_s, gust_mps)
        choice = search.run()
        choice.nominal_s = float(search.options[0].trajectory.end_s - search.options[0].trajectory.start_s)
        trajectory = choice.variant.trajectory.shifted(choice.delay_s)
        return Flight(drone, payload_kg, trajectory, choice.variant.energy_j, *choice.variant.pads), choice


class _Search:
    """One flight's departure-slot search: the options, their pads at each slot, the conflict checks."""

    def __init__(self, planner: FlightPlanner, drone: Drone, legs: list[Leg], destination: str, payload_kg: float,
                 now_s: float, gust_mps: float) -> None:
        self.planner, self.drone, self.legs, self.destination = planner, drone, legs, destination
        self.payload_kg, self.now_s, self.gust_mps = payload_kg, now_s, gust_mps
        places = planner.places
        self.origin_pads, self.landing_pads = planner.pads[drone.at], planner.pads[destination]
        self.origin, self.landing = places.vertiports[drone.at], places.vertiports[destination]
        self.origin_paths, self.landing_paths = planner.paths[drone.at], planner.paths[destination]
        self.out_corridor, self.in_corridor = legs[0].corridor.id, legs[-1].corridor.id
        self.minima = planner.minima(drone.type)
        reach_m = max(_reach_m(self.origin), _reach_m(self.landing))
        self.margin_s = 2.0 * reach_m / (0.25 * drone.type.cruise_speed_mps) + 1.0  # pad choice changes the timing
        self.variants: dict[tuple[int, int, int], Variant | None] = {}
        self.takeoff_pads: dict[tuple[int, float], list[int]] = {}  # (option, delay) -> the first free pads
        self.shapes: dict[int, tuple[int, np.ndarray, np.ndarray]] = {}
        self.free_takeoff: dict[tuple[float, float], list[int]] = {}
        self.forbidden: dict[int, tuple[np.ndarray, np.ndarray, float]] = {}  # id(variant) -> its intervals, until
        self.options = self._options(alternatives=False)

    def _trajectory(self, shape: Shape, pads_xy: tuple) -> Trajectory:
        return flightpath.build(self.planner.places, name=self.drone.name, kind=self.drone.type, legs=self.legs,
                                pads_xy=pads_xy, depart_s=self.now_s, gust_mps=self.gust_mps, shape=shape,
                                minima=self.minima)

    def _options(self, *, alternatives: bool) -> list[Option]:
        """The nominal flight and (``alternatives``) each strategy's, flown from the vertiports' centres."""
        centres = (np.asarray(self.origin.centre_xy_m), np.asarray(self.landing.centre_xy_m))
        kind = self.drone.type

        def build(*, kind_of: str = "nominal", detail: str = "", **changes: float) -> Option:
            shape = Shape(**changes)
            trajectory = self._trajectory(shape, centres)
            return Option(kind_of, detail, shape, trajectory, trajectory_energy_j(kind, trajectory, self.payload_kg))

        def strategy_build(*, kind: str, detail: str, **changes: float) -> Option:
            return build(kind_of=kind, detail=detail, **changes)

        room = Room(min(len(self.planner.places.layers(leg.corridor, leg.forward)) for leg in self.legs),
                    min(leg.corridor.width_m for leg in self.legs) / 2.0)
        if not alternatives:
            return [build()]
        return [*self.options, *(o for s in self.planner.strategies for o in s.alternatives(strategy_build, room))]

    def _windows(self, option: Option, delay_s: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """The take-off pad's window, and the landing pad's (widened by the margin for the pads' positions)."""
        t = option.trajectory.t_s
        start = float(t[0]) + delay_s
        return ((start, start + TAKEOFF_PAD_S),
                (float(t[-2]) + delay_s - self.margin_s,
                 float(t[-1]) + delay_s + self.drone.type.turnaround_s + self.margin_s))

    def _path_windows(self, option: Option, delay_s: float) -> tuple[tuple[float, float], tuple[float, float]]:
        """The departure path's window and the approach path's (widened by the margin for the pads' positions)."""
        (d0, d1), (a0, a1) = option.path_windows
        return (d0 + delay_s, d1 + delay_s + self.margin_s), (a0 + delay_s - self.margin_s, a1 + delay_s + self.margin_s)

    def _pads(self, option: Option, delay_s: float) -> tuple[Iterator[tuple[int, float]], Iterator[tuple[int, float]]]:
        """The free take-off and landing pads at ``delay_s``, in order, each with how much later its path clears."""
        takeoff, landing = self._windows(option, delay_s)
        departure, approach = self._path_windows(option, delay_s)
        if takeoff not in self.free_takeoff:  # the same window for every option
            self.free_takeoff[takeoff] = list(self.origin_pads.free_pads(*takeoff))
        return ((pad, self.origin_paths.clear_after_s((pad, self.out_corridor, "departure"), *departure))
                for pad in self.free_takeoff[takeoff]), \
            ((pad, self.landing_paths.clear_after_s((pad, self.in_corridor, "approach"), *approach))
             for pad in self.landing_pads.free_pads(*landing))

    def pad_wait_s(self, option: Option, delay_s: float) -> float:
        """How much later than ``delay_s`` the flight must leave to find a take-off pad and a landing pad
        free, each with its path free."""
        wait_s = 0.0
        while True:
            takeoff, landing = self._windows(option, delay_s + wait_s)
            shift = self.origin_pads.earliest_shift(*takeoff)
            landing = (landing[0] + shift, landing[1] + shift)
            shift_landing = self.landing_pads.earliest_shift(*landing)
            if shift == shift_landing == 0.0:
                ends = [_first_clear(pads) for pads in self._pads(option, delay_s + wait_s)]
                if max(ends) == 0.0:
                    return wait_s
                shift = max(ends)
            wait_s += shift + shift_landing

    def _variant(self, k: int, delay_s: float) -> Variant | None:
        """Option ``k`` at ``delay_s`` from the first free pads with free paths, or None (none such, or the
        reserve broken)."""
        variants = self._variants(k, delay_s, pads=1)
        return variants[0] if variants else None

    def _variants(self, k: int, delay_s: float, *, pads: int = 0) -> list[Variant]:
        """Option ``k`` at ``delay_s`` from each of the first PAD_CHOICES free take-off pads with free paths
        (and the first free landing pad), in pad order, leaving out those that would break the reserve."""
        option = self.options[k]
        takeoff, landing = self._pads(option, delay_s)
        if (k, delay_s) not in self.takeoff_pads:
            self.takeoff_pads[k, delay_s] = list(itertools.islice((pad for pad, clear in takeoff if clear == 0.0),
                                                                  PAD_CHOICES))
        landing_pad = next((pad for pad, clear in landing if clear == 0.0), None)
        if landing_pad is None:
            return []
        found = [self._with_pads(k, (pad, landing_pad)) for pad in self.takeoff_pads[k, delay_s][:pads or None]]
        return [v for v in found if v is not None]

    def _with_pads(self, k: int, pads: tuple[int, int]) -> Variant | None:
        key = (k, *pads)
        if key not in self.variants:
            first, airborne, weights = self._shape(k)
            xy = (self.origin.pads_xy_m[pads[0]], self.landing.pads_xy_m[pads[1]])
            trajectory = flightpath.with_pads(self.options[k].trajectory, xy, first)
            kind = self.drone.type
            variant = Variant(self.options[k], pads, trajectory, kind, self.payload_kg, weights, airborne)
            ok = k == 0 or self.drone.energy_j - variant.energy_j >= kind.reserve * kind.energy_j
            self.variants[key] = variant if ok else None
        return self.variants[key]

    def _shape(self, k: int) -> tuple[int, np.ndarray, np.ndarray]:
        """What option ``k``'s flights share whatever their pads: the first cruise point, the airborne
        segments, each segment's power weight."""
        if k not in self.shapes:
            trajectory = self.options[k].trajectory
            self.shapes[k] = (trajectory.phases.index("cruise"), trajectory.airborne(),
                              phase_weights(self.drone.type, trajectory))
        return self.shapes[k]

    def run(self) -> Choice:
        """The first clear option at the earliest slot. Each slot starts where the nominal flight finds
        pads free; every option whose pads are free there is checked exactly (:meth:`Airspace.conflicts_at`);
        when none is clear the search jumps to the next slot where one may be (:meth:`_next_slot`)."""
        quick = self._nominal_now()
        if quick is not None:
            return quick
        self.options = self._options(alternatives=True)
        planner, delay_s = self.planner, self.pad_wait_s(self.options[0], 0.0)
        deconflict = bool(planner.hold or planner.strategies)
        first: tuple[list[str], float] | None = None
        while True:
            free = [v for k in range(len(self.options)) for v in self._variants(k, delay_s)]
            if not deconflict or delay_s >= MAX_GROUND_HOLD_S or not free:
                conflicts, first_delay = first or ([], 0.0)
                return Choice(free[0] if free else self._fallback(delay_s), delay_s, conflicts, first_delay, False)
            planner.slots_tried += 1
            found = planner.airspace.conflicts_at(self.drone.name, [(v.segments, delay_s) for v in free])
            if first is None:
                first = (found[0], delay_s)
            clear = next((v for v, hit in zip(free, found) if not hit), None)
            if clear is not None or planner.hold is None:
                return Choice(clear or free[0], delay_s, first[0], first[1], clear is not None)
            window_s = min(planner.hold.window_s, max(FIRST_LOOK_AHEAD_S, 2.0 * (delay_s - first[1])))
            delay_s = self._aligned(self._next_slot(free, delay_s, window_s))

    def _next_slot(self, free: list[Variant], delay_s: float, window_s: float) -> float:
        """The least delay after ``delay_s`` at which the nominal flight (from its first free pads) may be
        clear: the end of the union of its forbidden delays (:meth:`Airspace.forbidden_at`), looked for up
        to ``window_s`` ahead."""
        nominals = [v for v in free if v.option is self.options[0]][:1]
        ends = self._clear_ends(nominals, delay_s, window_s)
        best = min(ends, default=delay_s + window_s)
        # Clear by the intervals yet not by the exact check: rounding at an interval's end.
        return best if best > delay_s + MIN_JUMP_S else delay_s + NUDGE_S

    def _clear_ends(self, variants: list[Variant], delay_s: float, window_s: float) -> list[float]:
        """Each variant's earliest clear delay from ``delay_s`` (at most the end of its window, where
        nothing more is known), its intervals kept while the search stays in their window."""
        stale = [v for v in variants
                 if id(v) not in self.forbidden or self.forbidden[id(v)][2] < delay_s + window_s / 2]
        if stale:
            found = self.planner.airspace.forbidden_at(self.drone.name, [v.segments for v in stale], from_s=delay_s,
                                                       window_s=window_s)
            for variant, (lo, hi) in zip(stale, found):
                self.forbidden[id(variant)] = (lo, hi, delay_s + window_s)
        ends = []
        for variant in variants:
            lo, hi, until_s = self.forbidden[id(variant)]
            ends.append(min(earliest_clear_s(lo, hi, delay_s), until_s))
        return ends

    def _aligned(self, delay_s: float) -> float:
        """The first delay from ``delay_s`` whose departure falls on a whole millisecond (trajectory times
        are written in ms) with pads free for the nominal flight."""
        while True:
            aligned = math.ceil((self.now_s + delay_s) * 1000.0) / 1000.0 - self.now_s
            delay_s = aligned if aligned >= delay_s else aligned + 1e-3
            wait_s = self.pad_wait_s(self.options[0], delay_s)
            if wait_s == 0.0:
                return delay_s
            delay_s += wait_s

    def _nominal_now(self) -> Choice | None:
        """The nominal flight at the first slot, when it is clear: most flights, checked alone."""
        planner = self.planner
        if not (planner.hold or planner.strategies):
            return None
        delay_s = self.pad_wait_s(self.options[0], 0.0)
        variant = self._variant(0, delay_s)
        if variant is None or planner.airspace.conflicts_at(self.drone.name, [(variant.segments, delay_s)])[0]:
            return None
        return Choice(variant, delay_s, [], delay_s, True)

    def _fallback(self, delay_s: float) -> Variant:
        """The nominal flight from the first pads free at ``delay_s`` (found by the pad wait, so there are)."""
        variant = self._variant(0, delay_s)
        if variant is None:
            raise AssertionError("the pad wait found pads free for the nominal flight")
        return variant


def _reach_m(port: VertiportLayout) -> float:
    centre = np.asarray(port.centre_xy_m)
    return float(np.hypot(*(port.pads_xy_m - centre).T).max())


def _first_clear(pads: Iterator[tuple[int, float]]) -> float:
    """0 when some pad's path is clear, else the least wait for one to clear."""
    least = float("inf")
    for _, clear in pads:
        if clear == 0.0:
            return 0.0
        least = min(least, clear)
    return least
