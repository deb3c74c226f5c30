"""Loop shuttles on SYNTHETIC networks: analytic times and an exact event log."""

import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.errors import RoutingError
from gwangju_twin.model import TwinModel


def _scenario(route: str, *, windows: str = '["10:00-11:00"]', count: int = 1, dwell: str = "0 s",
              speed: str = "5 km/h", duration: str = "24 h") -> scenario.Scenario:
    return scenario.loads(f"""
[scenario]
name = "analytic"
area = "synthetic"
duration = "{duration}"

[[shuttles.fleet]]
id = "loop"
service = "loop"
count = {count}
max_speed = "{speed}"
depot = "depot"
route = {route}
windows = {windows}
dwell = "{dwell}"
""")


def _line_world():
    # SYNTHETIC: a straight 1 km road of ten 100 m edges, both ways, 50 km/h limit.
    graph = synthetic.grid_graph(11, 1, 100.0)
    return synthetic.world(graph, {"depot": 1, "a": 1, "b": 11})


def test_one_km_at_5_kmh_takes_720_s() -> None:
    model = TwinModel(_scenario('["a", "b"]'), _line_world())
    model.run_until(36000.0 + 720.0)
    stops = [row for row in model.log.rows if row[2] == "stop"]
    assert stops == [(36000.0, "loop-1", "stop", "a"), (pytest.approx(36720.0), "loop-1", "stop", "b")]


def test_exact_event_log_of_one_window() -> None:
    """10:00-11:00, 1 km legs of 720 s: a, b, a, b, a, then home (another leg would end after 11:00)."""
    model = TwinModel(_scenario('["a", "b"]'), _line_world())
    model.run_until(86400.0)
    assert [(round(t, 6), agent, event, detail) for t, agent, event, detail in model.log.rows] == [
        (36000.0, "loop-1", "depart", "depot"),
        (36000.0, "loop-1", "stop", "a"),
        (36720.0, "loop-1", "stop", "b"),
        (37440.0, "loop-1", "stop", "a"),
        (38160.0, "loop-1", "stop", "b"),
        (38880.0, "loop-1", "stop", "a"),
        (38880.0, "loop-1", "arrive", "depot"),
    ]
    kpis = model.kpis()["loop"]
    assert kpis["vehicle_km"] == pytest.approx(4.0)
    assert kpis["loops_completed"] == 2
    assert kpis["mean_speed_kmh"] == pytest.approx(5.0)


def test_slower_cap_and_edge_limits_both_apply() -> None:
    graph = synthetic.grid_graph(11, 1, 100.0, speed_kph=3.6)  # SYNTHETIC: a 1 m/s road
    model = TwinModel(_scenario('["a", "b"]', speed="4 km/h"), synthetic.world(graph, {"depot": 1, "a": 1, "b": 11}))
    model.run_until(36000.0 + 1000.0)
    assert model.log.rows[-1] == (pytest.approx(37000.0), "loop-1", "stop", "b")


def test_fleet_starts_a_headway_apart() -> None:
    model = TwinModel(_scenario('["a", "b"]', count=2), _line_world())
    model.run_until(86400.0)
    departs = [(t, agent) for t, agent, event, _ in model.log.rows if event == "depart"]
    assert departs == [(36000.0, "loop-1"), (pytest.approx(36720.0), "loop-2")]  # loop 1440 s / 2 vehicles


def test_windows_repeat_every_day() -> None:
    model = TwinModel(_scenario('["a", "b"]', duration="48 h"), _line_world())
    model.run_until(2 * 86400.0)
    assert [t for t, _, event, _ in model.log.rows if event == "depart"] == [36000.0, 86400.0 + 36000.0]


def test_unreachable_stop_is_refused() -> None:
    graph = synthetic.grid_graph(3, 1, 100.0)
    graph.add_node(99, x=synthetic.X0 + 500.0, y=synthetic.Y0)  # SYNTHETIC: a node no road reaches
    graph.add_edge(99, 1, length=500.0, speed_kph=30.0)
    with pytest.raises(RoutingError, match="cannot be reached"):
        TwinModel(_scenario('["a", "far"]'), synthetic.world(graph, {"depot": 1, "a": 2, "far": 99}))


def test_site_too_far_from_any_road_is_refused_with_its_distance() -> None:
    graph = synthetic.grid_graph(11, 1, 100.0)
    off_road = (synthetic.X0 + 1000.0, synthetic.Y0 + 400.0)  # 400 m north of the road's east end
    world = synthetic.world(graph, {"depot": 1, "a": 1, "b": off_road})
    with pytest.raises(RoutingError, match=r"'site b' is 400 m from the nearest road node, more than the allowed 150 m"):
        TwinModel(_scenario('["a", "b"]'), world)
