"""The parts-certification center as one plug-in: the ``[certification]`` table, the center, its audit
and view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gwangju_twin.plugins import Kpi, Service, ServicePlugin, ServiceView

if TYPE_CHECKING:
    from gwangju_twin.agents.certification.config import Certification
    from gwangju_twin.model import TwinModel

KPIS = {
    "parts_shipped": Kpi("count", label_en="parts sent", label_ko="입고 부품"),
    "certified": Kpi("count", "higher", label_en="parts certified", label_ko="인증 완료"),
    "rejected": Kpi("count", label_en="parts rejected", label_ko="불합격"),
    "wip": Kpi("count", "lower", label_en="parts in work", label_ko="진행 중 부품"),
    "wip_mean": Kpi("count", "lower", label_en="parts in work, mean", label_ko="평균 진행 부품"),
    "wip_max": Kpi("count", "lower", label_en="parts in work, most", label_ko="최대 진행 부품"),
    "tests_run": Kpi("count", label_en="tests run", label_ko="시험 횟수"),
    "retest_rate": Kpi("1", "lower", label_en="tests repeated", label_ko="재시험률", percent=True),
    "lead_time_certified_mean_d": Kpi("d", "lower", True, "days to certify", "인증 기간"),
    "lead_time_all_mean_d": Kpi("d", "lower", True, "days in the center", "체류 기간"),
    "parts_open": Kpi("count", "lower", label_en="parts still open", label_ko="미완료 부품"),
    "arrivals_per_week_mean": Kpi("1/week", label_en="parts a week", label_ko="주간 입고"),
    "completions_per_week_mean": Kpi("1/week", "higher", label_en="parts done a week", label_ko="주간 완료"),
    "throughput_per_week_mean": Kpi("1/week", "higher", label_en="certified a week", label_ko="주간 인증"),
    "wip_growth_per_week": Kpi("1/week", "lower", True, "growth of parts in work", "진행 부품 증가"),
}


class CertificationPlugin(ServicePlugin):
    """The eco-friendly auto-parts certification center in Bitgreen: parts, rigs, staff, tests."""

    name = "certification"
    table = "certification"
    reference_keys = ("equipment", "building", "transport", "hands_to")
    sourced_ids = ("certification.equipment[",)

    @property
    def config_model(self) -> type[Certification]:
        """The ``[certification]`` table's model, imported when a scenario has the table (the schema of one that has
        not needs none: twin/scenario.py)."""
        from gwangju_twin.agents.certification.config import Certification

        return Certification

    def build(self, model: TwinModel, config: Certification) -> list[Service]:
        from gwangju_twin.agents.certification.center import CertificationCenter

        return [CertificationCenter(model, config)]

    def area_refs(self, config: Certification) -> list[str]:
        return [config.area] if config.area else []

    def needs_roads(self, config: Certification) -> bool:
        return config.transport == "road"

    def kpi_meta(self, kind: str) -> dict[str, Kpi]:
        return KPIS if kind == self.name else {}

    def audit_checks(self) -> tuple:
        from gwangju_twin.agents.certification import audit

        return audit.CHECKS

    def view(self, service: Service) -> ServiceView | None:
        from gwangju_twin.agents.certification import view

        return view.service_view(service)


PLUGIN = CertificationPlugin()
