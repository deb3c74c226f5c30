"""4D flight planning: a drone's whole flight is planned before it leaves.

A flight is a minute on the pad, a vertical climb to its corridor's layer, the corridor legs at its
ground speed (airspeed plus the wind and this flight's gust), a vertical transition where the next
corridor flies another layer, and a vertical descent onto a pad. The plan must

* keep the separation minima (horizontal AND vertical; per drone type, a pair keeps the larger)
  from every flight already committed, over the whole airspace (:class:`Airspace`);
* find its take-off pad free and its landing pad free from arrival to the end of turnaround, so
  no drone ever holds in the air (:class:`PadTimeline`);
* leave the energy reserve intact.

The departure-slot search tries the nominal flight and the resolution strategies' alternatives at
each slot (:mod:`agents.drones.resolution`); with a ground hold it moves on to later slots.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.agents.drones.airspace import Airspace, PadTimeline, Trajectory
from gwangju_twin.agents.drones.drone import Flight
from gwangju_twin.agents.drones.energy import TAKEOFF_PAD_S, trajectory_energy_j
from gwangju_twin.agents.drones.resolution import GroundHold, Option, Resolution
from gwangju_twin.units import DAY_S

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.config import DroneType
    from gwangju_twin.agents.drones.drone import Drone
    from gwangju_twin.agents.drones.places import Leg, Places

MAX_GROUND_HOLD_S = 2 * DAY_S
MAX_SLOT_STEP_S = 120.0  # the departure-slot search doubles its step after each try that conflicts, up to this
MAX_SLOT_BATCH = 64  # slots checked in one pass, at most


@dataclass
class Choice:
    """What the search settled on, and what the first plan ran into."""

    option: Option
    delay_s: float
    first_conflicts: list[str]
    first_delay_s: float
    clear: bool  # a conflict-free option was found (False: no deconfliction, or the longest hold reached)


class FlightPlanner:
    """Plans flights against the committed airspace and the pads' timelines.

    Parameters
    ----------
    places : Places
        Where the corridors and vertiports are, and the wind.
    pads : dict[str, PadTimeline]
        Each vertiport's pad reservations.
    strategies : list[Resolution]
        Shape changes tried, in order, when the nominal flight conflicts.
    hold : GroundHold or None
        Later departures, tried when no shape is clear; None: never hold for the airspace.
    """

    def __init__(self, places: Places, pads: dict[str, PadTimeline], *, strategies: list[Resolution],
                 hold: GroundHold | None) -> None:
        self.places, self.config, self.pads = places, places.config, pads
        self.strategies, self.hold = strategies, hold
        self.airspace = Airspace()

    def minima(self, kind: DroneType) -> tuple[float, float]:
        """A type's separation minima: its own if it sets them, else the airspace's."""
        return (kind.separation_horizontal_m or self.config.separation_horizontal_m,
                kind.separation_vertical_m or self.config.separation_vertical_m)

    def trajectory(self, drone: Drone, legs: list[Leg], depart_s: float, speed: float, gust: float) -> Trajectory:
        """The flight as 4D points: pad, climb, each leg's vertices, transitions between layers, descent."""
        kind = drone.type
        x, y = self.places.port_xy[drone.at]
        t = depart_s + TAKEOFF_PAD_S
        points = [(depart_s, x, y, 0.0, "pad"), (t, x, y, 0.0, "climb")]
        z = legs[0].altitude_m
        t += z / kind.climb_rate_mps
        for leg in legs:
            if leg.altitude_m != z:  # a transition to the next corridor's layer, over the vertiport
                points.append((t, x, y, z, "transition"))
                rate = kind.climb_rate_mps if leg.altitude_m > z else kind.descent_rate_mps
                t += abs(leg.altitude_m - z) / rate
                z = leg.altitude_m
            v = self.places.ground_speed_mps(leg, kind.cruise_speed_mps * speed, gust)
            for (x0, y0), (x1, y1) in zip(leg.xy_m[:-1], leg.xy_m[1:]):
                points.append((t, x0, y0, z, "cruise"))
                t += float(np.hypot(x1 - x0, y1 - y0)) / v
            x, y = leg.xy_m[-1]
        points.append((t, float(x), float(y), z, "descent"))
        points.append((t + z / kind.descent_rate_mps, float(x), float(y), 0.0, "landed"))
        horizontal, vertical = self.minima(kind)
        return Trajectory(drone.name, np.array([p[0] for p in points]),
                          np.array([p[1:4] for p in points], dtype=float), tuple(p[4] for p in points),
                          horizontal, vertical)

    def pad_wait_s(self, drone: Drone, trajectory: Trajectory, destination: str, delay_s: float = 0.0) -> float:
        """How much later than ``delay_s`` after its planned departure the flight must leave to find its
        take-off pad and its landing pad free."""
        origin, landing_pads = self.pads[drone.at], self.pads[destination]
        times = trajectory.t_s
        start, descent, end = times[0] + delay_s, times[-2] + delay_s, times[-1] + delay_s  # as shifted() would
        wait_s = 0.0
        while True:
            start_s = float(start) + wait_s
            takeoff = origin.earliest_shift(start_s, start_s + TAKEOFF_PAD_S)
            descent_s = float(descent) + wait_s + takeoff
            landing = landing_pads.earliest_shift(descent_s, float(end) + wait_s + takeoff + drone.type.turnaround_s)
            if takeoff == landing == 0.0:
                return wait_s
            wait_s += takeoff + landing

    def plan(self, drone: Drone, legs: list[Leg], destination: str, payload_kg: float, *, now_s: float,
             gust_mps: float) -> tuple[Flight, Choice]:
        """The earliest flight that keeps the minima, finds its pads free and keeps the reserve."""
        self.airspace.prune(now_s)
        for timeline in self.pads.values():
            timeline.prune(now_s)
        options = self._options(drone, legs, payload_kg, now_s, gust_mps)
        kind = drone.type
        step_s = float(np.clip(self.minima(kind)[0] / kind.cruise_speed_mps / 2.0, 2.0, 30.0))
        choice = self._search(drone, options, destination, step_s)
        trajectory = choice.option.trajectory.shifted(choice.delay_s)
        return Flight(drone, payload_kg, trajectory, choice.option.energy_j), choice

    def _options(self, drone: Drone, legs: list[Leg], payload_kg: float, now_s: float, gust: float) -> list[Option]:
        """The nominal flight and each strategy's alternatives that keep the energy reserve."""
        drone_type = drone.type

        def build(*, kind: str = "nominal", detail: str = "", speed: float = 1.0) -> Option:
            trajectory = self.trajectory(drone, legs, now_s, speed, gust)
            return Option(kind, detail, trajectory, trajectory_energy_j(drone_type, trajectory, payload_kg))

        nominal = build()
        options = [nominal, *(o for s in self.strategies for o in s.alternatives(build))]
        reserve_j = drone_type.reserve * drone_type.energy_j
        options = [o for o in options if drone.energy_j - o.energy_j >= reserve_j] or [nominal]
        for option in options:
            option.segments = self.airspace.segments_of(option.trajectory)
        return options

    def _slots(self, drone: Drone, options: list[Option], destination: str,
               step_s: float) -> Iterator[tuple[float, list[Option], bool]]:
        """Departure slots in the order the search tries them: ``(delay_s, options whose pads are free,
        final)``. Each slot starts where the nominal flight finds both pads free; the ground hold
        gives the gap to the next. ``final``: no deconfliction, or the longest ground hold reached."""
        delay_s, nominal = 0.0, options[0]
        steps = self.hold.steps(step_s) if self.hold else None
        deconflict = bool(self.hold or self.strategies)
        while True:
            delay_s += self.pad_wait_s(drone, nominal.trajectory, destination, delay_s)
            free = [o for o in options if self.pad_wait_s(drone, o.trajectory, destination, delay_s) == 0.0]
            final = not deconflict or delay_s >= MAX_GROUND_HOLD_S
            yield delay_s, free, final
            if final:
                return
            delay_s += next(steps) if steps else step_s

    def _search(self, drone: Drone, options: list[Option], destination: str, step_s: float) -> Choice:
        """The first clear option at the earliest slot, slots checked a batch at a time (1, 2, 4, ...):
        the same answer as one at a time, with far fewer passes when the airspace is busy."""
        slots = self._slots(drone, options, destination, step_s)
        first: tuple[list[str], float] | None = None
        batch = 1
        while True:
            tried = list(itertools.islice(slots, batch))
            batch = min(2 * batch, MAX_SLOT_BATCH)
            checks = [(o.segments, delay) for delay, free, final in tried if not final for o in free]
            hits = iter(self.airspace.conflicts_at(drone.name, checks))
            for delay, free, final in tried:
                if final:
                    conflicts, first_delay = first or ([], 0.0)
                    return Choice(free[0] if free else options[0], delay, conflicts, first_delay, False)
                found = [next(hits) for _ in free]
                if first is None:
                    first = (found[0], delay)
                clear = next((o for o, hit in zip(free, found) if not hit), None)
                if clear is not None or self.hold is None:
                    return Choice(clear or free[0], delay, first[0], first[1], clear is not None)
