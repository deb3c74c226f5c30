"""Forbidden departure delays: the delays at which a candidate flight, left that much later, would
break both separation minima against a committed one, as exact intervals.

Why: a departure-slot search that steps through later slots (2 s, 4 s, ... 120 s) checks many
slots that are certain to conflict, and overshoots the first clear moment by up to a step, which
wastes the corridors' capacity. Knowing, per pair of airborne segments, the whole interval of
delays that conflict lets the search jump straight to the first delay that may be clear.

The geometry. The candidate's segment flies ``P(u) = P0 + va (u - a0)`` over its own times
``u`` in ``[a0, a1]`` (planned to leave now); left ``d`` later it is at ``P(u)`` at time
``t = u + d``. The committed segment flies ``Q(t) = Q0 + vb (t - b0)`` over ``[b0, b1]``. In the
``(u, d)`` plane the relative position ``r = P(u) - Q(u + d)`` is affine, so the pairs ``(u, d)``
at which both minima are broken are

* a convex polygon: ``a0 <= u <= a1``, ``b0 <= u + d <= b1`` and ``|r_z| <= v`` (six half-planes),
* inside the preimage of the disc ``|r_xy| <= h`` under an affine map: an ellipse, a strip (parallel
  motion at equal velocity, or a vertical climb against horizontal motion) or all or nothing;

their intersection is convex and its projection on ``d`` is ONE interval. A linear function's least
and greatest values over it lie at a polygon vertex, where a polygon edge's line crosses the
ellipse's boundary, or at the ellipse's own extreme points; the interval's ends are the least and
greatest ``d`` over those candidates that satisfy every constraint (vectorised over all pairs).
The minima are those of :func:`agents.drones.detection.pair_conflicts` (the pair's larger ones,
less its tolerance), so the interval is the closure of the delays that check finds conflicting.
"""

from __future__ import annotations

import numpy as np
from gwangju_twin.agents.drones.detection import TOLERANCE_M

