"""Waste collection: tours respect the load limit, bins overflow when and as long as they must."""

import numpy as np
import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.agents.shuttles.vehicle_routing import savings_tours, tour_length
from gwangju_twin.agents.shuttles.waste import Bin
from gwangju_twin.model import TwinModel
from hypothesis import given
from hypothesis import strategies as st


def test_savings_joins_what_fits() -> None:
    # Depot 0 and four stops on a line at 1, 2, 3, 4 km: one tour if it fits, more if not.
    positions = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    dist = np.abs(positions[:, None] - positions[None, :])
    assert savings_tours(dist, np.array([1.0, 1.0, 1.0, 1.0]), capacity=4.0) == [[1, 2, 3, 4]]
    tours = savings_tours(dist, np.array([1.0, 1.0, 1.0, 1.0]), capacity=2.0)
    assert sorted(sorted(t) for t in tours) == [[1, 2], [3, 4]]
    assert tour_length(dist, [1, 2, 3, 4]) == pytest.approx(8.0)


@given(st.lists(st.floats(min_value=0.0, max_value=50.0), min_size=1, max_size=15),
       st.floats(min_value=10.0, max_value=100.0), st.integers(min_value=0, max_value=1000))
def test_every_stop_once_and_loads_fit(demand: list[float], capacity: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1000, size=(len(demand) + 1, 2))
    dist = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    tours = savings_tours(dist, np.array(demand), capacity)
    assert sorted(s for t in tours for s in t) == list(range(1, len(demand) + 1))
    for tour in tours:
        assert len(tour) == 1 or sum(demand[i - 1] for i in tour) <= capacity


def _classic_savings(dist: np.ndarray, demand: np.ndarray, capacity: float) -> list[list[int]]:
    """Reference: the textbook heuristic over all n^2 joins, as Python tuples (written for this test only)."""
    n = len(demand)
    tours = {i: [i] for i in range(1, n + 1)}
    load = {i: float(demand[i - 1]) for i in range(1, n + 1)}
    owner = {i: i for i in range(1, n + 1)}
    joins = sorted(((dist[i, 0] + dist[0, j] - dist[i, j], i, j) for i in range(1, n + 1) for j in range(1, n + 1)
                    if i != j), key=lambda s: (-s[0], s[1], s[2]))
    for saving, i, j in joins:
        a, b = owner[i], owner[j]
        if saving <= 0 or a == b or tours[a][-1] != i or tours[b][0] != j or load[a] + load[b] > capacity:
            continue
        tours[a] += tours.pop(b)
        load[a] += load.pop(b)
        for stop in tours[a]:
            owner[stop] = a
    return [tours[k] for k in sorted(tours)]


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=2, max_value=30),
       st.integers(min_value=1, max_value=8))
def test_array_savings_equal_the_textbook_ones(seed: int, stops: int, places: int) -> None:
    """All joins (neighbours 0) or enough neighbours: the tours of the all-pairs heuristic, with stops sharing places."""
    rng = np.random.default_rng(seed)
    points = rng.integers(0, 20, size=(places + 1, 2)) * 50.0  # few places, integer metres: exact ties happen
    place_dist = np.abs(points[:, None, :] - points[None, :, :]).sum(axis=2) * rng.uniform(1.0, 1.3, (places + 1,) * 2)
    np.fill_diagonal(place_dist, 0.0)
    where = np.concatenate([[0], rng.integers(0, places + 1, size=stops)])
    dist = place_dist[np.ix_(where, where)]
    demand = rng.uniform(5.0, 60.0, size=stops)
    expected = _classic_savings(dist, demand, 200.0)
    assert savings_tours(dist, demand, 200.0) == expected
    assert savings_tours(place_dist, demand, 200.0, None, where) == expected
    assert savings_tours(place_dist, demand, 200.0, stops - 1, where) == expected


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=5))
def test_granular_savings_cover_every_bin_within_capacity(seed: int, neighbours: int) -> None:
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1000, size=(6, 2))
    place_dist = np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))
    where = np.concatenate([[0], rng.integers(0, 6, size=40)])  # 40 bins on 5 places
    demand = rng.uniform(5.0, 60.0, size=40)
    tours = savings_tours(place_dist, demand, 150.0, neighbours, where)
    assert sorted(s for t in tours for s in t) == list(range(1, 41))
    assert all(len(t) == 1 or demand[np.array(t) - 1].sum() <= 150.0 for t in tours)
    assert len(tours) < 40  # bins at one place do get joined


def test_bin_overflow_is_timed_exactly() -> None:
    bin_ = Bin("b", 0, capacity_kg=100.0, rate_kgps=10.0 / 3600.0, level_kg=50.0, now_s=0.0)
    assert bin_.full_at_s() == pytest.approx(5 * 3600.0)
    assert bin_.overflow_so_far(4 * 3600.0) == (0, 0.0)
    assert bin_.overflow_so_far(7 * 3600.0) == (1, pytest.approx(2 * 3600.0))
    assert bin_.take(8 * 3600.0, room_kg=60.0) == pytest.approx(60.0)  # 100 kg there, room for 60
    assert bin_.overflow_so_far(8 * 3600.0) == (1, pytest.approx(3 * 3600.0))
    assert bin_.level_kg(8 * 3600.0) == pytest.approx(40.0)


def _waste(count: int, extra: str = "", fill_rate: str = "10 kg/h") -> str:
    return f"""
[[shuttles.fleet]]
id = "waste"
service = "waste"
count = {count}
depot = "depot"
bins = ["b1", "b2"]
bin_capacity = "100 kg"
fill_rate = "{fill_rate}"
fill_rate_spread = 0.0
load_limit = "1000 kg"
{extra}
"""


def test_without_collectors_bins_overflow_and_with_one_nothing_is_lost() -> None:
    graph = synthetic.line_graph(10, 100.0)
    world = synthetic.world(graph, {"depot": 1, "b1": 6, "b2": 11})
    model = TwinModel(scenario.loads(synthetic.scenario_text(_waste(0))), world)
    model.run_until(model.duration_s)
    kpis = model.kpis()["waste"]
    assert kpis["overflow_events"] == 2 and kpis["kg_collected"] == 0
    service = model.services[0]
    expected_h = sum(24.0 - b.full_at_s() / 3600.0 for b in service.bins)
    assert kpis["overflow_hours"] == pytest.approx(expected_h, abs=1e-3)

    world = synthetic.world(synthetic.line_graph(10, 100.0), {"depot": 1, "b1": 6, "b2": 11})
    model = TwinModel(scenario.loads(synthetic.scenario_text(_waste(1, 'collect_above = 0.0', fill_rate="4 kg/h"))), world)
    initial = sum(b.level_kg(0.0) for b in model.services[0].bins)
    model.run_until(model.duration_s)
    kpis = model.kpis()["waste"]
    remaining = sum(b.level_kg(model.now_s) for b in model.services[0].bins)
    filled = sum(b.rate_kgps for b in model.services[0].bins) * model.now_s
    # Emptied at 10:00 and 14:00, a bin gathers 4 kg/h x 18 h = 72 kg overnight: never full.
    assert kpis["tours"] >= 2 and kpis["overflow_events"] == 0
    # Mass balance: what was in the bins plus what fell in = collected + still in the bins.
    collected = sum(v.collected_kg + v.load_kg for v in model.services[0].vehicles)
    assert kpis["kg_collected"] == pytest.approx(collected, abs=1e-3)
    assert initial + filled == pytest.approx(collected + remaining, rel=1e-12)
