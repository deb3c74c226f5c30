"""Scenario files: TOML validated into frozen, typed config.

A scenario names its area (an id such as ``"bitgreen"`` or a path to an area file), its
duration and seed, and the services that run in it. Quantities carry units in the file
(``"5 km/h"``, ``"30 min"``) and are SI floats here. Every problem is one
:class:`~twin.errors.ScenarioError` naming the file, key path, value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from gwangju_twin.config import Frozen, parse_toml, quantity, read_toml, validate
from gwangju_twin.errors import ScenarioError
from gwangju_twin.plugins import plugins
from pydantic import Field, create_model


class Meta(Frozen):
    """The ``[scenario]`` table."""

    name: str = Field(pattern=r"^[a-z0-9_]+$")
    description: str = ""
    area: str = Field(min_length=1)
    duration_s: quantity("duration", above="0 s", at_most="400 d") = Field(default="24 h", alias="duration")
    seed: int = Field(default=0, ge=0, lt=2**32)  # [0, 2**32), as on the command line
    # a run's day must be a day whose timestamps every writer handles, with room for 400 days after it
    start_date: dt.date = Field(default=dt.date(2026, 4, 1), ge=dt.date(1970, 1, 1), le=dt.date(2200, 12, 31))
    step_s: quantity("duration", above="0 s", at_most="1 d") = Field(default="60 s", alias="step")
    record_trajectories: bool = True


class SpecBase(Frozen):
    """A whole scenario file: ``[scenario]`` and one table per registered service plug-in."""

    scenario: Meta

    def __getattr__(self, name: str) -> Any:
        """A plug-in's table the file leaves out, which this schema (of the tables named: :func:`spec_model`)
        has no field for: ``None``, as in the whole schema."""
        if not name.startswith("_") and name in {plugin.table for plugin in plugins() if plugin.table}:
            return None
        return super().__getattr__(name)

    def section(self, table: str) -> Any:
        """The config of a plug-in's table (its default when the file leaves it out)."""
        return getattr(self, table, None)

    def services_configs(self) -> list[tuple[Any, Any]]:
        """``(plug-in, its table's config)`` for every plug-in whose table is present, in plug-in order."""
        return [(plugin, self.section(plugin.table)) for plugin in plugins()
                if plugin.table and plugin.present(self.section(plugin.table))]

    def needs_roads(self) -> bool:
        """Whether any service drives on roads."""
        return any(plugin.needs_roads(config) for plugin, config in self.services_configs())

    def area_refs(self) -> list[str]:
        """Every area the scenario's services work in: its own first, then the others named, in order."""
        refs = [self.scenario.area]
        for plugin, config in self.services_configs():
            refs += plugin.area_refs(config)
        return list(dict.fromkeys(refs))


@cache
def spec_model(tables: tuple[str, ...] | None = None) -> type[SpecBase]:
    """The scenario schema: ``[scenario]`` plus the table of every registered plug-in, or only of those in
    ``tables`` and those whose table has a default (:func:`tables_of` a file's data), whose configs are
    then all that is imported."""
    fields: dict[str, Any] = {}
    for plugin in plugins():
        if plugin.table and (tables is None or plugin.table in tables) and plugin.config_model is not None:
            fields[plugin.table] = (plugin.config_model | None, plugin.default)
    return create_model("__".join(["ScenarioSpec", *([] if tables is None else fields)]), __base__=SpecBase, **fields)


def tables_of(data: Any) -> tuple[str, ...] | None:
    """The plug-in tables a scenario's schema needs for ``data``: those it names and those with a default
    (None, the whole schema, if that is every table or ``data`` is no table at all)."""
    if not isinstance(data, dict):
        return None
    with_table = [plugin for plugin in plugins() if plugin.table]
    tables = tuple(plugin.table for plugin in with_table if plugin.table in data or plugin.default is not None)
    return None if len(tables) == len(with_table) else tables


def _validate(data: Any, file: str) -> SpecBase:
    """``data`` validated by the schema of the tables it names; a mistake is told by the whole schema's
    words (the keys allowed are every plug-in's), which refuses whatever the smaller one refuses."""
    tables = tables_of(data)
    try:
        return validate(spec_model(tables), data, file, ScenarioError)
    except ScenarioError:
        if tables is None:
            raise
        return validate(spec_model(), data, file, ScenarioError)


def __getattr__(name: str) -> Any:
    if name == "ScenarioSpec":  # the whole schema, for type hints (every spec, of any tables, is a SpecBase)
        return spec_model()
    if name.startswith("ScenarioSpec__"):  # a schema of some tables (pickle finds its class by this name)
        return spec_model(tuple(name.split("__")[1:]))
    raise AttributeError(name)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with the text and file it came from (kept for run manifests)."""

    spec: SpecBase
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
    return Scenario(_validate(data, str(path)), text, path)


def loads(text: str, file: str = "<scenario>") -> Scenario:
    """Validate scenario text (for tests and sweeps that build scenarios in memory)."""
    data = parse_toml(text, file, ScenarioError)
    return Scenario(_validate(data, file), text, Path(file))


def from_data(data: dict, text: str, file: str) -> Scenario:
    """Validate already-parsed scenario data (a sweep's overridden copy of a file)."""
    return Scenario(_validate(data, file), text, Path(file))


def packaged() -> dict[str, Path]:
    """The scenarios that ship with the twin, by file stem."""
    folder = resources.files("gwangju_twin.scenarios")
    return {
        entry.name.removesuffix(".toml"): Path(str(entry))
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def resolve(ref: str) -> Path:
    """A scenario path from a path or the name of a packaged scenario."""
    path = Path(ref)
    if path.suffix == ".toml" or path.is_file():  # a folder named like a packaged scenario (its results) is not one
        return path
    found = packaged()
    if ref in found:
        return found[ref]
    raise ScenarioError(ref, "", None, f"no such scenario file or packaged scenario; packaged: {', '.join(found)}")
