"""The separation checker's index: which pairs of recorded pieces may come close (no code shared
with the planner). Each piece is cut into parts bounded in x, y, z and time; two parts that come
within the limits have centres within their half sizes plus the limits on every axis, which a k-d
tree (SciPy's cKDTree, maximum norm on scaled axes) or, for few parts, a direct comparison finds;
the parts' boxes are then compared exactly. :mod:`.audit` checks the pairs it keeps."""

from __future__ import annotations

import numpy as np

# The index's parts: at most this long in time, across and up. Longer parts mean fewer points in
# the k-d tree but looser boxes. Of those tried (10-60 s, 150-900 m, 20-90 m up, 50-300 m in terminal
# volumes), these were about the fastest on days of 200 and 1,000 drones (benchmarks/drone_scaling.py
# --write N): the checker's CPU 20 % less than with 15 s, 300 m, 30 m and 100 m.
CELL_S, CELL_M, CELL_Z_M = 30.0, 600.0, 60.0
TERMINAL_CELL_M = 200.0  # the parts of pieces inside terminal volumes (dense: many pads, short pieces)
DIRECT_PAIRS = 8_000_000  # candidate pairs of parts compared directly, without the k-d tree, at most


def _split(t0: np.ndarray, t1: np.ndarray, p0: np.ndarray, p1: np.ndarray, cell_m: float) -> tuple[np.ndarray, ...]:
    """Pieces cut into parts no longer than ``CELL_S`` in time, ``cell_m`` across and ``CELL_Z_M``
    up, for the index only (a long piece's box would hold everything near its way)."""
    xy, z = np.hypot(*(p1[:, :2] - p0[:, :2]).T), np.abs(p1[:, 2] - p0[:, 2])
    parts = np.maximum(1, np.ceil(np.maximum.reduce([(t1 - t0) / CELL_S, xy / cell_m, z / CELL_Z_M]))).astype(np.int64)
    whole = np.repeat(np.arange(len(t0)), parts)
    k = np.arange(len(whole)) - np.repeat(np.cumsum(parts) - parts, parts)
    f0, f1 = k / parts[whole], (k + 1) / parts[whole]
    step_t, step_p = (t1 - t0)[whole], (p1 - p0)[whole]
    return (whole, t0[whole] + step_t * f0, t0[whole] + step_t * f1, p0[whole] + step_p * f0[:, None],
            p0[whole] + step_p * f1[:, None])


def near_pairs(t0: np.ndarray, t1: np.ndarray, p0: np.ndarray, p1: np.ndarray, near_m: float,
                near_z_m: float = np.inf, *, hub: np.ndarray | None = None, cell_m: float = CELL_M) -> np.ndarray:
    """Pairs ``(i, j)``, i < j, of pieces whose times overlap and that pass less than ``near_m``
    apart horizontally and ``near_z_m`` vertically (a superset: at some moment both within boxes
    that close). Each piece is cut into parts (:func:`_split`) with boxes in x, y, z and time; two
    boxes that close have centres at most their half sizes plus the distance apart on each axis,
    which a k-d tree (scipy's cKDTree, maximum norm on axes scaled by that reach) finds; the boxes
    are then compared exactly. Parts that do not move across (climbs, descents) are indexed apart
    from the others: among themselves their reach across is the distance alone. ``hub``: only pairs
    with at least one such piece."""
    if len(t0) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    whole, s0, s1, q0, q1 = _split(t0, t1, p0, p1, cell_m)
    widen = np.array([near_m, near_m, near_z_m]) / 2
    lo = np.column_stack([np.minimum(q0, q1) - widen, s0])
    hi = np.column_stack([np.maximum(q0, q1) + widen, s1])
    centre = np.column_stack([(q0 + q1) / 2, (s0 + s1) / 2])
    half = np.abs(np.column_stack([q1 - q0, s1 - s0])) / 2
    still = (half[:, 0] == 0) & (half[:, 1] == 0)
    groups = [g for g in (np.flatnonzero(still), np.flatnonzero(~still)) if len(g)]
    hubs = np.ones(len(whole), bool) if hub is None else hub[whole]
    found = [_kd_pairs(centre, half, g, h, (near_m, near_m, near_z_m, 0.0), hubs, hub is None)
             for n, g in enumerate(groups) for h in groups[(n if hub is None else 0):]]
    a, b = np.concatenate([f[0] for f in found]), np.concatenate([f[1] for f in found])
    a, b = _overlapping(lo, hi, whole, a, b)
    i, j = whole[a], whole[b]
    i, j = np.minimum(i, j), np.maximum(i, j)
    keep = (t0[i] < t1[j]) & (t0[j] < t1[i])
    pairs = distinct(i[keep] * len(t0) + j[keep])
    return np.column_stack([pairs // len(t0), pairs % len(t0)])


def distinct(codes: np.ndarray) -> np.ndarray:
    """The distinct values of ``codes``, sorted: ``np.unique`` by a sort (numpy 2's ``np.unique``
    hashes first, which took 40 times as long on a million pair codes)."""
    ordered = np.sort(codes)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]] if len(ordered) else ordered


