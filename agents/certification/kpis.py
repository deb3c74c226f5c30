"""The certification center's key figures: parts, lead times, flow, equipment, staff and the bottleneck.

A figure without data is ``None``, and ``why_null`` says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.certification import capacity
from gwangju_twin.agents.certification.parts import STATES
from gwangju_twin.units import DAY_S, WEEK_S

if TYPE_CHECKING:
    from gwangju_twin.agents.certification.center import CertificationCenter


def center_kpis(center: CertificationCenter) -> dict[str, Any]:
    """Every key figure of ``center`` now."""
    center.on_wip_change()
    now_s = center.model.now_s
    floor = center.floor
    why_null: dict[str, str] = {}
    equipment = {rid: equipment_kpis(center, rid, why_null) for rid in floor.equipment}
    staff = staff_kpis(center)
    loads = {rid: e["offered_load"] for rid, e in equipment.items()}
    if staff["offered_load"] is not None:
        loads["staff"] = staff["offered_load"]
    figures = {
        "service": "certification",
        "parts_shipped": len(center.parts),
        "states": {state: center.counts[state] for state in STATES},
        "certified": center.counts["certified"],
        "rejected": center.counts["rejected"],
        **lead_times(center, why_null),
        **flow(center, now_s),
        "wip_mean": round(center.wip_area / now_s, 3) if now_s else None,
        "wip_max": center.wip_max,
        "wip_samples": center.wip_samples,
        "tests_run": floor.tests_run,
        "retest_rate": round(floor.retests / floor.tests_run, 4) if floor.tests_run else None,
        "staff": staff,
        "equipment": equipment,
        "bottleneck": capacity.bottleneck(loads, equipment, staff),
    }
    figures["overloaded"] = max(loads.values()) > 1.0
    if not now_s:
        why_null["wip_mean"] = "no time has passed"
    if not floor.tests_run:
        why_null["retest_rate"] = "no test has run"
    if why_null:
        figures["why_null"] = why_null
    return figures


def lead_times(center: CertificationCenter, why_null: dict[str, str]) -> dict[str, Any]:
    """Shipment to certificate for certified parts, and for every part with open ones at their age so far."""
    now_s, parts = center.model.now_s, center.parts
    certified = np.array([(p.done_s - p.shipped_s) / DAY_S for p in parts.select(lambda p: p.state == "certified")])
    every = np.array([((p.done_s if p.done_s is not None else now_s) - p.shipped_s) / DAY_S for p in parts])
    open_parts = len(parts.select(lambda p: p.done_s is None))
    if not len(certified):
        why_null["lead_time_certified_mean_d"] = why_null["lead_time_certified_p95_d"] = "no part certified yet"
    if not len(every):
        why_null["lead_time_all_mean_d"] = "no part shipped"
    return {
        "lead_time_certified_mean_d": round(float(certified.mean()), 3) if len(certified) else None,
        "lead_time_certified_p95_d": round(float(np.percentile(certified, 95)), 3) if len(certified) else None,
        # Open parts count at their age so far: a lower bound on what their lead time will be.
        "lead_time_all_mean_d": round(float(every.mean()), 3) if len(every) else None,
        "lead_time_all_is_lower_bound": open_parts > 0,
        "parts_open": open_parts,
    }


def flow(center: CertificationCenter, now_s: float) -> dict[str, Any]:
    """Arrivals and completions per week, and the trend of parts in the system."""
    parts = center.parts
    weeks = max(int(np.ceil(now_s / WEEK_S)), 1)
    arrivals = np.bincount([int(p.shipped_s // WEEK_S) for p in parts], minlength=weeks)[:weeks]
    done = np.bincount([int(p.done_s // WEEK_S) for p in parts if p.done_s is not None], minlength=weeks)[:weeks]
    certified = np.bincount([int(t // WEEK_S) for t, _ in center.certificates], minlength=weeks)[:weeks]
    samples = np.asarray(center.wip_samples, dtype=float)
    sampled_week = np.arange(len(samples)) * center.config.wip_sample_s / WEEK_S
    growth = float(np.polyfit(sampled_week, samples, 1)[0]) if len(samples) >= 3 else None
    return {
        "arrivals_per_week_mean": round(float(arrivals.mean()), 3),
        "completions_per_week_mean": round(float(done.mean()), 3),
        "throughput_per_week_mean": round(float(certified.mean()), 3),
        "certified_per_week": certified.tolist(),
        "wip_growth_per_week": round(growth, 3) if growth is not None else None,
    }


def working_s(center: CertificationCenter, equipment_id: str) -> float:
    """Seconds the equipment could work so far: shift hours if its tests need staff, else all hours."""
    if center.staffed[equipment_id]:
        return center.floor.staff.available_unit_s() / center.staff_total if center.staff_total else 0.0
    return center.model.now_s


def equipment_kpis(center: CertificationCenter, rid: str, why_null: dict[str, str]) -> dict[str, Any]:
    """Units, offered load, utilisation and queue of one equipment type."""
    floor, now_s = center.floor, center.model.now_s
    resource = floor.equipment[rid]
    units_s = resource.capacity * working_s(center, rid)
    queued_s = floor.queue.waiting_area(resource)
    entries = floor.queue.joined[resource]
    # Waits of every test that queued, still-waiting ones up to now: queue_mean = entries / T * wait (Little).
    wait_h = queued_s / entries / 3600.0 if entries else None
    if not entries:
        why_null[f"equipment.{rid}.wait_mean_h"] = "no test queued for it"
    if not units_s:
        why_null[f"equipment.{rid}.utilisation"] = "no working hours yet"
    staffed = center.staffed[rid]
    return {
        "units": resource.capacity,
        "works": "shift hours" if staffed else "all hours",
        "offered_load": round(capacity.equipment_offered_load(center.config, rid, staffed=staffed), 4),
        "utilisation": round(resource.busy_unit_s() / units_s, 4) if units_s else None,
        "utilisation_all_hours": round(resource.utilisation(), 4),
        "tests_queued": entries,
        "tests_started": floor.queue.started[resource],
        "wait_mean_h": round(wait_h, 3) if wait_h is not None else None,
        "queue_mean": round(queued_s / now_s if now_s else 0.0, 3),
    }


def staff_kpis(center: CertificationCenter) -> dict[str, Any]:
    """Staff count, offered load, utilisation over shift hours and the tests held up by staff alone."""
    staff, now_s = center.floor.staff, center.model.now_s
    shift_unit_s = staff.available_unit_s()
    load = capacity.staff_offered_load(center.config)
    held_s = center.floor.queue.waiting_area(staff, "held_alone")
    return {
        "count": center.staff_total,
        "offered_load": round(load, 4) if load is not None else None,
        "utilisation": round(staff.busy_unit_s() / shift_unit_s, 4) if shift_unit_s else None,
        "queue_mean": round(held_s / now_s if now_s else 0.0, 3),
    }
