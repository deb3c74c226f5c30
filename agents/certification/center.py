"""The eco-friendly auto-parts certification center as a queueing process on the model's clock.

Companies in the parts cluster and at the car plant ship parts (a Poisson process per part type,
on workdays inside arrival hours); a truck drives each shipment over the road network to the
center. There each part goes through its test sequence on the test floor (:mod:`.testing`:
rigs and staff seized together, rework, certificates); staff work in shifts. The figures are in
:mod:`.kpis`, the capacity the scenario asks for in :mod:`.capacity`.

Every part is at every moment in exactly one state of :data:`~.parts.STATES`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from gwangju_twin.agents.certification import capacity
from gwangju_twin.agents.certification.config import WEEKDAYS, Certification, PartType
from gwangju_twin.agents.certification.kpis import center_kpis
from gwangju_twin.agents.certification.parts import OPEN_STATES, STATES, Part
from gwangju_twin.agents.certification.testing import TestFloor
from gwangju_twin.clock import Priority
from gwangju_twin.mesa_core import AgentSet
from gwangju_twin.units import DAY_S, poisson_times_s

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

SNAP_M = 500.0


class CertificationCenter:
    """Arriving parts, the test floor and the key figures of the center."""

    kind = "certification"

    id = "certification"

    def __init__(self, model: TwinModel, config: Certification) -> None:
        self.model, self.config = model, config
        self.world = model.world_of(config.area)  # trucks drive its roads
        self.floor = TestFloor(model, config, certified=self._certified)
        self.staff_total = config.staff + config.extra_staff
        self.staffed = capacity.staffed(config)
        self.parts = AgentSet([], random=model.random)
        self.counts: Counter[str] = Counter({state: 0 for state in STATES})
        self.certificates: list[tuple[float, str]] = []
        self.wip_area = 0.0
        self._wip_since_s = 0.0
        self.wip_max = 0
        self._wip_last = 0
        self.wip_samples: list[int] = []
        self._center_node, self._origin_nodes = self._places(config)
        self._schedule_shifts(config)
        self._schedule_arrivals(config)
        self._schedule_samples(config)

    @property
    def equipment(self) -> dict[str, Any]:
        """The equipment types' resources, by id."""
        return self.floor.equipment

    @property
    def staff(self) -> Any:
        """The staff as one resource whose capacity follows the shifts."""
        return self.floor.staff

    @property
    def tests_run(self) -> int:
        return self.floor.tests_run

    # --- set-up ---------------------------------------------------------------------------
    def _places(self, config: Certification) -> tuple[int | None, dict[str, int]]:
        if config.transport == "none":
            return None, {}
        world = self.world
        center = world.site_node(config.site, SNAP_M)
        origins = {o: world.site_node(o, SNAP_M) for p in config.parts for o in p.origins}
        for node in origins.values():
            world.network.route_edges(node, center)  # raises a RoutingError naming the nodes
        return center, origins

    def _day_of_week(self, day: int) -> str:
        start = self.model.scenario.spec.scenario.start_date
        return WEEKDAYS[(start + dt.timedelta(days=day)).weekday()]

    def _days(self) -> range:
        return range(int(self.model.duration_s // DAY_S) + 1)

    def _schedule_shifts(self, config: Certification) -> None:
        changes: list[tuple[float, int]] = []
        for day in self._days():
            if self._day_of_week(day) in config.workdays:
                for start_s, end_s in config.shifts_s:
                    changes += [(day * DAY_S + start_s, self.staff_total), (day * DAY_S + end_s, 0)]
        # A shift ending exactly when the next begins (e.g. 24 h operation) hands over without a gap.
        merged: dict[float, int] = {}
        for t_s, on_shift in changes:
            merged[t_s] = max(merged.get(t_s, 0), on_shift) if t_s in merged else on_shift
        for t_s, on_shift in sorted(merged.items()):
            if t_s <= 0.0:
                self.floor.staff.set_capacity(on_shift)
            elif t_s < self.model.duration_s:
                self.model.clock.at(t_s, lambda c=on_shift: self._shift(c), priority=Priority.HIGH)

    def _shift(self, staff: int) -> None:
        self.floor.staff.set_capacity(staff)  # waiting tests are offered the staff at once

    def _schedule_arrivals(self, config: Certification) -> None:
        rng = self.model.rng
        open_s, close_s = config.arrival_hours_s
        workdays = [d for d in WEEKDAYS if d in config.workdays]
        for part_type in config.parts:
            rate_per_s = part_type.per_week / (len(workdays) * (close_s - open_s))
            for day in self._days():
                if self._day_of_week(day) not in config.workdays:
                    continue
                lo, hi = day * DAY_S + open_s, min(day * DAY_S + close_s, self.model.duration_s)
                if hi <= lo:
                    continue
                for t_s in poisson_times_s(rng, rate_per_s * (hi - lo), lo, hi):
                    origin = part_type.origins[int(rng.integers(len(part_type.origins)))]
                    self.model.clock.at(float(t_s), lambda p=part_type, o=origin: self.ship(p, o))

    def _schedule_samples(self, config: Certification) -> None:
        t_s = 0.0
        while t_s <= self.model.duration_s:
            self.model.clock.at(t_s, lambda: self.wip_samples.append(self.wip), priority=Priority.LOW)
            t_s += config.wip_sample_s

    # --- flow -----------------------------------------------------------------------------
    @property
    def wip(self) -> int:
        return sum(self.counts[s] for s in OPEN_STATES)

    def on_wip_change(self) -> None:
        now_s = self.model.now_s
        self.wip_area += self._wip_last * (now_s - self._wip_since_s)
        self._wip_since_s, self._wip_last = now_s, self.wip
        self.wip_max = max(self.wip_max, self._wip_last)

    def ship(self, part_type: PartType, origin: str) -> Part:
        """A company ships a part now; it reaches the center when the truck arrives."""
        part = Part(self.model, self, len(self.parts) + 1, part_type, origin)
        self.parts.add(part)
        self.on_wip_change()
        self.model.log.add(self.model.now_s, part.name, "shipped", origin)
        travel_s = 0.0
        if self._center_node is not None:
            net, start = self.world.network, self._origin_nodes[origin]
            travel_s = net.travel_time_s(start, self._center_node, self.config.truck_speed_mps)
            part.set_route(net.route_edges(start, self._center_node), travel_s)
            self._record_truck(part, start)
        self.model.clock.after(travel_s, lambda: self._arrive(part))
        return part

    def _record_truck(self, part: Part, start: int) -> None:
        """The truck's drive in the tracks: every node of its route with the time it reaches it."""
        tracks = self.model.tracks
        if not tracks.enabled:
            return
        net = self.world.network
        times = net.edge_times_s(self.config.truck_speed_mps)
        t_s, odometer_m, node = self.model.now_s, 0.0, start
        tracks.add(part.name, "truck", t_s, float(net.x_m[node]), float(net.y_m[node]), 0.0, "in_transit")
        for edge in part.route_edges:
            t_s += times[edge]
            odometer_m += net.edge_length_list[edge]
            node = net.edge_v_list[edge]
            tracks.add(part.name, "truck", t_s, float(net.x_m[node]), float(net.y_m[node]), odometer_m, "in_transit")

    def _arrive(self, part: Part) -> None:
        part.move("waiting")
        self.model.log.add(self.model.now_s, part.name, "arrived", self.config.site)
        self._queue_for_test(part)

    def _arrive(self, part: Part) -> None:
        part.move("waiting")
        self.model.log.add(self.model.now_s, part.name, "arrived", self.config.site)
        self.floor.enter(part)

    def _certified(self, part: Part) -> None:
        self.certificates.append((self.model.now_s, part.name))

    def kpis(self) -> dict[str, Any]:
        """Key figures (:func:`.kpis.center_kpis`); a figure without data is None, and ``why_null`` says why."""
        return center_kpis(self)
