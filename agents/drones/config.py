"""The ``[drones]`` part of a scenario: airspace (corridors, vertiports, geofences), drone types,
wind, separation minima, deconfliction switches and delivery demand.

Corridors are centre lines in WGS84 with a width and an altitude band; a two-way corridor flies
each direction in its own layer (lower half one way, upper half the other). A corridor keeps out of
geofences, and out of control zones unless it has approval; a scenario may confine every corridor
to an operational volume (the drone free zone). The air layer lives in
the scenario's area and its CRS, like the ground. Everything not in the sources is an ASSUMPTION
and says so in the scenario files.
"""

from __future__ import annotations

from typing import Annotated, Literal

from gwangju_twin.config import Frozen, quantity
from pydantic import Field, model_validator

Metres = quantity("length", at_least="0 m", at_most="20 km")


class DroneType(Frozen):
    """A kind of drone and how it flies and spends energy."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    store: Literal["battery", "hydrogen"]
    cruise_speed_mps: quantity("speed", above="0 km/h", at_most="300 km/h") = Field(alias="cruise_speed")
    climb_rate_mps: quantity("speed", above="0 m/s", at_most="30 m/s") = Field(alias="climb_rate")
    descent_rate_mps: quantity("speed", above="0 m/s", at_most="30 m/s") = Field(alias="descent_rate")
    empty_mass_kg: quantity("mass", above="0 kg", at_most="5 t") = Field(alias="empty_mass")
    payload_max_kg: quantity("mass", above="0 kg", at_most="2 t") = Field(alias="payload_max")
    energy_j: quantity("energy", above="0 kWh") = Field(alias="energy")
    cruise_power_w: quantity("power", above="0 kW") = Field(alias="cruise_power")
    climb_factor: float = Field(default=1.4, ge=1.0, le=5.0)
    descent_factor: float = Field(default=0.7, gt=0.0, le=2.0)
    hover_factor: float = Field(default=1.2, ge=1.0, le=5.0)
    reserve: float = Field(default=0.2, ge=0.0, le=0.9)
    turnaround_s: quantity("duration", at_least="0 s", at_most="6 h") = Field(default="10 min", alias="turnaround")
    # The controlling dimension D (FAA EB 105A, Vertiport Design, 2024: the smallest circle enclosing
    # the aircraft); the vertiport's pads are sized and spaced from it.
    size_m: quantity("length", above="0 m", at_most="30 m") = Field(default="1.5 m", alias="size")
    # Its own separation minima (default: the airspace's); a pair of drones keeps the larger of each.
    separation_horizontal_m: quantity("length", above="0 m", at_most="10 km") | None = Field(
        default=None, alias="separation_horizontal")
    separation_vertical_m: quantity("length", above="0 m", at_most="1 km") | None = Field(
        default=None, alias="separation_vertical")


class Corridor(Frozen):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    start: str  # vertiport site ids at the two ends
    end: str
    via: list[tuple[float, float]] = []  # [lon, lat] waypoints between them
    width_m: quantity("length", above="0 m", at_most="5 km") = Field(default="200 m", alias="width")
    floor_m: Metres = Field(default="60 m", alias="floor")
    ceiling_m: Metres = Field(default="150 m", alias="ceiling")
    two_way: bool = True
    # Approval to fly through control zones (e.g. the airport's): without it the corridor is routed
    # around them (its own ``via``, or a detour found automatically); with it, it may cross and the
    # KPIs say where and for how long.
    approval: bool = False
    # A zone the corridor must lie inside (e.g. the drone free zone): leaving it is a scenario error.
    operational_volume: str | None = None

    @model_validator(mode="after")
    def _band(self) -> Corridor:
        if self.ceiling_m <= self.floor_m:
            raise ValueError("ceiling must be above floor")
        return self


class Vertiport(Frozen):
    site: str
    pads: int = Field(default=1, ge=1, le=100)
    drones: dict[str, int] = {}  # drone type id -> how many are based here


class Flow(Frozen):
    """Delivery requests from one vertiport to another, by hour of the day."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    start: str
    end: str
    drone: str
    payload_kg: quantity("mass", above="0 kg", at_most="2 t") = Field(alias="payload")
    per_hour: list[Annotated[float, Field(ge=0)]] = Field(min_length=24, max_length=24)
    scale: float = Field(default=1.0, ge=0.0, le=1000.0)
    deadline_s: quantity("duration", above="0 s", at_most="2 d") = Field(default="2 h", alias="deadline")
    hands_to: str | None = None  # "certification:PART_TYPE": the cargo becomes a part shipped to the center


