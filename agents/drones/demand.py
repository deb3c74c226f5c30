"""Delivery demand: each flow's requests as a Poisson process, hour by hour, over the whole run."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gwangju_twin.units import DAY_S, poisson_times_s

if TYPE_CHECKING:
    from gwangju_twin.agents.drones.config import Flow
    from gwangju_twin.model import TwinModel


def schedule_flow(model: TwinModel, flow: Flow, request: Callable[[Flow], None]) -> None:
    """Put every request of ``flow`` on the model's clock, drawn from the model's generator."""
    rng = model.rng
    for day in range(int(model.duration_s // DAY_S) + 1):
        for hour, rate in enumerate(flow.per_hour):
            lo, hi = day * DAY_S + hour * 3600.0, min(day * DAY_S + (hour + 1) * 3600.0, model.duration_s)
            if hi > lo and rate > 0:
                for t_s in poisson_times_s(rng, rate * flow.scale * (hi - lo) / 3600.0, lo, hi):
                    model.clock.at(float(t_s), lambda f=flow: request(f))
