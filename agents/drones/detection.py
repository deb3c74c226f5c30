"""Conflict detection between 4D trajectories, apart from any resolution: which pairs of airborne
segments break both separation minima at once.

The check is exact for linear motion: over each pair of segments that overlap in time the vertical
gap is linear and the horizontal distance quadratic in time, so the instants where both minima are
broken form an interval found in closed form, vectorised over all segment pairs with numpy
(BlueSky's state-based detection does the same for straight-line projections).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.airspace import Trajectory

TOLERANCE_M = 1e-6


@dataclass(frozen=True)
class Segments:
    """Airborne segments of several trajectories as arrays (structure of arrays)."""

    owner: np.ndarray  # index into the list of trajectories
    t0: np.ndarray
    t1: np.ndarray
    p0: np.ndarray  # (m, 3)
    p1: np.ndarray
    horizontal_m: np.ndarray
    vertical_m: np.ndarray

    @staticmethod
    def of(trajectories: list[Trajectory]) -> Segments:
        parts = []
        for k, trajectory in enumerate(trajectories):
            i = trajectory.airborne()
            if trajectory.segment_minima is None:
                horizontal, vertical = np.full(len(i), trajectory.horizontal_m), np.full(len(i), trajectory.vertical_m)
            else:
                horizontal, vertical = trajectory.segment_minima[0][i], trajectory.segment_minima[1][i]
            parts.append((np.full(len(i), k), trajectory.t_s[i], trajectory.t_s[i + 1], trajectory.xyz_m[i],
                          trajectory.xyz_m[i + 1], horizontal, vertical))
        if not parts:
            empty = np.zeros(0)
            return Segments(empty.astype(int), empty, empty, np.zeros((0, 3)), np.zeros((0, 3)), empty, empty)
        return Segments(*(np.concatenate([p[j] for p in parts]) for j in range(7)))

    @staticmethod
    def one(trajectory: Trajectory, airborne: np.ndarray) -> Segments:
        """:meth:`of` for one trajectory whose airborne segments' indices are known (the same for every
        flight of one shape)."""
        i, j = airborne, airborne + 1
        if trajectory.segment_minima is None:
            horizontal, vertical = np.full(len(i), trajectory.horizontal_m), np.full(len(i), trajectory.vertical_m)
        else:
            horizontal, vertical = trajectory.segment_minima[0][i], trajectory.segment_minima[1][i]
        t, xyz = trajectory.t_s, trajectory.xyz_m
        return Segments(np.zeros(len(i), dtype=int), t[i], t[j], xyz[i], xyz[j], horizontal, vertical)


def pair_conflicts(a: Segments, i: np.ndarray, b: Segments, j: np.ndarray) -> np.ndarray:
    """Segment ``a[i[k]]`` against ``b[j[k]]`` for every k (pairs that overlap in time): both minima broken at once?"""
    a_t0, a_t1, b_t0, b_t1 = a.t0[i], a.t1[i], b.t0[j], b.t1[j]
    lo, hi = np.maximum(a_t0, b_t0), np.minimum(a_t1, b_t1)
    va = (a.p1[i] - a.p0[i]) / np.maximum(a_t1 - a_t0, 1e-12)[:, None]
    vb = (b.p1[j] - b.p0[j]) / np.maximum(b_t1 - b_t0, 1e-12)[:, None]
    # Relative position at ``lo`` and relative velocity, per pair.
    d0 = (a.p0[i] + va * (lo - a_t0)[:, None]) - (b.p0[j] + vb * (lo - b_t0)[:, None])
    dv = va - vb
    span = hi - lo
    h_min = np.maximum(a.horizontal_m[i], b.horizontal_m[j]) - TOLERANCE_M
    v_min = np.maximum(a.vertical_m[i], b.vertical_m[j]) - TOLERANCE_M
    # Instants (relative to lo) when the vertical gap is under its minimum: an interval.
    dz, vz = d0[:, 2], dv[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = (-v_min - dz) / vz, (v_min - dz) / vz
    still = np.abs(vz) < 1e-12
    inside = np.abs(dz) < v_min
    enter = np.where(still, np.where(inside, 0.0, np.inf), np.minimum(r1, r2))
    leave = np.where(still, np.where(inside, span, -np.inf), np.maximum(r1, r2))
    enter, leave = np.maximum(enter, 0.0), np.minimum(leave, span)
    vertical = leave > enter
    # Closest horizontal approach within that interval.
    dh, vh = d0[:, :2], dv[:, :2]
    speed2 = (vh**2).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.where(speed2 > 0, -(dh * vh).sum(axis=-1) / speed2, 0.0)
    tau = np.where(vertical, np.clip(tau, np.where(vertical, enter, 0.0), np.where(vertical, leave, 0.0)), 0.0)
    closest = dh + vh * tau[:, None]
    return vertical & ((closest**2).sum(axis=-1) < h_min**2)