SLACK_S = 1e-9  # a candidate point may break a time span by this (rounding; far below any step of the search)
SLACK_M = 1e-9  # and the vertical band by this (far below detection's tolerance)
DISC_SLACK = 1e-10  # and the disc by this fraction of the minimum squared
# the polygon's lines, two by two, but for the parallel pairs (the two ends of each band): the vertices
_PAIRS = [(i, j) for i in range(6) for j in range(i + 1, 6) if (i // 2, j // 2) != (i // 2, i // 2)]


def forbidden_delays(a_t: np.ndarray, a_p: np.ndarray, b_t: np.ndarray, b_p: np.ndarray, horizontal_m: np.ndarray,
                     vertical_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each pair k, the delays ``[lo[k], hi[k]]`` of candidate segment k (times ``a_t[k] = (a0, a1)``
    when it leaves now, points ``a_p[k] = (P0, P1)``) against committed segment k (``b_t``, ``b_p``) at
    which both minima (``horizontal_m``, ``vertical_m``: the pair's) are broken at some instant;
    ``lo = inf, hi = -inf`` when no delay does.

    Shapes: ``a_t``, ``b_t`` (n, 2); ``a_p``, ``b_p`` (n, 2, 3); the minima (n,). Pairs of level
    segments the vertical minimum apart (most pairs in layered corridors) never conflict and are
    left out before any geometry.
    """
    lo, hi = np.full(len(a_t), np.inf), np.full(len(a_t), -np.inf)
    level = (a_p[:, 0, 2] == a_p[:, 1, 2]) & (b_p[:, 0, 2] == b_p[:, 1, 2])
    apart = level & (np.abs(a_p[:, 0, 2] - b_p[:, 0, 2]) >= vertical_m - TOLERANCE_M)
    k = np.flatnonzero(~apart)
    if len(k):
        lo[k], hi[k] = _interval(a_t[k], a_p[k], b_t[k], b_p[k], horizontal_m[k], vertical_m[k])
    return lo, hi


def _interval(a_t: np.ndarray, a_p: np.ndarray, b_t: np.ndarray, b_p: np.ndarray, horizontal_m: np.ndarray,
              vertical_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`forbidden_delays` for pairs that need the geometry."""
    la, lb = a_t[:, 1] - a_t[:, 0], b_t[:, 1] - b_t[:, 0]
    va = (a_p[:, 1] - a_p[:, 0]) / np.maximum(la, 1e-12)[:, None]
    vb = (b_p[:, 1] - b_p[:, 0]) / np.maximum(lb, 1e-12)[:, None]
    # Local coordinates x = (U, D): U = u - a0, D = d - (b0 - a0); then t - b0 = U + D and
    # r = c + au U + ad D, with small numbers whatever the time of day.
    c, au, ad = a_p[:, 0] - b_p[:, 0], va - vb, -vb
    h, v = horizontal_m - TOLERANCE_M, vertical_m - TOLERANCE_M
    n, m = _half_planes(la, lb, c[:, 2], au[:, 2], ad[:, 2], v)
    quad = np.stack([au[:, :2], ad[:, :2]], axis=-1)  # (n, 2, 2): r_xy = quad @ x + c_xy
    points = np.concatenate([_vertices(n, m), _crossings(n, m, quad, c[:, :2], h), _extremes(quad, c[:, :2], h)],
                            axis=1)
    ok = _feasible(points, (la, lb), (c[:, 2], au[:, 2], ad[:, 2], v), quad, c[:, :2], h)
    d = np.where(ok, points[..., 1], np.nan)
    any_ok = ok.any(axis=1)
    offset = b_t[:, 0] - a_t[:, 0]
    with np.errstate(all="ignore"):
        lo = np.where(any_ok, np.nanmin(np.where(any_ok[:, None], d, 0.0), axis=1) + offset, np.inf)
        hi = np.where(any_ok, np.nanmax(np.where(any_ok[:, None], d, 0.0), axis=1) + offset, -np.inf)
    return lo, hi


def _half_planes(la, lb, cz, auz, adz, v) -> tuple[np.ndarray, np.ndarray]:
    """The polygon as six half-planes ``n . x <= m``: the two time spans and the vertical band."""
    zero, one = np.zeros_like(la), np.ones_like(la)
    n = np.stack([np.stack(pair, axis=-1) for pair in
                  ((-one, zero), (one, zero), (-one, -one), (one, one), (auz, adz), (-auz, -adz))], axis=1)
    m = np.stack([zero, la, zero, lb, v - cz, v + cz], axis=1)
    return n, m


def _vertices(n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Where each two of the polygon's lines meet (NaN when they are parallel): (n, 12, 2)."""
    i, j = np.array(_PAIRS).T
    ni, nj, mi, mj = n[:, i], n[:, j], m[:, i], m[:, j]
    det = ni[..., 0] * nj[..., 1] - ni[..., 1] * nj[..., 0]
    scale = np.hypot(*ni.transpose(2, 0, 1)) * np.hypot(*nj.transpose(2, 0, 1))
    with np.errstate(all="ignore"):
        det = np.where(np.abs(det) > 1e-12 * scale, det, np.nan)
        return np.stack([(mi * nj[..., 1] - mj * ni[..., 1]) / det, (ni[..., 0] * mj - nj[..., 0] * mi) / det], axis=-1)


def _crossings(n: np.ndarray, m: np.ndarray, quad: np.ndarray, c: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Where each polygon line crosses the boundary of ``|quad x + c| <= h`` (NaN if it does not): (n, 12, 2)."""
    norm2 = (n**2).sum(axis=-1)
    with np.errstate(all="ignore"):
        x0 = n * (m / norm2)[..., None]  # the line's point nearest the origin
    e = np.stack([-n[..., 1], n[..., 0]], axis=-1)  # along the line
    with np.errstate(all="ignore"):  # a constant band's line (no normal) is all NaN, dropped later
        w, z = _apply(quad, e), _apply(quad, x0) + c[:, None, :]
        alpha, beta, gamma = (w * w).sum(-1), (w * z).sum(-1), (z * z).sum(-1) - h[:, None] ** 2
        root = np.sqrt(beta**2 - alpha * gamma)
        alpha = np.where(alpha > 1e-18 * (1.0 + (z * z).sum(-1)), alpha, np.nan)  # parallel to a strip: no crossing
        s = np.stack([(-beta - root) / alpha, (-beta + root) / alpha], axis=-1)  # (n, 6, 2)
        points = x0[:, :, None, :] + s[..., None] * e[:, :, None, :]
    return points.reshape(len(n), 12, 2)


def _extremes(quad: np.ndarray, c: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The ellipse's least and greatest D (NaN when it is a strip or everything): (n, 2, 2)."""
    (m11, m12), (m21, m22) = quad[:, 0].T, quad[:, 1].T
    det = m11 * m22 - m12 * m21
    with np.errstate(all="ignore"):
        det = np.where(np.abs(det) > 1e-12 * (quad**2).sum(axis=(1, 2)), det, np.nan)
        g = np.stack([-m21, m11], axis=-1) / det[:, None]  # D = g . (y - c) with y = quad x + c
        unit = g / np.hypot(g[:, 0], g[:, 1])[:, None]
        points = []
        for sign in (-1.0, 1.0):
            y = sign * h[:, None] * unit - c  # quad x = y
            points.append(np.stack([(m22 * y[:, 0] - m12 * y[:, 1]) / det, (-m21 * y[:, 0] + m11 * y[:, 1]) / det],
                                   axis=-1))
    return np.stack(points, axis=1)


def _feasible(points: np.ndarray, spans: tuple[np.ndarray, np.ndarray], band: tuple[np.ndarray, ...],
              quad: np.ndarray, c: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Which candidate points (n, p, 2) lie in the polygon and the ellipse, within rounding (NaN: never)."""
    (la, lb), (cz, auz, adz, v) = spans, band
    u, d = points[..., 0], points[..., 1]
    s = u + d
    with np.errstate(invalid="ignore"):
        inside = ((u >= -SLACK_S) & (u <= la[:, None] + SLACK_S) & (s >= -SLACK_S) & (s <= lb[:, None] + SLACK_S)
                  & (np.abs(cz[:, None] + auz[:, None] * u + adz[:, None] * d) <= v[:, None] + SLACK_M))
        r = _apply(quad, points) + c[:, None, :]
        return inside & ((r * r).sum(-1) <= (h**2 * (1.0 + DISC_SLACK))[:, None])


def _apply(quad: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``quad[k] @ x[k, p]`` for every k and p: (n, 2, 2) and (n, p, 2) to (n, p, 2)."""
    return quad[:, None, :, 0] * x[..., :1] + quad[:, None, :, 1] * x[..., 1:]


def earliest_clear_s(lo: np.ndarray, hi: np.ndarray, from_s: float) -> float:
    """The least delay ``>= from_s`` in none of the intervals ``[lo[k], hi[k])``: ``from_s`` itself or one
    of the ends ``hi`` (the union of the intervals ends only at those). An interval's start counts as
    taken: a delay exactly there only touches the minima, and the next millisecond breaks them, so
    the delay returned is always followed by clear time (the search rounds departures up to ms)."""
    keep = hi > from_s
    lo, hi = lo[keep], hi[keep]
    if not len(lo):
        return from_s
    order = np.argsort(lo, kind="stable")
    lo_sorted, reach = lo[order], np.maximum.accumulate(hi[order])
    candidates = np.sort(np.concatenate([[from_s], hi]))
    last = np.searchsorted(lo_sorted, candidates, side="right") - 1  # the intervals starting at or before each
    covered = (last >= 0) & (reach[np.maximum(last, 0)] > candidates)
    return float(candidates[np.argmax(~covered)])
