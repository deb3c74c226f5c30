"""Street cleaning: coverage and route lengths known by hand, on SYNTHETIC networks and real OSM."""

import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.agents.shuttles.arc_routing import cover_walk, split_walk
from gwangju_twin.errors import RoutingError
from gwangju_twin.model import TwinModel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NO_STOPS = '[shuttles.supervision]\ndisengagement_rate = "0 / h"'


def _sweepers(streets: str = '"all"', count: int = 1, windows: str = '["00:00-24:00"]') -> str:
    return f"""
[[shuttles.fleet]]
id = "sweep"
service = "cleaning"
count = {count}
depot = "depot"
windows = {windows}
streets = {streets}
"""


def _run(text: str, world) -> dict:
    model = TwinModel(scenario.loads(text), world)
    model.run_until(model.duration_s)
    return model.kpis()


def test_grid_is_covered_exactly_once_with_no_deadhead() -> None:
    """A 3x3 two-way grid: 24 curbs of 100 m, every node balanced, so the route is 2.4 km exactly."""
    world = synthetic.world(synthetic.grid_graph(3, 3, 100.0), {"depot": 1})
    kpis = _run(synthetic.scenario_text(_sweepers(), extra=NO_STOPS), world)["sweep"]
    assert kpis["coverage_pct"] == 100.0
    assert kpis["streets_km"] == pytest.approx(2.4)
    assert kpis["planned_route_km"] == pytest.approx(2.4)
    assert kpis["covering_walk_km"] == pytest.approx(2.4) and kpis["covering_walk_is_optimum"]
    assert kpis["planned_route_to_covering_walk"] == pytest.approx(1.0)
    assert kpis["deadhead_km"] == pytest.approx(0.0)
    assert kpis["driving_hours"] == pytest.approx(2400.0 / (5 / 3.6) / 3600.0)


def test_one_way_sweep_pays_the_way_back() -> None:
    """Sweeping only the eastbound curb of a 1 km road: 1 km swept, 1 km back, ratio 2."""
    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1})
    kpis = _run(synthetic.scenario_text(_sweepers('["Forward"]'), extra=NO_STOPS), world)["sweep"]
    assert kpis["coverage_pct"] == 100.0
    assert kpis["km_swept"] == pytest.approx(1.0)
    assert kpis["deadhead_km"] == pytest.approx(1.0)
    assert kpis["streets_km"] == pytest.approx(1.0)
    assert kpis["covering_walk_km"] == pytest.approx(2.0)  # the way back is part of any closed walk
    assert kpis["planned_route_to_covering_walk"] == pytest.approx(1.0)


def test_windows_and_sweepers_share_the_work() -> None:
    """Two 10-minute windows a day cannot finish 2.4 km at 5 km/h in one day; two days and two sweepers can."""
    world = synthetic.world(synthetic.grid_graph(3, 3, 100.0), {"depot": 1})
    short = _sweepers(windows='["10:00-10:10", "14:00-14:10"]')
    one_day = _run(synthetic.scenario_text(short, extra=NO_STOPS), world)["sweep"]
    assert 0 < one_day["coverage_pct"] < 100
    world = synthetic.world(synthetic.grid_graph(3, 3, 100.0), {"depot": 1})
    two = _run(synthetic.scenario_text(_sweepers(count=2, windows='["10:00-10:20", "14:00-14:20"]'),
                                       extra=NO_STOPS, duration="48 h"), world)["sweep"]
    assert two["coverage_pct"] == 100.0


def test_unknown_street_is_refused() -> None:
    world = synthetic.world(synthetic.line_graph(3, 100.0), {"depot": 1})
    with pytest.raises(RoutingError, match="fleet sweep: no street named 'Nowhere Road'"):
        TwinModel(scenario.loads(synthetic.scenario_text(_sweepers('["Nowhere Road"]'))), world)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), parts=st.integers(min_value=1, max_value=4))
def test_covering_walk_on_the_real_network(helsinki_world, data, parts: int) -> None:
    """Any set of streets: the walk is closed, starts at the depot, connected, and drives them all."""
    net = helsinki_world.network
    required = data.draw(st.sets(st.integers(min_value=0, max_value=net.edge_count - 1), min_size=1, max_size=40))
    depot = data.draw(st.integers(min_value=0, max_value=net.node_count - 1))
    walk = cover_walk(net, sorted(required), depot)
    assert int(net.edge_u[walk[0]]) == depot and int(net.edge_v[walk[-1]]) == depot
    assert all(net.edge_v[a] == net.edge_u[b] for a, b in zip(walk, walk[1:]))
    assert required <= set(walk)
    assert sum(net.edge_length_m[e] for e in walk) >= sum(net.edge_length_m[e] for e in required)
    pieces = split_walk(net, walk, required, parts)
    assert len(pieces) == parts and [e for piece in pieces for e in piece] == walk


def test_the_planned_walk_is_the_exact_optimum_on_the_real_network(helsinki_world) -> None:
    """All of Helsinki's test streets: the Euler walk after min-cost balancing is the directed Chinese
    postman optimum, longer than the street length (one-way streets must be driven back)."""
    from gwangju_twin.agents.shuttles.arc_routing import covering_bound_m

    net = helsinki_world.network
    depot = helsinki_world.site_node("west_depot", 150.0)
    required = list(range(net.edge_count))
    walk = cover_walk(net, required, depot)
    bound_m, exact = covering_bound_m(net, required, depot)
    assert exact and sorted(set(walk)) == required
    assert float(net.edge_length_m[walk].sum()) == pytest.approx(bound_m, rel=1e-9)
    assert bound_m > float(net.edge_length_m.sum()) * 1.2  # 31.97 km against 25.4 km of street


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_both_balancing_solvers_find_the_same_optimum(helsinki_world, data) -> None:
    """Balancing as an assignment on shortest paths (few unbalanced units) and as a linear program on
    the network (many) are two ways to one min-cost flow: equal length, and both balance every node."""
    import numpy as np
    from gwangju_twin.agents.shuttles import arc_routing

    net = helsinki_world.network
    required = data.draw(st.sets(st.integers(min_value=0, max_value=net.edge_count - 1), min_size=1, max_size=60))
    depot = data.draw(st.integers(min_value=0, max_value=net.node_count - 1))
    graph = arc_routing._required_graph(net, sorted(required), depot)
    arc_routing._connect(net, graph)
    by_paths = arc_routing._balancing_flow(net, graph, max_transport_units=net.edge_count)
    by_program = arc_routing._balancing_flow(net, graph, max_transport_units=0)
    length_m = {name: sum(units * float(net.edge_length_m[e]) for e, units in flow.items())
                for name, flow in (("paths", by_paths), ("program", by_program))}
    surplus = np.zeros(net.node_count, dtype=np.int64)
    for n in graph.nodes:
        surplus[n] = graph.in_degree(n) - graph.out_degree(n)
    units = int(surplus[surplus > 0].sum())  # the assignment is optimal in whole millimetres: 1 mm a unit at most
    assert length_m["paths"] == pytest.approx(length_m["program"], rel=0, abs=1e-3 * units + 1e-6)
    for flow in (by_paths, by_program):
        balance = surplus.copy()
        for edge, units in flow.items():
            balance[net.edge_u[edge]] -= units  # one more exit at u, one more arrival at v
            balance[net.edge_v[edge]] += units
        assert not balance.any()
