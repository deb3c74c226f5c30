"""The ``[certification]`` part of a scenario: the parts-certification center as data.

Equipment types with unit counts, staff and shifts, part types with their test sequences
(equipment, staff, a duration distribution, a failure probability), arrivals by part type,
and what-if extras (units of an equipment type, staff) that a sweep can vary.
"""

from __future__ import annotations

from typing import Literal

from gwangju_twin.config import Frozen, Window, quantity
from pydantic import Field, model_validator

Hours = quantity("duration", at_least="0 s", at_most="365 d")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Distribution(Frozen):
    """A random duration: ``fixed``, ``exponential`` (mean), ``lognormal`` (mean, cv) or ``triangular``."""

    dist: Literal["fixed", "exponential", "lognormal", "triangular"] = "lognormal"
    mean_s: quantity("duration", above="0 s", at_most="365 d") = Field(alias="mean")
    cv: float = Field(default=0.3, ge=0.0, le=5.0)
    min_s: Hours | None = Field(default=None, alias="min")
    max_s: Hours | None = Field(default=None, alias="max")

    @model_validator(mode="after")
    def _triangle(self) -> Distribution:
        if self.dist == "triangular" and not (
            self.min_s is not None and self.max_s is not None and self.min_s <= self.mean_s <= self.max_s
            and 3 * self.mean_s - self.min_s - self.max_s <= self.max_s
            and 3 * self.mean_s - self.min_s - self.max_s >= self.min_s
        ):
            raise ValueError("a triangular duration needs min <= mean <= max and a mode (3 mean - min - max) between")
        return self


class Equipment(Frozen):
    """An equipment type of the center and how many units of it there are."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    building: Literal["battery", "crash", "impact", "fire"]
    units: int = Field(default=1, ge=0, le=1000)
    setup_s: Hours = Field(default="30 min", alias="setup")
    cleaning_s: Hours = Field(default="30 min", alias="cleaning")


class Test(Frozen):
    """One test of a procedure."""

    name: str
    equipment: str
    staff: int = Field(default=1, ge=0, le=100)
    duration: Distribution
    fail: float = Field(default=0.05, ge=0.0, le=1.0)


class PartType(Frozen):
    """A kind of part, its procedure and how often companies send it."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: Literal["pre_certification", "voluntary"]
    per_week: float = Field(ge=0.0, le=10_000.0)
    origins: list[str] = Field(min_length=1)
    tests: list[Test] = Field(min_length=1)
    rework: Distribution


class Certification(Frozen):
    """The ``[certification]`` table."""

    site: str = "certification_center"
    area: str | None = None  # the area whose roads bring parts in (an id or area file); default: the scenario's
    staff: int = Field(default=6, ge=0, le=10_000)
    extra_staff: int = Field(default=0, ge=0, le=10_000)
    shifts_s: list[Window] = Field(default=["09:00-18:00"], alias="shifts", min_length=1)
    workdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        default=["mon", "tue", "wed", "thu", "fri"], min_length=1)
    arrival_hours_s: Window = Field(default="09:00-17:00", alias="arrival_hours")
    transport: Literal["road", "none"] = "road"
    truck_speed_mps: quantity("speed", above="0 km/h", at_most="120 km/h") = Field(default="50 km/h",
                                                                                   alias="truck_speed")
    max_failures: int = Field(default=3, ge=1, le=100)
    wip_sample_s: quantity("duration", above="0 s", at_most="30 d") = Field(default="1 d", alias="wip_sample")
    equipment: list[Equipment] = Field(min_length=1)
    extra_units: dict[str, int] = {}
    parts: list[PartType] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Certification:
        known = {e.id for e in self.equipment}
        if len(known) != len(self.equipment):
            raise ValueError("equipment ids must be unique")
        for name, extra in self.extra_units.items():
            if name not in known:
                raise ValueError(f"extra_units names '{name}', which is not an equipment id")
            if extra < 0:
                raise ValueError(f"extra_units.{name} must be at least 0")
        for part in self.parts:
            for test in part.tests:
                if test.equipment not in known:
                    raise ValueError(f"part {part.id}, test '{test.name}' needs equipment '{test.equipment}', "
                                     "which is not an equipment id")
                if test.staff > self.staff + self.extra_staff and self.staff + self.extra_staff > 0:
                    raise ValueError(f"part {part.id}, test '{test.name}' needs {test.staff} staff, "
                                     f"more than the center has")
        return self

    def units(self, equipment_id: str) -> int:
        base = next(e.units for e in self.equipment if e.id == equipment_id)
        return base + self.extra_units.get(equipment_id, 0)
