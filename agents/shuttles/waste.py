"""Waste collection: bins fill, collectors with a load limit empty them and unload at the depot.

Bins fill linearly at their own rate (the fleet's mean rate, spread by the seeded generator) up
to their capacity; a full bin overflows until it is emptied. At the start of each window the
fleet picks the bins that will be over ``collect_above`` of capacity by mid-window (or that would
overflow before the next window), plans capacitated tours with the savings heuristic and hands
them to its collectors in turn.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.shuttles.config import WasteFleet
from gwangju_twin.agents.shuttles.operations import FleetService, Operations
from gwangju_twin.agents.shuttles.vehicle import RoadVehicle
from gwangju_twin.agents.shuttles.vehicle_routing import savings_tours
from gwangju_twin.clock import Priority
from gwangju_twin.units import DAY_S

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel


class Bin:
    """A bin at a road node: fill level as a function of time, overflow bookkeeping."""

    def __init__(self, name: str, node: int, capacity_kg: float, rate_kgps: float, level_kg: float, now_s: float):
        self.name, self.node, self.capacity_kg, self.rate_kgps = name, node, capacity_kg, rate_kgps
        self._level_kg, self._since_s = level_kg, now_s
        self.overflows = 0
        self.overflow_s = 0.0
        self.assigned = False

    def level_kg(self, t_s: float) -> float:
        return min(self.capacity_kg, self._level_kg + self.rate_kgps * (t_s - self._since_s))

    def full_at_s(self) -> float:
        return self._since_s + (self.capacity_kg - self._level_kg) / self.rate_kgps

    def take(self, t_s: float, room_kg: float) -> float:
        """Empty up to ``room_kg`` at ``t_s``; returns what was taken and closes any overflow."""
        full_s = self.full_at_s()
        if full_s < t_s:
            self.overflows += 1
            self.overflow_s += t_s - full_s
        taken = min(self.level_kg(t_s), room_kg)
        self._level_kg, self._since_s = self.level_kg(t_s) - taken, t_s
        return taken

    def overflow_so_far(self, now_s: float) -> tuple[int, float]:
        """Overflow events and seconds up to ``now_s``, counting one still going on."""
        full_s = self.full_at_s()
        ongoing = full_s < now_s
        return self.overflows + int(ongoing), self.overflow_s + (now_s - full_s if ongoing else 0.0)


class Collector(RoadVehicle):
    """A waste collector working through the tours it is given."""

    kind = "collector"
    express = True  # no decision between the bins: a drive's edges are one event

    def __init__(self, model: TwinModel, service: WasteService, index: int) -> None:
        super().__init__(model, f"{service.id}-{index + 1}", service.depot, service.config.max_speed_mps,
                         service.config.energy)
        self.service = service
        self.tours: deque[list[Bin]] = deque()
        self.load_kg = 0.0
        self.collected_kg = 0.0
        self.tours_done = 0
        self._stops: deque[Bin] = deque()

    def work(self, end_s: float) -> None:
        self.window_end_s = end_s
        if self.state == "idle" and self.tours:
            self._start_tour()

    def _start_tour(self) -> None:
        self._stops = deque(self.tours.popleft())
        self.state = "collecting"
        self.model.log.add(self.model.now_s, self.name, "depart", f"tour of {len(self._stops)} bins")
        self._next_bin()

    def _next_bin(self) -> None:
        net, cfg = self.world.network, self.service.config
        while self._stops:
            bin_ = self._stops[0]
            time_s = (net.travel_time_s(self.node, bin_.node, self.max_speed_mps) + cfg.service_s
                      + net.travel_time_s(bin_.node, self.depot.node, self.max_speed_mps))
            distance_m = net.distance_m(self.node, bin_.node) + net.distance_m(bin_.node, self.depot.node)
            room = self.load_kg < cfg.load_limit_kg
            if room and self.model.now_s + time_s <= self.window_end_s and self.can_afford(distance_m, time_s):
                self.drive_to(bin_.node, self._at_bin)
                return
            self._stops.popleft().assigned = False  # left for the next plan
        self.state = "returning"
        self.drive_to(self.depot.node, self._unload)

    def _at_bin(self) -> None:
        bin_ = self._stops.popleft()
        bin_.assigned = False
        taken = bin_.take(self.model.now_s, self.service.config.load_limit_kg - self.load_kg)
        self.load_kg += taken
        self.model.log.add(self.model.now_s, self.name, "collect", f"{bin_.name} {taken:.1f} kg")
        self.model.clock.after(self.service.config.service_s, self._next_bin)

    def _unload(self) -> None:
        self.state = "unloading"
        self.record()

        def done() -> None:
            self.collected_kg += self.load_kg
            self.model.log.add(self.model.now_s, self.name, "unload", f"{self.load_kg:.1f} kg")
            self.load_kg = 0.0
            self.tours_done += 1
            self.state = "idle"
            if self.needs_charge():
                self.charge(lambda: self.work(self.window_end_s))
            elif self.tours and self.model.now_s < self.window_end_s:
                self._start_tour()

        self.model.clock.after(self.service.config.unload_s, done)


class WasteService(FleetService):
    """Bins, collectors, window-by-window tour planning and the key figures."""

    kind = "waste"

    def __init__(self, model: TwinModel, config: WasteFleet, operations: Operations) -> None:
        super().__init__(model, config, operations)
        self.bins = self._place_bins(config)
        self.vehicles = [Collector(model, self, i) for i in range(config.count)]
        self.planned_tours = 0
        self.schedule_windows(lambda v, end_s: v.work(end_s))
        for day in range(int(model.duration_s // DAY_S) + 1):
            for start_s, end_s in config.windows_s:
                if day * DAY_S + start_s < model.duration_s:
                    # priority -1: plan before the collectors of this window start working
                    model.clock.at(day * DAY_S + start_s, lambda e=day * DAY_S + end_s: self._plan(e), priority=Priority.HIGH)

    def _place_bins(self, config: WasteFleet) -> list[Bin]:
        rng, net = self.model.rng, self.world.network
        places = [(site, self.site_node(site)) for site in config.bins]
        if config.random_bins:
            reachable = np.flatnonzero(np.isfinite(net.toward(self.depot.node)[0]))
            picks = rng.choice(reachable, size=config.random_bins, replace=config.random_bins > len(reachable))
            places += [(f"bin_{i + 1}", int(node)) for i, node in enumerate(picks)]
        bins = []
        for name, node in places:
            self.check_reachable(f"bin {name}", node)
            rate = config.fill_rate_kgps * (1.0 + config.fill_rate_spread * rng.uniform(-1.0, 1.0))
            level = rng.uniform(0.0, 0.5) * config.bin_capacity_kg
            bins.append(Bin(name, node, config.bin_capacity_kg, rate, level, self.model.now_s))
        return bins

    def _plan(self, end_s: float) -> None:
        cfg, now_s = self.config, self.model.now_s
        middle_s = (now_s + end_s) / 2.0
        next_start_s = end_s + self._gap_s(end_s)
        due = [b for b in self.bins if not b.assigned and (
            b.level_kg(middle_s) >= cfg.collect_above * b.capacity_kg or b.full_at_s() < next_start_s)]
        if not due or not self.vehicles:
            return
        places, where = np.unique([self.depot.node, *(b.node for b in due)], return_inverse=True)
        dist = self.world.network.distance_matrix_m(places.tolist())  # one row per road node, not per bin
        demand = np.array([b.level_kg(middle_s) for b in due])
        tours = savings_tours(dist, demand, cfg.load_limit_kg, cfg.savings_neighbours or None, where)
        tours.sort(key=lambda tour: -sum(demand[i - 1] for i in tour))  # fullest first
        for k, tour in enumerate(tours):
            for i in tour:
                due[i - 1].assigned = True
            self.vehicles[k % len(self.vehicles)].tours.append([due[i - 1] for i in tour])
        self.planned_tours += len(tours)

    def _gap_s(self, end_s: float) -> float:
        """Time from the end of this window to the start of the next one."""
        day_s = end_s % DAY_S
        later = [start for start, _ in self.config.windows_s if start >= day_s]
        return (later[0] - day_s) if later else (DAY_S - day_s + self.config.windows_s[0][0])

    def kpis(self) -> dict[str, Any]:
        overflow = [b.overflow_so_far(self.model.now_s) for b in self.bins]
        return {
            "service": "waste",
            **self.vehicle_kpis(),
            "bins": len(self.bins),
            "kg_collected": round(sum(v.collected_kg for v in self.vehicles), 3),
            "overflow_events": sum(events for events, _ in overflow),
            "overflow_hours": round(sum(seconds for _, seconds in overflow) / 3600.0, 3),
            "tours": sum(v.tours_done for v in self.vehicles),
            "tours_planned": self.planned_tours,
        }
