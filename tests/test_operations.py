"""Energy, chargers and remote supervision, and invariants of whole scenarios over many seeds."""

import numpy as np
import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.model import TwinModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

LOOP = """
[[shuttles.fleet]]
id = "loop"
service = "loop"
count = {count}
depot = "depot"
route = ["a", "b"]
windows = ["00:00-20:00"]
dwell = "0 s"
[shuttles.fleet.energy]
battery = "{battery}"
per_km = "0.25 kWh/km"
per_hour = "0 kW"
reserve = 0.1
"""


def _line_model(text: str) -> TwinModel:
    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1, "a": 1, "b": 11})
    return TwinModel(scenario.loads(text), world)


def test_shuttle_charges_before_it_would_run_out() -> None:
    """1 kWh at 0.25 kWh/km with a 10 % reserve: about 3.6 km per charge on a 2 km loop."""
    extra = '[shuttles.supervision]\ndisengagement_rate = "0 / h"\n[shuttles.charging]\nchargers = 1\npower = "1 kW"'
    model = _line_model(synthetic.scenario_text(LOOP.format(count=1, battery="1 kWh"), extra=extra))
    model.run_until(model.duration_s)
    vehicle = model.services[0].vehicles[0]
    assert vehicle.charge_sessions >= 5
    assert vehicle.min_battery_j >= 0.1 * 3.6e6 - 1e-6  # never into the reserve, let alone below zero
    ops = model.kpis()["operations"]
    assert ops["energy_charged_kwh"] == pytest.approx(vehicle.charged_j / 3.6e6, abs=1e-3)


def test_one_charger_makes_a_queue() -> None:
    extra = ('[shuttles.supervision]\ndisengagement_rate = "0 / h"\n'
             '[shuttles.charging]\nchargers = 1\npower = "1 kW"\ncharge_below = 0.99')
    model = _line_model(synthetic.scenario_text(LOOP.format(count=3, battery="1 kWh"), extra=extra))
    model.run_until(model.duration_s)
    ops = model.kpis()["operations"]
    assert ops["charge_sessions"] >= 3 and ops["charger_wait_mean_s"] > 0
    (depot,) = model.services[-1].depots.values()
    chargers = depot.chargers
    assert chargers.in_use == 0 and chargers.queue_length == 0  # every session ended


def test_disengagements_follow_their_rate_and_operators_are_a_resource() -> None:
    """At 6 per driving hour over about 60 h of driving: the count is Poisson around rate x hours."""
    extra = ('[shuttles.supervision]\noperators = 1\ndisengagement_rate = "6 / h"\nhandling_time = "60 s"')
    text = synthetic.scenario_text(LOOP.format(count=3, battery="500 kWh"), extra=extra, duration="24 h")
    model = _line_model(text)
    model.run_until(model.duration_s)
    vehicles = model.services[0].vehicles
    moving_h = sum(v.driving_s - v.stopped_s for v in vehicles) / 3600.0
    count = sum(v.disengagements for v in vehicles)
    assert abs(count - 6.0 * moving_h) < 4 * np.sqrt(6.0 * moving_h)
    ops = model.kpis()["operations"]
    busy_s = ops["operator_utilisation"] * model.duration_s
    stopped_s = sum(v.stopped_s for v in vehicles)
    assert 0 < busy_s <= stopped_s + 1e-6  # stopped = waiting for an operator + being handled
    assert ops["operator_wait_mean_s"] >= 0 and ops["time_stopped_h"] == pytest.approx(stopped_s / 3600, abs=1e-3)


CAPS = {"bitgreen_shuttles": 5 / 3.6, "cheomdan3_shuttles": 5 / 3.6}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(sorted(CAPS)), seed=st.integers(min_value=0, max_value=2**31))
def test_scenario_invariants_over_seeds(helsinki_world, name: str, seed: int) -> None:
    """Speed caps, battery, every request served or rejected, coverage at most 100 %, on real OSM."""
    spec = scenario.load(scenario.packaged()[name])
    model = TwinModel(spec, helsinki_world, seed=seed)
    model.run_until(model.duration_s)
    caps = {v.name: v.max_speed_mps for s in model.services[:-1] for v in s.vehicles}
    tracks = model.tracks.frame()
    for agent, rows in tracks.groupby("agent"):
        dt = np.diff(rows["t_s"].to_numpy())
        dd = np.diff(rows["odometer_m"].to_numpy())
        assert (dd[dd > 0] / dt[dd > 0] <= min(caps[agent], 5 / 3.6) * (1 + 1e-9)).all(), agent
    kpis = model.kpis()
    assert kpis["operations"]["min_battery_kwh"] >= 0
    od = kpis["on_demand"]
    assert od["requests"] == od["served"] + od["rejected"] and od["in_progress"] == 0
    assert 0 <= kpis["sweepers"]["coverage_pct"] <= 100
    assert kpis["waste"]["kg_collected"] >= 0


def test_same_seed_same_kpis_and_other_seeds_differ(helsinki_world) -> None:
    spec = scenario.load(scenario.packaged()["bitgreen_shuttles"])
    runs = []
    for seed in (3, 3, 4):
        model = TwinModel(spec, helsinki_world, seed=seed)
        model.run_until(model.duration_s)
        runs.append((model.kpis(), model.log.rows))
    assert runs[0] == runs[1]
    assert runs[0][0] != runs[2][0]
