"""On-demand service: one request with a wait known by hand, rejections, pooling under capacity."""

import pytest
import synthetic
from gwangju_twin import scenario
from gwangju_twin.model import TwinModel
from hypothesis import example, given, settings
from hypothesis import strategies as st

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


# --- dispatch that scales gives the exhaustive search's choice ------------------------------------

def _exhaustive(service, request):
    """Reference: every vehicle in fleet order, every (pick-up, drop-off) position, each new plan walked whole.

    Written independently of the service's dispatch code: only the rules of the module docstring.
    """
    cfg, net, now_s = service.config, service.world.network, service.model.now_s

    def walk(vehicle, plan):
        node = vehicle.next_node
        t_s = max(vehicle.next_node_s, vehicle.free_at_s, now_s)
        load, distance_m = len(vehicle.onboard), 0.0
        picked = {r.id: r.pickup_s for r in vehicle.onboard}
        for visit in plan:
            if visit.node != node:
                t_s += net.travel_time_s(node, visit.node, cfg.max_speed_mps)
                distance_m += net.distance_m(node, visit.node)
                node = visit.node
            r = visit.request
            if visit.pickup:
                load += 1
                if load > cfg.capacity or t_s > r.t_s + cfg.max_wait_s:
                    return None
                picked[r.id] = t_s
            else:
                load -= 1
                if t_s - picked[r.id] > cfg.max_detour * r.direct_s + cfg.dwell_s:
                    return None
            t_s += cfg.dwell_s
        home_s = net.travel_time_s(node, vehicle.depot.node, cfg.max_speed_mps)
        distance_m += net.distance_m(node, vehicle.depot.node)
        if t_s + home_s > vehicle.window_end_s or not vehicle.can_afford(distance_m, t_s + home_s - now_s):
            return None
        return t_s

    from gwangju_twin.agents.shuttles.dispatch import Visit

    best = None
    pickup, dropoff = Visit(request.origin, True, request), Visit(request.destination, False, request)
    for vehicle in service.vehicles:
        if not vehicle.dispatchable:
            continue
        before_s = walk(vehicle, vehicle.plan) if vehicle.plan else max(vehicle.next_node_s, vehicle.free_at_s, now_s)
        if before_s is None:
            continue
        n = len(vehicle.plan)
        for i in range(n + 1):
            for j in range(i, n + 1):
                plan = [*vehicle.plan[:i], pickup, *vehicle.plan[i:j], dropoff, *vehicle.plan[j:]]
                end_s = walk(vehicle, plan)
                if end_s is not None and (best is None or end_s - before_s < best[0]):
                    best = (end_s - before_s, vehicle, plan)
    return None if best is None else (best[1], best[2])


def _pooled_model(seed: int, count: int, demand_scale: float, dwell: str, candidates: int) -> TwinModel:
    # SYNTHETIC: a 6 x 6 grid of 150 m blocks with a 20 km/h street limit; busy enough that plans pool.
    world = synthetic.world(synthetic.grid_graph(6, 6, 150.0, speed_kph=20.0),
                            {"depot": 1, "s1": 6, "s2": 31, "s3": 36, "s4": 15, "s5": 22})
    text = synthetic.scenario_text(f"""
[[shuttles.fleet]]
id = "od"
service = "on_demand"
count = {count}
depot = "depot"
windows = ["10:00-12:00"]
stops = ["s1", "s2", "s3", "s4", "s5"]
random_stops = 3
capacity = 3
demand_scale = {demand_scale}
max_wait = "12 min"
max_detour = 1.6
dwell = "{dwell}"
candidates = {candidates}
""", extra=QUIET).replace('duration = "24 h"', f'duration = "24 h"\nseed = {seed}')
    return TwinModel(scenario.loads(text), world)


def _run_comparing(model, service, reference) -> None:
    """Run ``model`` to its end with every request dispatched as ``service`` does, each choice checked
    against ``reference(request)`` (the same vehicle and insertion, or both none)."""
    fast = service._insertion
    compared = []

    def checked(request):
        got, want = fast(request), reference(request)
        compared.append(request.id)
        assert (got is None) == (want is None), request.label
        if got is not None:
            assert got[0] is want[0] and got[1] == want[1], request.label
        return got

    service._insertion = checked
    model.run_until(model.duration_s)
    assert len(compared) == len(service.requests) > 0


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=6),
       st.floats(min_value=1.0, max_value=6.0), st.sampled_from(["0 s", "30 s", "60 s"]))
