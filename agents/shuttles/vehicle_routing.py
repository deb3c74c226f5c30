"""Capacitated tours from a depot: the Clarke-Wright savings heuristic on asymmetric distances.

Start with one tour per stop (depot, stop, depot); join the tour ending at ``i`` to the tour
starting at ``j`` in decreasing order of the saving ``d(i,0) + d(0,j) - d(i,j)`` while the
joined load fits. Ties break by index, so plans are deterministic.

With many stops only promising joins are considered (the granular variant of the heuristic):
the pairs where ``j`` is one of the ``neighbours`` stops nearest to ``i``, or ``i`` one of those
nearest to ``j``. Savings are computed and ordered as arrays, never as n^2 Python objects. When
``neighbours`` covers every other stop the result is the classic heuristic's.
"""

from __future__ import annotations

import numpy as np


def savings_tours(dist: np.ndarray, demand: np.ndarray, capacity: float, neighbours: int | None = None,
                  where: np.ndarray | None = None) -> list[list[int]]:
    """Tours over stops ``1..n`` (index 0 is the depot); each tour's demand fits ``capacity``.

    ``dist[where[a], where[b]]`` is the distance from stop ``a`` to stop ``b`` (``where``
    defaults to ``0..n``: ``dist`` is then the stops' own matrix); stops that share a place
    share a row, so many stops on few road nodes need only the nodes' matrix. A stop whose own
    demand exceeds ``capacity`` gets a tour of its own.
    """
    n = len(demand)
    where = np.arange(n + 1) if where is None else np.asarray(where)
    first, second = _pairs(dist, where, n, neighbours)
    saving = dist[where[first], where[0]] + dist[where[0], where[second]] - dist[where[first], where[second]]
    keep = saving > 0
    first, second, saving = first[keep], second[keep], saving[keep]
    order = np.lexsort((second, first, -saving))  # largest saving first, ties by (i, j)
    tours: dict[int, list[int]] = {i: [i] for i in range(1, n + 1)}
    load = {i: float(demand[i - 1]) for i in range(1, n + 1)}
    tour_of = {i: i for i in range(1, n + 1)}
    for i, j in zip(first[order].tolist(), second[order].tolist()):
        a, b = tour_of[i], tour_of[j]
        if a == b or tours[a][-1] != i or tours[b][0] != j or load[a] + load[b] > capacity:
            continue
        tours[a] += tours.pop(b)
        load[a] += load.pop(b)
        for stop in tours[a]:
            tour_of[stop] = a
    return [tours[k] for k in sorted(tours)]


def _pairs(dist: np.ndarray, where: np.ndarray, n: int, neighbours: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The joins ``(i, j)`` to consider, as two index arrays over stops ``1..n``."""
    if neighbours is None or neighbours >= n - 1:
        first, second = np.divmod(np.arange(n * n), n)
        mask = first != second
        return first[mask] + 1, second[mask] + 1
    stops = where[1:]
    rows, cols = [], []
    for place in np.unique(stops):
        # the stops nearest this place, ties by stop index; each stop here skips itself
        order = np.argsort(dist[place, stops], kind="stable")[: neighbours + int(np.sum(stops == place))]
        here = np.flatnonzero(stops == place)
        for i in here.tolist():
            near = order[order != i][:neighbours]
            rows.append(np.full(len(near), i))
            cols.append(near)
    first, second = np.concatenate(rows), np.concatenate(cols)
    codes = np.unique(np.concatenate([first * n + second, second * n + first]))  # either side's neighbour
    first, second = np.divmod(codes, n)
    return first + 1, second + 1


def tour_length(dist: np.ndarray, tour: list[int]) -> float:
    """Length of depot -> tour -> depot."""
    stops = [0, *tour, 0]
    return float(sum(dist[a, b] for a, b in zip(stops, stops[1:])))
