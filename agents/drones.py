"""Drones in the corridors of the Buk-gu free zone and the Bitgreen - Cheomdan 3 cargo link.

A delivery request waits at its origin vertiport for an idle drone of its type. Its flight is
planned when it leaves: a strategic slot (4D reservations: each corridor direction keeps the
entry and exit times of every flight, and a new flight departs when it can keep the horizontal
minimum behind or ahead of each at both ends), then, with the flight's own gust, tactical
resolution (slow down to stay behind the flight ahead, or hold at the corridor entry). Flights on
one corridor direction fly one layer; the other direction flies another layer, vertically
separated. Along a corridor both flights move at constant speed, so their separation is linear in
time and its minimum is checked exactly at the ends of their overlap: a loss of separation is
counted for every pair that comes closer than the minimum. Pads are a limited resource: a
drone holds in the air (stacked) until a pad is free. No drone leaves without the energy for the
flight with its reserve intact, planned against a strong headwind gust and a hover over a busy pad.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import mesa
import networkx as nx
import numpy as np
import pyproj
import shapely

from twin.areas import area_files, load_area
from twin.drone_config import Drones, DroneType, Flow
from twin.errors import RoutingError, TwinError
from twin.resources import Resource

if TYPE_CHECKING:
    from twin.model import TwinModel

DAY_S = 86400.0
J_PER_KWH = 3.6e6
TAKEOFF_PAD_S = 60.0
HOLD_ALLOWANCE_S = 600.0  # hover time budgeted on top of every flight (plus one pad turnaround)
RECHARGE_W = 20_000.0  # ASSUMPTION: battery drones charge at 20 kW; hydrogen refuels in 10 min
REFUEL_S = 600.0


def find_site(site_id: str) -> tuple[float, float]:
    """(lon, lat) of a site defined in any area or zone file."""
    for area_id in area_files():
        for site in load_area(area_id).spec.sites:
            if site.id == site_id:
                return site.lon, site.lat
    raise TwinError(f"no area or zone file defines a site '{site_id}'")


@dataclass
class Leg:
    """One corridor flown in one direction: a polyline in metres and its layer."""

    key: tuple[str, int]  # (corridor id, +1 forward or -1 backward)
    xy_m: np.ndarray
    altitude_m: float
    length_m: float


@dataclass
class Pass:
    """A flight's pass through one leg: entry and exit times (constant speed in between)."""

    flight: Flight
    leg: Leg
    t_in: float
    t_out: float

    def along_m(self, t_s: float) -> float:
        return self.leg.length_m * (t_s - self.t_in) / max(self.t_out - self.t_in, 1e-9)


@dataclass(eq=False)
class Flight:
    drone: Drone
    legs: list[Leg]
    payload_kg: float
    passes: list[Pass] = field(default_factory=list)
    takeoff_s: float = 0.0
    over_destination_s: float = 0.0
    landing_start_s: float = float("inf")
    landed_s: float = float("inf")

    def position_m(self, t_s: float) -> tuple[float, float]:
        for p in self.passes:
            if p.t_in <= t_s <= p.t_out:
                coords = p.leg.xy_m
                steps = np.hypot(*np.diff(coords, axis=0).T)
                cumulative = np.concatenate([[0.0], np.cumsum(steps)])
                s = p.along_m(t_s)
                i = min(int(np.searchsorted(cumulative, s, side="right")) - 1, len(steps) - 1)
                f = (s - cumulative[i]) / steps[i] if steps[i] > 0 else 0.0
                x, y = coords[i] + f * (coords[i + 1] - coords[i])
                return float(x), float(y)
        end = self.passes[-1].leg.xy_m[-1] if t_s > self.passes[-1].t_out else self.passes[0].leg.xy_m[0]
        return float(end[0]), float(end[1])


