"""What the certification center can do against what its scenario asks of it: offered loads and the bottleneck.

All of it is read from the ``[certification]`` table alone (arrival rates, test durations, failure
rates, units, staff, shifts), so it is known before the run starts; the realised figures (utilisation,
queues) come from the run and sit beside it in the key figures.
"""

from __future__ import annotations

from typing import Any

from gwangju_twin.agents.certification import overrun
from gwangju_twin.agents.certification.config import Certification
from gwangju_twin.units import WEEK_S


def staffed(config: Certification) -> dict[str, bool]:
    """Per equipment type: whether any of its tests needs staff (then it works in shift hours only)."""
    return {e.id: any(t.staff for p in config.parts for t in p.tests if t.equipment == e.id) for e in config.equipment}


def working_s_per_week(config: Certification, holds: list[overrun.Hold], *, staffed: bool) -> float:
    """Seconds a week a unit works with work always waiting: the whole week if its tests need no staff,
    else the shifts on workdays and the overrun of the test started last in each (:mod:`overrun`)."""
    if not staffed:
        return WEEK_S
    return overrun.working_s_per_week(holds, shifts_s=config.shifts_s, workdays=len(config.workdays))


def equipment_holds(config: Certification, equipment_id: str) -> list[overrun.Hold]:
    """Starts a week (re-tests included: 1 / (1 - fail) tries) and how long each holds a unit:
    set-up, test and cleaning."""
    equipment = next(e for e in config.equipment if e.id == equipment_id)
    fixed_s = equipment.setup_s + equipment.cleaning_s
    return [overrun.hold(p.per_week / max(1.0 - t.fail, 1e-9), fixed_s=fixed_s, dist=t.duration)
            for p in config.parts for t in p.tests if t.equipment == equipment_id]


def equipment_offered_load(config: Certification, equipment_id: str, *, staffed: bool) -> float:
    """Work the scenario sends to an equipment type over the work its units can do, both per week.

    Expected unit-seconds a week: every part type's rate times each of its tests on the equipment,
    tried 1 / (1 - fail) times on average (re-tests), holding a unit for set-up, test and cleaning.
    What a unit can do counts its shifts and the overrun of tests started in them. Above 1, queues
    grow without bound; below it they stay bounded (``tests/test_certification.py``, a year each side).
    """
    holds = equipment_holds(config, equipment_id)
    asked_s = sum(rate * mean_s for rate, mean_s, _, _ in holds)
    capacity_s = config.units(equipment_id) * working_s_per_week(config, holds, staffed=staffed)
    return asked_s / capacity_s if capacity_s else float("inf") if asked_s else 0.0


def staff_offered_load(config: Certification) -> float | None:
    """Staff-seconds a week the scenario asks for (set-up and test, re-tests included) over what the staff
    can work (their shifts and the overrun of tests started in them); ``None`` without staff."""
    setup_s = {e.id: e.setup_s for e in config.equipment}
    holds = [overrun.hold(p.per_week * t.staff / max(1.0 - t.fail, 1e-9), fixed_s=setup_s[t.equipment],
                          dist=t.duration) for p in config.parts for t in p.tests if t.staff]
    asked_s = sum(rate * mean_s for rate, mean_s, _, _ in holds)
    capacity_s = (config.staff + config.extra_staff) * working_s_per_week(config, holds, staffed=True)
    return asked_s / capacity_s if capacity_s else None


def bottleneck(loads: dict[str, float], equipment: dict[str, Any], staff: dict[str, Any]) -> dict[str, Any]:
    """The resource with the highest offered load (then the longest queue): where capacity buys most."""
    figures = {**equipment, "staff": staff}
    name = max(sorted(loads), key=lambda k: (loads[k], figures[k]["queue_mean"]))
    chosen = figures[name]
    return {"resource": name, "offered_load": loads[name], "utilisation": chosen["utilisation"],
            "queue_mean": chosen["queue_mean"], "overloaded": loads[name] > 1.0}
