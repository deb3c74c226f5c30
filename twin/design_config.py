"""Design files and ``twin design`` options: what to vary, what must hold, what things cost.

```toml
[design]
name = "mmc_lab"
scenario = "mmc_lab.toml"              # a packaged name or a path (relative to this file)
area = "helsinki_test"                 # optional: run on another area
until = "30 d"                         # optional: shorter runs than the scenario's
seeds = 5                              # seeds 1..5 first, common to every configuration
max_seeds = 20                         # more seeds only where a decision is close
confidence = 0.95                      # one-sided, per requirement
require = ["certification.equipment.rig.wait_mean_h <= 0.12"]
[design.vary]
"certification.equipment.rig.units" = "4..9"       # whole numbers LO..HI, or a list of values
[design.cost]
"certification.equipment.rig.units" = 1.0          # default: 1 for every varied number
```

Parameter and KPI paths are those of sweeps (``twin sweep``): a key path into the scenario, list
items by ``id``; a KPI by its flat path (``service_id.figure``).
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwangju_twin import scenario as scenario_io
from gwangju_twin.confidence import OPERATORS, Requirement
from gwangju_twin.config import Frozen, quantity, read_toml, validate
from gwangju_twin.errors import ScenarioError
from gwangju_twin.sweep_config import Scalar, apply, scalar
from pydantic import Field, model_validator

RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")
MAX_CONFIGURATIONS = 1_000_000


class DesignSpec(Frozen):
    """The ``[design]`` table (the command line builds the same)."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    scenario: str
    area: str | None = None
    until_s: quantity("duration", above="0 s", at_most="400 d") | None = Field(default=None, alias="until")
    seeds: int = Field(default=5, ge=2, le=1000)
    max_seeds: int = Field(default=20, ge=2, le=10_000)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    require: list[str] = Field(min_length=1)
    vary: dict[str, str | list[Scalar]] = Field(min_length=1)
    cost: dict[str, float] = {}
    exact_limit: int = Field(default=400, ge=1, le=100_000)
    trials: int = Field(default=40, ge=1, le=10_000)
    retries: int = Field(default=2, ge=0, le=20)

    @model_validator(mode="after")
    def _seed_counts(self) -> DesignSpec:
        if self.max_seeds < self.seeds:
            raise ValueError(f"max_seeds ({self.max_seeds}) must be at least seeds ({self.seeds})")
        return self


class DesignFile(Frozen):
    design: DesignSpec


@dataclass(frozen=True)
class Design:
    """A validated design: the spec, its scenario, the values of each varied parameter, the costs."""

    spec: DesignSpec
    file: str
    scenario_path: Path
    scenario_text: str
    space: dict[str, list[Scalar]]
    requirements: list[Requirement]
    weights: dict[str, float]

    @property
    def seeds(self) -> list[int]:
        """Seeds 1..max_seeds: every configuration runs a prefix of the same list."""
        return list(range(1, self.spec.max_seeds + 1))

    def cost(self, params: dict[str, Scalar]) -> float:
        return sum(weight * float(params[path]) for path, weight in self.weights.items())

    @property
    def ordered(self) -> bool:
        """Whether every parameter is a whole-number range (a resource: more never hurts)."""
        return all(isinstance(self.spec.vary[p], str) for p in self.space)

    def grid_size(self) -> int:
        size = 1
        for values in self.space.values():
            size *= len(values)
        return size


def parse_range(text: str, where: str, file: str) -> list[Scalar]:
    """``"4..9"`` to ``[4, 5, 6, 7, 8, 9]``."""
    match = RANGE.match(text)
    if not match or int(match[1]) > int(match[2]):
        raise ScenarioError(file, where, text, "must be LO..HI with whole numbers LO <= HI (such as 4..9), "
                            "or a list of values")
    return list(range(int(match[1]), int(match[2]) + 1))


def parse_requirement(text: str, file: str) -> Requirement:
    match = REQUIREMENT.match(text)
    if not match:
        raise ScenarioError(file, "design.require", text, f"must be KPI OP VALUE with OP one of "
                            f"{', '.join(OPERATORS)}, such as \"SERVICE_ID.rejection_rate<=0.05\"")
    return Requirement(match[1], match[2], float(match[3]))


def load(path: Path, *, area: str | None = None) -> Design:
    """Read a design file and validate it against its scenario before anything runs."""
    spec = validate(DesignFile, read_toml(Path(path), ScenarioError), str(path), ScenarioError).design
    if area is not None:
        spec = spec.model_copy(update={"area": area})
    return build(spec, str(path))


