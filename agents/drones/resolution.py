"""Conflict resolution strategies: one class per manoeuvre behind one interface.

Detection is not here (:mod:`agents.drones.detection` and the airspace's time index answer whether
a candidate flight conflicts). A strategy only proposes alternatives to a flight whose nominal plan
conflicts; the planner tries the nominal plan and then each strategy's alternatives in the order
the strategies are given, at each departure slot, and keeps the first that is clear (BlueSky's
``ConflictResolution`` plug-ins, chosen by name, play the same part). :class:`GroundHold` is the
last resort: it moves the departure, so the planner looks for the next slot only when no
alternative is clear at the current one.

Every resolution the planner applies is recorded as a ``resolution`` event with its kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from gwangju_twin.agents.drones.flightpath import path_windows

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.airspace import Trajectory
    from gwangju_twin.agents.drones.flightpath import Shape


@dataclass
class Option:
    """One way to fly a flight: its trajectory from the planned departure, energy and segments."""

    kind: str  # "nominal" or the strategy's kind
    detail: str  # what the strategy did, for the event log
    shape: Shape
    trajectory: Trajectory  # flown from the vertiports' centres: the windows its pads must be free for
    energy_j: float

    @cached_property
    def path_windows(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """When it holds its departure path and its approach path (from the vertiports' centres)."""
        return path_windows(self.trajectory)


# Builds an option from keyword changes to the nominal flight (``speed=0.8``: fly at 80 % of cruise).
Build = Callable[..., Option]


class Resolution(ABC):
    """A manoeuvre that changes the shape of a flight (not its departure)."""

    kind: str = ""

    @abstractmethod
    def alternatives(self, build: Build, room: Room) -> list[Option]:
        """The flights this manoeuvre offers instead of the nominal one, best first."""


@dataclass(frozen=True)
class Room:
    """What a flight has room for: cruise layers in its direction, and half its narrowest corridor's width."""

    layers: int
    half_width_m: float


class LayerChange(Resolution):
    """Climb or descend to another layer of the flight's direction inside the corridor's band."""

    kind = "layer_change"

    def alternatives(self, build: Build, room: Room) -> list[Option]:
        return [build(kind=self.kind, detail=f"layer {k + 1} of {room.layers}", layer=k) for k in range(1, room.layers)]


class LateralOffset(Resolution):
    """Fly parallel to the corridor's centre line, to either side, inside the corridor's width."""

    kind = "lateral_offset"

    def __init__(self, fraction: float = 0.6) -> None:
        self.fraction = fraction  # ASSUMPTION: of the half width, keeping the rest as a margin to the edge

    def alternatives(self, build: Build, room: Room) -> list[Option]:
        offset_m = round(self.fraction * room.half_width_m, 1)
        return [build(kind=self.kind, detail=f"offset {side * offset_m:+.0f} m", offset_m=side * offset_m)
                for side in (1, -1)]


class SpeedChange(Resolution):
    """Fly the whole flight slower: the same path, later at every point."""

    kind = "speed"

    def __init__(self, fractions: tuple[float, ...] = (0.8, 0.6)) -> None:
        self.fractions = fractions

    def alternatives(self, build: Build, room: Room) -> list[Option]:
        return [build(kind=self.kind, detail=f"speed {f:.0%} of cruise", speed=f) for f in self.fractions]


class GroundHold:
    """Delay the departure, up to ``max_hold_s``: to the first later moment at which the nominal flight
    may be clear, found from the delays it may not leave at (the forbidden intervals of
    :mod:`agents.drones.departure_windows`), worked out at most ``window_s`` ahead of the slot at a
    time; every option is checked again, exactly, at each such slot."""

    kind = "ground_hold"

    def __init__(self, *, window_s: float, max_hold_s: float) -> None:
        self.window_s, self.max_hold_s = window_s, max_hold_s

    @staticmethod
    def detail(hold_s: float) -> str:
        return f"ground hold {hold_s:.0f} s"


STRATEGIES: dict[str, Callable[[], Resolution]] = {
    "layer_change": LayerChange, "lateral_offset": LateralOffset, "speed": SpeedChange}
TACTICAL_ORDER = ("layer_change", "lateral_offset", "speed")  # the ground hold comes last of all
