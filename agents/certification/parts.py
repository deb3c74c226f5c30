"""The parts in the certification center: one mesa agent per shipped part, and the states it moves through.

Every part is at every moment in exactly one state of :data:`STATES`; the center counts them, so
the figures never have to walk every part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.agents.certification.config import Distribution, PartType, Test
from gwangju_twin.mesa_core import Agent

if TYPE_CHECKING:
    from gwangju_twin.agents.certification.center import CertificationCenter
    from gwangju_twin.model import TwinModel
    from gwangju_twin.resources import JointGrant

STATES = ("in_transit", "waiting", "in_test", "rework", "certified", "rejected")
OPEN_STATES = ("in_transit", "waiting", "in_test", "rework")


def sample_s(rng: np.random.Generator, dist: Distribution) -> float:
    """Draw a duration in seconds from ``dist``."""
    if dist.dist == "fixed":
        return dist.mean_s
    if dist.dist == "exponential":
        return float(rng.exponential(dist.mean_s))
    if dist.dist == "lognormal":
        sigma2 = np.log1p(dist.cv**2)
        return float(rng.lognormal(np.log(dist.mean_s) - sigma2 / 2.0, np.sqrt(sigma2)))
    assert dist.min_s is not None and dist.max_s is not None
    return float(rng.triangular(dist.min_s, 3 * dist.mean_s - dist.min_s - dist.max_s, dist.max_s))


class Part(Agent):
    """One shipped part and where it is in its procedure."""

    def __init__(self, model: TwinModel, center: CertificationCenter, number: int, part_type: PartType,
                 origin: str) -> None:
        super().__init__(model)
        self.name = f"{part_type.id}-{number}"
        self.center = center
        self.part_type = part_type
        self.origin = origin
        self.shipped_s = model.now_s
        self.state = "in_transit"
        self.step = 0
        self.failures = 0
        self.done_s: float | None = None
        self.waited_s = 0.0  # in queues for equipment and staff
        self.held: JointGrant | None = None  # the rig and staff of the test it is in
        self.route_m: np.ndarray | None = None  # cumulative metres along the truck's route, for display
        self._route_edges: list[int] = []
        self._transit_s = 0.0
        center.counts["in_transit"] += 1

    @property
    def priority(self) -> int:
        """Its rank in the queues: pre-certification (0) before voluntary tests (1)."""
        return 0 if self.part_type.kind == "pre_certification" else 1

    @property
    def route_edges(self) -> list[int]:
        return self._route_edges

    @property
    def test(self) -> Test:
        """The test the part is at (its next one while it waits or is in rework)."""
        return self.part_type.tests[self.step]

    def set_route(self, edges: list[int], transit_s: float) -> None:
        net = self.center.world.network
        self._route_edges, self._transit_s = edges, transit_s
        self.route_m = np.concatenate([[0.0], np.cumsum(net.edge_length_m[edges])]) if edges else None

    def route_position_m(self, now_s: float) -> tuple[float, float]:
        """Where the truck carrying this part is (its route driven at an even pace)."""
        assert self.route_m is not None
        net = self.center.world.network
        done_m = self.route_m[-1] * min(max((now_s - self.shipped_s) / max(self._transit_s, 1e-9), 0.0), 1.0)
        i = min(int(np.searchsorted(self.route_m, done_m, side="right")) - 1, len(self._route_edges) - 1)
        edge = self._route_edges[i]
        return net.point_along(edge, (done_m - self.route_m[i]) / max(float(net.edge_length_m[edge]), 1e-9))

    def move(self, state: str) -> None:
        self.center.counts[self.state] -= 1
        self.center.counts[state] += 1
        self.state = state
        self.center.on_wip_change()
