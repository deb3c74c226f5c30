"""What the viewer draws for the drone service: corridors with their altitude bands, vertiports
with their names, the drones raised above their shadows, a chart of deliveries, headline figures
and a caption built from the scenario's own drones (types, counts, deconfliction)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gwangju_twin.areas import area_files, load_area
from gwangju_twin.plugins import Chart, Layer, Mover, ServiceView

HOUR_S = 3600.0
CORRIDOR = (120, 200, 230)
VERTIPORT = (120, 200, 230)
TERMINAL = (70, 110, 150)
PATH = (150, 170, 190)
PAD = (235, 235, 240)
STORE = {  # energy store -> (colour, English, Korean)
    "battery": ((240, 240, 250), "parcel drone", "택배 드론"),
    "hydrogen": ((255, 140, 200), "hydrogen cargo drone", "수소 화물 드론"),
}
# a drone's phase in the air or its state on the ground -> (core colour, English, Korean)
PHASES = {
    "climb": ((190, 160, 255), "climbing", "상승"),
    "cruise": ((80, 200, 255), "cruising", "순항"),
    "transition": ((190, 160, 255), "climbing", "상승"),
    "descent": ((250, 150, 60), "descending", "하강"),
    "pad": ((110, 110, 120), "on the pad", "패드 대기"),
    "landed": ((110, 110, 120), "on the pad", "패드 대기"),
    "idle": ((110, 110, 120), "on the pad", "패드 대기"),
    "turnaround": ((110, 110, 120), "on the pad", "패드 대기"),
    "waiting": ((240, 60, 60), "held on the ground", "지상 대기"),
    "charging": ((250, 220, 60), "charging", "충전"),
}


def service_view(service: Any) -> ServiceView:
    """The view of the drone service."""
    config = service.config
    movers = {f"{kind.id}:{phase}": Mover("drone", STORE[kind.store][0], STORE[kind.store][1], STORE[kind.store][2],
                                          core, state_en, state_ko)
              for kind in config.types for phase, (core, state_en, state_ko) in PHASES.items()}
    caption_ko, caption_en = _caption(config)
    layers = _layers(service)
    return ServiceView(
        service_id=service.id, area_ref=None, movers=movers, positions=lambda now_s: _positions(service, now_s),
        layers=lambda: layers, charts=(Chart("parcels delivered", "배송", "parcels",
                                             lambda: service.kpis().get("deliveries")),),
        caption_en=caption_en, caption_ko=caption_ko,
        headline_kpis=("deliveries", "on_time_rate", "losses_of_separation", "ground_hold_h", "flown_km"),
        altitudes_m=lambda now_s: np.array([drone.altitude_m(now_s) for drone in service.drones]),
        active_s=lambda: _active_s(config), busy_per_hour=lambda: _busy_per_hour(config),
        default_state=f"{config.types[0].id}:idle", tiles=2)


def _positions(service: Any, now_s: float) -> tuple[list, np.ndarray, list[str]]:
    drones = service.drones
    xy = np.array([drone.position_m(now_s) for drone in drones], dtype=float).reshape(-1, 2)
    return drones, xy, [f"{drone.type.id}:{drone.phase(now_s)}" for drone in drones]


def _layers(service: Any) -> list[Layer]:
    """The corridors (labelled with their altitude bands) and the vertiports (with their names)."""
    bands = {c.id: (c.floor_m, c.ceiling_m) for c in service.config.corridors}
    corridors = Layer("corridors", "lines", CORRIDOR, [np.asarray(line.coords)[:, :2] for line in service.corridors.values()],
                      labels=[f"{cid} {bands[cid][0]:.0f}-{bands[cid][1]:.0f} m" for cid in service.corridors],
                      width_px=3, legend_en="drone corridors", legend_ko="드론 회랑", priority=1)
    ports = list(service.port_xy)
    names = _site_names()
    vertiports = Layer("vertiports", "points", VERTIPORT, np.array([service.port_xy[p] for p in ports], dtype=float),
                       labels=[names.get(p, p) for p in ports], shape="ring", size_px=11, site_ids=ports,
                       legend_en="vertiports", legend_ko="버티포트", priority=3)
    return [*_facilities(service), corridors, vertiports]


def _facilities(service: Any) -> list[Layer]:
    """Each vertiport's terminal volume, its approach and departure paths (pad to each corridor's gate)
    and its pads (TLOF), as the planner reserves them."""
    layouts = list(getattr(service, "vertiports", {}).values())
    if not layouts:
        return []
    terminals = [np.asarray(layout.terminal.exterior.coords)[:, :2] for layout in layouts]
    paths = [np.array([pad, gate], dtype=float) for layout in layouts for pad in layout.pads_xy_m
             for gate in layout.gates_xy_m.values()]
    pads = np.concatenate([layout.pads_xy_m for layout in layouts]).astype(float)
    return [Layer("terminal volumes", "areas", TERMINAL, terminals, legend_en="terminal volumes",
                  legend_ko="터미널 공역"),
            Layer("approach and departure paths", "lines", PATH, paths, width_px=1,
                  legend_en="approach / departure paths", legend_ko="이착륙 경로"),
            Layer("pads", "points", PAD, pads, shape="square", size_px=5, legend_en="pads (TLOF)",
                  legend_ko="이착륙장")]


def _site_names() -> dict[str, str]:
    """Every site of the packaged areas and zones by id: its Korean and English name."""
    names = {}
    for area_id in area_files():
        for site in load_area(area_id).spec.sites:
            names.setdefault(site.id, f"{site.name_ko} · {site.name_en}")
    return names


def _busy_per_hour(config: Any) -> list[float]:
    """Parcels asked for in each hour of the day, over every flow."""
    return [sum(flow.per_hour[h] * flow.scale for flow in config.flows) for h in range(24)]


def _active_s(config: Any) -> list[tuple[float, float]]:
    """The hours with demand, each with the next hour too (the flights asked for late still land)."""
    busy = _busy_per_hour(config)
    hours = sorted({h + d for h in range(24) if busy[h] > 0 for d in (0, 1) if h + d < 24})
    spans: list[tuple[float, float]] = []
    for h in hours:
        if spans and spans[-1][1] == h * HOUR_S:
            spans[-1] = (spans[-1][0], (h + 1) * HOUR_S)
        else:
            spans.append((h * HOUR_S, (h + 1) * HOUR_S))
    return spans


def _caption(config: Any) -> tuple[str, str]:
    """Which drones fly, how many, where, and how they keep apart: only what the scenario has."""
    counts: dict[str, int] = {}
    for port in config.vertiports:
        for type_id, n in port.drones.items():
            counts[type_id] = counts.get(type_id, 0) + n
    kinds = {t.id: t.store for t in config.types}
    by_store = {store: sum(n for t, n in counts.items() if kinds[t] == store) for store in STORE}
    ko = " · ".join(f"{STORE[s][2]} {n}대" for s, n in by_store.items() if n)
    en = " and ".join(f"{n} {STORE[s][1]}{'s' if n > 1 else ''}" for s, n in by_store.items() if n)
    free = any(c.operational_volume for c in config.corridors)
    where_ko, where_en = ("드론특별자유화구역의 ", " in the drone free zone") if free else ("", "")
    if config.strategic:
        how_ko, how_en = "비행 전에 전체 경로를 예약해 서로의 분리 간격을 지킵니다", "every flight is reserved whole before take-off, so no two lose separation"
    elif config.tactical:
        how_ko, how_en = "비행 중 충돌을 미리 감지해 피합니다", "conflicts are foreseen and resolved in flight"
    else:
        how_ko, how_en = "분리 관리 없이 납니다", "they fly with no deconfliction"
    return f"{where_ko}{ko}: {how_ko}.", f"{en[0].upper()}{en[1:]}{where_en}: {how_en}."