def build(spec: DesignSpec, file: str) -> Design:
    """Expand the ranges, parse the requirements, and apply every value to the scenario once."""
    scenario_path = scenario_io.resolve(spec.scenario)
    if not scenario_path.is_file() and not scenario_path.is_absolute() and Path(file).parent.joinpath(scenario_path).is_file():
        scenario_path = Path(file).parent / scenario_path
    base = scenario_io.load(scenario_path)
    space = {path: parse_range(values, f"design.vary.{path}", file) if isinstance(values, str) else list(values)
             for path, values in spec.vary.items()}
    _check_space(space, file)
    for path, values in space.items():
        for value in values:
            _check_value(base, scenario_path, path, value, file)
    requirements = [parse_requirement(text, file) for text in spec.require]
    for requirement in requirements:
        _check_direction(requirement, file)
    return Design(spec, file, scenario_path, base.text, space, requirements, _weights(spec, space, file))


def _check_direction(requirement: Requirement, file: str) -> None:
    """A service level bounded on its good side (``on_time_rate <= 0.95``) is refused: the target is the worst allowed."""
    from gwangju_twin.kpi_info import describe_kpi

    meta = describe_kpi(requirement.kpi)
    if meta is None or not meta.get("service_level") or meta.get("better") is None:
        return
    wanted = "<=" if meta["better"] == "lower" else ">="
    if requirement.upper != (wanted == "<="):
        raise ScenarioError(file, "design.require", str(requirement),
                            f"{requirement.kpi} is better {meta['better']} (its service says so); state the worst "
                            f"value you accept with {wanted}")


def _check_space(space: dict[str, list[Scalar]], file: str) -> None:
    size = 1
    for path, values in space.items():
        if not values:
            raise ScenarioError(file, f"design.vary.{path}", values, "needs at least one value")
        size *= len(values)
    if size > MAX_CONFIGURATIONS:
        raise ScenarioError(file, "design.vary", size, f"at most {MAX_CONFIGURATIONS:,} configurations")


def _check_value(base: scenario_io.Scenario, scenario_path: Path, path: str, value: Scalar, file: str) -> None:
    data = copy.deepcopy(scenario_io.parse_toml(base.text, str(scenario_path), ScenarioError))
    apply(data, path, value, file)
    scenario_io.from_data(data, base.text, f"{file} ({scenario_path.name} with {path} = {value!r})")


def _weights(spec: DesignSpec, space: dict[str, list[Scalar]], file: str) -> dict[str, float]:
    """The cost weights: as given, or 1 for every parameter whose values are all numbers."""
    for path, weight in spec.cost.items():
        if path not in space:
            close = difflib.get_close_matches(path, list(space), n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; varied: {', '.join(space)}"
            raise ScenarioError(file, f"design.cost.{path}", weight, f"is not a varied parameter{hint}")
        if not all(_number(v) for v in space[path]):
            raise ScenarioError(file, f"design.cost.{path}", weight, "costs need a parameter whose values are numbers")
    if spec.cost:
        return dict(spec.cost)
    return {path: 1.0 for path, values in space.items() if all(_number(v) for v in values)}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def from_options(scenario: str, *, vary: list[str], require: list[str], cost: list[str],
                 options: dict[str, Any]) -> DesignSpec:
    """The spec of ``twin design SCENARIO --vary ... --require ... --cost ...`` (one-line errors)."""
    where = "<command line>"
    ranges: dict[str, str | list[Scalar]] = {}
    for item in vary:
        path, sep, values = item.partition("=")
        if not sep or not path or not values:
            raise ScenarioError(where, "--vary", item, "must be PATH=LO..HI or PATH=V1,V2,... "
                                "such as PATH.units=4..9")
        ranges[path] = values if ".." in values else [scalar(v) for v in values.split(",")]
    weights: dict[str, float] = {}
    for item in cost:
        path, sep, weight = item.partition("=")
        try:
            weights[path] = float(weight)
        except ValueError:
            raise ScenarioError(where, "--cost", item, "must be PATH=WEIGHT with a number, such as "
                                "PATH.count=1") from None
        if not sep:
            raise ScenarioError(where, "--cost", item, "must be PATH=WEIGHT")
    data = {"name": re.sub(r"[^a-z0-9_]", "_", Path(scenario).stem.lower()), "scenario": scenario,
            "vary": ranges, "require": list(require), "cost": weights,
            **{k: v for k, v in options.items() if v is not None}}
    return validate(DesignSpec, data, where, ScenarioError)
