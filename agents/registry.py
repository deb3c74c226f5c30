"""The services of a scenario, built for the engine (registered in ``pyproject.toml``).

Each builder takes the model and the scenario and returns the services it makes, possibly none.
Concrete services are imported here and nowhere in the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.certification import CertificationCenter
from gwangju_twin.agents.cleaning import CleaningService
from gwangju_twin.agents.drones import DroneService
from gwangju_twin.agents.fleet import Operations
from gwangju_twin.agents.on_demand import OnDemandService
from gwangju_twin.agents.shuttle import LoopService
from gwangju_twin.agents.waste import WasteService

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.scenario import ScenarioSpec

FLEET_SERVICES = {"loop": LoopService, "cleaning": CleaningService, "waste": WasteService, "on_demand": OnDemandService}


def build_shuttle_services(model: TwinModel, spec: ScenarioSpec) -> list[Any]:
    """The scenario's shuttle fleets, plus the operations (chargers, control centre) they share."""
    if not spec.shuttles.fleet:
        return []
    operations = Operations(model, spec.shuttles)
    return [*(FLEET_SERVICES[fleet.service](model, fleet, operations) for fleet in spec.shuttles.fleet), operations]


def build_drone_service(model: TwinModel, spec: ScenarioSpec) -> list[Any]:
    return [] if spec.drones is None else [DroneService(model, spec.drones)]


def build_certification_center(model: TwinModel, spec: ScenarioSpec) -> list[Any]:
    return [] if spec.certification is None else [CertificationCenter(model, spec.certification)]
