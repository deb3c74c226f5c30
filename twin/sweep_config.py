"""Sweep files: a scenario, the parameters to vary, the seeds, the KPIs to keep.

```toml
[sweep]
name = "fleet_by_dispatch"
scenario = "bitgreen_shuttles"     # a packaged name or a path
area = "helsinki_test"             # optional: run on another area
seeds = { from = 1, count = 10 }   # or a list: [1, 2, 3]
keep = ["on_demand.wait_mean_s", "on_demand.rejection_rate"]   # empty: every numeric KPI
objectives = { "on_demand.wait_mean_s" = "min" }
[sweep.parameters]
"shuttles.fleet.on_demand.count" = [1, 2, 3, 4]
"shuttles.fleet.on_demand.dispatch" = ["nearest", "insertion"]
"shuttles.fleet.on_demand.demand_scale" = { from = 0.5, to = 2.0, steps = 4 }
```

A parameter is a key path into the scenario; a list of tables (fleets, parts) is entered by the
``id`` of its item (or its ``site``, for vertiports). Every combination is validated before the first run starts.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from gwangju_twin import scenario as scenario_io
from gwangju_twin.config import Frozen, quantity, read_toml, validate
from gwangju_twin.errors import ScenarioError
from pydantic import Field, model_validator

Scalar = bool | int | float | str


class Range(Frozen):
    """``{ from = A, to = B, steps = N }``: N evenly spaced values from A to B (integers stay integers)."""

    start: float = Field(alias="from")
    stop: float = Field(alias="to")
    steps: int = Field(ge=1, le=10_000)


SEED_LIMIT = 2**32  # seeds are in [0, 2**32), as on the command line (twin.preflight)
Seed = Annotated[int, Field(ge=0, lt=SEED_LIMIT)]


class SeedRange(Frozen):
    start: Seed = Field(alias="from")
    count: int = Field(ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _within_limit(self) -> SeedRange:
        if self.start + self.count > SEED_LIMIT:
            raise ValueError(f"the last seed, from + count - 1, must be less than {SEED_LIMIT}")
        return self


class SweepSpec(Frozen):
    """The ``[sweep]`` table."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    scenario: str
    area: str | None = None
    until_s: quantity("duration", above="0 s", at_most="400 d") | None = Field(default=None, alias="until")
    seeds: Annotated[list[Seed], Field(min_length=1)] | SeedRange = [0]
    keep: list[str] = []
    objectives: dict[str, Literal["min", "max"]] = {}
    retries: int = Field(default=2, ge=0, le=20)
    parameters: dict[str, list[Scalar] | Range] = {}


class SweepFile(Frozen):
    sweep: SweepSpec


@dataclass(frozen=True)
class Task:
    """One run of a sweep: everything a worker needs, picklable."""

    key: str
    scenario_path: str
    scenario_text: str
    params: dict[str, Scalar]
    seed: int
    area: str | None
    until_s: float | None


@dataclass(frozen=True)
class Sweep:
    spec: SweepSpec
    file: str
    scenario_path: Path
    tasks: list[Task]


def values(parameter: list[Scalar] | Range) -> list[Scalar]:
    if isinstance(parameter, Range):
        points = np.linspace(parameter.start, parameter.stop, parameter.steps)
        whole = float(parameter.start).is_integer() and float(parameter.stop).is_integer() and all(
            float(p).is_integer() for p in points)
        return [int(p) if whole else round(float(p), 12) for p in points]
    return list(parameter)


def seeds(spec: SweepSpec) -> list[int]:
    if isinstance(spec.seeds, SeedRange):
        return list(range(spec.seeds.start, spec.seeds.start + spec.seeds.count))
    return list(spec.seeds)


def apply(data: dict[str, Any], path: str, value: Scalar, file: str) -> None:
    """Set ``path`` (``a.b.c``; list items by ``id``) in scenario ``data`` to ``value``."""
    parts = path.split(".")
    current: Any = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(current, list):
            items = [item for item in current if isinstance(item, dict) and _item_id(item) == part]
            if not items:
                ids = ", ".join(str(_item_id(item)) for item in current if isinstance(item, dict))
                raise ScenarioError(file, f"sweep.parameters.{path}", None,
                                    f"'{'.'.join(parts[:depth])}' has no item with id '{part}'; ids: {ids}")
            current = items[0]
        elif isinstance(current, dict):
            current = current.setdefault(part, {})
        else:
            raise ScenarioError(file, f"sweep.parameters.{path}", None, f"'{'.'.join(parts[:depth])}' is not a table")
    if not isinstance(current, dict):
        raise ScenarioError(file, f"sweep.parameters.{path}", None, "does not name a key of a table")
    current[parts[-1]] = value


def _item_id(item: dict[str, Any]) -> Any:
    """How a path names an item of a list of tables: its ``id``, or its ``site`` (vertiports have no id)."""
    return item.get("id", item.get("site"))


def run_key(params: dict[str, Scalar], seed: int) -> str:
    text = json.dumps({"params": params, "seed": seed}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def task_scenario(task: Task) -> scenario_io.Scenario:
    """The scenario of one task: the base text with the task's parameters applied."""
    data = scenario_io.parse_toml(task.scenario_text, task.scenario_path, ScenarioError)
    for name, value in task.params.items():
        apply(data, name, value, task.scenario_path)
    return scenario_io.from_data(data, task.scenario_text, task.scenario_path)


def load(path: Path, *, area: str | None = None) -> Sweep:
    """Read a sweep file, expand it into tasks and validate every combination up front."""
    spec = validate(SweepFile, read_toml(Path(path), ScenarioError), str(path), ScenarioError).sweep
    return expand(spec, str(path), area=area)


def expand(spec: SweepSpec, file: str, *, area: str | None = None) -> Sweep:
    scenario_path = scenario_io.resolve(spec.scenario)
    if not scenario_path.is_absolute() and not scenario_path.exists():
        scenario_path = Path(file).parent / scenario_path
    base = scenario_io.load(scenario_path)
    base_data = read_toml(scenario_path, ScenarioError)
    names = list(spec.parameters)
    grids = [values(spec.parameters[name]) for name in names]
    tasks = []
    for combination in itertools.product(*grids):
        params = dict(zip(names, combination))
        data = copy.deepcopy(base_data)
        for name, value in params.items():
            apply(data, name, value, file)
        shown = ", ".join(f"{k} = {v!r}" for k, v in params.items())
        scenario_io.from_data(data, base.text, f"{file} ({scenario_path.name} with {shown})" if shown else str(file))
        for seed in seeds(spec):
            tasks.append(Task(run_key(params, seed), str(scenario_path), base.text, params, seed,
                              area or spec.area, spec.until_s))
    return Sweep(spec, file, scenario_path, tasks)


def scalar(text: str) -> Scalar:
    """A value written on the command line (``--param``, ``--vary``): a whole number, a number,
    true or false, or else the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)

