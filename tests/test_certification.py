"""The certification center: queueing theory, exact event logs, priorities, conservation, what-if."""

import math
import re

import numpy as np
import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.agents.certification.center import STATES
from gwangju_twin.errors import ScenarioError
from gwangju_twin.model import TwinModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

WORLD = synthetic.world(synthetic.grid_graph(2, 1, 100.0), {"depot": 1})


def _center(body: str, duration: str = "30 d", start: str = "2026-04-06") -> TwinModel:
    text = f"""
[scenario]
name = "lab"
area = "synthetic"
duration = "{duration}"
start_date = {start}
[certification]
transport = "none"
{body}
"""
    return TwinModel(scenario.loads(text), WORLD)


def erlang_c_wait_s(arrival_per_s: float, service_s: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = arrival_per_s * service_s
    top = a**servers / math.factorial(servers) * servers / (servers - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / service_s - arrival_per_s)


def test_mmc_mean_wait_matches_erlang_c() -> None:
    """lambda = 2/h, mean service 1 h, c = 3: Erlang C says Wq = 4/9 h = 1600 s.

    The run's 95 % confidence interval (batch means over 20 batches, warm-up dropped) must
    contain the formula's value; the assertion message says which it was.
    """
    model = _center("""
staff = 0
shifts = ["00:00-24:00"]
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
arrival_hours = "00:00-24:00"
[[certification.equipment]]
id = "rig"
building = "battery"
units = 3
setup = "0 s"
cleaning = "0 s"
[[certification.parts]]
id = "part"
kind = "voluntary"
per_week = 336.0
origins = ["nowhere"]
rework = { mean = "1 h" }
tests = [{ name = "t", equipment = "rig", staff = 0, duration = { dist = "exponential", mean = "1 h" }, fail = 0.0 }]
""", duration="250 d")
    model.run_until(model.duration_s)
    center = model.services[-1]
    waits = np.array([p.waited_s for p in center.parts if p.state == "certified"])
    waits = waits[500:]  # warm-up
    batches = np.array([b.mean() for b in np.array_split(waits, 20)])
    mean, half = batches.mean(), 2.093 * batches.std(ddof=1) / np.sqrt(len(batches))  # t(0.975, 19)
    theory = erlang_c_wait_s(2 / 3600.0, 3600.0, 3)
    assert theory == pytest.approx(1600.0)
    print(f"M/M/3 Wq: Erlang C {theory:.0f} s, simulated {mean:.0f} +- {half:.0f} s (95 % CI, {len(waits)} parts)")
    assert mean - half <= theory <= mean + half, f"Erlang C {theory:.0f} s outside the run's CI {mean:.0f} +- {half:.0f} s"
    assert center.kpis()["equipment"]["rig"]["utilisation"] == pytest.approx(2 / 3, abs=0.03)


SMALL = """
staff = 1
shifts = ["09:00-18:00"]
max_failures = 2
[[certification.equipment]]
id = "rig"
building = "battery"
setup = "30 min"
cleaning = "1 h"
[[certification.parts]]
id = "{part}"
kind = "{kind}"
per_week = 0.0
origins = ["nowhere"]
rework = {{ dist = "fixed", mean = "1 d" }}
tests = [{{ name = "t", equipment = "rig", duration = {{ dist = "fixed", mean = "2 h" }}, fail = {fail} }}]
"""


def _log(model: TwinModel) -> list[tuple[float, str, str, str]]:
    return [(round(t / 3600.0, 3), agent, event, detail) for t, agent, event, detail in model.log.rows]


def test_exact_event_log_pass() -> None:
    model = _center(SMALL.format(part="pack", kind="pre_certification", fail=0.0), duration="2 d")
    center = model.services[-1]
    model.clock.at(8 * 3600.0, lambda: center.ship(center.config.parts[0], "nowhere"))  # Monday 08:00
    model.run_until(model.duration_s)
    assert _log(model) == [(8.0, "pack-1", "shipped", "nowhere"), (8.0, "pack-1", "arrived", "certification_center"),
                           (9.0, "pack-1", "test_start", "t on rig"), (11.5, "pack-1", "passed", "t"),
                           (11.5, "pack-1", "certificate", "pack")]  # staff from 09:00, 30 min set-up, 2 h test


def test_exact_event_log_fail_rework_reject() -> None:
    model = _center(SMALL.format(part="pack", kind="pre_certification", fail=1.0), duration="3 d")
    center = model.services[-1]
    model.clock.at(9 * 3600.0, lambda: center.ship(center.config.parts[0], "nowhere"))
    model.run_until(model.duration_s)
    assert _log(model) == [
        (9.0, "pack-1", "shipped", "nowhere"), (9.0, "pack-1", "arrived", "certification_center"),
        (9.0, "pack-1", "test_start", "t on rig"), (11.5, "pack-1", "failed", "t"), (35.5, "pack-1", "reworked", "t"),
        (35.5, "pack-1", "test_start", "t on rig"), (38.0, "pack-1", "failed", "t"),
        (38.0, "pack-1", "rejected", "after 2 failures")]
    assert center.kpis()["retest_rate"] == pytest.approx(0.5)


def test_pre_certification_goes_first_and_cleaning_blocks_the_rig() -> None:
    body = SMALL.format(part="module", kind="voluntary", fail=0.0) + """
[[certification.parts]]
id = "pack"
kind = "pre_certification"
per_week = 0.0
origins = ["nowhere"]
rework = { dist = "fixed", mean = "1 d" }
tests = [{ name = "t", equipment = "rig", duration = { dist = "fixed", mean = "2 h" }, fail = 0.0 }]
"""
    model = _center(body, duration="2 d")
    center = model.services[-1]
    module, pack = center.config.parts
    model.clock.at(6 * 3600.0, lambda: center.ship(module, "nowhere"))  # voluntary, arrives first
    model.clock.at(7 * 3600.0, lambda: center.ship(pack, "nowhere"))
    model.clock.at(7.5 * 3600.0, lambda: center.ship(module, "nowhere"))
    model.run_until(model.duration_s)
    certificates = [(t, agent) for t, agent, event, _ in _log(model) if event == "certificate"]
    # 09:00 the rig goes to the pack (priority); module-1 next after 11:30 + 1 h cleaning, then module-3.
    assert certificates == [(11.5, "pack-2"), (15.0, "module-1"), (18.5, "module-3")]


def test_a_test_waiting_for_staff_holds_no_rig_and_the_staff_queue_says_so() -> None:
    """Rig a's test holds the only staff member 01:00-03:00; the test for rig b, shipped at 02:00, waits
    with rig b free (its rig is not seized alone) and starts at 03:00 with both."""
    model = _center("""
staff = 1
shifts = ["00:00-24:00"]
workdays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
[[certification.equipment]]
id = "a"
building = "battery"
setup = "0 s"
cleaning = "0 s"
[[certification.equipment]]
id = "b"
building = "battery"
setup = "0 s"
cleaning = "0 s"
[[certification.parts]]
id = "x"
kind = "voluntary"
per_week = 0.0
origins = ["nowhere"]
rework = { dist = "fixed", mean = "1 d" }
tests = [{ name = "on a", equipment = "a", duration = { dist = "fixed", mean = "2 h" }, fail = 0.0 }]
[[certification.parts]]
id = "y"
kind = "voluntary"
per_week = 0.0
origins = ["nowhere"]
rework = { dist = "fixed", mean = "1 d" }
tests = [{ name = "on b", equipment = "b", duration = { dist = "fixed", mean = "2 h" }, fail = 0.0 }]
""", duration="1 d")
    center = model.services[-1]
    x, y = center.config.parts
    model.clock.at(3600.0, lambda: center.ship(x, "nowhere"))
    model.clock.at(7200.0, lambda: center.ship(y, "nowhere"))
    model.run_until(2.5 * 3600.0)
    assert center.equipment["b"].in_use == 0 and center.staff.in_use == 1 and center.counts["waiting"] == 1
    model.run_until(model.duration_s)
    assert [(t, agent, event) for t, agent, event, _ in _log(model) if event in ("test_start", "certificate")] == [
        (1.0, "x-1", "test_start"), (3.0, "x-1", "certificate"), (3.0, "y-2", "test_start"), (5.0, "y-2", "certificate")]
    kpis = center.kpis()
    assert kpis["staff"]["queue_mean"] == round(3600.0 / 86400.0, 3)  # one test held up by staff alone for 1 h
    assert kpis["equipment"]["b"]["wait_mean_h"] == 1.0 and kpis["equipment"]["b"]["tests_queued"] == 1
    assert kpis["equipment"]["a"]["wait_mean_h"] == 0.0


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31), fail=st.floats(min_value=0.0, max_value=0.6),
       staff=st.integers(min_value=2, max_value=4))
