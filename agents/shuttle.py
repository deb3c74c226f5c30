"""Driverless service shuttles on fixed loops, as Gwangju ran them from February 2021.

Each fleet drives a loop of stops inside its daily service windows. Vehicles of a fleet start
a headway apart (loop time / fleet size). At every stop a shuttle dwells, then goes on to the
next stop only if it can still be back at its depot by the end of the window; otherwise it
returns to the depot and waits for the next window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agents.vehicle import RoadVehicle
from twin.shuttle_config import LoopFleet, Shuttles

if TYPE_CHECKING:
    from twin.model import TwinModel

DAY_S = 86400.0


class LoopShuttle(RoadVehicle):
    """One shuttle of a loop fleet."""

    kind = "shuttle"

    def __init__(self, model: TwinModel, service: LoopService, index: int) -> None:
        super().__init__(model, f"{service.id}-{index + 1}", service.depot_node, service.config.max_speed_mps)
        self.service = service
        self.loops_completed = 0
        self.stop_visits = 0
        self.windows_skipped = 0
        self._window_end_s = 0.0
        self._next_stop = 0
        self.record()

    def start_window(self, end_s: float) -> None:
        service = self.service
        if self.model.now_s + service.first_round_trip_s > end_s:
            # Not even the first stop and back fits in what is left of the window: stay home.
            self.model.log.add(self.model.now_s, self.name, "skip_window", "first stop and back do not fit")
            self.windows_skipped += 1
            return
        self._window_end_s = end_s
        self._next_stop = 0
        self.state = "to_route"
        self.model.log.add(self.model.now_s, self.name, "depart", "depot")
        self.drive_to(self.service.stop_nodes[0], self._at_stop)

    def _at_stop(self) -> None:
        service, here = self.service, self._next_stop
        self.stop_visits += 1
        if here == 0 and self.state == "serving":
            self.loops_completed += 1
        self.state = "serving"
        self.model.log.add(self.model.now_s, self.name, "stop", service.config.route[here])
        following = (here + 1) % len(service.stop_nodes)
        leave_s = self.model.now_s + service.config.dwell_s
        # Drive on only if, after dwelling there too, the shuttle can still be home by the window's end.
        needed_s = service.leg_time_s(here, following) + service.config.dwell_s + service.return_time_s(following)
        if leave_s + needed_s <= self._window_end_s:
            self._next_stop = following
            self.model.clock.at(leave_s, lambda: self.drive_to(service.stop_nodes[following], self._at_stop))
        else:
            self.model.clock.at(leave_s, self._go_home)

    def _go_home(self) -> None:
        self.state = "returning"
        self.drive_to(self.service.depot_node, self._at_depot)

    def _at_depot(self) -> None:
        self.state = "idle"
        self.model.log.add(self.model.now_s, self.name, "arrive", "depot")
        self.record()


class LoopService:
    """A fleet of loop shuttles and its key figures."""

    def __init__(self, model: TwinModel, config: LoopFleet, snap_distance_m: float) -> None:
        self.id = config.id
        self.model = model
        self.config = config
        world = model.world
        self.depot_node = world.site_node(config.depot, snap_distance_m)
        self.stop_nodes = [world.site_node(stop, snap_distance_m) for stop in config.route]
        net, speed = world.network, config.max_speed_mps
        n = len(self.stop_nodes)
        legs = [(self.stop_nodes[i], self.stop_nodes[(i + 1) % n]) for i in range(n)]
        # path() raises a RoutingError naming the nodes if a stop and the depot are not connected.
        self._home_s = [net.travel_time_s(node, self.depot_node, speed) for node in self.stop_nodes]
        self._leg_s = [net.travel_time_s(a, b, speed) for a, b in legs]
        self.loop_length_m = sum(net.distance_m(a, b) for a, b in legs)
        self.first_round_trip_s = (net.travel_time_s(self.depot_node, self.stop_nodes[0], speed)
                                   + config.dwell_s + self._home_s[0])
        self.loop_time_s = sum(self._leg_s) + n * config.dwell_s
        self.vehicles = [LoopShuttle(model, self, i) for i in range(config.count)]
        self._schedule_windows()

    def leg_time_s(self, i: int, j: int) -> float:
        assert j == (i + 1) % len(self.stop_nodes)
        return self._leg_s[i]

    def return_time_s(self, i: int) -> float:
        return self._home_s[i]

    def _schedule_windows(self) -> None:
        count = max(len(self.vehicles), 1)
        headway_s = self.loop_time_s / count
        days = int(self.model.duration_s // DAY_S) + 1
        for day in range(days):
            for start_s, end_s in self.config.windows_s:
                for i, vehicle in enumerate(self.vehicles):
                    t_s = day * DAY_S + start_s + i * headway_s
                    if t_s < min(day * DAY_S + end_s, self.model.duration_s):
                        self.model.clock.at(t_s, lambda v=vehicle, e=day * DAY_S + end_s: v.start_window(e))

    def kpis(self) -> dict[str, Any]:
        vehicles = self.vehicles
        km = sum(v.odometer_m for v in vehicles) / 1000.0
        hours = sum(v.driving_s for v in vehicles) / 3600.0
        return {
            "service": "loop",
            "vehicles": len(vehicles),
            "loop_length_km": round(self.loop_length_m / 1000.0, 3),
            "loop_time_min": round(self.loop_time_s / 60.0, 2),
            "vehicle_km": round(km, 3),
            "driving_hours": round(hours, 3),
            "mean_speed_kmh": round(km / hours, 3) if hours else 0.0,
            "loops_completed": sum(v.loops_completed for v in vehicles),
            "stop_visits": sum(v.stop_visits for v in vehicles),
            "windows_skipped": sum(v.windows_skipped for v in vehicles),
        }


def build_shuttle_services(model: TwinModel, config: Shuttles) -> list[LoopService]:
    """The scenario's shuttle fleets as services of ``model``."""
    return [LoopService(model, fleet, config.snap_distance_m) for fleet in config.fleet]
