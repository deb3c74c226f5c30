"""Capacitated tours from a depot: the Clarke-Wright savings heuristic on asymmetric distances.

Start with one tour per stop (depot, stop, depot); join the tour ending at ``i`` to the tour
starting at ``j`` in decreasing order of the saving ``d(i,0) + d(0,j) - d(i,j)`` while the
joined load fits. Ties break by index, so plans are deterministic.
"""

from __future__ import annotations

import numpy as np


def savings_tours(dist: np.ndarray, demand: np.ndarray, capacity: float) -> list[list[int]]:
    """Tours over stops ``1..n`` of ``dist`` (index 0 is the depot); each tour's demand fits ``capacity``.

    A stop whose own demand exceeds ``capacity`` gets a tour of its own.
    """
    n = len(demand)
    tours: dict[int, list[int]] = {i: [i] for i in range(1, n + 1)}
    load = {i: float(demand[i - 1]) for i in range(1, n + 1)}
    tour_of = {i: i for i in range(1, n + 1)}
    savings = [
        (dist[i, 0] + dist[0, j] - dist[i, j], i, j)
        for i in range(1, n + 1) for j in range(1, n + 1) if i != j
    ]
    savings.sort(key=lambda s: (-s[0], s[1], s[2]))
    for saving, i, j in savings:
        if saving <= 0:
            break
        a, b = tour_of[i], tour_of[j]
        if a == b or tours[a][-1] != i or tours[b][0] != j or load[a] + load[b] > capacity:
            continue
        tours[a] += tours.pop(b)
        load[a] += load.pop(b)
        for stop in tours[a]:
            tour_of[stop] = a
    return [tours[k] for k in sorted(tours)]


def tour_length(dist: np.ndarray, tour: list[int]) -> float:
    """Length of depot -> tour -> depot."""
    stops = [0, *tour, 0]
    return float(sum(dist[a, b] for a, b in zip(stops, stops[1:])))