def test_no_part_is_ever_lost(helsinki_world, seed: int, fail: float, staff: int) -> None:
    """Every part that was shipped is, at every hour, in exactly one state; none disappears."""
    text = scenario.packaged()["certification_center"].read_text(encoding="utf-8")
    text = text.replace('duration = "91 d"', 'duration = "21 d"').replace("staff = 6 ", f"staff = {staff} ")
    text = re.sub(r"fail = 0\.\d+", f"fail = {fail}", text)
    model = TwinModel(scenario.loads(text), helsinki_world, seed=seed)
    center = model.services[-1]
    while not model.finished:
        model.run_until(model.now_s + 3600.0)
        by_part = {state: 0 for state in STATES}
        for part in center.parts:
            by_part[part.state] += 1
        assert by_part == dict(center.counts) and sum(by_part.values()) == len(center.parts)
        # Staff are held by the tests running and nobody else; a part holds nothing outside a test.
        in_test = [part for part in center.parts if part.state == "in_test"]
        assert center.staff.in_use == sum(part.test.staff for part in in_test)
        assert all(part.held is None for part in center.parts if part.state != "in_test")
        for rid, rig in center.equipment.items():
            assert rig.capacity >= rig.in_use >= sum(part.test.equipment == rid for part in in_test)
    kpis = center.kpis()
    assert sum(kpis["states"].values()) == kpis["parts_shipped"]
    assert kpis["certified"] + kpis["rejected"] + center.wip == kpis["parts_shipped"]


