"""Demand-responsive shuttles: healthcare, unmanned-store delivery and passengers on request.

Requests between stops arrive as a Poisson process whose rate follows the hour of the day, only
inside service windows. Dispatch is either

* ``nearest``: the nearest vehicle with nothing to do takes the request alone, or
* ``insertion``: the request's pick-up and drop-off are inserted into some vehicle's plan where
  they add the least time, pooling riders, as long as no rider waits longer than ``max_wait``,
  rides longer than ``max_detour`` times the direct trip, seats suffice and the plan ends within
  the window with the energy reserve intact.

Dispatch scales with the fleet. Two lower bounds narrow the fleet first, over arrays of where and
when every vehicle can next act and the shortest-path tree rooted at the pick-up: a vehicle must be
able to reach the pick-up within ``max_wait``, then drive the trip and get home within its window.
The rest are tried soonest at the pick-up first, until ``candidates`` of them could take the
request (0: all are tried), vehicles with a plan at most three times that many; the least added
time wins, ties to the lower-numbered vehicle. Only as many vehicles as are read are sorted (free
and busy ones in two streams, the busy one left at its cap). A vehicle's plan is walked once
(and kept until its plan or start changes); each pick-up position continues from there once and
each drop-off position from that, with the same arithmetic as walking the whole new plan. Lower
bounds that hold because no stop waits and legs are shortest paths end or skip the search early:
a pick-up too late for the rider (every later position is later still), a delay that breaks a
later rider's slack or already adds more than the best insertion, a ride already too long. So
the choice among the vehicles tried is the one an exhaustive search makes. With no more feasible vehicles than
``candidates`` (every packaged scenario), that is the exhaustive search's choice.

A request no vehicle can serve in time is rejected at once and counted. Idle vehicles move to
the stop with the most recent unserved demand (rebalancing). Vehicles re-plan at every node, so a
new insertion takes effect at the next intersection.

The service runs inside its windows: a plan is feasible only if the vehicle is back at its depot
by the window's end (the trip home counts), a vehicle rebalances only as far as it can still get
home in time, and an idle vehicle away from its depot leaves for home when it must.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.shuttles.config import OnDemandFleet
from gwangju_twin.agents.shuttles.dispatch import Dispatch, Visit
from gwangju_twin.agents.shuttles.operations import FleetService, Operations
from gwangju_twin.agents.shuttles.vehicle import RoadVehicle
from gwangju_twin.units import DAY_S, poisson_times_s

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.sumo_bridge import TaxiFleet

REBALANCE_LOOKBACK_S = 3600.0
CHARGING_STATES = ("to_charger", "charging")
WAKE_TOLERANCE_S = 1e-6  # a vehicle woken to leave for home is due even if float rounding puts it a hair early


@dataclass
class Request:
    """One trip asked for, and what became of it."""

    id: int
    fleet: str
    t_s: float
    origin: int
    destination: int
    direct_s: float
    status: str = "open"  # open -> assigned -> onboard -> served, or rejected
    pickup_s: float | None = None
    dropoff_s: float | None = None

    @property
    def label(self) -> str:
        """How the event log names it: unique across the fleets of a run."""
        return f"request {self.fleet}/{self.id}"


class OnDemandShuttle(RoadVehicle):
    """A demand-responsive shuttle following its plan of pick-ups and drop-offs."""

    kind = "shuttle"

    def __init__(self, model: TwinModel, service: OnDemandService, index: int) -> None:
        self.service, self.index = service, index  # before the base class sets the positions kept in arrays
        super().__init__(model, f"{service.id}-{index + 1}", service.depot, service.config.max_speed_mps,
                         service.config.energy)
        self.plan: list[Visit] = []
        self.onboard: list[Request] = []
        self.on_duty = False
        self.busy = False  # driving an edge or dwelling: the plan is picked up when that ends
        self.free_at_s = 0.0
        self.rebalance_to: int | None = None
        self.passenger_m = 0.0
        self.empty_m = 0.0

    # Where and when the vehicle can next act, mirrored into the service's arrays for dispatch.
    @property
    def next_node(self) -> int:
        return self._next_node

    @next_node.setter
    def next_node(self, node: int) -> None:
        self._next_node = node
        self.service.next_nodes[self.index] = node

    @property
    def next_node_s(self) -> float:
        return self._next_node_s

    @next_node_s.setter
    def next_node_s(self, t_s: float) -> None:
        self._next_node_s = t_s
        self.service.next_node_times_s[self.index] = t_s

    @property
    def free_at_s(self) -> float:
        return self._free_at_s

    @free_at_s.setter
    def free_at_s(self, t_s: float) -> None:
        self._free_at_s = t_s
        self.service.free_times_s[self.index] = t_s

    # Who stands at or heads to a node, indexed for rebalancing.
    @property
    def node(self) -> int:
        return self._node

    @node.setter
    def node(self, node: int) -> None:
        at = self.service.at_node
        if hasattr(self, "_node"):
            at[self._node].discard(self)
        self._node = node
        at.setdefault(node, set()).add(self)

    @property
    def rebalance_to(self) -> int | None:
        return self._rebalance_to

    @rebalance_to.setter
    def rebalance_to(self, node: int | None) -> None:
        heading = self.service.heading_to
        old = getattr(self, "_rebalance_to", None)
        if old is not None:
            heading[old].discard(self)
        self._rebalance_to = node
        if node is not None:
            heading.setdefault(node, set()).add(self)

    @property
    def dispatchable(self) -> bool:
        return self.on_duty and self.state not in CHARGING_STATES

    def start_duty(self, end_s: float) -> None:
        self.on_duty, self.window_end_s = True, end_s
        self.service.window_ends_s[self.index] = end_s
        self.model.clock.at(end_s, self.end_duty)
        if self.needs_charge() and self.state == "idle":
            self.charge(self.kick)
        else:
            self.kick()

    def end_duty(self) -> None:
        self.on_duty = False
        self.rebalance_to = None
        self.kick()

    def kick(self) -> None:
        """Start moving if standing still; a moving or dwelling vehicle re-plans when it is free."""
        if not self.busy and self.state not in CHARGING_STATES:
            self._go()

    def _target(self) -> int | None:
        if self.plan:
            return self.plan[0].node
        if self.on_duty:
            if self.rebalance_to is None and self.service.config.rebalance:
                self.rebalance_to = self.service.rebalance_target(self)
            if not self._due_home(self.rebalance_to):
                return self.rebalance_to
            self.rebalance_to = None
        return self.depot.node

    def _due_home(self, target: int | None) -> bool:
        """Must it head home now to be back by the window's end (one more edge toward ``target`` would be late)?"""
        net, speed, now_s = self.world.network, self.max_speed_mps, self.model.now_s
        if target is None or target == self.node:
            return now_s + net.travel_time_s(self.node, self.depot.node, speed) >= self.window_end_s - WAKE_TOLERANCE_S
        edge = net.next_edge_toward(self.node, target)
        after = net.edge_v_list[edge]
        return now_s + net.edge_time_s(edge, speed) + net.travel_time_s(after, self.depot.node, speed) > self.window_end_s

    def _go(self) -> None:
        if self.plan and self.plan[0].node == self.node:
            self._serve()
            return
        target = self._target()
        if target is None or target == self.node:
            self._stand_still()
            return
        self.busy = True
        self.state = "serving" if self.onboard else ("to_pickup" if self.plan else
                                                      ("rebalancing" if self.on_duty else "returning"))
        self.follow([self.world.network.next_edge_toward(self.node, target)], self._arrived)

    def _arrived(self) -> None:
        self.busy = False
        self.free_at_s = self.model.now_s
        self._go()

    def _stand_still(self) -> None:
        self.rebalance_to = None if self.node == self.rebalance_to else self.rebalance_to
        self.state = "idle"
        self.next_node, self.next_node_s, self.free_at_s = self.node, self.model.now_s, self.model.now_s
        if self.on_duty and self.battery_j < 2 * self.energy.reserve * self.energy.battery_j:
            self.charge(self.kick)  # low in service: out of dispatch until charged, then back
        elif self.node == self.depot.node and self.needs_charge() and not self.on_duty:
            self.charge(lambda: None)
        elif self.on_duty and self.node != self.depot.node:
            # Waiting away from home: wake up when it must leave to be back by the window's end.
            home_s = self.world.network.travel_time_s(self.node, self.depot.node, self.max_speed_mps)
            self.model.clock.at(max(self.window_end_s - home_s, self.model.now_s), self.kick)

    def _serve(self) -> None:
        now_s = self.model.now_s
        while self.plan and self.plan[0].node == self.node:
            visit = self.plan.pop(0)
            request = visit.request
            if visit.pickup:
                request.status, request.pickup_s = "onboard", now_s
                self.onboard.append(request)
                self.model.log.add(now_s, self.name, "pickup", request.label)
            else:
                request.status, request.dropoff_s = "served", now_s
                self.onboard.remove(request)
                self.model.log.add(now_s, self.name, "dropoff", request.label)
        self.service.planned[self.index] = bool(self.plan or self.onboard)
        self.busy, self.state = True, "dwelling"
        self.free_at_s = now_s + self.service.config.dwell_s
        self.next_node, self.next_node_s = self.node, self.free_at_s
        self.model.clock.after(self.service.config.dwell_s, self._arrived)

    def on_edge(self, edge: int) -> None:
        length_m = self.world.network.edge_length_list[edge]
        self.passenger_m += length_m * len(self.onboard)
        if not self.onboard:
            self.empty_m += length_m


