"""A road vehicle that moves by events: one event per road edge, not one per second.

On each edge it drives at ``min(its own cap, the edge's speed limit)``, so no vehicle ever
exceeds either. Every node it reaches is recorded in the model's tracks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from twin.model import TwinModel


class RoadVehicle(mesa.Agent):
    """Base of every ground vehicle: position on the network, odometer, event-driven driving."""

    kind = "vehicle"

    def __init__(self, model: TwinModel, name: str, node: int, max_speed_mps: float) -> None:
        super().__init__(model)
        self.name = name
        self.node = node
        self.max_speed_mps = max_speed_mps
        self.state = "idle"
        self.odometer_m = 0.0
        self.driving_s = 0.0
        self._edges: list[int] = []
        self._then: Callable[[], None] | None = None
        self.model: TwinModel = model

    def record(self) -> None:
        net = self.model.world.network
        self.model.tracks.add(self.name, self.kind, self.model.now_s,
                              float(net.x_m[self.node]), float(net.y_m[self.node]), self.odometer_m, self.state)

    def drive_to(self, target: int, then: Callable[[], None]) -> None:
        """Drive the shortest path to ``target``, then call ``then``."""
        net = self.model.world.network
        self._edges = net.path_edges(net.path(self.node, target))
        self._then = then
        self.record()
        self._next_edge()

    def _next_edge(self) -> None:
        if not self._edges:
            then, self._then = self._then, None
            if then is not None:
                then()
            return
        net = self.model.world.network
        edge = self._edges.pop(0)
        duration_s = net.edge_time_s(edge, self.max_speed_mps)
        self.model.clock.after(duration_s, lambda: self._arrive(edge, duration_s))

    def _arrive(self, edge: int, duration_s: float) -> None:
        net = self.model.world.network
        self.node = int(net.edge_v[edge])
        self.odometer_m += float(net.edge_length_m[edge])
        self.driving_s += duration_s
        self.record()
        self._next_edge()