def test_an_extra_unit_at_the_bottleneck_buys_lead_time(helsinki_world) -> None:
    path = scenario.packaged()["certification_center"]
    base = TwinModel(scenario.load(path), helsinki_world, seed=5)
    base.run_until(base.duration_s)
    before = base.services[-1].kpis()
    neck = max(before["equipment"], key=lambda rid: before["equipment"][rid]["offered_load"])
    assert neck.startswith("battery_")  # the battery building's rigs take the most work
    text = path.read_text(encoding="utf-8").replace("[certification.extra_units]", f"[certification.extra_units]\n{neck} = 1")
    more = TwinModel(scenario.loads(text), helsinki_world, seed=5)
    more.run_until(more.duration_s)
    after = more.services[-1].kpis()
    assert after["equipment"][neck]["units"] == before["equipment"][neck]["units"] + 1
    assert after["equipment"][neck]["utilisation"] < before["equipment"][neck]["utilisation"]
    assert after["lead_time_all_mean_d"] < before["lead_time_all_mean_d"] and after["certified"] >= before["certified"]
    assert before["equipment"][neck]["offered_load"] > after["equipment"][neck]["offered_load"]


def test_references_to_unknown_equipment_are_refused() -> None:
    text = scenario.packaged()["certification_center"].read_text(encoding="utf-8")
    with pytest.raises(ScenarioError, match="extra_units names 'laser_rig', which is not an equipment id"):
        scenario.loads(text.replace("[certification.extra_units]", "[certification.extra_units]\nlaser_rig = 1"))
    with pytest.raises(ScenarioError, match="needs equipment 'crash_slide', which is not an equipment id"):
        scenario.loads(text.replace('equipment = "crash_sled"', 'equipment = "crash_slide"'))


