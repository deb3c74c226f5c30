"""Driverless service shuttles on fixed loops, as Gwangju ran them from February 2021.

Each fleet drives a loop of stops inside its daily service windows. Vehicles of a fleet start
a headway apart (loop time / fleet size). At every stop a shuttle dwells, then goes on to the
next stop only if it can still be back at its depot by the end of the window, with the energy
reserve intact; otherwise it returns to the depot (and charges if low) and waits.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.shuttles.config import LoopFleet
from gwangju_twin.agents.shuttles.express import Leg
from gwangju_twin.agents.shuttles.loop_ahead import StopRows, drive_ahead, plans
from gwangju_twin.agents.shuttles.operations import FleetService, Operations
from gwangju_twin.agents.shuttles.vehicle import RoadVehicle

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel


class LoopShuttle(RoadVehicle):
    """One shuttle of a loop fleet."""

    kind = "shuttle"
    express = True  # no decision between the stops: a drive's edges are one event

    def __init__(self, model: TwinModel, service: LoopService, index: int) -> None:
        super().__init__(model, f"{service.id}-{index + 1}", service.depot, service.config.max_speed_mps,
                         service.config.energy)
        self.service = service
        self.loops_completed = 0
        self.stop_visits = 0
        self.windows_skipped = 0
        self._next_stop = 0
        self.stop_rows = StopRows(model, self.name)  # the log rows of stops driven ahead (loop_ahead.py)

    def start_window(self, end_s: float) -> None:
        service = self.service
        trip_m, trip_s = service.first_round_trip
        if self.model.now_s + trip_s > end_s or self.state != "idle":
            # Not even the first stop and back fits in what is left of the window (or still busy).
            self.model.log.add(self.model.now_s, self.name, "skip_window", "first stop and back do not fit")
            self.windows_skipped += 1
            return
        if not self.can_afford(trip_m, trip_s):
            self.charge(lambda: self.start_window(end_s))
            return
        self.window_end_s = end_s
        self._next_stop = 0
        self.state = "to_route"
        self.model.log.add(self.model.now_s, self.name, "depart", "depot")
        self.drive_to(service.stop_nodes[0], self._at_stop)

    def _at_stop(self) -> None:
        """At a stop: count it, dwell, then drive on to the next stop or home (see the module).

        With no one to look before the run ends (:meth:`_books_ahead`), the stops that follow are
        driven here first (:func:`~gwangju_twin.agents.shuttles.loop_ahead.drive_ahead`), with the
        same figures, log rows and event count as stop by stop; the decision below is then taken at
        the last of them.
        """
        service, model = self.service, self.model
        now_s = model.clock.now_s
        self._count_stop()
        model.log.add(now_s, self.name, "stop", service.config.route[self._next_stop])
        if service.ahead is not None and self._books_ahead():
            now_s = drive_ahead(self, service.ahead[self._next_stop], now_s)
        following, _, next_node, onward_m, needed_s, onward_s, onward_j = service.at_stop[self._next_stop]
        leave_s = now_s + service.dwell_s
        # Drive on only if, after dwelling there too, the shuttle can still be home in time and charge
        # (can_afford, its figures worked out once by the service for a vehicle of the base energy_j).
        if leave_s + needed_s <= self.window_end_s and (
                self.battery_j - onward_j >= service.reserve_j if self._books_plainly
                else self.can_afford(onward_m, onward_s)):
            self._next_stop = following
            self.depart_at(leave_s, next_node, self._at_stop)
        else:
            model.clock.at(leave_s, self._go_home, scheduled_s=now_s)  # ranked as if decided at now_s

    def _count_stop(self) -> None:
        if self._next_stop == 0 and self.state == "serving":
            self.loops_completed += 1
        self.stop_visits += 1
        self.state = "serving"

    def _books_ahead(self) -> bool:
        """Whether this shuttle may drive its next stops now: no one looks before the run ends (a headless
        run, no track, no drive record, not watched by a view), no disengagement can stop it, and it
        books its legs plainly."""
        model = self.model
        return (model.headless and self._books_plainly and not model.tracks.enabled and model.drives is None
                and self._until_disengagement_s == math.inf and not getattr(type(self), "_motion_watched", False))

    def _go_home(self) -> None:
        self.state = "returning"
        self.drive_to(self.depot.node, self.arrive_at_depot)


class LoopService(FleetService):
    """A fleet of loop shuttles and its key figures."""

    kind = "loop"

    def __init__(self, model: TwinModel, config: LoopFleet, operations: Operations) -> None:
        super().__init__(model, config, operations)
        self.stop_nodes = [self.site_node(stop) for stop in config.route]
        for name, node in zip(config.route, self.stop_nodes):
            self.check_reachable(f"stop {name}", node)
        net, speed = self.world.network, config.max_speed_mps
        n = len(self.stop_nodes)

        def trip(a: int, b: int) -> tuple[float, float]:
            return net.distance_m(a, b), net.travel_time_s(a, b, speed)

        self.legs = [trip(self.stop_nodes[i], self.stop_nodes[(i + 1) % n]) for i in range(n)]
        self.home = [trip(node, self.depot.node) for node in self.stop_nodes]
        out_m, out_s = trip(self.depot.node, self.stop_nodes[0])
        self.first_round_trip = (out_m + self.home[0][0], out_s + config.dwell_s + self.home[0][1])
        # What a shuttle at stop i weighs (LoopShuttle._at_stop): the next stop, and the next leg, a
        # dwell there and the way home from it, in metres and seconds (the same sums, in the same order).
        energy = config.energy
        self.dwell_s, self.reserve_j = config.dwell_s, energy.reserve * energy.battery_j
        self.at_stop = []
        for i in range(n):
            following = (i + 1) % n
            (leg_m, leg_s), (home_m, home_s) = self.legs[i], self.home[following]
            needed_s = leg_s + config.dwell_s + home_s
            onward_m, onward_s = leg_m + home_m, needed_s + config.dwell_s
            self.at_stop.append((following, config.route[i], self.stop_nodes[following], onward_m, needed_s,
                                 onward_s, onward_m * energy.per_length_jpm + onward_s * energy.per_time_w))
        stops = self.stop_nodes
        self.ahead = plans(self, [Leg(net.route_edges(stops[i], stops[(i + 1) % n]), net.edge_times_s(speed),
                                      net.edge_length_list, energy.per_length_jpm, energy.per_time_w) for i in range(n)])
        self.loop_length_m = sum(m for m, _ in self.legs)
        self.loop_time_s = sum(s for _, s in self.legs) + n * config.dwell_s
        self.vehicles = [LoopShuttle(model, self, i) for i in range(config.count)]
        self.schedule_windows(lambda v, end_s: v.start_window(end_s), self.loop_time_s / max(config.count, 1))

    def kpis(self) -> dict[str, Any]:
        vehicles = self.vehicles
        return {
            "service": "loop",
            **self.vehicle_kpis(),
            "loop_length_km": round(self.loop_length_m / 1000.0, 3),
            "loop_time_min": round(self.loop_time_s / 60.0, 2),
            "loops_completed": sum(v.loops_completed for v in vehicles),
            "stop_visits": sum(v.stop_visits for v in vehicles),
            "windows_skipped": sum(v.windows_skipped for v in vehicles),
        }
