"""The compiled road network's routing against slow, obvious references on the real Helsinki map."""

from pathlib import Path

import numpy as np
import pytest
from gwangju_twin.network import RoadNetwork


def _reference_times(net: RoadNetwork, target: int, speed_mps: float) -> np.ndarray:
    """Walk the route of every node to the target edge by edge, adding each edge's time."""
    times = np.full(net.node_count, np.inf)
    for node in range(net.node_count):
        if np.isfinite(net.distance_m(node, target)):
            times[node] = sum(net.edge_time_s(e, speed_mps) for e in net.route_edges(node, target))
    return times


@pytest.mark.parametrize("speed_kph", [5.0, 25.0, 50.0, 200.0])
def test_time_to_target_is_the_route_time_of_every_node(helsinki_world, speed_kph: float) -> None:
    net = helsinki_world.network
    assert net.edge_speed_limit_mps.min() < 25 / 3.6 < net.edge_speed_limit_mps.max()  # a cap above some limits
    for target in (0, net.node_count // 2, net.node_count - 1):
        expected = _reference_times(net, target, speed_kph / 3.6)
        got = net.time_to_s(target, speed_kph / 3.6)
        assert np.array_equal(np.isinf(got), np.isinf(expected))
        assert got[np.isfinite(got)] == pytest.approx(expected[np.isfinite(expected)], rel=1e-9, abs=1e-9)


def test_one_km_at_5_kmh_takes_720_s(helsinki_world) -> None:
    net = helsinki_world.network
    times = net.time_to_s(0, 5 / 3.6)
    dist = net.toward(0)[0]
    far = int(np.argmax(np.where(np.isfinite(dist), dist, -1)))
    assert times[far] == pytest.approx(dist[far] / 1000.0 * 720.0, rel=1e-12)


def test_route_caches_are_bounded_in_bytes(helsinki_world) -> None:
    net = helsinki_world.network
    small = RoadNetwork.__new__(RoadNetwork)
    small.__dict__.update({k: v for k, v in net.__dict__.items() if not k.startswith("_")})
    small._index(cache_bytes=12 * net.node_count * 2 * 10)  # room for 10 trees
    for target in range(40):
        small.time_to_s(target, 5 / 3.6)
    assert len(small._toward_cache) == 10 and len(small._time_cache) <= 15
    assert list(small._toward_cache)[-1] == 39  # least recently used went first


def test_point_along_follows_the_edge_geometry(helsinki_world) -> None:
    import shapely

    net = helsinki_world.network
    bent = [e for e in range(net.edge_count) if len(net.edge_coords_m[e]) > 3][:20]
    straight = [e for e in range(net.edge_count) if len(net.edge_coords_m[e]) == 2][:5]
    assert bent and straight
    for edge in bent + straight:
        line = shapely.LineString(net.edge_coords_m[edge])
        for fraction in (0.0, 0.13, 0.5, 0.77, 1.0):
            point = line.interpolate(fraction, normalized=True)
            assert net.point_along(edge, fraction) == pytest.approx((point.x, point.y), abs=1e-6)


def test_points_along_many_at_once_are_each_point_along(helsinki_world) -> None:
    """The vectorised placement (the viewer's, for thousands of vehicles a frame) against the one-by-one one."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    net = helsinki_world.network
    fractions = st.one_of(st.sampled_from([0.0, 1.0]), st.floats(min_value=0.0, max_value=1.0))

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, net.edge_count - 1), fractions), min_size=1, max_size=50))
    def check(pairs: list[tuple[int, float]]) -> None:
        edges, fractions_ = zip(*pairs)
        got = net.points_along(np.array(edges), np.array(fractions_))
        expected = np.array([net.point_along(e, f) for e, f in pairs])
        assert np.allclose(got, expected, rtol=0, atol=1e-6)

    check()
    # every edge, both ends and its middle, in one call
    every = np.arange(net.edge_count)
    for fraction in (0.0, 0.5, 1.0):
        expected = np.array([net.point_along(e, fraction) for e in every])
        assert np.allclose(net.points_along(every, np.full(net.edge_count, fraction)), expected, rtol=0, atol=1e-6)


def _fresh(net: RoadNetwork) -> RoadNetwork:
    """A copy of ``net`` with nothing worked out yet: no trees in memory, no sparse matrices."""
    copy = RoadNetwork.__new__(RoadNetwork)
    copy.__dict__.update({k: v for k, v in net.__dict__.items() if not k.startswith("_")})
    copy._index(cache_bytes=12 * net.node_count * 2 * 64)
    return copy


def test_kept_trees_are_scipys_to_the_last_bit_and_are_read_back_without_building_a_matrix(
        helsinki_world, tmp_path: Path, monkeypatch) -> None:
    from scipy.sparse.csgraph import dijkstra

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    net, targets = helsinki_world.network, [0, 17, 93, 184]
    first = _fresh(net)
    worked_out = {t: first.toward(t) for t in targets}
    assert first._sparse is not None and len(list((tmp_path / "routes").rglob("*.npy"))) == len(targets)
    second = _fresh(net)
    for t in targets:
        dist, pred = dijkstra(first.matrix.T.tocsr(), directed=True, indices=t, return_predecessors=True)
        read = second.toward(t)
        for kept, computed, exact in zip(read, worked_out[t], (dist, pred.astype(np.int32))):
            assert kept.dtype == exact.dtype and kept.tobytes() == computed.tobytes() == exact.tobytes()
        assert second.route_edges(5, t) == first.route_edges(5, t)
    assert second._sparse is None  # no tree was missing: nothing asked SciPy


def test_a_damaged_kept_tree_is_worked_out_again_and_a_cache_that_cannot_be_written_still_routes(
        helsinki_world, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    net = helsinki_world.network
    exact = _fresh(net).toward(42)
    (kept,) = (tmp_path / "routes").rglob("42.npy")
    kept.write_bytes(kept.read_bytes()[:100])
    again = _fresh(net)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(again.toward(42), exact)) and again._sparse is not None
    blocked = tmp_path / "file"
    blocked.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("TWIN_CACHE_DIR", str(blocked))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(_fresh(net).toward(42), exact))
