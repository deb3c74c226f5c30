"""Hand-made drone flights for the airspace's property tests: straight lines between stops in 3D."""

from __future__ import annotations

import numpy as np
from gwangju_twin.agents.drones.airspace import Trajectory
from hypothesis import strategies as st

_coordinate = st.integers(min_value=0, max_value=1500).map(float)
# 2-5 stops (x, y, z) in metres, at altitudes that make level pairs both apart and within the vertical minimum
STOPS = st.lists(st.tuples(_coordinate, _coordinate, st.sampled_from([0.0, 40.0, 60.0, 75.0, 100.0])),
                 min_size=2, max_size=5)


def flight(agent: str, start_s: float, stops: list[tuple[float, float, float]], speed_mps: float) -> Trajectory:
    """A flight over ``stops`` (x, y, z): a minute on the pad, then straight at ``speed_mps`` in 3D
    (each leg at least a second), with minima of 150 m and 30 m."""
    t, points, phases = start_s + 60.0, [(start_s, *stops[0])], ["pad"]
    for a, b in zip(stops, stops[1:]):
        points.append((t, *a))
        phases.append("cruise")
        t += max(float(np.linalg.norm(np.subtract(b, a))) / speed_mps, 1.0)
    points.append((t, *stops[-1]))
    phases.append("landed")
    return Trajectory(agent, np.array([p[0] for p in points]), np.array([p[1:] for p in points], dtype=float),
                      tuple(phases), 150.0, 30.0)
