"""A toy service that lives outside the twin's package: ice-cream carts driving back and forth between
two sites. The tests register it as an entry point at test time and run it through every command,
to show that a service is one folder and one entry-point line, with no change to the package."""

from __future__ import annotations

from typing import Any

import numpy as np
from gwangju_twin.audit import Check, Record, passed_if
from gwangju_twin.config import Frozen
from gwangju_twin.mesa_core import Agent
from gwangju_twin.plugins import Chart, Kpi, Layer, Mover, ServicePlugin, ServiceView, SumoVehicles
from pydantic import Field

CART_MPS = 1.0  # a walking pace


class CartsConfig(Frozen):
    """The ``[carts]`` table."""

    count: int = Field(default=1, ge=0, le=50)
    ends: tuple[str, str]


class Cart(Agent):
    """Drives edge by edge between the two ends, forever; every node reached is a track point."""

    kind = "cart"

    def __init__(self, model: Any, service: CartService, number: int) -> None:
        super().__init__(model)
        self.service, self.name, self.state = service, f"carts-{number}", "driving"
        self.node, self.odometer_m, self.trips, self.target = service.ends[0], 0.0, 0, 1
        self.edge, self.edge_start_s, self.edge_end_s = -1, 0.0, 0.0
        self.drive: list | None = None  # the drive under way, as the SUMO export reads it
        self._record()
        model.clock.at(60.0 * number, self._next)

    def _record(self) -> None:
        net = self.service.world.network
        self.model.tracks.add(self.name, self.kind, self.model.now_s, float(net.x_m[self.node]),
                              float(net.y_m[self.node]), self.odometer_m, self.state)

    def _next(self) -> None:
        net, goal = self.service.world.network, self.service.ends[self.target]
        if self.node == goal:
            self.trips += 1
            self.model.log.add(self.model.now_s, self.name, "arrive", f"stand_{self.target}")  # the first word names the place
            self.target = 1 - self.target
            goal = self.service.ends[self.target]
        if self.drive is None and self.model.drives is not None:
            self.drive = [self.model.now_s, self.name, self.node, goal, None]
            self.model.drives.append(self.drive)
        edge = net.route_edges(self.node, goal)[0]
        self.edge, self.edge_start_s = edge, self.model.now_s
        self.edge_end_s = self.model.now_s + float(net.edge_length_m[edge]) / CART_MPS
        self.model.clock.at(self.edge_end_s, lambda: self._arrive(edge))

    def _arrive(self, edge: int) -> None:
        net = self.service.world.network
        self.node, self.odometer_m, self.edge = int(net.edge_v[edge]), self.odometer_m + float(net.edge_length_m[edge]), -1
        self._record()
        if self.drive is not None and self.node == self.service.ends[self.target]:
            self.drive[4], self.drive = self.model.now_s, None
        self._next()

    def position_m(self, now_s: float) -> tuple[float, float]:
        net = self.service.world.network
        if self.edge < 0:
            return float(net.x_m[self.node]), float(net.y_m[self.node])
        span_s = max(self.edge_end_s - self.edge_start_s, 1e-9)
        return net.point_along(self.edge, min(max((now_s - self.edge_start_s) / span_s, 0.0), 1.0))


class CartService:
    kind = "carts"
    id = "carts"

    def __init__(self, model: Any, config: CartsConfig) -> None:
        self.model, self.world = model, model.world
        self.ends = tuple(self.world.site_node(site, 500.0) for site in config.ends)
        self.carts = [Cart(model, self, k) for k in range(config.count)]

    def kpis(self) -> dict[str, Any]:
        return {"service": "carts", "carts": len(self.carts), "trips": sum(c.trips for c in self.carts)}


def _positions(service: CartService, now_s: float) -> tuple[list, np.ndarray, list[str]]:
    xy = np.array([c.position_m(now_s) for c in service.carts]).reshape(-1, 2)
    return service.carts, xy, ["driving"] * len(service.carts)


def check_trips(record: Record) -> list[Check]:
    """Every arrival in the events is a track point at one of the two ends."""
    arrivals = record.events[record.events["event"] == "arrive"]
    if record.tracks is None:
        return [Check("cart_trips", "FAIL", "no trajectories")]
    carts = record.tracks[record.tracks["kind"] == "cart"]
    matched = sum(((carts["agent"] == a) & ((carts["t_s"] - t).abs() < 1e-3)).any()
                  for a, t in zip(arrivals["agent"], arrivals["t_s"]))
    return [passed_if(matched == len(arrivals), "cart_trips", f"{matched} of {len(arrivals)} arrivals on the tracks")]


class CartsPlugin(ServicePlugin):
    name = "carts"
    table = "carts"
    config_model = CartsConfig

    def build(self, model: Any, config: CartsConfig) -> list:
        return [CartService(model, config)]

    def needs_roads(self, config: CartsConfig) -> bool:
        return True

    def kpi_meta(self, kind: str) -> dict[str, Kpi]:
        return {"trips": Kpi("count", "higher", True, "ice-cream trips", "아이스크림 운행")}

    def audit_checks(self) -> tuple:
        return (check_trips,)

    def sumo(self, service: CartService) -> SumoVehicles:
        return SumoVehicles({cart.name: CART_MPS for cart in service.carts})

    def view(self, service: CartService) -> ServiceView:
        net = service.world.network
        ends = np.array([[net.x_m[n], net.y_m[n]] for n in service.ends], dtype=float)
        return ServiceView(
            service_id=service.id, area_ref=None,
            movers={"driving": Mover("cart", (255, 105, 180), "ice-cream cart", "아이스크림 카트")},
            positions=lambda now_s: _positions(service, now_s),
            layers=lambda: [Layer("cart ends", "points", (255, 105, 180), ends, ("cone A", "cone B"),
                                  legend_en="ice-cream stands", legend_ko="아이스크림 가판대")],
            charts=[Chart("ice-cream trips", "아이스크림 운행", "count",
                          lambda: float(sum(c.trips for c in service.carts)))],
            caption_en="Ice-cream carts shuttle between two stands.", caption_ko="아이스크림 카트가 두 가판대를 오갑니다.",
            headline_kpis=("trips",),
        )


PLUGIN = CartsPlugin()