class Drone(mesa.Agent):
    kind = "drone"

    def __init__(self, model: TwinModel, service: DroneService, name: str, kind: DroneType, home: str) -> None:
        super().__init__(model)
        self.service, self.name, self.type, self.home, self.at = service, name, kind, home, home
        self.energy_j = kind.energy_j
        self.min_energy_j = kind.energy_j
        self.state = "idle"
        self.flight: Flight | None = None
        self.flown_m = 0.0

    def position_m(self, now_s: float) -> tuple[float, float]:
        if self.flight is not None and self.state in ("flying", "holding"):
            return self.flight.position_m(now_s)
        return self.service.port_xy[self.at]


class DroneService:
    """Airspace, drones, demand, deconfliction and the key figures."""

    id = "drones"

    def __init__(self, model: TwinModel, config: Drones) -> None:
        self.model, self.config = model, config
        self.to_m = pyproj.Transformer.from_crs("EPSG:4326", config.crs, always_xy=True)
        self.port_xy = {v.site: self.to_m.transform(*find_site(v.site)) for v in config.vertiports}
        self.geofences = self._geofences()
        self.corridors = {c.id: self._corridor_line(c) for c in config.corridors}
        self._check_geofences()
        self.graph = nx.Graph()
        for c in config.corridors:
            self.graph.add_edge(c.start, c.end, corridor=c.id, length=self.corridors[c.id].length)
        self.pads = {v.site: Resource(model.clock, v.pads, f"pads at {v.site}") for v in config.vertiports}
        self.types = {t.id: t for t in config.types}
        self.drones = [Drone(model, self, f"{kind}-{port.site}-{i + 1}", self.types[kind], port.site)
                       for port in config.vertiports for kind, n in sorted(port.drones.items()) for i in range(n)]
        self.waiting: dict[str, deque] = {v.site: deque() for v in config.vertiports}
        self.reservations: dict[tuple[str, int], list[Pass]] = {}
        # A pass that left its leg more than this long ago constrains no later flight: ground speed is
        # at least a quarter of airspeed (ground_speed_mps), so any flight entering the leg now is more
        # than the separation behind it. Forgetting such passes keeps each check to the live traffic.
        slowest_mps = 0.25 * min((kind.cruise_speed_mps for kind in self.types.values()), default=1.0)
        self.reservation_horizon_s = self.config.separation_horizontal_m / slowest_mps
        self.inbound = {v.site: 0 for v in config.vertiports}
        self.ground_held: dict[str, deque] = {v.site: deque() for v in config.vertiports}
        self.requests = self.delivered = self.on_time = self.flights = 0
        self.delay_s = self.holding_s = self.delivery_energy_j = 0.0
        self.conflicts = self.resolved = self.losses = 0
        for flow in config.flows:
            self._schedule_flow(flow)

    # --- airspace -------------------------------------------------------------------------
    def _geofences(self) -> dict[str, shapely.Polygon]:
        fences = {}
        files = area_files()
        for fence in self.config.geofences:
            if fence not in files:
                raise TwinError(f"geofence '{fence}' is not an area or zone id")
            ring = np.array(load_area(fence).polygon_wgs84.exterior.coords)
            fences[fence] = shapely.Polygon(np.column_stack(self.to_m.transform(ring[:, 0], ring[:, 1])))
        return fences

    def _corridor_line(self, corridor: Any) -> shapely.LineString:
        points = [self.port_xy[corridor.start], *(self.to_m.transform(*p) for p in corridor.via),
                  self.port_xy[corridor.end]]
        return shapely.LineString(points)

    def _check_geofences(self) -> None:
        for c in self.config.corridors:
            volume = self.corridors[c.id].buffer(c.width_m / 2)
            for name, fence in self.geofences.items():
                if volume.intersects(fence):
                    raise RoutingError(f"corridor {c.id} crosses geofence {name}; route it around with 'via' waypoints")

    def legs(self, start: str, end: str) -> list[Leg]:
        try:
            ports = nx.shortest_path(self.graph, start, end, weight="length")
        except nx.NetworkXNoPath:
            raise RoutingError(f"no corridor route from vertiport {start} to {end}") from None
        legs = []
        by_id = {c.id: c for c in self.config.corridors}
        for a, b in zip(ports, ports[1:]):
            c = by_id[self.graph.edges[a, b]["corridor"]]
            forward = c.start == a
            xy = np.asarray(self.corridors[c.id].coords)[:: 1 if forward else -1]
            band = c.ceiling_m - c.floor_m
            altitude = c.floor_m + band * (0.25 if forward or not c.two_way else 0.75)
            legs.append(Leg((c.id, 1 if forward else -1), xy, altitude, float(self.corridors[c.id].length)))
        return legs

    def ground_speed_mps(self, leg: Leg, airspeed: float, gust_mps: float) -> float:
        """Airspeed plus the wind's along-track part, averaged over the leg's length."""
        wind = self.config.wind
        towards = np.radians(wind.from_deg + 180.0)
        w = (wind.speed_mps + gust_mps) * np.array([np.sin(towards), np.cos(towards)])
        steps = np.diff(leg.xy_m, axis=0)
        lengths = np.hypot(*steps.T)
        along = float((steps @ w).sum() / lengths.sum())
        return max(airspeed + along, 0.25 * airspeed)

    # --- demand ---------------------------------------------------------------------------
    def _schedule_flow(self, flow: Flow) -> None:
        rng = self.model.rng
        for day in range(int(self.model.duration_s // DAY_S) + 1):
            for hour, rate in enumerate(flow.per_hour):
                lo, hi = day * DAY_S + hour * 3600.0, min(day * DAY_S + (hour + 1) * 3600.0, self.model.duration_s)
                if hi > lo and rate > 0:
                    for t_s in np.sort(rng.uniform(lo, hi, rng.poisson(rate * flow.scale * (hi - lo) / 3600.0))):
                        self.model.clock.at(float(t_s), lambda f=flow: self.request(f))

    def request(self, flow: Flow) -> None:
        self.requests += 1
        self.waiting[flow.start].append((self.model.now_s, flow))
        self.dispatch(flow.start)

    def dispatch(self, port: str) -> None:
        queue = self.waiting[port]
        while queue:
            asked_s, flow = queue[0]
            drone = next((d for d in self.drones if d.state == "idle" and d.at == port and d.type.id == flow.drone), None)
            if drone is None:
                return
            queue.popleft()
            self.fly(drone, flow.end, flow.payload_kg, lambda d=drone, a=asked_s, f=flow: self._delivered(d, a, f))

    # --- flying ---------------------------------------------------------------------------
    def flight_energy_j(self, kind: DroneType, legs: list[Leg], payload_kg: float, gs: list[float]) -> float:
        mass = (kind.empty_mass_kg + payload_kg) / kind.empty_mass_kg
        climb = legs[0].altitude_m / kind.climb_rate_mps * kind.climb_factor
        descent = legs[-1].altitude_m / kind.descent_rate_mps * kind.descent_factor
        cruise = sum(leg.length_m / v for leg, v in zip(legs, gs))
        # Hover budget: the allowance plus waiting for one drone ahead on the pad.
        hover_s = HOLD_ALLOWANCE_S + kind.turnaround_s + TAKEOFF_PAD_S
        return kind.cruise_power_w * mass * (climb + cruise + descent + hover_s * kind.hover_factor)

    def fly(self, drone: Drone, destination: str, payload_kg: float, landed: Any) -> None:
        kind = drone.type
        legs = self.legs(drone.at, destination)
        planned = [self.ground_speed_mps(leg, kind.cruise_speed_mps, 0.0) for leg in legs]
        # Energy is planned for a strong gust against the drone (3 standard deviations) both ways.
        gust = -3.0 * self.config.wind.gust_sd_mps
        need = self.flight_energy_j(kind, legs, payload_kg, [self.ground_speed_mps(leg, kind.cruise_speed_mps, gust)
                                                             for leg in legs])
        usable_j = (1.0 - kind.reserve) * kind.energy_j
        if need > usable_j:
            raise RoutingError(f"drone type {kind.id} cannot fly {drone.at} -> {destination} with {payload_kg:g} kg "
                               f"and keep its reserve even when full: needs {need / J_PER_KWH:.1f} kWh, "
                               f"has {usable_j / J_PER_KWH:.1f} kWh above the reserve")
        if drone.energy_j - need < kind.reserve * kind.energy_j:
            drone.state = "charging"
            wait_s = REFUEL_S if kind.store == "hydrogen" else (kind.energy_j - drone.energy_j) / RECHARGE_W

            def full() -> None:
                drone.energy_j = kind.energy_j
                drone.state = "idle"
                self.fly(drone, destination, payload_kg, landed)

            self.model.clock.after(wait_s, full)
            return
        if self.inbound[destination] >= self.pads[destination].capacity:
            # Ground delay: no more drones in the air towards a vertiport than it has pads.
            drone.state = "waiting"
            self.ground_held[destination].append((self.model.now_s, lambda: self.fly(drone, destination, payload_kg,
                                                                                      landed)))
            return
        self.inbound[destination] += 1
        drone.state = "waiting"
        climb_s = legs[0].altitude_m / kind.climb_rate_mps
        slot_s = self._slot(legs, planned, self.model.now_s + TAKEOFF_PAD_S + climb_s) if self.config.strategic else 0.0
        self.holding_s += slot_s
        self.model.clock.after(slot_s, lambda: self.pads[drone.at].request(
            lambda: self._take_off(drone, legs, payload_kg, landed)))

    def _live_passes(self, leg: Leg) -> list[Pass]:
        """The passes on ``leg`` that can still constrain a flight entering it from now on."""
        passes = self.reservations.setdefault(leg.key, [])
        oldest_s = self.model.now_s - self.reservation_horizon_s
        if passes and min(p.t_out for p in passes) < oldest_s:
            passes[:] = [p for p in passes if p.t_out >= oldest_s]
        return passes

    def _slot(self, legs: list[Leg], gs: list[float], t_in: float) -> float:
        """The least departure delay that keeps the horizontal minimum at both ends of every leg."""
        sep = self.config.separation_horizontal_m
        times, t = [], t_in
        for leg, v in zip(legs, gs):
            times.append((t, t + leg.length_m / v, v))
            t += leg.length_m / v
        candidates = {0.0}
        for leg, (a, b, v) in zip(legs, times):
            for r in self._live_passes(leg):
                for gap in (r.t_in + sep / v - a, r.t_out + sep / v - b):
                    if gap > 0:
                        candidates.add(gap)
        for delay in sorted(candidates):
            if all(self._clear(leg, a + delay, b + delay, v) for leg, (a, b, v) in zip(legs, times)):
                return delay
        return max(candidates)

    def _clear(self, leg: Leg, a: float, b: float, v: float) -> bool:
        sep = self.config.separation_horizontal_m
        for r in self.reservations.get(leg.key, []):
            rv = leg.length_m / max(r.t_out - r.t_in, 1e-9)
            behind = a >= r.t_in + sep / v - 1e-9 and b >= r.t_out + sep / v - 1e-9
            ahead = a + sep / rv <= r.t_in + 1e-9 and b + sep / rv <= r.t_out + 1e-9
            if not (behind or ahead):
                return False
        return True

    def _take_off(self, drone: Drone, legs: list[Leg], payload_kg: float, landed: Any) -> None:
        kind, now_s = drone.type, self.model.now_s
        self.model.clock.after(TAKEOFF_PAD_S, self.pads[drone.at].release)
        flight = Flight(drone, legs, payload_kg, takeoff_s=now_s)
        gust = float(self.model.rng.normal(0.0, self.config.wind.gust_sd_mps)) if self.config.wind.gust_sd_mps else 0.0
        t = now_s + TAKEOFF_PAD_S + legs[0].altitude_m / kind.climb_rate_mps
        for leg in legs:
            v = self.ground_speed_mps(leg, kind.cruise_speed_mps, gust)
            t_in, t_out = t, t + leg.length_m / v
            if self.config.tactical:
                t_in, t_out = self._resolve(leg, t_in, t_out)
            self.holding_s += t_in - t
            self._count_losses(leg, flight, t_in, t_out)
            p = Pass(flight, leg, t_in, t_out)
            flight.passes.append(p)
            self._live_passes(leg).append(p)
            t = t_out
        flight.over_destination_s = t
        drone.flight, drone.state = flight, "flying"
        self.flights += 1
        destination = self._port_of(legs[-1])
        self.model.clock.at(t, lambda: self._over(drone, flight, destination, landed))

    def _resolve(self, leg: Leg, t_in: float, t_out: float) -> tuple[float, float]:
        """Follow every conflicting flight on this leg: hold at the entry until it is ``sep`` ahead,
        then fly no faster than keeps it ``sep`` ahead up to its exit (a speed change)."""
        sep, length = self.config.separation_horizontal_m, leg.length_m
        others = sorted(self._live_passes(leg), key=lambda p: p.t_in)
        counted: set[int] = set()
        for _ in range(4 * len(others) + 1):
            conflict = next((r for r in others
                             if self._min_separation(length, r.t_in, r.t_out, t_in, t_out) < sep - 1e-6), None)
            if conflict is None:
                break
            if id(conflict) not in counted:
                counted.add(id(conflict))
                self.conflicts += 1
            r = conflict
            rv = length / max(r.t_out - r.t_in, 1e-9)
            duration = t_out - t_in
            if length <= sep:  # too short to share: wait until it has left, plus the minimum
                t_in = max(t_in, r.t_out + sep / rv)
            else:
                t_in = max(t_in, r.t_in + sep / rv)
            t_out = max(t_in + duration, t_in + length * (r.t_out - t_in) / (length - sep) + 1e-6
                        if length > sep else t_in + duration)
        unresolved = sum(1 for r in others if self._min_separation(length, r.t_in, r.t_out, t_in, t_out) < sep - 1e-6)
        self.resolved += len(counted) - min(unresolved, len(counted))
        return t_in, t_out

    @staticmethod
    def _min_separation(length: float, a_in: float, a_out: float, b_in: float, b_out: float) -> float:
        lo, hi = max(a_in, b_in), min(a_out, b_out)
        if hi < lo:
            return float("inf")

        def gap(t: float) -> float:
            return length * ((t - a_in) / max(a_out - a_in, 1e-9) - (t - b_in) / max(b_out - b_in, 1e-9))

        g0, g1 = gap(lo), gap(hi)
        return 0.0 if g0 * g1 < 0 else min(abs(g0), abs(g1))

    def _count_losses(self, leg: Leg, flight: Flight, t_in: float, t_out: float) -> None:
        sep = self.config.separation_horizontal_m
        for r in self.reservations.get(leg.key, []):
            if r.flight is not flight and self._min_separation(leg.length_m, r.t_in, r.t_out, t_in, t_out) < sep - 1e-6:
                self.losses += 1

    def _port_of(self, leg: Leg) -> str:
        end = leg.xy_m[-1]
        return min(self.port_xy, key=lambda p: np.hypot(*(np.array(self.port_xy[p]) - end)))

    def _over(self, drone: Drone, flight: Flight, port: str, landed: Any) -> None:
        drone.state = "holding"

        def land() -> None:
            kind, now_s = drone.type, self.model.now_s
            hold_s = now_s - flight.over_destination_s
            self.holding_s += hold_s
            descent_s = flight.legs[-1].altitude_m / kind.descent_rate_mps
            mass = (kind.empty_mass_kg + flight.payload_kg) / kind.empty_mass_kg
            climb_s = flight.legs[0].altitude_m / kind.climb_rate_mps
            cruise_s = sum(p.t_out - p.t_in for p in flight.passes)
            used = kind.cruise_power_w * mass * (climb_s * kind.climb_factor + cruise_s + descent_s * kind.descent_factor
                                                + hold_s * kind.hover_factor)
            drone.energy_j -= used
            drone.min_energy_j = min(drone.min_energy_j, drone.energy_j)
            drone.flown_m += sum(p.leg.length_m for p in flight.passes)
            flight.landing_start_s, flight.landed_s = now_s, now_s + descent_s

            def down() -> None:
                drone.state, drone.at = "turnaround", port
                self.inbound[port] -= 1
                if self.ground_held[port]:
                    held_since_s, retry = self.ground_held[port].popleft()
                    self.holding_s += self.model.now_s - held_since_s
                    retry()
                if flight.payload_kg > 0:
                    self.delivery_energy_j += used
                landed()

                def ready() -> None:
                    self.pads[port].release()
                    drone.state = "idle"
                    if drone.at != drone.home:
                        self.fly(drone, drone.home, 0.0, lambda: None)
                    else:
                        self.dispatch(drone.at)

                self.model.clock.after(kind.turnaround_s, ready)

            self.model.clock.after(descent_s, down)

        # Drones short of energy land first.
        self.pads[port].request(land, priority=int(100 * drone.energy_j / drone.type.energy_j))

    def _delivered(self, drone: Drone, asked_s: float, flow: Flow) -> None:
        self.delivered += 1
        late_s = self.model.now_s - (asked_s + flow.deadline_s)
        self.on_time += late_s <= 0
        self.delay_s += max(late_s, 0.0)
        self.model.log.add(self.model.now_s, drone.name, "delivered", f"{flow.id} at {flow.end}")
        if flow.hands_to:
            self._hand_over(flow)

    def _hand_over(self, flow: Flow) -> None:
        target, _, part_type = flow.hands_to.partition(":")
        center = next((s for s in self.model.services if getattr(s, "id", "") == target), None)
        if center is None:
            raise TwinError(f"flow {flow.id} hands over to '{target}', which this scenario does not have")
        kind = next((p for p in center.config.parts if p.id == part_type), None)
        if kind is None:
            raise TwinError(f"flow {flow.id} hands over part type '{part_type}', which the center does not test")
        center.ship(kind, kind.origins[0])

    # --- figures --------------------------------------------------------------------------
    def kpis(self) -> dict[str, Any]:
        now_s = self.model.now_s
        return {
            "service": "drones",
            "drones": len(self.drones),
            "requests": self.requests,
            "deliveries": self.delivered,
            "waiting": sum(len(q) for q in self.waiting.values()),
            "flights": self.flights,
            "on_time_rate": round(self.on_time / self.delivered, 4) if self.delivered else 0.0,
            "delay_mean_s": round(self.delay_s / self.delivered, 1) if self.delivered else 0.0,
            "holding_h": round(self.holding_s / 3600.0, 3),
            "conflicts_detected": self.conflicts,
            "conflicts_resolved": self.resolved,
            "losses_of_separation": self.losses,
            "energy_per_delivery_kwh": round(self.delivery_energy_j / self.delivered / J_PER_KWH, 3)
            if self.delivered else 0.0,
            "flown_km": round(sum(d.flown_m for d in self.drones) / 1000.0, 3),
            "min_energy_fraction": round(min((d.min_energy_j / d.type.energy_j for d in self.drones), default=1.0), 4),
            "pad_utilisation": {port: round(r.utilisation(), 4) for port, r in self.pads.items()},
            "simulated_h": round(now_s / 3600.0, 3),
        }
