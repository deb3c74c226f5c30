"""What a flight costs: energy phase by phase, the check that a flight can be flown at all, and
how long a drone takes to recharge or refuel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.airspace import Trajectory
    from gwangju_twin.agents.drones.config import DroneType
    from gwangju_twin.agents.drones.places import Leg

TAKEOFF_PAD_S = 60.0  # on the pad, spinning up, before it lifts off
HOLD_ALLOWANCE_S = 600.0  # hover time budgeted on top of every flight when checking it can be flown at all
RECHARGE_W = 20_000.0  # ASSUMPTION: battery drones charge at 20 kW; hydrogen refuels in 10 min
REFUEL_S = 600.0


def mass_factor(kind: DroneType, payload_kg: float) -> float:
    """Power scales with the mass carried (empty mass = 1)."""
    return (kind.empty_mass_kg + payload_kg) / kind.empty_mass_kg


def flight_energy_j(kind: DroneType, legs: list[Leg], payload_kg: float, gs: list[float]) -> float:
    """Energy to fly ``legs`` at ground speeds ``gs``, with a hover allowance (can it be flown at all?)."""
    climb = legs[0].altitude_m / kind.climb_rate_mps * kind.climb_factor
    descent = legs[-1].altitude_m / kind.descent_rate_mps * kind.descent_factor
    cruise = sum(leg.length_m / v for leg, v in zip(legs, gs))
    hover_s = HOLD_ALLOWANCE_S + kind.turnaround_s + TAKEOFF_PAD_S
    return kind.cruise_power_w * mass_factor(kind, payload_kg) * (climb + cruise + descent + hover_s * kind.hover_factor)


def phase_weights(kind: DroneType, trajectory: Trajectory) -> np.ndarray:
    """Per segment, the power drawn as a fraction of cruise power (its phase; a transition climbs or descends)."""
    factors = {"climb": kind.climb_factor, "descent": kind.descent_factor, "cruise": 1.0, "pad": 0.0}
    rising = np.diff(trajectory.xyz_m[:, 2]) > 0
    return np.array([factors.get(p, kind.climb_factor if up else kind.descent_factor)
                     for p, up in zip(trajectory.phases[:-1], rising)])


def trajectory_energy_j(kind: DroneType, trajectory: Trajectory, payload_kg: float,
                        weights: np.ndarray | None = None) -> float:
    """Energy the flight uses, phase by phase (``weights``: its :func:`phase_weights`, when known: the
    same for every flight of one shape, whatever its pads and departure)."""
    weights = phase_weights(kind, trajectory) if weights is None else weights
    seconds = np.diff(trajectory.t_s)
    return float(kind.cruise_power_w * mass_factor(kind, payload_kg) * (seconds * weights).sum())


def recharge_s(kind: DroneType, energy_j: float) -> float:
    """How long a drone holding ``energy_j`` takes to be full again."""
    return REFUEL_S if kind.store == "hydrogen" else (kind.energy_j - energy_j) / RECHARGE_W
