"""The shuttle services as one plug-in: the ``[shuttles]`` table, its four fleet services and the
operations (chargers, remote control centre) they share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.shuttles.config import Shuttles
from gwangju_twin.agents.shuttles.operations import Operations
from gwangju_twin.plugins import Kpi, Service, ServicePlugin, ServiceView, SumoVehicles

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

VEHICLE_KPIS = {
    "vehicles": Kpi("count", label_en="vehicles", label_ko="차량"),
    "vehicle_km": Kpi("km", label_en="km driven", label_ko="주행 거리"),
    "driving_hours": Kpi("h", label_en="hours driven", label_ko="주행 시간"),
    "mean_speed_kmh": Kpi("km/h", label_en="mean speed", label_ko="평균 속도"),
    "disengagements": Kpi("count", "lower", label_en="disengagements", label_ko="자율주행 해제"),
    "charge_sessions": Kpi("count", label_en="charging sessions", label_ko="충전 횟수"),
}
KPIS: dict[str, dict[str, Kpi]] = {
    "loop": {
        **VEHICLE_KPIS,
        "loop_length_km": Kpi("km", label_en="loop length", label_ko="노선 길이"),
        "loop_time_min": Kpi("min", label_en="time per loop", label_ko="한 바퀴 시간"),
        "loops_completed": Kpi("count", "higher", label_en="loops driven", label_ko="순환 운행"),
        "stop_visits": Kpi("count", "higher", label_en="stops served", label_ko="정류장 방문"),
        "windows_skipped": Kpi("count", "lower", True, "service windows skipped", "운행 못한 시간대"),
    },
    "cleaning": {
        **VEHICLE_KPIS,
        "streets_km": Kpi("km", label_en="streets to sweep", label_ko="청소할 도로"),
        "coverage_pct": Kpi("%", "higher", True, "streets swept", "거리 청소"),
        "km_swept": Kpi("km", "higher", label_en="km swept", label_ko="청소한 거리"),
        "deadhead_km": Kpi("km", "lower", label_en="km driven without sweeping", label_ko="빈 주행"),
        "planned_route_km": Kpi("km", "lower", label_en="planned route", label_ko="계획 경로"),
        "covering_walk_km": Kpi("km", label_en="shortest covering walk", label_ko="최단 순회 경로"),
        "planned_route_to_covering_walk": Kpi("1", "lower", label_en="route against the shortest walk",
                                              label_ko="최단 경로 대비"),
    },
    "waste": {
        **VEHICLE_KPIS,
        "bins": Kpi("count", label_en="bins", label_ko="쓰레기통"),
        "kg_collected": Kpi("kg", "higher", label_en="waste collected", label_ko="수거량"),
        "overflow_events": Kpi("count", "lower", True, "bins that overflowed", "넘친 쓰레기통"),
        "overflow_hours": Kpi("h", "lower", True, "hours of overflow", "넘친 시간"),
        "tours": Kpi("count", label_en="tours driven", label_ko="수거 운행"),
        "tours_planned": Kpi("count", label_en="tours planned", label_ko="계획 운행"),
    },
    "on_demand": {
        **VEHICLE_KPIS,
        "stops": Kpi("count", label_en="stops", label_ko="정류장"),
        "requests": Kpi("count", label_en="requests", label_ko="호출"),
        "served": Kpi("count", "higher", label_en="rides served", label_ko="탑승"),
        "rejected": Kpi("count", "lower", label_en="requests turned away", label_ko="거절"),
        "in_progress": Kpi("count", label_en="rides under way", label_ko="운행 중"),
        "rejection_rate": Kpi("1", "lower", True, "requests turned away", "거절률", percent=True),
        "wait_mean_s": Kpi("s", "lower", True, "mean wait", "평균 대기"),
        "wait_p95_s": Kpi("s", "lower", True, "wait, 95th percentile", "대기 95%"),
        "ride_mean_s": Kpi("s", "lower", label_en="mean ride", label_ko="평균 탑승 시간"),
        "detour_ratio_mean": Kpi("1", "lower", label_en="ride against the direct trip", label_ko="우회 비율"),
        "occupancy_mean": Kpi("1", "higher", label_en="seats used", label_ko="평균 탑승률"),
        "empty_km": Kpi("km", "lower", label_en="km driven empty", label_ko="빈 차 주행"),
    },
    "operations": {
        "disengagements": Kpi("count", "lower", label_en="disengagements", label_ko="자율주행 해제"),
        "time_stopped_h": Kpi("h", "lower", label_en="hours stopped", label_ko="정지 시간"),
        "operators": Kpi("count", label_en="remote operators", label_ko="원격 관제 요원"),
        "operator_utilisation": Kpi("1", label_en="operators busy", label_ko="관제 요원 가동률", percent=True),
        "operator_wait_mean_s": Kpi("s", "lower", True, "wait for an operator", "관제 대기"),
        "charge_sessions": Kpi("count", label_en="charging sessions", label_ko="충전 횟수"),
        "energy_charged_kwh": Kpi("kWh", label_en="energy charged", label_ko="충전량"),
        "charger_wait_mean_s": Kpi("s", "lower", True, "wait for a charger", "충전 대기"),
        "charger_utilisation": Kpi("1", label_en="chargers busy", label_ko="충전기 가동률", percent=True),
        "min_battery_kwh": Kpi("kWh", "higher", label_en="lowest battery", label_ko="최저 배터리"),
    },
}


class ShuttlesPlugin(ServicePlugin):
    """Driverless service shuttles at 5 km/h or less: loops, street cleaning, waste, on demand."""

    name = "shuttles"
    kinds = ("loop", "cleaning", "waste", "on_demand", "operations")
    table = "shuttles"
    config_model = Shuttles
    default = Shuttles.model_validate({})
    reference_keys = ("dispatch",)

    def present(self, config: Shuttles) -> bool:
        return bool(config.fleet)

    def build(self, model: TwinModel, config: Shuttles) -> list[Service]:
        operations = Operations(model, config)
        fleets = [fleet_service(fleet.service)(model, fleet, operations) for fleet in config.fleet]
        return [*fleets, operations]

    def area_refs(self, config: Shuttles) -> list[str]:
        return [fleet.area for fleet in config.fleet if fleet.area]

    def needs_roads(self, config: Shuttles) -> bool:
        return bool(config.fleet)

    def kpi_meta(self, kind: str) -> dict[str, Kpi]:
        return KPIS.get(kind, {})

    def audit_checks(self) -> tuple:
        from gwangju_twin.agents.shuttles import audit

        return audit.CHECKS

    def view(self, service: Service) -> ServiceView | None:
        from gwangju_twin.agents.shuttles import view

        return view.service_view(service)

    def sumo(self, service: Any) -> SumoVehicles:
        if service.kind == "operations":
            return SumoVehicles()
        caps = {vehicle.name: vehicle.max_speed_mps for vehicle in service.vehicles}
        return SumoVehicles(caps, (service.taxi_fleet(),) if service.kind == "on_demand" else ())


def fleet_service(service: str) -> type:
    """The class of a fleet's ``service``, its module imported when a scenario has such a fleet (a loop-only
    run needs neither the sweepers' covering walk nor on-demand dispatch). Plain import statements, not
    ``importlib.import_module``, which ``python -X importtime`` (tests/test_startup.py) does not see."""
    if service == "loop":
        from gwangju_twin.agents.shuttles.loop import LoopService

        return LoopService
    if service == "cleaning":
        from gwangju_twin.agents.shuttles.cleaning import CleaningService

        return CleaningService
    if service == "waste":
        from gwangju_twin.agents.shuttles.waste import WasteService

        return WasteService
    from gwangju_twin.agents.shuttles.on_demand import OnDemandService

    return OnDemandService


PLUGIN = ShuttlesPlugin()
