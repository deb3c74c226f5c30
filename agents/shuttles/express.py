"""Express driving: a vehicle that takes no decision between the nodes of a drive books it whole.

Loop shuttles, waste collectors and sweepers (``express = True``; a sweeper for the streets that fit,
see ``cleaning.py``) drive the edges of a drive up to the next disengagement as one event at the end
of that stretch, which then books every edge in order with
the same arithmetic and the same recorded node times as edge-by-edge driving. A loop shuttle goes
further with :meth:`ExpressDriving.depart_at`: the drive from a stop is booked when it arrives,
so a stop is one event. Only the engine's event count differs from edge-by-edge driving
(tests/test_invariants.py). :class:`ExpressDriving` is a part of
:class:`~gwangju_twin.agents.shuttles.vehicle.RoadVehicle` and uses its state and methods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import reduce
from itertools import accumulate
from operator import add, sub

LEGS_KEPT = 20_000  # legs a depot keeps for its vehicles before it starts afresh
LEGS_KEPT_BY_VEHICLE = 64  # legs a vehicle keeps for itself (a loop shuttle repeats a few)


class Leg:
    """A drive between two nodes as a vehicle of one cap and energy rates books it, worked out once:
    its edges and, per edge, the time, length and energy, and whether the battery only drains on it."""

    __slots__ = ("edges", "durations", "lengths", "energies", "drains")

    def __init__(self, edges: list[int], times: list[float], lengths: list[float], per_length_jpm: float,
                 per_time_w: float) -> None:
        self.edges = edges
        self.durations = [times[edge] for edge in edges]
        self.lengths = [lengths[edge] for edge in edges]
        self.energies = [length_m * per_length_jpm + elapsed_s * per_time_w
                         for length_m, elapsed_s in zip(self.lengths, self.durations)]
        self.drains = min(self.energies, default=0.0) >= 0.0


class ExpressDriving:
    """The express half of a road vehicle's driving (see the module); mixed into ``RoadVehicle``."""

    def depart_at(self, leave_s: float, target: int, then: Callable[[], None]) -> None:
        """Stand here until ``leave_s``, then :meth:`drive_to` ``target`` and call ``then``.

        An express vehicle that no disengagement can stop on the way books the whole drive now, as
        one event at its arrival: nothing happens to it while it stands (it takes no decision and
        meets no one), so the event that would start the drive at ``leave_s`` is not needed. The
        drive's times, its recorded track point at ``leave_s`` and its rank among simultaneous events
        are those of the two-event way; :meth:`motion` places it at its node until ``leave_s``.
        """
        model = self.model
        if not self.express or self._stretch is not None or self._edges:
            model.clock.at(leave_s, lambda: self.drive_to(target, then))
            return
        leg = self._leg(target)
        if len(leg.edges) < 2:
            model.clock.at(leave_s, lambda: self.drive_to(target, then))
            return
        budget_s = self._until_disengagement_s
        if budget_s != math.inf:
            for duration_s in leg.durations:
                if budget_s < duration_s:  # a disengagement on the way: drive it the long way, at leave_s
                    model.clock.at(leave_s, lambda: self.drive_to(target, then))
                    return
                budget_s -= duration_s
            self._until_disengagement_s = budget_s
        if model.tracks.enabled and self._recorded_s < leave_s:
            self.record(leave_s)  # the track shows when it set off
        ends = list(accumulate(leg.durations, initial=leave_s))
        del ends[0]
        if model.drives is None:
            self._then = then
            # Nothing per edge to book or record: the whole leg is booked at its end in one go (_end_leg).
            self._book_drive(leg.edges, ends, leave_s, self._end_leg if self._books_plainly and not model.tracks.enabled
                             else self._end_stretch)
        else:
            self._then = self._recorded(target, then, leave_s)
            self._book_drive(leg.edges, ends, leave_s)
        self._stretch_leg = leg

    def _leg(self, target: int) -> Leg:
        """The :class:`Leg` from here to ``target`` at this vehicle's cap and energy rates (kept at the
        depot, which shares it among its vehicles, and by the vehicle, for the legs it repeats)."""
        mine = self._legs
        leg = mine.get((self.node, target))
        if leg is not None:
            return leg
        energy = self.energy
        key = (self.node, target, self.max_speed_mps, energy.per_length_jpm, energy.per_time_w)
        leg = self.depot.legs.get(key)
        if leg is None:
            net = self.world.network
            if len(self.depot.legs) >= LEGS_KEPT:
                self.depot.legs.clear()
            leg = self.depot.legs[key] = Leg(net.route_edges(self.node, target), net.edge_times_s(self.max_speed_mps),
                                             net.edge_length_list, energy.per_length_jpm, energy.per_time_w)
        if len(mine) >= LEGS_KEPT_BY_VEHICLE:
            mine.clear()
        mine[(self.node, target)] = leg
        return leg

    def _drive_stretch(self) -> bool:
        """Express: drive the edges ahead up to the first a disengagement interrupts, as one event.

        Returns False (drive edge by edge) if fewer than two edges fit before the disengagement.
        The end times are the running sum of the edges' times (``accumulate``: the same additions,
        in the same order, as edge-by-edge driving makes).
        """
        net, now_s = self.world.network, self.model.clock.now_s
        times = net.edge_times_s(self.max_speed_mps)
        ahead = self._edges
        durations = [times[edge] for edge in ahead]
        budget_s = self._until_disengagement_s
        if budget_s == math.inf:  # no disengagements: every edge ahead fits (the caller has two or more)
            edges, ends = list(ahead), list(accumulate(durations, initial=now_s))[1:]
            ahead.clear()
        else:
            edges, ends = [], []
            t_s = now_s
            for edge, duration_s in zip(ahead, durations):
                if budget_s < duration_s:
                    break
                budget_s -= duration_s
                edges.append(edge)
                t_s = t_s + duration_s
                ends.append(t_s)
            if len(edges) < 2:
                return False
            for _ in edges:
                ahead.popleft()
            self._until_disengagement_s = budget_s
        self._book_drive(edges, ends, now_s)
        return True

    def _book_drive(self, edges: list[int], ends: list[float], start_s: float,
                    end: Callable[[], None] | None = None) -> None:
        """Drive ``edges`` (two or more) from ``start_s``, each ending at its ``ends``: one event at the last,
        which calls ``end`` (default :meth:`_end_stretch`)."""
        self._stretch = (edges, ends)
        self.edge, self.edge_start_s = edges[0], start_s
        self.next_node, self.next_node_s = self.world.network.edge_v_list[edges[-1]], ends[-1]
        # Ranked among simultaneous events as the last edge's arrival would be: scheduled when that edge starts.
        self.model.clock.at(ends[-1], end or self._end_stretch, scheduled_s=ends[-2])

    def _end_leg(self) -> None:
        """:meth:`_end_stretch` for a whole leg booked by :meth:`depart_at` of a vehicle whose per-edge hooks do
        nothing, with no track to record: the leg booked at once, then what comes after it."""
        leg = self._stretch_leg
        self._stretch = self._stretch_leg = None
        self._book_stretch(leg)
        then, self._then = self._then, None
        then()

    def _end_stretch(self) -> None:
        edges, ends = self._stretch
        leg, self._stretch, self._stretch_leg = self._stretch_leg, None, None
        if self._books_plainly and not self.model.tracks.enabled:
            if leg is None:
                leg = Leg(edges, self.world.network.edge_times_s(self.max_speed_mps), self.world.network.edge_length_list,
                          self.energy.per_length_jpm, self.energy.per_time_w)
            self._book_stretch(leg)
        else:
            times, apply_edge, record = self.world.network.edge_times_s(self.max_speed_mps), self._apply_edge, self.record
            for edge, end_s in zip(edges, ends):
                apply_edge(edge, times[edge])
                record(end_s)
        self._next_edge()

    def _book_stretch(self, leg: Leg) -> None:
        """:meth:`_apply_edge` for every edge of a stretch at C speed, for vehicles whose per-edge hooks
        do nothing: each running total is folded edge by edge (``reduce``), the same additions in the
        same order as edge-by-edge booking, so the same floats."""
        self.odometer_m = reduce(add, leg.lengths, self.odometer_m)
        self.driving_s = reduce(add, leg.durations, self.driving_s)
        if leg.drains:  # the battery only goes down: its lowest is where the stretch ends
            self.battery_j = reduce(sub, leg.energies, self.battery_j)
            self.min_battery_j = min(self.min_battery_j, self.battery_j)
        else:
            levels = list(accumulate(leg.energies, sub, initial=self.battery_j))
            self.battery_j = levels[-1]
            self.min_battery_j = min(self.min_battery_j, *levels[1:])
        self.node, self.edge = self.world.network.edge_v_list[leg.edges[-1]], None
