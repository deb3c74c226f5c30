"""What the viewer draws for a shuttle service: its vehicles by kind and state, the streets swept,
the bins by fill, its charts, headline figures and caption (built from the fleet's own config).

The colours are the shuttles' own: a blue shuttle, a green sweeper, an orange collector; the dot
in the middle says what the vehicle is doing (white: working, yellow: charging, red: stopped for
a remote operator, grey: idle, dark: driving empty).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gwangju_twin.agents.shuttles.vehicle import FleetPositions
from gwangju_twin.plugins import Chart, Layer, Mover, ServiceView

HOUR_S = 3600.0
KIND = {  # service kind -> (vehicle kind, colour, English, Korean)
    "loop": ("shuttle", (80, 160, 255), "loop shuttle", "순환 셔틀"),
    "on_demand": ("shuttle", (80, 160, 255), "on-demand shuttle", "수요응답 셔틀"),
    "cleaning": ("sweeper", (90, 210, 120), "street sweeper", "청소차"),
    "waste": ("collector", (230, 160, 60), "waste collector", "수거차"),
}
WORKING = (255, 255, 255)
CHARGING = (250, 220, 60)
STOPPED = (240, 60, 60)
IDLE = (110, 110, 120)
DWELLING = (220, 220, 220)
SWEPT = (70, 190, 110)
# state -> (core colour or None for driving empty, English, Korean)
STATES = {
    "serving": (WORKING, "at work", "작업 중"),
    "sweeping": (WORKING, "at work", "작업 중"),
    "collecting": (WORKING, "at work", "작업 중"),
    "unloading": (DWELLING, "at a stop", "정차"),
    "dwelling": (DWELLING, "at a stop", "정차"),
    "charging": (CHARGING, "charging", "충전"),
    "to_charger": (CHARGING, "charging", "충전"),
    "stopped": (STOPPED, "stopped, operator called", "정지 · 원격 관제"),
    "idle": (IDLE, "idle", "대기"),
    "to_pickup": (None, "driving empty", "빈 차"),
    "to_route": (None, "driving empty", "빈 차"),
    "deadheading": (None, "driving empty", "빈 차"),
    "returning": (None, "driving empty", "빈 차"),
}
HEADLINES = {
    "cleaning": ("coverage_pct", "km_swept", "deadhead_km"),
    "waste": ("kg_collected", "overflow_events", "tours"),
    "on_demand": ("served", "rejection_rate", "wait_mean_s", "requests", "occupancy_mean"),
    "loop": ("stop_visits", "loops_completed", "vehicle_km"),
    "operations": ("disengagements", "operator_utilisation", "charge_sessions", "min_battery_kwh"),
}
CHARTS = {  # service kind -> (KPI key, English, Korean, unit)
    "cleaning": ("coverage_pct", "streets swept", "거리 청소", "%"),
    "waste": ("kg_collected", "waste collected", "수거량", "kg"),
    "on_demand": ("served", "rides served", "탑승", "rides"),
    "loop": ("stop_visits", "stops served", "정류장 방문", "stops"),
}


def service_view(service: Any) -> ServiceView:
    """The view of one shuttle fleet (loop, cleaning, waste, on demand) or of their shared operations."""
    if service.kind == "operations":
        return ServiceView(service.id, None, {}, lambda now_s: ((), np.zeros((0, 2)), ()),
                           headline_kpis=HEADLINES["operations"])
    config = service.config
    kind, colour, name_en, name_ko = KIND[service.kind]
    movers = {state: Mover(kind, colour, name_en, name_ko, core, state_en, state_ko)
              for state, (core, state_en, state_ko) in STATES.items()}
    key, title_en, title_ko, unit = CHARTS[service.kind]
    caption_ko, caption_en = _caption(service.kind, config)
    return ServiceView(
        service_id=service.id, area_ref=config.area, movers=movers, positions=_positions(service),
        layers=_layers(service), charts=(Chart(title_en, title_ko, unit, lambda: service.kpis().get(key)),),
        caption_en=caption_en, caption_ko=caption_ko, headline_kpis=HEADLINES[service.kind],
        active_s=lambda: [tuple(w) for w in config.windows_s],
        busy_per_hour=lambda: _busy_per_hour(config.windows_s, config.count), default_state="returning",
        describe=lambda vehicle, now_s: _describe(vehicle, riders=service.kind == "on_demand"))


def _describe(vehicle: Any, *, riders: bool) -> list[str]:
    """What a clicked vehicle shows: its state, battery, odometer and, on demand, its riders."""
    state_en = STATES.get(vehicle.state, (None, vehicle.state, ""))[1]
    lines = [vehicle.name, state_en, f"battery {100 * vehicle.battery_j / vehicle.energy.battery_j:.0f} %",
             f"odometer {vehicle.odometer_m / 1000:.2f} km"]
    if riders:
        lines.append(f"on board {len(vehicle.onboard)}, plan {len(vehicle.plan)} stops")
    return lines


def _positions(service: Any):
    """Every vehicle of the fleet where it is, in one numpy pass (:class:`FleetPositions`)."""
    cache: list[FleetPositions] = []

    def positions(now_s: float) -> tuple[list, np.ndarray, list[str]]:
        if not cache or len(cache[0].vehicles) != len(service.vehicles):
            cache[:] = [FleetPositions(service.vehicles)]
        fleet = cache[0]
        xy_m = fleet.at(now_s)
        return fleet.vehicles, xy_m, list(fleet.states)

    return positions


def _layers(service: Any):
    """The streets a cleaning fleet has swept, a waste fleet's bins by fill; the rest draws none."""
    net = service.world.network
    if service.kind == "cleaning":
        def swept() -> list[Layer]:
            lines = [net.edge_coords_m[edge] for edge in sorted(service.swept)]
            return [Layer("swept", "lines", SWEPT, lines, width_px=4, live=True,
                          legend_en="streets swept", legend_ko="청소한 도로")]
        return swept
    if service.kind == "waste":
        def bins() -> list[Layer]:
            now_s = service.model.now_s
            fill = np.array([min(b.level_kg(now_s) / b.capacity_kg, 1.0) for b in service.bins])
            xy = np.column_stack([net.x_m[[b.node for b in service.bins]], net.y_m[[b.node for b in service.bins]]])
            colours = [(255, 50, 50) if f >= 1.0 else (int(80 + 175 * f), int(200 - 150 * f), 70) for f in fill]
            return [Layer("bins", "points", (150, 200, 70), xy, live=True, colours=colours, shape="square",
                          size_px=10, legend_en="bins: empty to full", legend_ko="쓰레기통 (비움→가득)")]
        return bins
    return lambda: ()