class Wind(Frozen):
    speed_mps: quantity("speed", at_least="0 m/s", at_most="40 m/s") = Field(default="0 m/s", alias="speed")
    from_deg: float = Field(default=270.0, ge=0.0, lt=360.0)  # meteorological: where it blows from
    gust_sd_mps: quantity("speed", at_least="0 m/s", at_most="20 m/s") = Field(default="0 m/s", alias="gust_sd")


class Drones(Frozen):
    """The ``[drones]`` table."""

    # Zones the drones must keep out of (kind geofence) or may enter only with approval (control_zone).
    geofences: list[str] = ["gwangju_airport_ctr"]
    separation_horizontal_m: quantity("length", above="0 m", at_most="10 km") = Field(
        default="150 m", alias="separation_horizontal")
    separation_vertical_m: quantity("length", above="0 m", at_most="1 km") = Field(
        default="30 m", alias="separation_vertical")
    # The terminal volume: a cylinder around each vertiport, up to the highest corridor ceiling, where
    # drones fly the pads' procedures (climb over the pad, out to the corridor's gate; in from the
    # gate, descent over the pad) under their own, smaller separation minima. ASSUMPTION (values).
    terminal_radius_m: quantity("length", above="0 m", at_most="2 km") = Field(
        default="200 m", alias="terminal_radius")
    terminal_separation_horizontal_m: quantity("length", above="0 m", at_most="1 km") = Field(
        default="10 m", alias="terminal_separation_horizontal")
    terminal_separation_vertical_m: quantity("length", above="0 m", at_most="1 km") = Field(
        default="10 m", alias="terminal_separation_vertical")
    strategic: bool = True  # departure slots (4D reservations) along corridors
    tactical: bool = True  # conflict detection and resolution in flight
    wind: Wind = Wind.model_validate({})
    types: list[DroneType] = Field(min_length=1)
    vertiports: list[Vertiport] = Field(min_length=2)
    corridors: list[Corridor] = Field(min_length=1)
    flows: list[Flow] = []

    @model_validator(mode="after")
    def _references(self) -> Drones:
        types = {t.id: t for t in self.types}
        ports = {v.site for v in self.vertiports}
        named = (("drone type", [t.id for t in self.types]), ("vertiport site", [v.site for v in self.vertiports]),
                 ("corridor", [c.id for c in self.corridors]), ("flow", [f.id for f in self.flows]))
        for name, items in named:
            repeated = sorted({item for item in items if items.count(item) > 1})
            if repeated:
                raise ValueError(f"each {name} may appear once; repeated: {', '.join(repeated)}")
        for port in self.vertiports:
            for kind in port.drones:
                if kind not in types:
                    raise ValueError(f"vertiport {port.site} bases drone type '{kind}', which is not a type id")
        for corridor in self.corridors:
            for end in (corridor.start, corridor.end):
                if end not in ports:
                    raise ValueError(f"corridor {corridor.id} ends at '{end}', which is not a vertiport")
        for flow in self.flows:
            if flow.drone not in types:
                raise ValueError(f"flow {flow.id} uses drone type '{flow.drone}', which is not a type id")
            if flow.payload_kg > types[flow.drone].payload_max_kg:
                raise ValueError(f"flow {flow.id}: payload is more than drone type '{flow.drone}' can carry")
            for end in (flow.start, flow.end):
                if end not in ports:
                    raise ValueError(f"flow {flow.id} names '{end}', which is not a vertiport")
        return self
