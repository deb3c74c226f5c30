"""A drone (a mesa agent: identity, state, energy) and the flight it has committed to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.mesa_core import Agent

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.airspace import Trajectory
    from gwangju_twin.agents.drones.config import DroneType
    from gwangju_twin.agents.drones.service import DroneService
    from gwangju_twin.model import TwinModel


@dataclass(eq=False)
class Flight:
    """A committed flight: its trajectory, and what it costs."""

    drone: Drone
    payload_kg: float
    trajectory: Trajectory
    energy_j: float
    origin_pad: int = 0  # which pad of its vertiport it takes off from, and lands on
    landing_pad: int = 0

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
    """One drone: where it is based and stands, its state, energy and the flight it is on.

    ``state`` is one of idle, charging, waiting (ground hold), flying, turnaround.
    """

    kind = "drone"

    def __init__(self, model: TwinModel, service: DroneService, name: str, kind: DroneType, home: str) -> None:
        super().__init__(model)
        self.service, self.name, self.type, self.home, self.at = service, name, kind, home, home
        self.energy_j = kind.energy_j
        self.min_energy_j = kind.energy_j
        self.state = "idle"
        self.flight: Flight | None = None
        self.flown_m = 0.0
        # Moved on the ground between pads of one vertiport (landed on one, next take-off from another):
        # on the odometer, so the recorded track never moves further than the odometer says.
        self.ground_m = 0.0
        self.last_xy_m: np.ndarray | None = None

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
