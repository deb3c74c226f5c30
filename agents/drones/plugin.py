"""Drones in corridors as one plug-in: the ``[drones]`` table, the drone service, its audit and view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwangju_twin.plugins import Kpi, Service, ServicePlugin, ServiceView

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.config import Drones
    from gwangju_twin.model import TwinModel

KPIS = {
    "drones": Kpi("count", label_en="drones", label_ko="드론"),
    "requests": Kpi("count", label_en="parcels asked for", label_ko="배송 요청"),
    "deliveries": Kpi("count", "higher", label_en="parcels delivered", label_ko="배송"),
    "waiting": Kpi("count", "lower", label_en="parcels waiting", label_ko="대기 중"),
    "flights": Kpi("count", label_en="flights", label_ko="비행"),
    "on_time_rate": Kpi("1", "higher", True, "on time", "정시", percent=True),
    "delay_mean_s": Kpi("s", "lower", True, "mean delay", "평균 지연"),
    "ground_hold_h": Kpi("h", "lower", label_en="hours held on the ground", label_ko="지상 대기"),
    "conflicts_detected": Kpi("count", label_en="conflicts foreseen", label_ko="예측된 충돌"),
    "losses_of_separation": Kpi("count", "lower", True, "losses of separation", "분리 간격 위반"),
    "closest_approach_m": Kpi("m", "higher", label_en="closest approach", label_ko="최근접 거리"),
    "time_in_loss_s": Kpi("s", "lower", label_en="time in loss of separation", label_ko="간격 위반 시간"),
    "energy_per_delivery_kwh": Kpi("kWh", "lower", label_en="energy per parcel", label_ko="배송당 에너지"),
    "flown_km": Kpi("km", label_en="km flown", label_ko="비행 거리"),
    "min_energy_fraction": Kpi("1", "higher", label_en="lowest energy left", label_ko="최저 잔량", percent=True),
}


class DronesPlugin(ServicePlugin):
    """Parcel and cargo drones in the corridors of the drone free zone and the cargo link."""

    name = "drones"
    table = "drones"
    # drone_free_zone: drones fly there; geofence: no drone may enter; control_zone: approval needed
    zone_kinds = ("drone_free_zone", "geofence", "control_zone")
    reference_keys = ("drone", "strategic", "tactical", "operational_volume", "geofences")

    @property
    def config_model(self) -> type[Drones]:
        """The ``[drones]`` table's model, imported when a scenario has the table (the schema of one that has
        not needs none: twin/scenario.py)."""
        from gwangju_twin.agents.drones.config import Drones

        return Drones

    def build(self, model: TwinModel, config: Drones) -> list[Service]:
        from gwangju_twin.agents.drones.service import DroneService

        return [DroneService(model, config)]

    def kpi_meta(self, kind: str) -> dict[str, Kpi]:
        return KPIS if kind == self.name else {}

    def audit_checks(self) -> tuple:
        from gwangju_twin.agents.drones import audit, audit_record

        return audit.CHECKS + audit_record.CHECKS

    def view(self, service: Service) -> ServiceView | None:
        from gwangju_twin.agents.drones import view

        return view.service_view(service)


PLUGIN = DronesPlugin()
