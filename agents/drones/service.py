"""Drones in the corridors of the Buk-gu free zone and the Bitgreen - Cheomdan 3 cargo link.

The service is an orchestrator. A delivery request (:mod:`.demand`) waits at its origin vertiport
for an idle drone of its type; the drone checks it can make the trip and keep its reserve
(:mod:`.energy`), recharging first if it must; the planner (:mod:`.planner`) plans the whole
flight before it leaves, against the committed airspace and the pads, resolving conflicts with
the scenario's strategies (:mod:`.resolution`); the service commits the flight, records its
track and events, and hands cargo on where a flow says so.

Deconfliction: ``tactical`` lets the planner change layer inside the corridor's band, fly offset
sideways inside its width, or fly slower (80 %, then 60 % airspeed); ``strategic`` lets it delay
the departure (a ground hold, the departure slot), the last resort. With both off,
flights leave as soon as pads allow, and the separation checker will count what happens. The
figures for separation are not the planner's: they come from :mod:`.audit` reading the recorded
tracks (:mod:`.figures`).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.drones.airspace import Airspace
from gwangju_twin.agents.drones.config import Drones, DroneType, Flow
from gwangju_twin.agents.drones.demand import schedule_flow
from gwangju_twin.agents.drones.drone import Drone, Flight
from gwangju_twin.agents.drones.energy import TAKEOFF_PAD_S, flight_energy_j, recharge_s
from gwangju_twin.agents.drones.figures import drone_kpis
from gwangju_twin.agents.drones.flightpath import path_windows
from gwangju_twin.agents.drones.places import Leg, Places
from gwangju_twin.agents.drones.planner import LOOK_AHEAD_S, MAX_GROUND_HOLD_S, FlightPlanner
from gwangju_twin.agents.drones.resolution import STRATEGIES, TACTICAL_ORDER, GroundHold, SpeedChange
from gwangju_twin.agents.drones.vertiports import PadSet, PathBook
from gwangju_twin.errors import RoutingError, TwinError
from gwangju_twin.record import Tracks
from gwangju_twin.units import J_PER_KWH
from mesa.agent import AgentSet

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

TACTICAL_SPEEDS = (0.8, 0.6)  # fractions of cruise airspeed tried before a ground hold
GUST_SDS = 3.0
CAUSES = ("airspace", "pads", "fleet", "energy")  # why a parcel waited


class DroneService:
    """Airspace, drones, demand, deconfliction and the key figures.

    Attributes
    ----------
    drones : mesa.agent.AgentSet
        Every drone, in the order they were built (vertiport, type, number).
    places : Places
        Vertiports (``port_xy``), corridors (``corridors``) and zones (``geofences``), in metres.
    planner : FlightPlanner
        The 4D planner with the committed airspace (``planner.airspace``).
    """

    kind = "drones"

    id = "drones"

    def __init__(self, model: TwinModel, config: Drones) -> None:
        self.model, self.config = model, config
        self.places = Places(model, config)
        self.port_xy, self.corridors, self.geofences = self.places.port_xy, self.places.corridors, self.places.geofences
        self.stand_in = self.places.stand_in
        self.vertiports = self.places.vertiports  # pads, gates, terminal volumes (metres), for the viewer too
        self.pads = {v.site: PadSet(v.pads) for v in config.vertiports}
        self.paths = {v.site: PathBook() for v in config.vertiports}
        self.pad_reserved: dict[str, list[tuple[float, float]]] = {v.site: [] for v in config.vertiports}
        self.types = {t.id: t for t in config.types}
        self.drones = AgentSet([Drone(model, self, f"{kind}-{port.site}-{i + 1}", self.types[kind], port.site)
                                for port in config.vertiports for kind, n in sorted(port.drones.items())
                                for i in range(n)], random=model.random)
        self.waiting: dict[str, deque] = {v.site: deque() for v in config.vertiports}
        # Idle drones at home by (vertiport, type), as heaps of (number, drone): dispatch takes the
        # first-built idle drone without scanning the fleet.
        self._order = {drone: k for k, drone in enumerate(self.drones)}
        self._idle: dict[tuple[str, str], list[tuple[int, Drone]]] = {}
        for drone in self.drones:
            self._idle.setdefault((drone.home, drone.type.id), []).append((self._order[drone], drone))
        strategies = [SpeedChange(TACTICAL_SPEEDS) if name == "speed" else STRATEGIES[name]()
                      for name in TACTICAL_ORDER] if config.tactical else []
        hold = GroundHold(window_s=LOOK_AHEAD_S, max_hold_s=MAX_GROUND_HOLD_S) if config.strategic else None
        self.planner = FlightPlanner(self.places, self.pads, self.paths, strategies=strategies, hold=hold)
        self._track = Tracks()  # every drone's recorded track, also when trajectories are not written
        self._pending: list[tuple] = []  # flights recorded, their points not yet in the tracks (_record)
        self._need_j: dict[tuple, float] = {}  # energy a flight needs, by route, type and payload (fly)
        self.requests = self.delivered = self.on_time = self.flights = 0
        self.delay_s = self.ground_hold_s = self.delivery_energy_j = 0.0
        self.conflicts = 0
        self.resolutions = {name: 0 for name in (*TACTICAL_ORDER, GroundHold.kind)}
        self.wait_s = dict.fromkeys(CAUSES, 0.0)  # delivered parcels' waits by cause
        for flow in config.flows:
            schedule_flow(model, flow, self.request)

    @property
    def rows(self) -> Sequence[tuple]:
        """The drones' recorded track points as :class:`twin.record.Tracks` rows."""
        return self.track.rows

    @property
    def airspace(self) -> Airspace:
        return self.planner.airspace

    def minima(self, kind: DroneType) -> tuple[float, float]:
        return self.planner.minima(kind)

    def legs(self, start: str, end: str) -> list[Leg]:
        return self.places.legs(start, end)

    # --- demand and dispatch --------------------------------------------------------------
    def request(self, flow: Flow) -> None:
        self.requests += 1
        self.model.log.add(self.model.now_s, flow.start, "request", f"{flow.id} to {flow.end}")
        self.waiting[flow.start].append((self.model.now_s, flow))
        self.dispatch(flow.start)

    def dispatch(self, port: str) -> None:
        queue = self.waiting[port]
        while queue:
            asked_s, flow = queue[0]
            idle = self._idle.get((port, flow.drone))
            if not idle:
                return
            drone = heapq.heappop(idle)[1]
            queue.popleft()
            causes = dict.fromkeys(CAUSES, 0.0)
            causes["fleet"] = self.model.now_s - asked_s
            self.fly(drone, flow.end, flow.payload_kg,
                     lambda d=drone, a=asked_s, f=flow, c=causes: self._delivered(d, a, f, c), causes=causes)

    def fly(self, drone: Drone, destination: str, payload_kg: float, landed: Callable[[], None], *,
            causes: dict[str, float] | None = None) -> None:
        """Plan and commit ``drone``'s flight to ``destination``, recharging first if it must.

        ``causes``: a parcel's waits by cause, added to here (energy, pads, airspace)."""
        kind = drone.type
        legs = self.places.legs(drone.at, destination)
        # Energy is checked for a strong gust against the drone (3 standard deviations) both ways:
        # the same for every flight of a type on a route with a payload, so computed once.
        key = (drone.at, destination, kind.id, payload_kg)
        if key not in self._need_j:
            gust = -3.0 * self.config.wind.gust_sd_mps
            self._need_j[key] = flight_energy_j(kind, legs, payload_kg, [
                self.places.ground_speed_mps(leg, kind.cruise_speed_mps, gust) for leg in legs])
        need = self._need_j[key]
        usable_j = (1.0 - kind.reserve) * kind.energy_j
        if need > usable_j:
            raise RoutingError(f"drone type {kind.id} cannot fly {drone.at} -> {destination} with {payload_kg:g} kg "
                               f"and keep its reserve even when full: needs {need / J_PER_KWH:.1f} kWh, "
                               f"has {usable_j / J_PER_KWH:.1f} kWh above the reserve")
        if drone.energy_j - need < kind.reserve * kind.energy_j:
            if causes is not None:
                causes["energy"] += recharge_s(kind, drone.energy_j)
            self._recharge(drone, lambda: self.fly(drone, destination, payload_kg, landed, causes=causes))
            return
        self._commit(self._plan(drone, legs, destination, payload_kg, causes), destination, landed)

    def _recharge(self, drone: Drone, then: Callable[[], None]) -> None:
        drone.state = "charging"

        def full() -> None:
            drone.energy_j = drone.type.energy_j
            drone.state = "idle"
            then()

        self.model.clock.after(recharge_s(drone.type, drone.energy_j), full)

    # --- planning and its outcome ---------------------------------------------------------
    def _plan(self, drone: Drone, legs: list[Leg], destination: str, payload_kg: float,
              causes: dict[str, float] | None) -> Flight:
        now_s, wind = self.model.now_s, self.config.wind
        # A gust is drawn per flight and kept within 3 standard deviations, the most the energy check allows for.
        sd = wind.gust_sd_mps
        gust = float(np.clip(self.model.rng.normal(0.0, sd), -GUST_SDS * sd, GUST_SDS * sd)) if sd else 0.0
        flight, choice = self.planner.plan(drone, legs, destination, payload_kg, now_s=now_s, gust_mps=gust)
        if causes is not None:
            flown_s = flight.trajectory.end_s - flight.trajectory.start_s
            causes["pads"] += choice.first_delay_s
            causes["airspace"] += choice.delay_s - choice.first_delay_s + max(0.0, flown_s - choice.nominal_s)
        if choice.first_conflicts:
            log = self.model.log
            self.conflicts += len(choice.first_conflicts)
            log.add(now_s, drone.name, "conflict", f"with {', '.join(choice.first_conflicts)}")
            hold_s = choice.delay_s - choice.first_delay_s
            if choice.clear and hold_s > 0:
                self.resolutions["ground_hold"] += 1
                log.add(now_s, drone.name, "resolution", f"{GroundHold.kind}: {GroundHold.detail(hold_s)}")
            elif choice.clear and choice.option.kind != "nominal":
                self.resolutions[choice.option.kind] += 1
                log.add(now_s, drone.name, "resolution", f"{choice.option.kind}: {choice.option.detail}")
        return flight

    def _commit(self, flight: Flight, destination: str, landed: Callable[[], None]) -> None:
        drone, trajectory, now_s = flight.drone, flight.trajectory, self.model.now_s
        self.airspace.commit(trajectory)
        takeoff = (trajectory.start_s, trajectory.start_s + TAKEOFF_PAD_S)
        landing = (flight.descent_s, flight.landed_s + drone.type.turnaround_s)
        for port, pad, interval in ((drone.at, flight.origin_pad, takeoff), (destination, flight.landing_pad, landing)):
            self.pads[port].reserve(pad, *interval)
            self.pad_reserved[port].append(interval)
        legs, (departure, approach) = self.places.legs(drone.at, destination), path_windows(trajectory)
        self.paths[drone.at].book((flight.origin_pad, legs[0].corridor.id, "departure"), *departure)
        self.paths[destination].book((flight.landing_pad, legs[-1].corridor.id, "approach"), *approach)
        hold_s = trajectory.start_s - now_s
        self.ground_hold_s += hold_s
        drone.state, drone.flight = "waiting", flight
        if hold_s > 0:
            self.model.log.add(now_s, drone.name, "ground_hold", f"{hold_s:.0f} s for a clear slot and free pads")
        self._record(flight)
        self.flights += 1
        clock = self.model.clock
        route = f"{drone.at} to {destination}, pad {flight.origin_pad + 1} to pad {flight.landing_pad + 1}"
        clock.at(trajectory.start_s, lambda: self._event(drone, "takeoff", route, "flying"))
        clock.at(flight.descent_s, lambda: self._event(drone, "descent", destination))
        clock.at(flight.landed_s, lambda: self._landed(flight, destination, landed))

    def _event(self, drone: Drone, event: str, detail: str, state: str | None = None) -> None:
        if state is not None:
            drone.state = state
        self.model.log.add(self.model.now_s, drone.name, event, detail)

    def _record(self, flight: Flight) -> None:
        """The flight's points in the drone's track: time, place, altitude, phase, flown metres, energy
        left. Held until the track is read or something else is recorded (:func:`track_columns`
        computes a batch of flights at once)."""
        drone, trajectory = flight.drone, flight.trajectory
        if drone.last_xy_m is not None:  # from the pad it landed on to the pad it takes off from
            drone.ground_m += float(np.hypot(*(trajectory.xyz_m[0, :2] - drone.last_xy_m)))
        drone.last_xy_m = trajectory.xyz_m[-1, :2].copy()
        self._pending.append((drone.name, trajectory.t_s, trajectory.xyz_m, trajectory.phases,
                              drone.flown_m + drone.ground_m, drone.energy_j, flight.energy_j))
        if len(self._pending) == 1:
            self.model.tracks.later(self._settle_track)

    def _settle_track(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            columns = track_columns(pending)
            self._track.extend(*columns)
            self.model.tracks.extend(*columns)

    @property
    def track(self) -> Tracks:
        """Every drone's recorded track (also when the scenario records no trajectories)."""
        self._settle_track()
        return self._track

    # --- after the flight -----------------------------------------------------------------
    def _landed(self, flight: Flight, port: str, landed: Callable[[], None]) -> None:
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
            heapq.heappush(self._idle.setdefault((drone.home, drone.type.id), []), (self._order[drone], drone))
            self.dispatch(drone.at)

    def _delivered(self, drone: Drone, asked_s: float, flow: Flow, causes: dict[str, float]) -> None:
        self.delivered += 1
        for cause, wait_s in causes.items():
            self.wait_s[cause] += wait_s
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
        return drone_kpis(self)


def track_columns(flights: list[tuple]) -> tuple:
    """The track points of recorded flights ``(agent, t_s, xyz_m, phases, odometer at take-off,
    energy at take-off, energy used)``, as :meth:`twin.record.Tracks.extend` takes them, in order.

    Energy is used in proportion to time, the odometer adds the horizontal distance flown. Flights
    with the same number of points are computed as one array, row by row, so every value is the
    double that a flight alone gives (numpy sums and accumulates each row as it does one array)."""
    sizes = np.array([len(f[1]) for f in flights])
    start = np.cumsum(sizes) - sizes
    t, x, y, z, odometer, energy = (np.empty(int(sizes.sum())) for _ in range(6))
    for n in np.unique(sizes).tolist():
        which = np.flatnonzero(sizes == n)
        t_s, xyz = np.stack([flights[k][1] for k in which]), np.stack([flights[k][2] for k in which])
        base, held, used_j = (np.array([flights[k][i] for k in which], dtype=float) for i in (4, 5, 6))
        seconds = np.diff(t_s, axis=1)
        total = seconds.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.cumsum(seconds / total[:, None] * used_j[:, None], axis=1)
        used = np.where((total != 0)[:, None], np.column_stack([np.zeros(len(which)), share]), 0.0)
        flown = np.column_stack([np.zeros(len(which)), np.cumsum(np.hypot(np.diff(xyz[:, :, 0], axis=1),
                                                                          np.diff(xyz[:, :, 1], axis=1)), axis=1)])
        rows = (start[which][:, None] + np.arange(n)).ravel()
        t[rows], x[rows], y[rows], z[rows] = t_s.ravel(), xyz[:, :, 0].ravel(), xyz[:, :, 1].ravel(), xyz[:, :, 2].ravel()
        odometer[rows] = (base[:, None] + flown).ravel()
        energy[rows] = ((held[:, None] - used) / J_PER_KWH).ravel()
    agents = [f[0] for f, n in zip(flights, sizes.tolist()) for _ in range(n)]
    phases = [phase for f in flights for phase in f[3]]
    return agents, ["drone"] * len(agents), t, x, y, odometer, phases, energy, z
