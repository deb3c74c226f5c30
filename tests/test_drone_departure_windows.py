"""The forbidden departure delays (agents.drones.departure_windows) against the exact conflict check
they let the planner skip: the safety of every jump of the departure-slot search rests on them."""

from __future__ import annotations

import numpy as np
import pytest
from gwangju_twin.agents.drones.departure_windows import earliest_clear_s, forbidden_delays
from gwangju_twin.agents.drones.detection import Segments, pair_conflicts
from hypothesis import example, given, settings
from hypothesis import strategies as st
from straight_flights import STOPS, flight

END_MARGIN_S = 1e-4  # delays this close to an interval's end are not compared (the end itself is rounding's)


def _segment(t0: float, t1: float, p0, p1, h: float, v: float) -> Segments:
    return Segments(np.zeros(1, dtype=int), np.array([t0]), np.array([t1]), np.array([p0], dtype=float),
                    np.array([p1], dtype=float), np.array([h]), np.array([v]))


def _conflicts(a, b, delay_s: float, h: float, v: float) -> bool:
    """The exact check (detection.pair_conflicts) with the candidate ``a`` left ``delay_s`` later."""
    (a0, a1, p0, p1), (b0, b1, q0, q1) = a, b
    mine, theirs = _segment(a0 + delay_s, a1 + delay_s, p0, p1, h, v), _segment(b0, b1, q0, q1, h, v)
    return bool(pair_conflicts(mine, np.array([0]), theirs, np.array([0]))[0])


def _interval(a, b, h: float, v: float) -> tuple[float, float]:
    (a0, a1, p0, p1), (b0, b1, q0, q1) = a, b
    lo, hi = forbidden_delays(np.array([[a0, a1]]), np.array([[p0, p1]], dtype=float), np.array([[b0, b1]]),
                              np.array([[q0, q1]], dtype=float), np.array([h]), np.array([v]))
    return float(lo[0]), float(hi[0])


def _mm(lo_m: float, hi_m: float):
    """Numbers in millimetres, as trajectories are written (no subnormal noise the check itself can't take)."""
    return st.integers(round(lo_m * 1000), round(hi_m * 1000)).map(lambda k: k / 1000.0)


_xy = _mm(-300.0, 300.0)
_z = st.one_of(st.sampled_from([0.0, 30.0, 60.0, 90.0]), _mm(0.0, 120.0))
_point = st.tuples(_xy, _xy, _z)


@st.composite
def _pair(draw):
    """Two segments, general or degenerate: a vertical climb, both level, parallel at one velocity,
    a committed vertical column."""
    a0 = draw(_mm(0.0, 100.0))
    a1 = a0 + draw(_mm(0.5, 100.0))
    b0 = draw(_mm(0.0, 100.0))
    b1 = b0 + draw(_mm(0.5, 100.0))
    p0, p1, q0, q1 = (list(draw(_point)) for _ in range(4))
    case = draw(st.sampled_from(["general", "climb", "level", "parallel", "column"]))
    if case == "climb":
        p1[:2] = p0[:2]
    elif case == "level":
        p1[2], q1[2] = p0[2], q0[2]
    elif case == "parallel":
        q1 = [q + (e - s) for q, s, e in zip(q0, p0, p1)]
        b1 = b0 + (a1 - a0)
    elif case == "column":
        q1[:2] = q0[:2]
    return (a0, a1, p0, p1), (b0, b1, q0, q1)


@settings(max_examples=400, deadline=None)
@given(pair=_pair(), h=st.sampled_from([10.0, 50.0, 150.0]), v=st.sampled_from([10.0, 30.0]),
       delays=st.lists(_mm(-300.0, 300.0), min_size=1, max_size=12))
def test_the_forbidden_interval_is_exactly_the_delays_the_exact_check_rejects(pair, h, v, delays) -> None:
    """For any two segments and any delay not at an end of the interval: inside the interval the
    exact check finds both minima broken, outside it finds none."""
    a, b = pair
    lo, hi = _interval(a, b, h, v)
    for delay in delays:
        if lo + END_MARGIN_S < delay < hi - END_MARGIN_S:
            assert _conflicts(a, b, delay, h, v), (lo, hi, delay)
        elif delay < lo - END_MARGIN_S or delay > hi + END_MARGIN_S:
            assert not _conflicts(a, b, delay, h, v), (lo, hi, delay)


@settings(max_examples=200, deadline=None)
@given(pair=_pair(), h=st.sampled_from([10.0, 50.0]), v=st.sampled_from([10.0, 30.0]))
def test_the_interval_ends_are_where_the_exact_check_changes_its_answer(pair, h, v) -> None:
    """Just inside each end the check conflicts, just outside it does not: the interval is not a
    loose bound (a loose one would waste capacity, a short one would be unsafe)."""
    a, b = pair
    lo, hi = _interval(a, b, h, v)
    if not hi - lo > 1e-2:
        return
    step = 1e-3
    assert _conflicts(a, b, lo + step, h, v) and _conflicts(a, b, hi - step, h, v)
    assert not _conflicts(a, b, lo - step, h, v) and not _conflicts(a, b, hi + step, h, v)


