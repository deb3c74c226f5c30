"""What every shuttle fleet shares: depots with chargers, the control centre, service windows, KPIs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.shuttles.config import FleetBase, Shuttles
from gwangju_twin.agents.shuttles.vehicle import Depot, RoadVehicle
from gwangju_twin.errors import RoutingError
from gwangju_twin.mesa_core import AgentSet
from gwangju_twin.resources import Resource
from gwangju_twin.units import DAY_S, J_PER_KWH

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.world import World



class Operations:
    """The control centre (remote operators) and every depot's chargers, for all fleets of a model."""

    kind = "operations"

    id = "operations"

    def __init__(self, model: TwinModel, config: Shuttles) -> None:
        self.model, self.config = model, config
        self.control = Resource(model.clock, config.supervision.operators, "remote operators")
        self.depots: dict[tuple[int, str], Depot] = {}  # by (world, site)
        self.fleets: list[FleetService] = []

    def depot(self, site_id: str, world: World) -> Depot:
        """The depot at ``site_id`` in ``world`` (one per area and site, shared by the fleets based there)."""
        key = (id(world), site_id)
        if key not in self.depots:
            node = world.site_node(site_id, self.config.snap_distance_m)
            chargers = Resource(self.model.clock, self.config.charging.chargers,
                                f"chargers at {site_id} ({world.area.id})")
            self.depots[key] = Depot(world, node, chargers, self.config.charging, self.control,
                                     self.config.supervision)
        return self.depots[key]

    def kpis(self) -> dict[str, Any]:
        vehicles = [v for fleet in self.fleets for v in fleet.vehicles]
        chargers = [d.chargers for d in self.depots.values()]
        sessions = sum(c.granted for c in chargers)
        return {
            "disengagements": sum(v.disengagements for v in vehicles),
            "time_stopped_h": round(sum(v.stopped_s for v in vehicles) / 3600.0, 3),
            "operators": self.control.capacity,
            "operator_utilisation": round(self.control.utilisation(), 4),
            "operator_wait_mean_s": round(self.control.mean_wait_s(), 1),
            "charge_sessions": sessions,
            "energy_charged_kwh": round(sum(v.charged_j for v in vehicles) / J_PER_KWH, 3),
            "charger_wait_mean_s": round(sum(c.total_wait_s for c in chargers) / sessions, 1) if sessions else None,
            "charger_utilisation": round(sum(c.utilisation() for c in chargers) / len(chargers), 4) if chargers else 0.0,
            "min_battery_kwh": round(min(v.min_battery_j for v in vehicles) / J_PER_KWH, 3) if vehicles else None,
            **({"why_null": {"charger_wait_mean_s": "no vehicle charged"}} if not sessions else {}),
        }


class FleetService:
    """Base of the four shuttle services: its depot, its vehicles, its daily windows."""

    def __init__(self, model: TwinModel, config: FleetBase, operations: Operations) -> None:
        self.id = config.id
        self.model = model
        self.config = config
        self.operations = operations
        self.snap_distance_m = operations.config.snap_distance_m
        self.world = model.world_of(config.area)
        self.depot = operations.depot(config.depot, self.world)
        self.vehicles: Sequence[RoadVehicle] = []
        operations.fleets.append(self)

    def site_node(self, site_id: str) -> int:
        return self.world.site_node(site_id, self.snap_distance_m)

    def check_reachable(self, name: str, node: int) -> None:
        """Refuse a place the depot cannot reach or cannot be reached back from, naming it."""
        net = self.world.network
        for source, target in ((self.depot.node, node), (node, self.depot.node)):
            if not net.distance_m(source, target) < float("inf"):
                raise RoutingError(f"'{name}' cannot be reached from depot '{self.config.depot}' and back "
                                   "on the road network")

    def schedule_windows(self, start: Callable[[RoadVehicle, float], None], headway_s: float = 0.0) -> None:
        """Call ``start(vehicle, window_end_s)`` at each window of each simulated day."""
        for day in range(int(self.model.duration_s // DAY_S) + 1):
            for start_s, end_s in self.config.windows_s:
                for i, vehicle in enumerate(self.vehicles):
                    t_s = day * DAY_S + start_s + i * headway_s
                    end_abs_s = day * DAY_S + end_s
                    if t_s < min(end_abs_s, self.model.duration_s):
                        self.model.clock.at(t_s, lambda v=vehicle, e=end_abs_s: start(v, e))

    @property
    def agents(self) -> AgentSet:
        """The fleet's vehicles as a mesa AgentSet (in the order they were made)."""
        return AgentSet(self.vehicles, random=self.model.random)

    def vehicle_kpis(self) -> dict[str, Any]:
        fleet = self.agents
        km = fleet.agg("odometer_m", sum) / 1000.0 if len(fleet) else 0.0
        hours = fleet.agg("driving_s", sum) / 3600.0 if len(fleet) else 0.0
        return {
            "vehicles": len(fleet),
            "vehicle_km": round(km, 3),
            "driving_hours": round(hours, 3),
            "mean_speed_kmh": round(km / hours, 3) if hours else None,
            "disengagements": fleet.agg("disengagements", sum) if len(fleet) else 0,
            "charge_sessions": fleet.agg("charge_sessions", sum) if len(fleet) else 0,
        }