@settings(max_examples=25, deadline=None)
@example(seed=1, count=5, demand_scale=6.0, dwell="30 s")
def test_insertion_dispatch_makes_the_exhaustive_choice(seed: int, count: int, demand_scale: float, dwell: str) -> None:
    """Every request of a pooled day: the pruned, filtered search picks what trying everything picks."""
    model = _pooled_model(seed, count, demand_scale, dwell, candidates=0)
    service = model.services[0]
    _run_comparing(model, service, lambda request: _exhaustive(service, request))
    assert service.kpis()["served"] > 0


@given(st.integers(min_value=0, max_value=10_000))
@settings(max_examples=10, deadline=None)
def test_rebalancing_targets_a_stop_nobody_covers(seed: int) -> None:
    """The indexed 'who is there or heading there' answers as a scan of the whole fleet does."""
    model = _pooled_model(seed, 4, 3.0, "30 s", candidates=16)
    service = model.services[0]
    indexed = service.rebalance_target
    calls = []

    def checked(vehicle):
        got = indexed(vehicle)
        now_s, net, speed = model.now_s, service.world.network, service.config.max_speed_mps
        recent = {}
        for request in service.requests:
            if request.t_s >= now_s - 3600.0:
                recent[request.origin] = recent.get(request.origin, 0) + 1
        covered = {v.rebalance_to if v.rebalance_to is not None else v.node for v in service.vehicles
                   if v is not vehicle and v.on_duty and not v.plan}
        home = vehicle.depot.node
        ranked = sorted((-count, service.stops.index(node), node) for node, count in recent.items()
                        if node not in covered and net.travel_time_s(vehicle.node, node, speed)
                        + net.travel_time_s(node, home, speed) <= vehicle.window_end_s - now_s)
        assert got == (ranked[0][2] if ranked else None)
        calls.append(got)
        return got

    service.rebalance_target = checked
    model.run_until(model.duration_s)
    assert calls


@given(st.lists(st.sampled_from([0.0, 1.5, 2.0, 7.25, 60.0, 1e9]) | st.floats(0.0, 100.0), max_size=300),
       st.integers(min_value=1, max_value=40))
@settings(max_examples=200, deadline=None)
def test_lazy_soonest_first_order_is_the_full_stable_sort(keys: list[float], first: int) -> None:
    """Dispatch sorts candidates batch by batch as it reads them: the order must be a stable sort's, ties by index."""
    import numpy as np
    from gwangju_twin.agents.shuttles.dispatch import soonest_first

    keys_s = np.array(keys, dtype=float)
    indices = np.flatnonzero(np.arange(len(keys)) % 3 != 1)  # increasing, with gaps, as flatnonzero gives
    got = list(soonest_first(indices, keys_s[indices], first=first))
    assert got == indices[np.argsort(keys_s[indices], kind="stable")].tolist()


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=4, max_value=12),
       st.floats(min_value=2.0, max_value=8.0))
@settings(max_examples=15, deadline=None)
def test_candidate_streams_read_as_one_full_sort_with_busy_vehicles_skipped(seed: int, count: int,
                                                                           demand_scale: float) -> None:
    """Busy and free vehicles come in two lazily sorted streams: the same tries as one sort, skipping busy
    ones past the cap in the loop (what the fleet marked all free gives), and the marks always true."""
    import numpy as np

    model = _pooled_model(seed, count, demand_scale, "30 s", candidates=1)  # at most 3 busy vehicles tried
    service = model.services[0]
    fast = service._insertion

    def all_free(request):
        assert service.planned.tolist() == [bool(v.plan or v.onboard) for v in service.vehicles]
        kept, service.planned = service.planned, np.zeros_like(service.planned)
        try:
            return fast(request)
        finally:
            service.planned = kept

    _run_comparing(model, service, all_free)
