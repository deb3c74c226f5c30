"""What a service is to the engine, and where the engine finds the services a scenario has.

The engine (this package) knows no concrete service. A service is anything with an ``id`` and
``kpis()``, built from the model and the scenario by a builder that a package registers under the
entry-point group :data:`GROUP` (``pyproject.toml``); the engine loads the builders by that group,
in the order of their names. So ``agents/`` plugs into the engine, and adding a service means
registering a builder, not editing the model.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol

from gwangju_twin.errors import TwinError

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.scenario import ScenarioSpec

GROUP = "gwangju_twin.services"


class Service(Protocol):
    """A part of the model that runs on its clock and reports key figures."""

    id: str

    def kpis(self) -> dict[str, Any]: ...


ServiceBuilder = Callable[["TwinModel", "ScenarioSpec"], list[Service]]


@cache
def builders() -> tuple[ServiceBuilder, ...]:
    """Every registered service builder, in the order of their entry-point names."""
    found = sorted(entry_points(group=GROUP), key=lambda entry: entry.name)
    if not found:
        raise TwinError(f"no services are registered under '{GROUP}': install the package (pip install .)")
    return tuple(entry.load() for entry in found)
