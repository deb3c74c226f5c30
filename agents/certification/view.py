"""What the viewer draws for the certification center: parts on their trucks to the center, the
parts in work as a chart, its headline figures and a caption built from its own equipment."""

from __future__ import annotations

from typing import Any

import numpy as np
from gwangju_twin.plugins import Chart, Mover, ServiceView

HOUR_S = 3600.0
PART = (190, 120, 240)
IN_WORK = ("in_transit", "waiting", "in_test", "rework")
BUILDINGS_KO = {"battery": "배터리", "crash": "충돌", "impact": "충격", "fire": "화재"}


def service_view(service: Any) -> ServiceView:
    """The view of one certification center."""
    config = service.config
    movers = {"in_transit": Mover("part", PART, "part on its truck", "운송 중 부품", (255, 255, 255),
                                  "on the road", "운송 중")}
    caption_ko, caption_en = _caption(config)
    return ServiceView(
        service_id=service.id, area_ref=config.area, movers=movers, positions=lambda now_s: _positions(service, now_s),
        charts=(Chart("parts in work", "진행 중 부품", "parts",
                      lambda: sum(part.state in IN_WORK for part in service.parts)),),
        caption_en=caption_en, caption_ko=caption_ko,
        headline_kpis=("certified", "parts_shipped", "parts_open", "lead_time_all_mean_d", "retest_rate"),
        active_s=lambda: [tuple(config.arrival_hours_s)], busy_per_hour=lambda: _busy_per_hour(config),
        default_state="in_transit")


def _positions(service: Any, now_s: float) -> tuple[list, np.ndarray, list[str]]:
    """The parts on the road now, where their trucks are."""
    moving = [part for part in service.parts if part.state == "in_transit" and part.route_m is not None]
    xy = np.array([part.route_position_m(now_s) for part in moving], dtype=float).reshape(-1, 2)
    return moving, xy, ["in_transit"] * len(moving)


def _busy_per_hour(config: Any) -> list[float]:
    """Parts arriving in each hour of a working day (spread evenly over the arrival hours)."""
    start_s, end_s = config.arrival_hours_s
    per_day = sum(part.per_week for part in config.parts) / max(len(config.workdays), 1)
    hours = max((end_s - start_s) / HOUR_S, 1e-9)
    return [per_day / hours * max(min(end_s, (h + 1) * HOUR_S) - max(start_s, h * HOUR_S), 0.0) / HOUR_S
            for h in range(24)]


def _caption(config: Any) -> tuple[str, str]:
    buildings = list(dict.fromkeys(e.building for e in config.equipment if e.units > 0))
    ko = "·".join(BUILDINGS_KO[b] for b in buildings)
    en = ", ".join(buildings)
    staff = config.staff + config.extra_staff
    return (f"친환경자동차부품인증센터: 부품이 {ko} 시험 장비와 인력 {staff}명을 기다리며 인증을 받습니다.",
            f"The eco-friendly auto-parts certification center: parts queue for the {en} rigs and {staff} staff, "
            "then pass or fail.")
