"""Drones in the corridors of the Buk-gu free zone and the Bitgreen - Cheomdan 3 cargo link.

A delivery request waits at its origin vertiport for an idle drone of its type. The drone's whole
flight is planned before it leaves, as a 4D trajectory (:mod:`twin.airspace`): a minute on the
pad, a vertical climb to its corridor's layer, the corridor legs at its ground speed (airspeed
plus the wind and this flight's gust), a vertical transition where the next corridor flies
another layer, and a vertical descent onto a pad. The plan must

* keep the separation minima (horizontal AND vertical; per drone type, a pair keeps the larger)
  from every flight already committed, over the whole airspace: cruise, crossings and merging
  corridors, and climbs and descents over shared vertiports;
* find its take-off pad free and its landing pad free from arrival to the end of turnaround, so
  no drone ever holds in the air;
* leave the energy reserve intact.

Deconfliction: ``tactical`` lets the planner fly the flight slower (80 %, then 60 % airspeed);
``strategic`` lets it delay the departure (a ground hold, the departure slot). With both off,
flights leave as soon as pads allow, and the separation checker will count what happens. The
figures for separation are not the planner's: ``losses_of_separation``, the closest approach and
the time in loss come from :func:`agents.drones.audit.separation_figures` reading the recorded tracks.

Places follow the scenario's area: vertiports resolve through the area's ``[site_aliases]`` and
geofences through its ``[zone_aliases]``, so with ``--area`` the drones fly over the same map as
the shuttles. Corridor ``via`` waypoints are coordinates of the real place: on a stand-in map a
corridor runs straight between its vertiports.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pyproj
import shapely
from gwangju_twin.agents.drones.airspace import Airspace, PadTimeline, Trajectory, detour_m
from gwangju_twin.agents.drones.audit import separation_figures
from gwangju_twin.agents.drones.config import Drones, DroneType, Flow
from gwangju_twin.areas import area_files, load_area
from gwangju_twin.errors import RoutingError, TwinError
from gwangju_twin.mesa_core import Agent
from gwangju_twin.units import DAY_S, J_PER_KWH, poisson_times_s

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

TAKEOFF_PAD_S = 60.0  # on the pad, spinning up, before it lifts off
HOLD_ALLOWANCE_S = 600.0  # hover time budgeted on top of every flight when checking it can be flown at all
RECHARGE_W = 20_000.0  # ASSUMPTION: battery drones charge at 20 kW; hydrogen refuels in 10 min
REFUEL_S = 600.0
TACTICAL_SPEEDS = (0.8, 0.6)  # fractions of cruise airspeed tried before a ground hold
MAX_GROUND_HOLD_S = 2 * DAY_S
MAX_SLOT_STEP_S = 120.0  # the departure-slot search doubles its step after each try that conflicts, up to this
MAX_SLOT_BATCH = 64  # slots checked in one pass, at most
DETOUR_MARGIN_M = 200.0  # ASSUMPTION: an automatic detour keeps half the corridor width plus this from a zone


@dataclass
class Leg:
    """One corridor flown in one direction: a polyline in metres and its layer."""

    xy_m: np.ndarray
    altitude_m: float
    length_m: float


@dataclass(eq=False)
class Flight:
    """A committed flight: its trajectory, and what it costs."""

    drone: Drone
    payload_kg: float
    trajectory: Trajectory
    energy_j: float

    @property
    def takeoff_s(self) -> float:
        return self.trajectory.start_s

    @property
    def landed_s(self) -> float:
        return self.trajectory.end_s

    @property
    def descent_s(self) -> float:
        return float(self.trajectory.t_s[-2])


class Drone(Agent):
    kind = "drone"

    def __init__(self, model: TwinModel, service: DroneService, name: str, kind: DroneType, home: str) -> None:
        super().__init__(model)
        self.service, self.name, self.type, self.home, self.at = service, name, kind, home, home
        self.energy_j = kind.energy_j
        self.min_energy_j = kind.energy_j
        self.state = "idle"  # idle, charging, waiting (ground hold), flying, turnaround
        self.flight: Flight | None = None
        self.flown_m = 0.0

    def _flying(self, now_s: float) -> bool:
        return self.flight is not None and self.flight.takeoff_s <= now_s <= self.flight.landed_s

    def position_m(self, now_s: float) -> tuple[float, float]:
        if self._flying(now_s):
            x, y, _ = self.flight.trajectory.position(now_s)
            return x, y
        return self.service.port_xy[self.at]

    def altitude_m(self, now_s: float) -> float:
        return self.flight.trajectory.position(now_s)[2] if self._flying(now_s) else 0.0

    def phase(self, now_s: float) -> str:
        return self.flight.trajectory.phase(now_s) if self._flying(now_s) else self.state


class DroneService:
    """Airspace, drones, demand, deconfliction and the key figures."""

    kind = "drones"

    id = "drones"

    def __init__(self, model: TwinModel, config: Drones) -> None:
        self.model, self.config = model, config
        self.crs = model.world.area.crs  # the air layer lives in the scenario's place, like the ground
        self._from_wgs84 = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        self.stand_in = model.stand_in
        self.port_xy = {v.site: self._site_xy(v.site) for v in config.vertiports}
        self.geofences = self._geofences()
        self.detours_m: dict[str, float] = {}  # corridor -> extra length of its automatic detour
        self.approved: dict[str, dict[str, Any]] = {}  # corridor -> the control zone it may cross
        self.operational_volumes: dict[str, str] = {}  # corridor -> the zone it is confined to
        self.corridors = {c.id: self._corridor_line(c) for c in config.corridors}
        self._check_zones()
        self.graph = nx.Graph()
        for c in config.corridors:
            self.graph.add_edge(c.start, c.end, corridor=c.id, length=self.corridors[c.id].length)
        self.pads = {v.site: PadTimeline(v.pads) for v in config.vertiports}
        self.pad_reserved: dict[str, list[tuple[float, float]]] = {v.site: [] for v in config.vertiports}
        self.types = {t.id: t for t in config.types}
        self.drones = [Drone(model, self, f"{kind}-{port.site}-{i + 1}", self.types[kind], port.site)
                       for port in config.vertiports for kind, n in sorted(port.drones.items()) for i in range(n)]
        self.waiting: dict[str, deque] = {v.site: deque() for v in config.vertiports}
        self.airspace = Airspace()
        self.rows: list[tuple] = []  # every drone's recorded track, also when trajectories are not written
        self.requests = self.delivered = self.on_time = self.flights = 0
        self.delay_s = self.ground_hold_s = self.delivery_energy_j = 0.0
        self.conflicts = 0
        self.resolutions = {"ground_hold": 0, "speed": 0}
        for flow in config.flows:
            self._schedule_flow(flow)

    # --- places ---------------------------------------------------------------------------
    def _site_xy(self, site_id: str) -> tuple[float, float]:
        """A site of the scenario's areas (aliases apply); on the real map also any zone's sites."""
        worlds = list({id(w): w for w in self.model.worlds.values()}.values())
        for world in worlds:
            area = world.area
            if site_id in area.spec.site_aliases or any(s.id == site_id for s in area.spec.sites):
                return self._to_crs(area.site(site_id).lon, area.site(site_id).lat)
        if not self.stand_in:
            for area_id in area_files():
                for site in load_area(area_id).spec.sites:
                    if site.id == site_id:
                        return self._to_crs(site.lon, site.lat)
        names = ", ".join(sorted(w.area.id for w in worlds))
        raise TwinError(f"vertiport site '{site_id}' is not in area {names}: add it to that area file's "
                        "[site_aliases] (a site of the area that stands in for it)")

    def _to_crs(self, lon: float, lat: float) -> tuple[float, float]:
        return self._from_wgs84.transform(lon, lat)

    def _zone(self, zone_id: str, role: str) -> tuple[str, Any]:
        """A zone by id (its stand-in on a stand-in map) and its polygon in the scenario's CRS."""
        files = area_files()
        aliases: dict[str, str] = {}
        for world in self.model.worlds.values():
            aliases.update(world.area.spec.zone_aliases)
        actual = aliases.get(zone_id, zone_id) if self.stand_in else zone_id
        if actual not in files:
            raise TwinError(f"{role} '{zone_id}' is not an area or zone id; known: {', '.join(sorted(files))}")
        if self.stand_in and actual == zone_id:
            raise TwinError(f"{role} '{zone_id}' is not on the stand-in map {', '.join(sorted(set(self.stand_in.values())))}: "
                            "add it to that area file's [zone_aliases]")
        area = load_area(actual)
        parts = [shapely.Polygon(np.column_stack(self._to_crs(r[:, 0], r[:, 1]))) for r in area.rings_wgs84]
        return actual, (area.spec.kind, shapely.union_all(parts))

    def _geofences(self) -> dict[str, tuple[str, shapely.Geometry]]:
        """Each zone of ``geofences``: its kind (geofence or control_zone) and polygon."""
        return dict(self._zone(fence, "geofence") for fence in self.config.geofences)

    def _corridor_line(self, corridor: Any) -> shapely.LineString:
        """The corridor's centre line: its ``via`` waypoints, or a detour around the zones it may not enter."""
        start, end = self.port_xy[corridor.start], self.port_xy[corridor.end]
        via = [] if self.stand_in else [self._to_crs(*p) for p in corridor.via]
        line = shapely.LineString([start, *via, end])
        keep_out = [shape for kind, shape in self.geofences.values()
                    if kind != "control_zone" or not corridor.approval]
        if via or not any(line.buffer(corridor.width_m / 2).intersects(z) for z in keep_out):
            return line
        try:
            waypoints = detour_m(start, end, keep_out, corridor.width_m / 2 + DETOUR_MARGIN_M)
        except ValueError as exc:
            raise RoutingError(f"corridor {corridor.id} cannot be routed around its zones: {exc}") from None
        routed = shapely.LineString([start, *waypoints, end])
        self.detours_m[corridor.id] = float(routed.length - line.length)
        return routed

    def _check_zones(self) -> None:
        for c in self.config.corridors:
            volume = self.corridors[c.id].buffer(c.width_m / 2)
            for name, (kind, fence) in self.geofences.items():
                if not volume.intersects(fence):
                    continue
                if kind == "control_zone" and c.approval:
                    inside_m = float(self.corridors[c.id].intersection(fence).length)
                    self.approved[c.id] = {"zone": name, "km_inside": round(inside_m / 1000.0, 3)}
                    continue
                hint = "" if kind == "geofence" else ", or set approval = true if it has the zone's approval"
                raise RoutingError(f"corridor {c.id} enters {kind.replace('_', ' ')} {name}; "
                                   f"route it around with 'via' waypoints{hint}")
        for c in self.config.corridors:
            if c.operational_volume is None:
                continue
            name, (_, volume_shape) = self._zone(c.operational_volume, "operational_volume")
            outside = self.corridors[c.id].buffer(c.width_m / 2).difference(volume_shape)
            if outside.area > 1.0:
                far_m = max(volume_shape.boundary.distance(shapely.Point(p)) for p in shapely.get_coordinates(outside))
                raise RoutingError(f"corridor {c.id} leaves its operational volume {name} "
                                   f"({outside.area:.0f} m2 outside, up to {far_m:.0f} m); move its vertiports or 'via'")
            self.operational_volumes[c.id] = name

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
            legs.append(Leg(xy, altitude, float(self.corridors[c.id].length)))
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

    def minima(self, kind: DroneType) -> tuple[float, float]:
        """A type's separation minima: its own if it sets them, else the airspace's."""
        return (kind.separation_horizontal_m or self.config.separation_horizontal_m,
                kind.separation_vertical_m or self.config.separation_vertical_m)

    # --- demand ---------------------------------------------------------------------------
    def _schedule_flow(self, flow: Flow) -> None:
        rng = self.model.rng
        for day in range(int(self.model.duration_s // DAY_S) + 1):
            for hour, rate in enumerate(flow.per_hour):
                lo, hi = day * DAY_S + hour * 3600.0, min(day * DAY_S + (hour + 1) * 3600.0, self.model.duration_s)
                if hi > lo and rate > 0:
                    for t_s in poisson_times_s(rng, rate * flow.scale * (hi - lo) / 3600.0, lo, hi):
                        self.model.clock.at(float(t_s), lambda f=flow: self.request(f))

    def request(self, flow: Flow) -> None:
        self.requests += 1
        self.model.log.add(self.model.now_s, flow.start, "request", f"{flow.id} to {flow.end}")
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

    # --- planning -------------------------------------------------------------------------
    def flight_energy_j(self, kind: DroneType, legs: list[Leg], payload_kg: float, gs: list[float]) -> float:
        """Energy to fly ``legs`` at ground speeds ``gs``, with a hover allowance (can it be flown at all?)."""
        mass = (kind.empty_mass_kg + payload_kg) / kind.empty_mass_kg
        climb = legs[0].altitude_m / kind.climb_rate_mps * kind.climb_factor
        descent = legs[-1].altitude_m / kind.descent_rate_mps * kind.descent_factor
        cruise = sum(leg.length_m / v for leg, v in zip(legs, gs))
        hover_s = HOLD_ALLOWANCE_S + kind.turnaround_s + TAKEOFF_PAD_S
        return kind.cruise_power_w * mass * (climb + cruise + descent + hover_s * kind.hover_factor)

    def fly(self, drone: Drone, destination: str, payload_kg: float, landed: Any) -> None:
        kind = drone.type
        legs = self.legs(drone.at, destination)
        # Energy is checked for a strong gust against the drone (3 standard deviations) both ways.
        gust = -3.0 * self.config.wind.gust_sd_mps
        need = self.flight_energy_j(kind, legs, payload_kg, [self.ground_speed_mps(leg, kind.cruise_speed_mps, gust)
                                                             for leg in legs])
        usable_j = (1.0 - kind.reserve) * kind.energy_j
        if need > usable_j:
            raise RoutingError(f"drone type {kind.id} cannot fly {drone.at} -> {destination} with {payload_kg:g} kg "
                               f"and keep its reserve even when full: needs {need / J_PER_KWH:.1f} kWh, "
                               f"has {usable_j / J_PER_KWH:.1f} kWh above the reserve")
        if drone.energy_j - need < kind.reserve * kind.energy_j:
            self._recharge(drone, lambda: self.fly(drone, destination, payload_kg, landed))
            return
        flight = self._plan(drone, legs, destination, payload_kg)
        self._commit(flight, destination, landed)

    def _recharge(self, drone: Drone, then: Any) -> None:
        kind = drone.type
        drone.state = "charging"
        wait_s = REFUEL_S if kind.store == "hydrogen" else (kind.energy_j - drone.energy_j) / RECHARGE_W

        def full() -> None:
            drone.energy_j = kind.energy_j
            drone.state = "idle"
            then()

        self.model.clock.after(wait_s, full)

    def _trajectory(self, drone: Drone, legs: list[Leg], depart_s: float, speed: float, gust: float) -> Trajectory:
        """The flight as 4D points: pad, climb, each leg's vertices, transitions between layers, descent."""
        kind = drone.type
        x, y = self.port_xy[drone.at]
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
            v = self.ground_speed_mps(leg, kind.cruise_speed_mps * speed, gust)
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

    def trajectory_energy_j(self, kind: DroneType, trajectory: Trajectory, payload_kg: float) -> float:
        """Energy the flight uses, phase by phase."""
        factors = {"climb": kind.climb_factor, "descent": kind.descent_factor, "cruise": 1.0, "pad": 0.0}
        seconds = np.diff(trajectory.t_s)
        rising = np.diff(trajectory.xyz_m[:, 2]) > 0
        weights = [factors.get(p, kind.climb_factor if up else kind.descent_factor)
                   for p, up in zip(trajectory.phases[:-1], rising)]
        mass = (kind.empty_mass_kg + payload_kg) / kind.empty_mass_kg
        return float(kind.cruise_power_w * mass * (seconds * np.array(weights)).sum())

    def _pads_free(self, drone: Drone, trajectory: Trajectory, destination: str, delay_s: float = 0.0) -> bool:
        return self._pad_wait_s(drone, trajectory, destination, delay_s) == 0.0

    def _pad_wait_s(self, drone: Drone, trajectory: Trajectory, destination: str, delay_s: float = 0.0) -> float:
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

    def _plan(self, drone: Drone, legs: list[Leg], destination: str, payload_kg: float) -> Flight:
        """The earliest flight that keeps the minima, finds its pads free and keeps the reserve."""
        now_s, kind, cfg = self.model.now_s, drone.type, self.config
        self.airspace.prune(now_s)
        for timeline in self.pads.values():
            timeline.prune(now_s)
        gust = float(self.model.rng.normal(0.0, cfg.wind.gust_sd_mps)) if cfg.wind.gust_sd_mps else 0.0
        reserve_j = kind.reserve * kind.energy_j
        step_s = float(np.clip(self.minima(kind)[0] / kind.cruise_speed_mps / 2.0, 2.0, 30.0))
        speeds = (1.0, *TACTICAL_SPEEDS) if cfg.tactical else (1.0,)
        base = {speed: self._trajectory(drone, legs, now_s, speed, gust) for speed in speeds}
        energy = {speed: self.trajectory_energy_j(kind, t, payload_kg) for speed, t in base.items()}
        speeds = tuple(s for s in speeds if drone.energy_j - energy[s] >= reserve_j) or (1.0,)
        shapes = {speed: self.airspace.segments_of(base[speed]) for speed in speeds}  # shifted per departure tried
        slots = self._slots(drone, base, speeds, destination, step_s)
        first_conflicts: list[str] | None = None
        clear: tuple[float, float] | None = None  # (speed, delay_s)
        first_check_s, batch, chosen = 0.0, 1, None
        while chosen is None:
            # Slots in the order the search tries them, checked a batch at a time (1, 2, 4, ... slots):
            # the same answer as one at a time, with far fewer passes when the airspace is busy.
            tried = list(itertools.islice(slots, batch))
            batch = min(2 * batch, MAX_SLOT_BATCH)
            checks = [(shapes[s], delay) for delay, free, final in tried if not final for s in free]
            hits = iter(self.airspace.conflicts_at(drone.name, checks))
            for delay, free, final in tried:
                if final:  # no deconfliction, or the longest ground hold: the first slot with free pads
                    chosen = (free[0] if free else 1.0, delay)
                    break
                found = [next(hits) for _ in free]
                clear = None
                for speed, hit in zip(free, found):
                    if first_conflicts is None:
                        first_conflicts, first_check_s = hit, delay
                    if not hit:
                        clear = (speed, delay)
                        break
                if clear is not None or not cfg.strategic:
                    chosen = clear or (free[0], delay)
                    break
        speed, delay_s = chosen
        trajectory = base[speed].shifted(delay_s)
        self._count_resolution(drone, first_conflicts or [], speed, delay_s - first_check_s, clear_found=clear is not None)
        return Flight(drone, payload_kg, trajectory, energy.get(speed, energy[1.0]))

    def _slots(self, drone: Drone, base: dict[float, Trajectory], speeds: tuple[float, ...], destination: str,
               step_s: float) -> Iterator[tuple[float, list[float], bool]]:
        """Departure slots in the order the planner tries them: ``(delay_s, speeds whose pads are free,
        final)``. Each slot starts where the full-speed flight finds both pads free; the next one is
        ``step_s`` later, the step doubling up to MAX_SLOT_STEP_S (busy airspace: look further ahead,
        faster). ``final``: no deconfliction, or the longest ground hold reached; the last slot."""
        cfg, delay_s = self.config, 0.0
        while True:
            delay_s += self._pad_wait_s(drone, base[1.0], destination, delay_s)
            free = [s for s in speeds if self._pads_free(drone, base[s], destination, delay_s)]
            final = not (cfg.strategic or cfg.tactical) or delay_s >= MAX_GROUND_HOLD_S
            yield delay_s, free, final
            if final:
                return
            delay_s += step_s
            step_s = min(2.0 * step_s, MAX_SLOT_STEP_S)

    def _count_resolution(self, drone: Drone, conflicts: list[str], speed: float, delay_s: float,
                          clear_found: bool) -> None:
        """Log and count the conflicts the first plan had, and how they were resolved (``delay_s``: the extra hold)."""
        now_s, log = self.model.now_s, self.model.log
        if conflicts:
            self.conflicts += len(conflicts)
            log.add(now_s, drone.name, "conflict", f"with {', '.join(conflicts)}")
            if clear_found and delay_s > 0:
                self.resolutions["ground_hold"] += 1
                log.add(now_s, drone.name, "resolution", f"ground hold {delay_s:.0f} s")
            elif clear_found and speed < 1.0:
                self.resolutions["speed"] += 1
                log.add(now_s, drone.name, "resolution", f"speed {speed:.0%} of cruise")

    def _commit(self, flight: Flight, destination: str, landed: Any) -> None:
        drone, trajectory, now_s = flight.drone, flight.trajectory, self.model.now_s
        self.airspace.commit(trajectory)
        takeoff = (trajectory.start_s, trajectory.start_s + TAKEOFF_PAD_S)
        landing = (flight.descent_s, flight.landed_s + drone.type.turnaround_s)
        for port, interval in ((drone.at, takeoff), (destination, landing)):
            self.pads[port].reserve(*interval)
            self.pad_reserved[port].append(interval)
        hold_s = trajectory.start_s - now_s
        self.ground_hold_s += hold_s
        drone.state, drone.flight = "waiting", flight
        if hold_s > 0:
            self.model.log.add(now_s, drone.name, "ground_hold", f"{hold_s:.0f} s for a clear slot and free pads")
        self._record(flight)
        self.flights += 1
        clock = self.model.clock
        clock.at(trajectory.start_s, lambda: self._event(drone, "takeoff", f"{drone.at} to {destination}", "flying"))
        clock.at(flight.descent_s, lambda: self._event(drone, "descent", destination))
        clock.at(flight.landed_s, lambda: self._landed(flight, destination, landed))

    def _event(self, drone: Drone, event: str, detail: str, state: str | None = None) -> None:
        if state is not None:
            drone.state = state
        self.model.log.add(self.model.now_s, drone.name, event, detail)

    def _record(self, flight: Flight) -> None:
        """The flight's points in the drone's track: time, place, altitude, phase, flown metres, energy left."""
        drone, trajectory = flight.drone, flight.trajectory
        seconds = np.diff(trajectory.t_s)
        used = np.concatenate([[0.0], np.cumsum(seconds / seconds.sum() * flight.energy_j)]) if seconds.sum() else \
            np.zeros(len(trajectory.t_s))
        flown = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(trajectory.xyz_m[:, :2], axis=0).T))])
        for t_s, (x, y, z), phase, u, f in zip(trajectory.t_s, trajectory.xyz_m, trajectory.phases, used, flown):
            row = (drone.name, "drone", float(t_s), float(x), float(y), drone.flown_m + float(f), phase,
                   (drone.energy_j - float(u)) / J_PER_KWH, float(z))
            self.rows.append(row)
            self.model.tracks.add(*row)

    def _landed(self, flight: Flight, port: str, landed: Any) -> None:
        drone = flight.drone
        drone.energy_j -= flight.energy_j
        drone.min_energy_j = min(drone.min_energy_j, drone.energy_j)
        drone.flown_m += flight.trajectory.horizontal_length_m()
        drone.state, drone.at = "turnaround", port
        self.model.log.add(self.model.now_s, drone.name, "landed", port)
        if flight.payload_kg > 0:
            self.delivery_energy_j += flight.energy_j
        landed()
        self.model.clock.after(drone.type.turnaround_s, lambda: self._ready(drone))

    def _ready(self, drone: Drone) -> None:
        drone.state = "idle"
        if drone.at != drone.home:
            self.fly(drone, drone.home, 0.0, lambda: None)
        else:
            self.dispatch(drone.at)

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
    def pad_utilisation(self, port: str) -> float:
        now_s = self.model.now_s
        busy_s = sum(max(0.0, min(b, now_s) - a) for a, b in self.pad_reserved[port])
        return busy_s / (self.pads[port].pads * now_s) if now_s else 0.0

    def kpis(self) -> dict[str, Any]:
        now_s = self.model.now_s
        minima = {kind.id: self.minima(kind) for kind in self.types.values()}
        separation = separation_figures([r for r in self.rows if r[2] <= now_s], minima)
        why_null = {key: "no delivery yet" for key in ("on_time_rate", "delay_mean_s", "energy_per_delivery_kwh")
                    if not self.delivered}
        if separation["closest_approach_m"] is None:
            why_null["closest_approach_m"] = "fewer than two drones were airborne at once"
        return {
            "service": "drones",
            "drones": len(self.drones),
            "requests": self.requests,
            "deliveries": self.delivered,
            "waiting": sum(len(q) for q in self.waiting.values()),
            "flights": self.flights,
            "on_time_rate": round(self.on_time / self.delivered, 4) if self.delivered else None,
            "delay_mean_s": round(self.delay_s / self.delivered, 1) if self.delivered else None,
            "ground_hold_h": round(self.ground_hold_s / 3600.0, 3),
            "deconfliction": {"strategic": self.config.strategic, "tactical": self.config.tactical},
            "conflicts_detected": self.conflicts,
            "resolutions": dict(self.resolutions),
            **separation,
            "energy_per_delivery_kwh": round(self.delivery_energy_j / self.delivered / J_PER_KWH, 3)
            if self.delivered else None,
            "flown_km": round(sum(d.flown_m for d in self.drones) / 1000.0, 3),
            "min_energy_fraction": round(min((d.min_energy_j / d.type.energy_j for d in self.drones), default=1.0), 4),
            "pad_utilisation": {port: round(self.pad_utilisation(port), 4) for port in self.pads},
            "airspace": {
                "zones": {name: kind for name, (kind, _) in self.geofences.items()},
                "approved_crossings": dict(self.approved),
                "detours_km": {c: round(m / 1000.0, 3) for c, m in self.detours_m.items()},
                "operational_volumes": dict(self.operational_volumes),
            },
            **({"stand_in": self.stand_in} if self.stand_in else {}),
            **({"why_null": why_null} if why_null else {}),
        }