def _overlapping(lo: np.ndarray, hi: np.ndarray, whole: np.ndarray, a: np.ndarray,
                 b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of parts ``(a, b)`` of two pieces whose boxes meet in time and whose widened boxes
    overlap across and up (touching is apart). Axis by axis, each test on the pairs the earlier ones
    kept, on one axis's contiguous bounds: most pairs a k-d tree finds fail the first or second."""
    keep = whole[a] != whole[b]
    a, b = a[keep], b[keep]
    for axis in (3, 0, 1, 2):
        low, high = np.ascontiguousarray(lo[:, axis]), np.ascontiguousarray(hi[:, axis])
        if axis == 3:
            keep = (low[a] <= high[b]) & (low[b] <= high[a])
        else:
            with np.errstate(invalid="ignore"):
                keep = ~(np.maximum(low[a] - high[b], low[b] - high[a]) >= 0)
        a, b = a[keep], b[keep]
    return a, b


def _kd_pairs(centre: np.ndarray, half: np.ndarray, first: np.ndarray, second: np.ndarray, near: tuple,
              hubs: np.ndarray, every: bool) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of parts, one of ``first`` (a hub) and one of ``second``: centres no farther
    apart on each axis than the two groups' largest half sizes plus ``near``. ``every``: all parts
    are hubs, and ``first`` is ``second`` or another group (each pair once). Up to
    :data:`DIRECT_PAIRS` pairs of parts are compared directly (a small run never imports SciPy's
    spatial package, 0.1-0.4 s of a start); more go through a k-d tree."""
    own = first if every else first[hubs[first]]
    if not len(own):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    reach = half[first].max(axis=0) + half[second].max(axis=0) + np.asarray(near)
    ends = np.r_[own, second]
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.zeros((len(centre), 4))
        scaled[ends] = np.nan_to_num(centre[ends] / np.where(reach > 0, reach, np.inf))  # an unlimited axis: 0
    r, upper = 1.0 + 1e-9, every and first is second
    if len(own) * len(second) <= DIRECT_PAIRS:
        return _direct_pairs(scaled, own, second, r, upper=upper)
    from gwangju_twin.speedups import kd_tree  # scipy's cKDTree without the rest of scipy.spatial

    tree = kd_tree()
    if upper:
        found = tree(scaled[own]).query_pairs(r, p=np.inf, output_type="ndarray")
        return own[found[:, 0]], own[found[:, 1]]
    found = tree(scaled[own]).sparse_distance_matrix(tree(scaled[second]), r, p=np.inf, output_type="ndarray")
    return own[found["i"]], second[found["j"]]


def _direct_pairs(scaled: np.ndarray, own: np.ndarray, second: np.ndarray, r: float, *,
                  upper: bool) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_kd_pairs` by comparing pairs directly (``upper``: ``own`` is ``second``, each pair
    once): ``second`` sorted along its most spread axis, each part of ``own`` compared only with the
    run of parts within ``r`` of it along that axis (a sort and sweep), in the order of a full scan."""
    values, mine = scaled[second], scaled[own]
    if not len(own) or not len(second):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    axis = int(np.argmax(np.ptp(values, axis=0)))
    order = np.argsort(values[:, axis], kind="stable")
    keys, wide = values[order, axis], r * (1.0 + 1e-9) + 1e-12  # the window a little wider; the test is exact
    lo = np.searchsorted(keys, mine[:, axis] - wide, side="left")
    counts = np.searchsorted(keys, mine[:, axis] + wide, side="right") - lo
    rows = np.repeat(np.arange(len(own)), counts)
    columns = order[np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(lo, counts)]
    close = (np.abs(mine[rows] - values[columns]) <= r).all(axis=1)
    if upper:
        close &= rows < columns
    rows, columns = rows[close], columns[close]
    ranked = np.lexsort((columns, rows))
    return own[rows[ranked]], second[columns[ranked]]
