"""The drone service's key figures. Separation figures come from :mod:`.audit` reading the
recorded tracks, not from the planner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.drones.audit import separation_figures
from gwangju_twin.units import J_PER_KWH

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.service import DroneService


def _airspace(service: DroneService) -> dict[str, Any]:
    places = service.places
    return {
        "zones": {name: kind for name, (kind, _) in places.geofences.items()},
        "approved_crossings": dict(places.approved),
        "detours_km": {c: round(m / 1000.0, 3) for c, m in places.detours_m.items()},
        "operational_volumes": dict(places.operational_volumes),
        "vertiports": {site: layout.as_data() for site, layout in places.vertiports.items()},
        "terminal_separation_m": [service.config.terminal_separation_horizontal_m,
                                  service.config.terminal_separation_vertical_m],
    }


def terminals(service: DroneService) -> dict[str, Any]:
    """The terminal volumes and their minima, as the checker takes them."""
    cfg = service.config
    return {"centres_xy_m": [list(p.centre_xy_m) for p in service.places.vertiports.values()],
            "radii_m": [p.terminal_radius_m for p in service.places.vertiports.values()],
            "minima_m": (cfg.terminal_separation_horizontal_m, cfg.terminal_separation_vertical_m)}


def drone_kpis(service: DroneService) -> dict[str, Any]:
    """The figures of ``service`` at the model's current time; a figure with no data is None with a reason."""
    now_s, delivered = service.model.now_s, service.delivered
    minima = {kind.id: service.minima(kind) for kind in service.types.values()}
    separation = separation_figures(service.track.arrays(now_s), minima, terminals(service))
    why_null = {key: "no delivery yet" for key in ("on_time_rate", "delay_mean_s", "energy_per_delivery_kwh")
                if not delivered}
    if separation["closest_approach_m"] is None:
        why_null["closest_approach_m"] = "fewer than two drones were airborne at once"
    drones = list(service.drones)
    return {
        "service": "drones",
        "drones": len(drones),
        "requests": service.requests,
        "deliveries": delivered,
        "waiting": sum(len(q) for q in service.waiting.values()),
        "flights": service.flights,
        "on_time_rate": round(service.on_time / delivered, 4) if delivered else None,
        "delay_mean_s": round(service.delay_s / delivered, 1) if delivered else None,
        "ground_hold_h": round(service.ground_hold_s / 3600.0, 3),
        "wait_by_cause_h": {cause: round(s / 3600.0, 3) for cause, s in service.wait_s.items()},
        "deconfliction": {"strategic": service.config.strategic, "tactical": service.config.tactical},
        "conflicts_detected": service.conflicts,
        "resolutions": dict(service.resolutions),
        **separation,
        "energy_per_delivery_kwh": round(service.delivery_energy_j / delivered / J_PER_KWH, 3) if delivered else None,
        "flown_km": round(sum(d.flown_m for d in drones) / 1000.0, 3),
        "min_energy_fraction": round(min((d.min_energy_j / d.type.energy_j for d in drones), default=1.0), 4),
        "pad_utilisation": {port: round(service.pad_utilisation(port), 4) for port in service.pads},
        "airspace": _airspace(service),
        **({"stand_in": service.stand_in} if service.stand_in else {}),
        **({"why_null": why_null} if why_null else {}),
    }
