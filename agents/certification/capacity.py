"""What the certification center can do against what its scenario asks of it: offered loads and the bottleneck.

All of it is read from the ``[certification]`` table alone (arrival rates, test durations, failure
rates, units, staff, shifts), so it is known before the run starts; the realised figures (utilisation,
queues) come from the run and sit beside it in the key figures.
"""

from __future__ import annotations

from typing import Any

from gwangju_twin.agents.certification.config import Certification
from gwangju_twin.units import WEEK_S


def staffed(config: Certification) -> dict[str, bool]:
    """Per equipment type: whether any of its tests needs staff (then it works in shift hours only)."""
    return {e.id: any(t.staff for p in config.parts for t in p.tests if t.equipment == e.id) for e in config.equipment}


def working_s_per_week(config: Certification, *, staffed: bool) -> float:
    """Seconds a week a unit can work: the shifts on workdays if its tests need staff, else the whole week."""
    if not staffed:
        return WEEK_S
    return len(config.workdays) * sum(end_s - start_s for start_s, end_s in config.shifts_s)


def equipment_offered_load(config: Certification, equipment_id: str, *, staffed: bool) -> float:
    """Work the scenario sends to an equipment type over the work its units can do, both per week.

    Expected unit-seconds a week: every part type's rate times each of its tests on the equipment,
    tried 1 / (1 - fail) times on average (re-tests), holding a unit for set-up, test and cleaning.
    Above 1, queues grow without bound. Tests started in a shift may run past its end, so the
    realised utilisation over shift hours can exceed 1 a little.
    """
    equipment = next(e for e in config.equipment if e.id == equipment_id)
    asked_s = sum(p.per_week * (equipment.setup_s + t.duration.mean_s + equipment.cleaning_s) / max(1.0 - t.fail, 1e-9)
                  for p in config.parts for t in p.tests if t.equipment == equipment_id)
    capacity_s = config.units(equipment_id) * working_s_per_week(config, staffed=staffed)
    return asked_s / capacity_s if capacity_s else float("inf") if asked_s else 0.0


def staff_offered_load(config: Certification) -> float | None:
    """Staff-seconds a week the scenario asks for (set-up and test, re-tests included) over the staff's
    shift hours; ``None`` without staff."""
    setup_s = {e.id: e.setup_s for e in config.equipment}
    asked_s = sum(p.per_week * (setup_s[t.equipment] + t.duration.mean_s) * t.staff / max(1.0 - t.fail, 1e-9)
                  for p in config.parts for t in p.tests)
    capacity_s = (config.staff + config.extra_staff) * working_s_per_week(config, staffed=True)
    return asked_s / capacity_s if capacity_s else None


def bottleneck(loads: dict[str, float], equipment: dict[str, Any], staff: dict[str, Any]) -> dict[str, Any]:
    """The resource with the highest offered load (then the longest queue): where capacity buys most."""
    figures = {**equipment, "staff": staff}
    name = max(sorted(loads), key=lambda k: (loads[k], figures[k]["queue_mean"]))
    chosen = figures[name]
    return {"resource": name, "offered_load": loads[name], "utilisation": chosen["utilisation"],
            "queue_mean": chosen["queue_mean"], "overloaded": loads[name] > 1.0}
