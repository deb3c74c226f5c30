"""How long a unit of equipment (or a staff member) works a week, as the simulation has it work.

A test needs its staff only to *start* inside a shift: one started shortly before the end runs on
past it, holding its unit (and its staff) until it ends, and nothing starts again until the next
shift. So a unit that always has work waiting is busy for the shift *plus the overrun of its last
test*, and the capacity that decides whether queues grow is that longer time, not the shift hours:

* holds all of one fixed length ``h``: a shift of length ``L`` fits ``ceil(L / h)`` starts, so the
  unit works ``ceil(L / h) * h`` (a 9 h shift and 4 h tests: 3 starts, 12 h);
* random or mixed holds: the test running when the shift ends has, on average, ``E[h^2] / (2 E[h])``
  left to run (the residual life of a renewal process), so the unit works ``L + E[h^2] / (2 E[h])``.

The overrun is capped by the gap to the next shift. Equipment whose tests need no staff works all
hours. :mod:`~gwangju_twin.agents.certification.capacity` divides by this; ``tests/test_certification.py``
runs a year just under and just over the limit it predicts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gwangju_twin.agents.certification.config import Distribution
from gwangju_twin.units import DAY_S

Hold = tuple[float, float, float, bool]  # (starts a week, mean hold s, mean square hold s2, fixed length)


def duration_moments(dist: Distribution) -> tuple[float, float]:
    """Mean and mean square of a test's duration in seconds."""
    mean = dist.mean_s
    if dist.dist == "fixed":
        variance = 0.0
    elif dist.dist == "exponential":
        variance = mean**2
    elif dist.dist == "lognormal":
        variance = (dist.cv * mean) ** 2
    else:  # triangular, its mode from the mean
        low, high = dist.min_s, dist.max_s
        mode = 3 * mean - low - high
        variance = (low**2 + high**2 + mode**2 - low * high - low * mode - high * mode) / 18.0
    return mean, variance + mean**2


def hold(rate_per_week: float, *, fixed_s: float, dist: Distribution) -> Hold:
    """How often a resource is taken a week, and for how long: a fixed part (set-up, cleaning) plus the test."""
    mean, square = duration_moments(dist)
    return (rate_per_week, fixed_s + mean, fixed_s**2 + 2 * fixed_s * mean + square,
            dist.dist == "fixed")


def overrun_s(holds: Sequence[Hold], shift_s: float) -> float:
    """How long a unit with work always waiting stays busy after a shift ends, on average."""
    taken = [h for h in holds if h[0] > 0]
    if not taken:
        return 0.0
    lengths = {round(h[1], 6) for h in taken}
    if len(lengths) == 1 and all(h[3] for h in taken):
        length_s = taken[0][1]
        return math.ceil(shift_s / length_s - 1e-9) * length_s - shift_s
    rate = sum(h[0] for h in taken)
    mean = sum(h[0] * h[1] for h in taken) / rate
    square = sum(h[0] * h[2] for h in taken) / rate
    return square / (2 * mean)


def working_s_per_week(holds: Sequence[Hold], *, shifts_s: Sequence[tuple[float, float]], workdays: int) -> float:
    """Seconds a week a unit works when it always has work: each shift, its overrun, capped by the next shift."""
    total_s = 0.0
    ordered = sorted(shifts_s)
    for index, (start_s, end_s) in enumerate(ordered):
        following_s = ordered[index + 1][0] if index + 1 < len(ordered) else ordered[0][0] + DAY_S
        gap_s = max(following_s - end_s, 0.0)
        total_s += (end_s - start_s) + min(overrun_s(holds, end_s - start_s), gap_s)
    return workdays * total_s