class OnDemandService(Dispatch, FleetService):
    """Stops, demand, dispatch and the key figures of an on-demand fleet."""

    kind = "on_demand"

    def __init__(self, model: TwinModel, config: OnDemandFleet, operations: Operations) -> None:
        super().__init__(model, config, operations)
        self.stops = self._place_stops(config)
        self.requests: list[Request] = []
        self.next_nodes = np.zeros(config.count, dtype=np.int64)  # where each vehicle can next act ...
        self.next_node_times_s = np.zeros(config.count)  # ... when it gets there ...
        self.free_times_s = np.zeros(config.count)  # ... and when it is done dwelling
        self.window_ends_s = np.zeros(config.count)  # when each must be home
        self.planned = np.zeros(config.count, dtype=bool)  # which have a plan or riders on board
        self.at_node: dict[int, set[OnDemandShuttle]] = {}
        self.heading_to: dict[int, set[OnDemandShuttle]] = {}
        self._recent: deque[tuple[float, int]] = deque()  # (time, origin) of the requests of the last hour
        self._recent_origins: Counter[int] = Counter()
        self.vehicles = [OnDemandShuttle(model, self, i) for i in range(config.count)]
        self.schedule_windows(lambda v, end_s: v.start_duty(end_s))
        self._schedule_demand(config)

    # --- places and demand ----------------------------------------------------------------
    def _place_stops(self, config: OnDemandFleet) -> list[int]:
        nodes = [self.site_node(site) for site in config.stops]
        for site, node in zip(config.stops, nodes):
            self.check_reachable(f"stop {site}", node)
        if config.random_stops:
            net = self.world.network
            reachable = np.flatnonzero(np.isfinite(net.toward(self.depot.node)[0]))
            nodes += [int(n) for n in self.model.rng.choice(reachable, size=config.random_stops,
                                                            replace=config.random_stops > len(reachable))]
        return nodes

    def _schedule_demand(self, config: OnDemandFleet) -> None:
        rng = self.model.rng
        for day in range(int(self.model.duration_s // DAY_S) + 1):
            for hour, rate_per_h in enumerate(config.demand_per_hour):
                h0, h1 = day * DAY_S + hour * 3600.0, day * DAY_S + (hour + 1) * 3600.0
                for start_s, end_s in config.windows_s:
                    lo, hi = max(h0, day * DAY_S + start_s), min(h1, day * DAY_S + end_s, self.model.duration_s)
                    if hi <= lo or rate_per_h <= 0:
                        continue
                    for t_s in poisson_times_s(rng, rate_per_h * config.demand_scale * (hi - lo) / 3600.0, lo, hi):
                        origin, destination = rng.choice(len(self.stops), size=2, replace=False)
                        self.model.clock.at(float(t_s), lambda o=int(origin), d=int(destination): self.submit(o, d))

    def submit(self, origin_index: int, destination_index: int) -> Request:
        """A request now from stop ``origin_index`` to stop ``destination_index``: assigned or rejected."""
        net, speed = self.world.network, self.config.max_speed_mps
        origin, destination = self.stops[origin_index], self.stops[destination_index]
        request = Request(len(self.requests) + 1, self.id, self.model.now_s, origin, destination,
                          net.travel_time_s(origin, destination, speed))
        self.requests.append(request)
        self._recent.append((request.t_s, origin))
        self._recent_origins[origin] += 1
        ids = net.osm_ids
        self.model.log.add(self.model.now_s, self.id, "request",
                           f"{request.label} from OSM node {ids[origin]} to OSM node {ids[destination]}")
        choice = self._nearest(request) if self.config.dispatch == "nearest" else self._insertion(request)
        if choice is None:
            request.status = "rejected"
            self.model.log.add(self.model.now_s, self.id, "reject", request.label)
            return request
        vehicle, plan = choice
        request.status = "assigned"
        vehicle.plan = plan
        self.planned[vehicle.index] = True
        vehicle.rebalance_to = None
        self.model.log.add(self.model.now_s, vehicle.name, "assign", request.label)
        vehicle.kick()
        return request

    def rebalance_target(self, vehicle: OnDemandShuttle) -> int | None:
        """The stop with the most requests in the last hour and no other vehicle there or heading there."""
        since_s = self.model.now_s - REBALANCE_LOOKBACK_S
        recent, origins = self._recent, self._recent_origins
        while recent and recent[0][0] < since_s:
            origins[recent.popleft()[1]] -= 1
        latest_s = vehicle.window_end_s - self.model.now_s  # there and back home within the window
        ranked = sorted((-count, self.stops.index(node), node) for node, count in origins.items()
                        if count > 0 and not self._covered(node, vehicle)
                        and self._time(vehicle.node, node) + self._time(node, vehicle.depot.node) <= latest_s)
        return ranked[0][2] if ranked else None

    def _covered(self, node: int, vehicle: OnDemandShuttle) -> bool:
        """Is another on-duty vehicle without a plan heading to ``node``, or standing there with no other target?"""
        for other in self.heading_to.get(node, ()):
            if other is not vehicle and other.on_duty and not other.plan:
                return True
        for other in self.at_node.get(node, ()):
            if other is not vehicle and other.on_duty and not other.plan and other.rebalance_to is None:
                return True
        return False

    # --- figures --------------------------------------------------------------------------
    def taxi_fleet(self) -> TaxiFleet:
        """This fleet and its requests as SUMO taxis (the twin's waits kept for the comparison)."""
        from gwangju_twin.sumo_bridge import TaxiFleet  # here: a run never pays for the SUMO bridge
        return TaxiFleet(self.id, tuple(v.name for v in self.vehicles), self.depot.node, self.config.max_speed_mps,
                         self.config.capacity, tuple((r.t_s, r.origin, r.destination) for r in self.requests),
                         tuple(r.pickup_s - r.t_s if r.status == "served" else None for r in self.requests))

    def kpis(self) -> dict[str, Any]:
        served = [r for r in self.requests if r.status == "served"]
        rejected = sum(r.status == "rejected" for r in self.requests)
        waits = np.array([r.pickup_s - r.t_s for r in served])
        rides = np.array([r.dropoff_s - r.pickup_s for r in served])
        detours = np.array([(r.dropoff_s - r.pickup_s - self.config.dwell_s) / r.direct_s
                            for r in served if r.direct_s > 0])
        vehicle_m = sum(v.odometer_m for v in self.vehicles)
        figures = {
            "service": "on_demand",
            "dispatch": self.config.dispatch,
            **self.vehicle_kpis(),
            "stops": len(self.stops),
            "requests": len(self.requests),
            "served": len(served),
            "rejected": int(rejected),
            "in_progress": len(self.requests) - len(served) - int(rejected),
            "rejection_rate": round(rejected / len(self.requests), 4) if self.requests else None,
            "wait_mean_s": round(float(waits.mean()), 1) if len(waits) else None,
            "wait_p95_s": round(float(np.percentile(waits, 95)), 1) if len(waits) else None,
            "ride_mean_s": round(float(rides.mean()), 1) if len(rides) else None,
            "detour_ratio_mean": round(float(detours.mean()), 4) if len(detours) else None,
            "occupancy_mean": round(sum(v.passenger_m for v in self.vehicles) / vehicle_m, 4) if vehicle_m else None,
            "empty_km": round(sum(v.empty_m for v in self.vehicles) / 1000.0, 3),
        }
        why = {"rejection_rate": "no request was made", "wait_mean_s": "no ride was served",
               "wait_p95_s": "no ride was served", "ride_mean_s": "no ride was served",
               "detour_ratio_mean": "no ride was served", "occupancy_mean": "no vehicle moved"}
        why_null = {key: reason for key, reason in why.items() if figures[key] is None}
        return {**figures, "why_null": why_null} if why_null else figures
