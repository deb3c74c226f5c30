"""The drone planner's indexes against brute force: the airspace's duration-class index forms every
pair of segments that overlap in time with boxes closer than the minima (and no pair outside the
ones a full scan would keep), and the pads' reservations answer each window as a scan of every
reservation would."""

import numpy as np
from gwangju_twin.agents.drones.airspace import Airspace, Trajectory, duration_class
from gwangju_twin.agents.drones.vertiports import PadSet
from hypothesis import given, settings
from hypothesis import strategies as st

_time = st.integers(min_value=0, max_value=3000).map(float)
_point = st.tuples(st.integers(min_value=0, max_value=2000).map(float),
                   st.integers(min_value=0, max_value=2000).map(float),
                   st.sampled_from([0.0, 30.0, 60.0, 90.0]))
# A flight: a departure, then legs each of its own duration (from a second to ten minutes: every class).
_flight = st.tuples(_time, st.lists(st.tuples(_point, st.sampled_from([1.0, 3.0, 7.5, 20.0, 64.0, 200.0, 600.0])),
                                     min_size=2, max_size=5))


def _trajectory(agent: str, start_s: float, legs: list) -> Trajectory:
    times, points = [start_s], [legs[0][0]]
    for point, lasting_s in legs[1:]:
        times.append(times[-1] + lasting_s)
        points.append(point)
    return Trajectory(agent, np.array(times), np.array(points, dtype=float), ("cruise",) * (len(times) - 1) + ("landed",),
                      150.0, 30.0)


@settings(max_examples=80, deadline=None)
@given(committed=st.lists(_flight, min_size=1, max_size=8), candidate=_flight,
       delays=st.lists(_time, min_size=1, max_size=4), now=st.integers(min_value=0, max_value=1000).map(float))
def test_the_index_forms_exactly_the_pairs_a_full_scan_keeps(committed, candidate, delays, now) -> None:
    """Every (candidate segment, committed segment) pair that overlaps in time with boxes closer than
    the minima, found by scanning all pairs: the index forms the same set, whatever the segments'
    durations, after pruning the flights landed by ``now`` (a candidate never leaves before now)."""
    airspace = Airspace()
    for k, (start, legs) in enumerate(committed):
        airspace.commit(_trajectory(f"d-{k}", start, legs))
    airspace.prune(now)
    shape = airspace.segments_of(_trajectory("me", now + candidate[0], candidate[1]))
    tries = [(shape, delay) for delay in delays]
    sizes = [len(shape.t0)] * len(tries)
    shift = np.repeat(delays, sizes)
    from gwangju_twin.agents.drones.detection import Segments
    mine = Segments(np.repeat(np.arange(len(tries)), sizes), np.tile(shape.t0, len(tries)) + shift,
                    np.tile(shape.t1, len(tries)) + shift, *(np.tile(getattr(shape, f), (len(tries), 1))
                                                            if f in ("p0", "p1") else np.tile(getattr(shape, f), len(tries))
                                                            for f in ("p0", "p1", "horizontal_m", "vertical_m")))
    airspace.conflicts_at("me", tries)  # merges what was committed
    store = airspace._store
    rows, columns = airspace._near(mine)
    found = sorted(zip(rows.tolist(), store.owner[columns].tolist(), store.t0[columns].tolist()))
    expected = []
    for i in range(len(mine.t0)):
        for j in range(len(store.t0)):
            lo_a, hi_a = np.minimum(mine.p0[i], mine.p1[i]), np.maximum(mine.p0[i], mine.p1[i])
            lo_b, hi_b = np.minimum(store.p0[j], store.p1[j]), np.maximum(store.p0[j], store.p1[j])
            gap = np.maximum(lo_b - hi_a, lo_a - hi_b)
            if store.t1[j] > mine.t0[i] and store.t0[j] < mine.t1[i] and (gap < [150.0, 150.0, 30.0]).all():
                expected.append((i, int(store.owner[j]), float(store.t0[j])))
    assert found == sorted(expected)


def test_duration_classes_double() -> None:
    assert duration_class(np.array([0.0, 1.0, 4.0, 4.1, 8.0, 8.1, 16.0, 500.0, 1e6])).tolist() == [0, 0, 0, 1, 1, 2, 2, 7, 7]


@settings(max_examples=150, deadline=None)
@given(reservations=st.lists(st.tuples(st.integers(min_value=0, max_value=3), _time,
                                       st.sampled_from([30.0, 60.0, 61.0, 300.0, 900.0, 2000.0])), max_size=25),
       windows=st.lists(st.tuples(_time, st.sampled_from([60.0, 400.0, 1000.0])), min_size=1, max_size=6),
       now=st.integers(min_value=0, max_value=1500).map(float))
def test_pads_answer_as_a_scan_of_every_reservation(reservations, windows, now) -> None:
    """Free pads and the least shift to a free pad, against a scan of every reservation (those
    that ended by ``now`` forgotten, and windows asked from ``now`` on), before and after one more
    reservation."""
    pads = PadSet(4)
    for pad, start, lasting in reservations:
        pads.reserve(pad, start, start + lasting)
    pads.prune(now)
    kept = [(pad, start, start + lasting) for pad, start, lasting in reservations if start + lasting > now]

    def free(a: float, b: float) -> list[int]:
        return [k for k in range(4) if not any(p == k and e > a and s < b for p, s, e in kept)]

    for start, lasting in windows:
        a, b = now + start, now + start + lasting
        assert list(pads.free_pads(a, b)) == free(a, b)
        shift = pads.earliest_shift(a, b)
        assert free(a + shift, b + shift)
        # no reservation's end before that frees a pad (the shift is the least among the ends)
        assert not any(free(e, e + lasting) for _, _, e in kept if a < e < a + shift)
    # A new reservation changes the answers at once (nothing remembered from before it).
    start, lasting = windows[0]
    pads.reserve(0, now + start, now + start + 1.0)
    kept.append((0, now + start, now + start + 1.0))
    assert list(pads.free_pads(now + start, now + start + lasting)) == free(now + start, now + start + lasting)