def _busy_per_hour(windows_s: list, count: int) -> list[float]:
    """How many of the fleet's vehicles work in each hour of the day (hours partly in a window: partly)."""
    busy = [0.0] * 24
    for start_s, end_s in windows_s:
        for hour in range(24):
            overlap_s = min(end_s, (hour + 1) * HOUR_S) - max(start_s, hour * HOUR_S)
            busy[hour] += count * max(overlap_s, 0.0) / HOUR_S
    return busy


def _windows(config: Any) -> str:
    return ", ".join(f"{int(a // HOUR_S):02d}:{int(a % HOUR_S // 60):02d}-{int(b // HOUR_S):02d}:{int(b % HOUR_S // 60):02d}"
                     for a, b in config.windows_s)


def _caption(kind: str, config: Any) -> tuple[str, str]:
    """What the fleet does, in Korean and English, with its own count, speed and hours."""
    n, kmh, hours = config.count, round(config.max_speed_mps * 3.6), _windows(config)
    s = "" if n == 1 else "s"
    if kind == "cleaning":
        return (f"무인 청소차 {n}대가 시속 {kmh}km 이하로 도로를 청소합니다 ({hours}) — 2021년 빛그린산단에서 국내 최초로 운전자 없이 달렸습니다.",
                f"{n} driverless sweeper{s} clean{'s' if n == 1 else ''} the streets at {kmh} km/h or less ({hours}), "
                "as they first did in Korea at Bitgreen in 2021.")
    if kind == "waste":
        return (f"무인 수거차 {n}대가 쓰레기통이 차기 전에 돌며 수거합니다 ({hours}). 작업자는 정류장에서 기다렸다가 싣습니다.",
                f"{n} driverless collector{s} empt{'ies' if n == 1 else 'y'} the bins before they overflow ({hours}); "
                "workers wait at the stops to load them.")
    if kind == "on_demand":
        return (f"수요응답형 셔틀 {n}대: 호출하면 가장 알맞은 차량이 경로에 넣어 태웁니다 ({hours}).",
                f"{n} on-demand shuttle{s}: each request goes to the vehicle that can fit it best ({hours}).")
    return (f"순환 셔틀 {n}대가 정해진 노선 {len(config.route)}곳을 돕니다 ({hours}).",
            f"{n} loop shuttle{s} drive{'s' if n == 1 else ''} a fixed route of {len(config.route)} stops ({hours}).")
