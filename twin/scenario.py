"""Scenario files: TOML validated into frozen, typed config.

A scenario names its area (an id such as ``"bitgreen"`` or a path to an area file), its
duration and seed, and the services that run in it. Quantities carry units in the file
(``"5 km/h"``, ``"30 min"``) and are SI floats here. Every problem is one
:class:`~twin.errors.ScenarioError` naming the file, key path, value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from twin.config import Frozen, Window, parse_toml, quantity, read_toml, validate
from twin.errors import ScenarioError

# Gwangju's driverless special vehicles run "at 5 km/h or less, with no driver"
# (GWANGJU_FACTS.md, seed 000): the cap no scenario may exceed (enforced on max_speed below).
SHUTTLE_SPEED_CAP_MPS = 5.0 / 3.6
# Daily service windows of the real operation (GWANGJU_FACTS.md, public facts, 2021 launch).
DEFAULT_WINDOWS = ("10:00-12:00", "14:00-16:00")


class Meta(Frozen):
    """The ``[scenario]`` table."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    area: str = Field(min_length=1)
    duration_s: quantity("duration", above="0 s", at_most="400 d") = Field(default="24 h", alias="duration")
    seed: int = Field(default=0, ge=0, lt=2**63)
    start_date: dt.date = dt.date(2026, 4, 1)
    step_s: quantity("duration", above="0 s", at_most="1 d") = Field(default="60 s", alias="step")
    record_trajectories: bool = True


class LoopFleet(Frozen):
    """A fleet of shuttles driving a fixed loop of stops, as the 2021 Gwangju operation did."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    service: Literal["loop"] = "loop"
    count: int = Field(ge=0, le=100_000)
    max_speed_mps: quantity("speed", above="0 km/h", at_most="5 km/h") = Field(default="5 km/h", alias="max_speed")
    depot: str
    route: list[str] = Field(min_length=2)
    windows_s: list[Window] = Field(default=list(DEFAULT_WINDOWS), alias="windows", min_length=1)
    dwell_s: quantity("duration", at_least="0 s", at_most="1 h") = Field(default="30 s", alias="dwell")

    @field_validator("windows_s", mode="after")
    @classmethod
    def _ordered(cls, windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for (_, end), (start, _) in zip(windows, windows[1:]):
            if start < end:
                raise ValueError("windows must be in time order and must not overlap")
        return windows


class Shuttles(Frozen):
    """The ``[shuttles]`` table."""

    snap_distance_m: quantity("length", above="0 m", at_most="5 km") = Field(default="150 m", alias="snap_distance")
    fleet: list[LoopFleet] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> Shuttles:
        ids = [fleet.id for fleet in self.fleet]
        if len(ids) != len(set(ids)):
            raise ValueError(f"fleet ids must be unique, got {ids}")
        return self


class ScenarioSpec(Frozen):
    """A whole scenario file."""

    scenario: Meta
    shuttles: Shuttles = Shuttles.model_validate({})


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with the text and file it came from (kept for run manifests)."""

    spec: ScenarioSpec
    text: str
    file: Path

    @property
    def name(self) -> str:
        return self.spec.scenario.name


def load(path: Path) -> Scenario:
    """Read and validate a scenario file."""
    path = Path(path)
    data = read_toml(path, ScenarioError)
    text = path.read_text(encoding="utf-8")
    return Scenario(validate(ScenarioSpec, data, str(path), ScenarioError), text, path)


def loads(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario text (for tests and sweeps that build scenarios in memory)."""
    data = parse_toml(text, file, ScenarioError)
    return Scenario(validate(ScenarioSpec, data, file, ScenarioError), text, Path(file))


def packaged() -> dict[str, Path]:
    """The scenarios that ship with the twin, by file stem."""
    folder = resources.files("scenarios")
    return {
        entry.name.removesuffix(".toml"): Path(str(entry))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def resolve(ref: str) -> Path:
    """A scenario path from a path or the name of a packaged scenario."""
    path = Path(ref)
    if path.suffix == ".toml" or path.exists():
        return path
    found = packaged()
    if ref in found:
        return found[ref]
    raise ScenarioError(ref, "", None, f"no such scenario file or packaged scenario; packaged: {', '.join(found)}")
