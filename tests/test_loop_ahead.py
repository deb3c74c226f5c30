"""Loop shuttles driving their stops ahead (agents/shuttles/loop_ahead.py) on the real Helsinki roads:
every figure, log row and the event count must equal stop-by-stop driving, to the bit."""

import pytest
from gwangju_twin import scenario
from gwangju_twin.model import TwinModel
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

STOPS = ["south_stop", "north_stop", "east_stop", "centre_stop", "southwest_stop"]
STATE = ("node", "odometer_m", "driving_s", "battery_j", "min_battery_j", "stop_visits", "loops_completed",
         "charge_sessions", "state", "_next_stop")


def _text(count: int, route: list[str], battery_kwh: float, rate_per_h: float, duration_h: float) -> str:
    fleet = f"""
service = "loop"
count = {count}
depot = "west_depot"
route = {route!r}
windows = ["06:00-11:30", "13:00-23:00"]
dwell = "20 s"
energy = {{ battery = "{battery_kwh} kWh" }}
""".replace("'", '"')
    # Two fleets on the same loop drive in lockstep: their stops tie to the bit, and the log must
    # still order them as their stop-by-stop events would.
    return f"""
[scenario]
name = "ahead"
area = "helsinki_test"
duration = "{duration_h} h"
record_trajectories = false
[shuttles.supervision]
disengagement_rate = "{rate_per_h} / h"
[shuttles.charging]
chargers = 1
[[shuttles.fleet]]
id = "a"{fleet}
[[shuttles.fleet]]
id = "b"{fleet}
"""


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    count=st.integers(min_value=1, max_value=6),
    route=st.lists(st.sampled_from(STOPS), min_size=2, max_size=4, unique=True),
    battery_kwh=st.sampled_from([1.5, 4.0, 100.0]),
    rate_per_h=st.sampled_from([0.0, 0.0, 1.0]),
    duration_h=st.sampled_from([9.7, 24.0, 49.5]),
    seed=st.integers(min_value=0, max_value=2**32),
)
@example(count=5, route=["east_stop", "north_stop"], battery_kwh=1.5, rate_per_h=0.0, duration_h=49.5, seed=1)
def test_driving_ahead_changes_nothing(helsinki_world, monkeypatch, count, route, battery_kwh, rate_per_h, duration_h,
                                       seed) -> None:
    """Headless (stops driven ahead) against watched (each stop an event of its own): the same
    log rows in the same order, KPIs, event count and each shuttle's state at the end; small
    batteries send shuttles home to charge at one charger, windows end and days repeat."""
    from gwangju_twin.agents.shuttles import loop

    calls = []
    real = loop.drive_ahead
    monkeypatch.setattr(loop, "drive_ahead", lambda *a: calls.append(1) or real(*a))
    text = _text(count, route, battery_kwh, rate_per_h, duration_h)

    def run(headless: bool):
        model = TwinModel(scenario.loads(text), helsinki_world, seed=seed)
        model.headless = headless
        for chunk in range(1, 8):  # in chunks, as runner.simulate runs it
            model.run_until(model.duration_s * chunk / 7)
        states = [tuple(getattr(v, name) for name in STATE) for s in model.services if s.id in "ab" for v in s.vehicles]
        return model.kpis(), model.log.rows, states

    ahead = run(True)
    assert bool(calls) == (rate_per_h == 0.0)  # driven ahead exactly when no disengagement can stop a shuttle
    calls.clear()
    one_by_one = run(False)
    assert not calls
    assert ahead[1] == one_by_one[1]
    assert ahead[0] == one_by_one[0]  # events_processed included: one event per stop either way
    assert ahead[2] == one_by_one[2]


def test_a_watched_shuttle_is_not_driven_ahead(helsinki_world) -> None:
    """A fleet view watching the shuttles (the viewer) sees each stop when it happens."""
    from gwangju_twin.agents.shuttles.vehicle import FleetPositions

    model = TwinModel(scenario.loads(_text(3, ["south_stop", "north_stop"], 100.0, 0.0, 24.0)), helsinki_world, seed=1)
    model.headless = True
    vehicles = [v for s in model.services if s.id in "ab" for v in s.vehicles]
    FleetPositions(vehicles)
    model.run_until(12 * 3600.0)
    logged = sum(1 for row in model.log.rows if row[2] == "stop")
    assert logged == sum(v.stop_visits for v in vehicles) > 0  # nothing counted before its stop is logged
    assert all(not v.stop_rows for v in vehicles)


@pytest.mark.parametrize("headless", [True, False])
def test_stop_visits_are_never_ahead_of_the_log_when_not_headless(helsinki_world, headless) -> None:
    """Stopped half-way, a headless run may hold stops it drove ahead (their rows still due); a
    run that is looked at holds none."""
    model = TwinModel(scenario.loads(_text(4, ["east_stop", "centre_stop"], 100.0, 0.0, 24.0)), helsinki_world, seed=2)
    model.headless = headless
    model.run_until(7.25 * 3600.0)
    vehicles = [v for s in model.services if s.id in "ab" for v in s.vehicles]
    due = sum(len(v.stop_rows) for v in vehicles)
    logged = sum(1 for row in model.log.rows if row[2] == "stop")
    assert logged + due == sum(v.stop_visits for v in vehicles)
    assert (due > 0) == headless
