"""Street sweepers: cover the target streets with as little deadheading as possible.

The fleet plans one closed covering walk from the depot (``twin.arc_routing``) and cuts it into
one piece per sweeper. In each service window a sweeper drives to where its piece resumes and
sweeps edge after edge while it can still finish the edge and get home before the window ends
(with the energy reserve intact); the next window resumes where it stopped.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from gwangju_twin.agents.shuttles.arc_routing import covering_plan, split_walk
from gwangju_twin.agents.shuttles.config import CleaningFleet
from gwangju_twin.agents.shuttles.operations import FleetService, Operations
from gwangju_twin.agents.shuttles.vehicle import RoadVehicle
from gwangju_twin.errors import RoutingError

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.network import RoadNetwork


class Sweeper(RoadVehicle):
    """One sweeper and its piece of the covering walk."""

    kind = "sweeper"
    express = True  # the streets that fit are swept as one stretch (see _streets_that_fit)

    def __init__(self, model: TwinModel, service: CleaningService, index: int, piece: list[int]) -> None:
        super().__init__(model, f"{service.id}-{index + 1}", service.depot, service.config.max_speed_mps,
                         service.config.energy)
        self.service = service
        self.piece = deque(piece)
        self.swept_m = 0.0
        self.deadhead_m = 0.0

    def start_window(self, end_s: float) -> None:
        if not self.piece or self.state != "idle":
            return
        self.window_end_s = end_s
        net = self.world.network
        start = int(net.edge_u[self.piece[0]])
        approach_m = net.distance_m(self.node, start)
        approach_s = net.travel_time_s(self.node, start, self.max_speed_mps)
        if not self._fits(self.piece[0], approach_m, approach_s):
            if not self.can_afford(approach_m * 2, approach_s * 2) and self.needs_charge():
                self.charge(lambda: None)
            self.model.log.add(self.model.now_s, self.name, "skip_window", "cannot reach the next street and back")
            return
        self.state = "deadheading"
        self.model.log.add(self.model.now_s, self.name, "depart", "depot")
        self.drive_to(start, self._sweep_next)

    def _fits(self, edge: int, extra_m: float = 0.0, extra_s: float = 0.0) -> bool:
        """Can it drive ``extra`` then ``edge`` and get home before the window ends, within its energy?"""
        net, home_s, home_m = self.world.network, *self.service.home()
        end_node = net.edge_v_list[edge]
        time_s = extra_s + net.edge_times_s(self.max_speed_mps)[edge] + home_s[end_node]
        distance_m = extra_m + net.edge_length_list[edge] + home_m[end_node]
        return self.model.now_s + time_s <= self.window_end_s and self.can_afford(distance_m, time_s)

    def _sweep_next(self) -> None:
        streets = self._streets_that_fit()
        if streets:
            self.state = "sweeping"
            for _ in streets:
                self.piece.popleft()
            self.follow(streets, self._sweep_next)
            return
        self.state = "returning"
        self.drive_to(self.depot.node, self.arrive_at_depot)

    def _streets_that_fit(self) -> list[int]:
        """The next streets of the piece, each checked as :meth:`_fits` would check it when the sweeper
        gets there (the same time and battery, summed in the same order), up to one a disengagement
        will interrupt: after that stop the next street is checked afresh. Edge by edge (one street)
        when the vehicle is not express or the model records drives (each street is a drive for SUMO)."""
        net, (home_s, home_m) = self.world.network, self.service.home()
        times, lengths, ends = net.edge_times_s(self.max_speed_mps), net.edge_length_list, net.edge_v_list
        t_s, battery_j, budget_s = self.model.now_s, self.battery_j, self._until_disengagement_s
        reserve_j = self.energy.reserve * self.energy.battery_j
        streets: list[int] = []
        for edge in islice(self.piece, len(self.piece) if self.express and self.model.drives is None else 1):
            time_s, distance_m = times[edge] + home_s[ends[edge]], lengths[edge] + home_m[ends[edge]]
            if t_s + time_s > self.window_end_s or battery_j - self.energy_j(distance_m, time_s) < reserve_j:
                break
            streets.append(edge)
            if budget_s < times[edge]:
                break  # stopped on this street: what fits after it depends on how long the stop takes
            budget_s -= times[edge]
            t_s = t_s + times[edge]
            battery_j -= self.energy_j(lengths[edge], times[edge])
        return streets

    def on_edge(self, edge: int) -> None:
        length_m = self.world.network.edge_length_list[edge]
        if self.state == "sweeping" and edge in self.service.required and edge not in self.service.swept:
            self.service.swept.add(edge)
            self.swept_m += length_m
        else:
            self.deadhead_m += length_m


@lru_cache(maxsize=32)
def _covering_plan(net: RoadNetwork, required: tuple[int, ...], depot: int) -> tuple[tuple[int, ...], float, bool]:
    """The covering walk and its bound for these streets from this depot, worked out once: fleets that
    sweep the same streets from the same depot share the plan (a pure function of the network)."""
    walk, bound_m, exact = covering_plan(net, list(required), depot)
    return tuple(walk), bound_m, exact


class CleaningService(FleetService):
    """A sweeper fleet, its covering plan and its key figures."""

    kind = "cleaning"

    def __init__(self, model: TwinModel, config: CleaningFleet, operations: Operations) -> None:
        super().__init__(model, config, operations)
        net = self.world.network
        self.required = self._targets(config)
        self.swept: set[int] = set()
        self.required_m = float(sum(net.edge_length_m[e] for e in self.required))
        walk, self.bound_m, self.bound_exact = _covering_plan(net, tuple(sorted(self.required)), self.depot.node)
        pieces = split_walk(net, list(walk), self.required, config.count)
        self.planned_m = sum(self._piece_length_m(piece) for piece in pieces)
        self.vehicles = [Sweeper(model, self, i, piece) for i, piece in enumerate(pieces)]
        self.schedule_windows(lambda v, end_s: v.start_window(end_s))

    def home(self) -> tuple[list[float], list[float]]:
        """Time and distance home to the depot from every node, at the fleet's speed cap (worked out once:
        a sweeper asks before every street it sweeps)."""
        home = self.__dict__.get("_home")
        if home is None:
            net, depot = self.world.network, self.depot.node
            home = self._home = (net.time_to_s(depot, self.config.max_speed_mps).tolist(), net.toward(depot)[0].tolist())
        return home

    def _piece_length_m(self, piece: list[int]) -> float:
        net = self.world.network
        if not piece:
            return 0.0
        depot = self.depot.node
        return (net.distance_m(depot, int(net.edge_u[piece[0]])) + float(net.edge_length_m[piece].sum())
                + net.distance_m(int(net.edge_v[piece[-1]]), depot))

    def _targets(self, config: CleaningFleet) -> set[int]:
        net = self.world.network
        chosen = np.ones(net.edge_count, dtype=bool)
        if config.streets != "all":
            names = np.array(net.edge_name)
            for street in config.streets:
                if not (names == street).any():
                    raise RoutingError(f"fleet {config.id}: no street named '{street}' in area '{self.world.area.id}'")
            chosen &= np.isin(names, config.streets)
        if config.polygon is not None:
            import pyproj  # here: only a fleet that sweeps a polygon needs it

            to_m = pyproj.Transformer.from_crs("EPSG:4326", net.crs, always_xy=True)
            ring = np.array(config.polygon)
            polygon = shapely.Polygon(np.column_stack(to_m.transform(ring[:, 0], ring[:, 1])))
            middles = np.array([coords.mean(axis=0) for coords in net.edge_coords_m])
            chosen &= shapely.contains_xy(polygon, middles[:, 0], middles[:, 1])
        if not chosen.any():
            raise RoutingError(f"fleet {config.id}: no road edge matches its streets/polygon")
        return set(np.flatnonzero(chosen).tolist())

    def kpis(self) -> dict[str, Any]:
        swept_m = sum(v.swept_m for v in self.vehicles)
        return {
            "service": "cleaning",
            **self.vehicle_kpis(),
            "streets_km": round(self.required_m / 1000.0, 3),
            "coverage_pct": round(100.0 * swept_m / self.required_m, 3) if self.required_m else 100.0,
            "km_swept": round(swept_m / 1000.0, 3),
            "deadhead_km": round(sum(v.deadhead_m for v in self.vehicles) / 1000.0, 3),
            "planned_route_km": round(self.planned_m / 1000.0, 3),
            # The shortest closed walk covering the streets (exact, or a lower bound if they are scattered).
            "covering_walk_km": round(self.bound_m / 1000.0, 3),
            "covering_walk_is_optimum": self.bound_exact,
            "planned_route_to_covering_walk": round(self.planned_m / self.bound_m, 4) if self.bound_m else None,
            **({"why_null": {"planned_route_to_covering_walk": "no street to sweep"}} if not self.bound_m else {}),
        }