def test_a_year_of_the_default_center_is_stable_as_its_loads_say(helsinki_world) -> None:
    """Tests started in a shift run past its end: counted so (capacity.py), the center's loads are below 1,
    its flag says it is not overloaded, and over a year its queues indeed do not grow."""
    path = scenario.packaged()["certification_center"]
    model = TwinModel(scenario.load(path), helsinki_world, seed=1, duration_s=365 * 86400.0)
    model.run_until(model.duration_s)
    kpis = model.services[-1].kpis()
    neck = kpis["bottleneck"]
    loads = [e["offered_load"] for e in kpis["equipment"].values()] + [kpis["staff"]["offered_load"]]
    assert not kpis["overloaded"] and not neck["overloaded"] and neck["offered_load"] == max(loads)
    assert 0.75 < kpis["equipment"]["battery_vibration_shock_table"]["offered_load"] < 1.0
    assert kpis["equipment"]["battery_electrical_tester"]["units"] == 2  # two of the 8 rooms (ASSUMPTION)
    assert abs(kpis["wip_growth_per_week"]) < 0.5
    assert kpis["completions_per_week_mean"] == pytest.approx(kpis["arrivals_per_week_mean"], abs=0.5)
    table = kpis["equipment"]["battery_vibration_shock_table"]
    assert table["utilisation"] > 0.85 and table["utilisation_all_hours"] < 0.4  # busy whenever staff are there
    for rid, e in kpis["equipment"].items():  # Little's law: L = lambda W, with every queued test counted
        arrivals_per_s = e["tests_queued"] / model.duration_s
        wait_s = (e["wait_mean_h"] or 0.0) * 3600.0
        assert e["queue_mean"] == pytest.approx(arrivals_per_s * wait_s, abs=2e-3), rid


def test_figures_without_data_are_null_with_a_reason() -> None:
    model = _center(SMALL.format(part="pack", kind="pre_certification", fail=0.0), duration="1 d")
    model.run_until(model.duration_s)
    kpis = model.services[-1].kpis()
    assert kpis["parts_shipped"] == 0 and kpis["lead_time_certified_mean_d"] is None
    assert kpis["lead_time_all_mean_d"] is None and kpis["retest_rate"] is None
    assert kpis["why_null"]["lead_time_certified_mean_d"] == "no part certified yet"
    assert kpis["why_null"]["equipment.rig.wait_mean_h"] == "no test queued for it"


LIMIT_LAB = """
staff = 2
shifts = ["09:00-18:00"]
[[certification.equipment]]
id = "rig"
building = "battery"
setup = "0 s"
cleaning = "0 s"
[[certification.parts]]
id = "part"
kind = "voluntary"
per_week = {per_week}
origins = ["nowhere"]
rework = {{ mean = "1 h" }}
tests = [{{ name = "t", equipment = "rig", duration = {{ dist = "fixed", mean = "4 h" }}, fail = 0.0 }}]
"""


@pytest.mark.parametrize(("per_week", "load"), [(13.5, 0.9), (16.5, 1.1)])
def test_the_offered_load_predicts_whether_queues_grow_over_a_year(per_week: float, load: float) -> None:
    """One rig, 4 h tests, a 9 h shift on 5 days: 3 starts a shift (the third runs to 21:00), 60 h a week.

    At 13.5 tests a week the load is 0.9 (over shift hours alone it would be 1.2, "overloaded"); at
    16.5 it is 1.1. A year of each: the queue stays bounded below the limit and grows by about the
    excess (16.5 - 15 = 1.5 tests a week) above it.
    """
    model = _center(LIMIT_LAB.format(per_week=per_week), duration="365 d")
    model.run_until(model.duration_s)
    kpis = model.services[-1].kpis()
    assert kpis["equipment"]["rig"]["offered_load"] == pytest.approx(load)
    assert kpis["overloaded"] is (load > 1.0)
    growth = kpis["wip_growth_per_week"]
    if load < 1.0:
        assert abs(growth) < 0.3 and kpis["wip_samples"][-1] < 30, (growth, kpis["wip_samples"][-10:])
    else:
        assert growth == pytest.approx(1.5, abs=0.5), growth
