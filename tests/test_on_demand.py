"""On-demand service: one request with a wait known by hand, rejections, pooling under capacity."""

import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.model import TwinModel

QUIET = '[shuttles.supervision]\ndisengagement_rate = "0 / h"'


def _model(count: int = 1, capacity: int = 4, dispatch: str = "insertion", max_wait: str = "20 min") -> TwinModel:
    # SYNTHETIC: a 1 km road; depot at the west end, stops at 0, 500 and 1000 m.
    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1, "a": 1, "mid": 6, "b": 11})
    text = synthetic.scenario_text(f"""
[[shuttles.fleet]]
id = "od"
service = "on_demand"
count = {count}
depot = "depot"
windows = ["10:00-11:00"]
stops = ["a", "mid", "b"]
capacity = {capacity}
demand_scale = 0.0
dispatch = "{dispatch}"
max_wait = "{max_wait}"
dwell = "0 s"
rebalance = false
""", extra=QUIET)
    return TwinModel(scenario.loads(text), world)


def test_single_request_is_served_with_the_expected_wait() -> None:
    """Idle at the depot at 10:01, asked for a trip from 500 m away: 500 m at 5 km/h is a 360 s wait."""
    model = _model()
    service = model.services[0]
    model.clock.at(36060.0, lambda: service.submit(1, 2))
    model.run_until(86400.0)
    (request,) = service.requests
    assert request.status == "served"
    assert request.pickup_s - request.t_s == pytest.approx(360.0)
    assert request.dropoff_s - request.pickup_s == pytest.approx(360.0)
    kpis = model.kpis()["od"]
    assert (kpis["served"], kpis["rejected"], kpis["wait_mean_s"], kpis["detour_ratio_mean"]) == (1, 0, 360.0, 1.0)
    assert kpis["empty_km"] == pytest.approx(1.5)  # 0.5 km to the pick-up, 1 km home from the drop-off
    assert kpis["vehicle_km"] == pytest.approx(2.0)
    assert kpis["occupancy_mean"] == pytest.approx(0.25)


def test_a_request_that_cannot_be_reached_in_time_is_rejected() -> None:
    model = _model(max_wait="5 min")
    model.clock.at(36060.0, lambda: model.services[0].submit(1, 2))
    model.run_until(86400.0)
    kpis = model.kpis()["od"]
    assert (kpis["requests"], kpis["served"], kpis["rejected"], kpis["rejection_rate"]) == (1, 0, 1, 1.0)


@pytest.mark.parametrize(("dispatch", "capacity", "served"), [("insertion", 2, 2), ("insertion", 1, 1),
                                                              ("nearest", 4, 1)])
def test_pooling_needs_insertion_and_seats(dispatch: str, capacity: int, served: int) -> None:
    """Two riders from a to b at once, one vehicle: pooled only by insertion, and only with two seats."""
    model = _model(capacity=capacity, dispatch=dispatch)
    service = model.services[0]
    model.clock.at(36060.0, lambda: (service.submit(0, 2), service.submit(0, 2)))
    model.run_until(86400.0)
    kpis = model.kpis()["od"]
    assert kpis["served"] == served and kpis["served"] + kpis["rejected"] == 2
    if served == 2:
        assert kpis["occupancy_mean"] == pytest.approx(1.0)  # 1 km with two riders, 1 km empty home


def test_requests_outside_windows_are_never_made() -> None:
    model = _model()
    service = model.services[0]
    assert all(36000.0 <= r.t_s <= 39600.0 for r in service.requests)
