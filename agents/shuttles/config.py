"""The ``[shuttles]`` part of a scenario: fleets of four services, energy, chargers, supervision.

Every default below is either a figure from the real testbed (cited) or an ASSUMPTION the
sources do not give; scenario files restate the ones they rely on.
"""

from __future__ import annotations

from typing import Annotated, Literal

from gwangju_twin.config import Frozen, Window, quantity
from pydantic import Field, field_validator, model_validator

# Gwangju's driverless special vehicles run "at 5 km/h or less, with no driver" (seed 000).
SHUTTLE_SPEED_CAP_MPS = 5.0 / 3.6
# Their daily service windows (GWANGJU_FACTS.md, public facts, 2021 launch).
DEFAULT_WINDOWS = ("10:00-12:00", "14:00-16:00")

Speed = quantity("speed", above="0 km/h", at_most="5 km/h")
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Energy(Frozen):
    """Battery and consumption of one vehicle (ASSUMPTION: small electric service vehicle)."""

    battery_j: quantity("energy", above="0 kWh") = Field(default="20 kWh", alias="battery")
    per_length_jpm: quantity("energy_per_length", at_least="0 kWh/km") = Field(default="0.25 kWh/km", alias="per_km")
    per_time_w: quantity("power", at_least="0 kW") = Field(default="0.3 kW", alias="per_hour")
    reserve: Fraction = 0.15
    initial: Fraction = 1.0


class Charging(Frozen):
    """Chargers at each depot: a limited resource with a queue (ASSUMPTION: 2 x 7 kW)."""

    chargers: int = Field(default=2, ge=1, le=1000)
    power_w: quantity("power", above="0 kW") = Field(default="7 kW", alias="power")
    charge_below: Fraction = 0.8


class Supervision(Frozen):
    """The remote control centre (public facts: vehicles are remotely supervised).

    Disengagements happen at ``disengagement_rate`` per vehicle-hour of driving (ASSUMPTION)
    and stop the vehicle until one of ``operators`` has handled it (exponential handling time).
    """

    operators: int = Field(default=1, ge=1, le=1000)
    disengagement_rate_per_s: quantity("rate", at_least="0 / h", at_most="60 / h") = Field(
        default="0.2 / h", alias="disengagement_rate")
    handling_s: quantity("duration", above="0 s", at_most="1 h") = Field(default="120 s", alias="handling_time")


class FleetBase(Frozen):
    """What every fleet has."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    count: int = Field(ge=0, le=100_000)
    max_speed_mps: Speed = Field(default="5 km/h", alias="max_speed")
    depot: str
    area: str | None = None  # the area this fleet works in (an id or area file); default: the scenario's
    windows_s: list[Window] = Field(default=list(DEFAULT_WINDOWS), alias="windows", min_length=1)
    energy: Energy = Energy.model_validate({})

    @field_validator("windows_s", mode="after")
    @classmethod
    def _ordered(cls, windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for (_, end), (start, _) in zip(windows, windows[1:]):
            if start < end:
                raise ValueError("windows must be in time order and must not overlap")
        return windows


class LoopFleet(FleetBase):
    """Shuttles on a fixed loop of stops, as the 2021 operation ran."""

    service: Literal["loop"]
    route: list[str] = Field(min_length=2)
    dwell_s: quantity("duration", at_least="0 s", at_most="1 h") = Field(default="30 s", alias="dwell")


class CleaningFleet(FleetBase):
    """Street sweepers covering target streets (an arc-routing problem)."""

    service: Literal["cleaning"]
    streets: Literal["all"] | list[str] = "all"
    polygon: list[tuple[float, float]] | None = None

    @model_validator(mode="after")
    def _polygon_ring(self) -> CleaningFleet:
        if self.polygon is not None and len(self.polygon) < 4:
            raise ValueError("polygon needs at least 4 [lon, lat] points, the last equal to the first")
        return self


class WasteFleet(FleetBase):
    """Collectors emptying bins and unloading at the depot (capacitated routing)."""

    service: Literal["waste"]
    load_limit_kg: quantity("mass", above="0 kg") = Field(default="1000 kg", alias="load_limit")
    bins: list[str] = []
    random_bins: int = Field(default=0, ge=0, le=100_000)
    bin_capacity_kg: quantity("mass", above="0 kg") = Field(default="120 kg", alias="bin_capacity")
    fill_rate_kgps: quantity("mass_rate", above="0 kg/h") = Field(default="3 kg/h", alias="fill_rate")
    fill_rate_spread: Fraction = 0.5
    collect_above: Fraction = 0.5
    service_s: quantity("duration", at_least="0 s", at_most="1 h") = Field(default="60 s", alias="service_time")
    unload_s: quantity("duration", at_least="0 s", at_most="2 h") = Field(default="300 s", alias="unload_time")
    # tour planning joins each bin only with this many nearest bins (0: with every bin)
    savings_neighbours: int = Field(default=32, ge=0, le=100_000)

    @model_validator(mode="after")
    def _some_bins(self) -> WasteFleet:
        if not self.bins and self.random_bins == 0:
            raise ValueError("give bins = [site ids] or random_bins = N (or both)")
        return self


# ASSUMPTION: requests per hour of the day, a working-day shape (no published demand data).
DEFAULT_DEMAND = [0, 0, 0, 0, 0, 0, 1, 3, 6, 6, 5, 5, 6, 5, 5, 5, 6, 6, 4, 2, 1, 1, 0, 0]


class OnDemandFleet(FleetBase):
    """Demand-responsive shuttles (healthcare, store delivery, passengers) with dispatch."""

    service: Literal["on_demand"]
    stops: list[str] = []
    random_stops: int = Field(default=0, ge=0, le=10_000)
    capacity: int = Field(default=4, ge=1, le=100)
    demand_per_hour: list[Annotated[float, Field(ge=0)]] = Field(default=DEFAULT_DEMAND, min_length=24, max_length=24)
    demand_scale: float = Field(default=1.0, ge=0, le=1000)
    dispatch: Literal["nearest", "insertion"] = "insertion"
    # insertion dispatch tries the vehicles that could reach the pick-up soonest, this many (0: all)
    candidates: int = Field(default=16, ge=0, le=100_000)
    max_wait_s: quantity("duration", above="0 s", at_most="4 h") = Field(default="20 min", alias="max_wait")
    max_detour: float = Field(default=1.5, ge=1.0, le=10.0)
    dwell_s: quantity("duration", at_least="0 s", at_most="1 h") = Field(default="30 s", alias="dwell")
    rebalance: bool = True

    @model_validator(mode="after")
    def _enough_stops(self) -> OnDemandFleet:
        if len(self.stops) + self.random_stops < 2:
            raise ValueError("needs at least 2 stops: stops = [site ids] and/or random_stops = N")
        return self


Fleet = Annotated[LoopFleet | CleaningFleet | WasteFleet | OnDemandFleet, Field(discriminator="service")]


class Shuttles(Frozen):
    """The ``[shuttles]`` table."""

    snap_distance_m: quantity("length", above="0 m", at_most="5 km") = Field(default="150 m", alias="snap_distance")
    charging: Charging = Charging.model_validate({})
    supervision: Supervision = Supervision.model_validate({})
    fleet: list[Fleet] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Shuttles:
        ids = [fleet.id for fleet in self.fleet]
        if len(ids) != len(set(ids)):
            raise ValueError(f"fleet ids must be unique, got {ids}")
        return self