def test_in_trail_on_one_lane_keeps_the_horizontal_minimum_in_time() -> None:
    """Analytic: a leader flying 1 km along x at 10 m/s from t = 0 s, a follower on the same lane and
    layer planned at t = 0 s: it may not leave within 50 m / 10 m/s = 5 s of the leader (and the
    segments overlap in time only while |d| < 100 s)."""
    leader = (0.0, 100.0, [0.0, 0.0, 60.0], [1000.0, 0.0, 60.0])
    lo, hi = _interval(leader, leader, 50.0, 30.0)
    assert lo == pytest.approx(-5.0, abs=1e-6) and hi == pytest.approx(5.0, abs=1e-6)


def test_a_climb_under_a_crossingflight() -> None:
    """Analytic: a vertical climb 0 -> 60 m at 2 m/s (0-30 s) at the origin; a crossing flight at 60 m
    along x at 10 m/s over the origin at t = 100 s. Minima 50 m and 30 m: the climb is within 30 m
    of 60 m from its 15th second on (and stays at the top point only at 30 s), the crossing is within
    50 m of the origin during 95-105 s: delays from 95 - 30 = 65 s to 105 - 15 = 90 s."""
    climb = (0.0, 30.0, [0.0, 0.0, 0.0], [0.0, 0.0, 60.0])
    crossing = (0.0, 200.0, [-1000.0, 0.0, 60.0], [1000.0, 0.0, 60.0])
    lo, hi = _interval(climb, crossing, 50.0, 30.0)
    assert lo == pytest.approx(65.0, abs=1e-4) and hi == pytest.approx(90.0, abs=1e-4)


def test_level_flights_a_vertical_minimum_apart_never_conflict() -> None:
    a = (0.0, 100.0, [0.0, 0.0, 60.0], [1000.0, 0.0, 60.0])
    b = (0.0, 100.0, [1000.0, 0.0, 90.0], [0.0, 0.0, 90.0])
    assert _interval(a, b, 50.0, 30.0) == (np.inf, -np.inf)


@settings(max_examples=300, deadline=None)
@given(intervals=st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 30)), max_size=12),
       start=st.integers(-60, 60))
def test_the_earliest_clear_delay_against_a_scan(intervals, start) -> None:
    """The least delay >= start in none of the intervals [lo, hi), against a scan in steps of 0.5."""
    lo = np.array([float(a) for a, _ in intervals])
    hi = np.array([float(a + w) for a, w in intervals])
    covered = [(x, any(a <= x < b for a, b in zip(lo, hi))) for x in np.arange(start, 200.0, 0.5)]
    expected = next(x for x, c in covered if not c)
    assert earliest_clear_s(lo, hi, float(start)) == expected



@settings(max_examples=60, deadline=None)
@given(committed=st.lists(st.tuples(st.integers(0, 900).map(float), STOPS, st.sampled_from([8.0, 15.0, 25.0])),
                          min_size=1, max_size=6),
       candidate=st.tuples(st.integers(0, 900).map(float), STOPS, st.sampled_from([8.0, 15.0])),
       from_s=st.integers(0, 300).map(float), delays=st.lists(_mm(0.0, 400.0), min_size=1, max_size=8))
# Two flights standing still at one point, the candidate's interval starting exactly at the search's start:
# the jump must not stop there (the next millisecond conflicts).
@example(committed=[(1.0, [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)], 8.0)],
         candidate=(0.0, [(0.0, 0.0, 0.0), (0.0, 0.0, 0.0)], 8.0), from_s=0.0, delays=[0.0])
def test_the_airspace_forbids_exactly_the_delays_its_exact_check_rejects(committed, candidate, from_s, delays) -> None:
    """Airspace.forbidden_at against Airspace.conflicts_at, over whole flights and the time index: a
    delay inside the look-ahead window conflicts iff it lies in one of the forbidden intervals (away
    from their ends); the earliest clear delay the jump takes is clear."""
    from gwangju_twin.agents.drones.airspace import Airspace

    airspace = Airspace()
    for k, (start, stops, speed) in enumerate(committed):
        airspace.commit(flight(f"d-{k}", start, stops, speed))
    mine = flight("me-1", *candidate)
    shape = airspace.segments_of(mine)
    window_s = 400.0
    ((lo, hi),) = airspace.forbidden_at(mine.agent, [shape], from_s=from_s, window_s=window_s)
    for delay in (d for d in delays if from_s <= d <= from_s + window_s):
        near_end = np.any(np.abs(lo - delay) < END_MARGIN_S) or np.any(np.abs(hi - delay) < END_MARGIN_S)
        if not near_end:
            inside = bool(np.any((lo < delay) & (delay < hi)))
            assert bool(airspace.conflicts_at(mine.agent, [(shape, delay)])[0]) == inside, (delay, lo, hi)
    jump = earliest_clear_s(lo, hi, from_s)
    if jump <= from_s + window_s:
        assert not airspace.conflicts_at(mine.agent, [(shape, jump + 1e-3)])[0]
