"""The eco-friendly auto-parts certification center as a queueing process on the model's clock.

Companies in the parts cluster and at the car plant ship parts (a Poisson process per part type,
on workdays inside arrival hours); a truck drives each shipment over the road network to the
center. There a part goes through its test sequence: a test starts when a unit of its equipment
type and its staff (who work in shifts) are both free, waiting tests taken by priority
(pre-certification before voluntary), then by arrival; it runs for set-up plus a random duration
and fails with its probability. A failed part
goes back for rework and is re-tested, or is rejected after ``max_failures``; a part that passes
every test gets its certificate. The equipment is cleaned after each test before its next use.

Every part is at every moment in exactly one state of :data:`STATES`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
from gwangju_twin.agents.certification.config import WEEKDAYS, Certification, Distribution, PartType
from gwangju_twin.mesa_core import Agent
from gwangju_twin.resources import Resource
from gwangju_twin.units import DAY_S, WEEK_S, poisson_times_s

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

STATES = ("in_transit", "waiting", "in_test", "rework", "certified", "rejected")
SNAP_M = 500.0


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
        self.route_m: np.ndarray | None = None  # cumulative metres along the truck's route, for display
        self._route_edges: list[int] = []
        self._transit_s = 0.0
        center.counts["in_transit"] += 1

    @property
    def priority(self) -> int:
        return 0 if self.part_type.kind == "pre_certification" else 1

    @property
    def route_edges(self) -> list[int]:
        return self._route_edges

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


class CertificationCenter:
    """Equipment, staff, arriving parts and the key figures of the center."""

    kind = "certification"

    id = "certification"

    def __init__(self, model: TwinModel, config: Certification) -> None:
        self.model, self.config = model, config
        self.world = model.world_of(config.area)  # trucks drive its roads
        clock = model.clock
        self.equipment = {e.id: Resource(clock, config.units(e.id), e.id) for e in config.equipment}
        self.setup_s = {e.id: e.setup_s for e in config.equipment}
        self.cleaning_s = {e.id: e.cleaning_s for e in config.equipment}
        self.staff_total = config.staff + config.extra_staff
        self.staff = Resource(clock, 0, "certification staff")
        self.parts: list[Part] = []
        self.counts: Counter[str] = Counter({state: 0 for state in STATES})
        self.tests_run = 0
        self.retests = 0
        self.certificates: list[tuple[float, str]] = []
        self._wip_area = 0.0
        self._wip_since_s = 0.0
        self._wip_max = 0
        self._wip_last = 0
        self.wip_samples: list[int] = []
        self._waiting: list[tuple[int, int, float, Part]] = []
        self._sequence = 0
        ids = list(self.equipment)
        self._queued = dict.fromkeys(ids, 0)
        self._queue_area = dict.fromkeys(ids, 0.0)
        self._queue_since = dict.fromkeys(ids, 0.0)
        self._wait_s = dict.fromkeys(ids, 0.0)
        self._starts = dict.fromkeys(ids, 0)
        self._entries = dict.fromkeys(ids, 0)  # tests that joined each equipment's queue
        self._staffed = {e: any(t.staff for p in config.parts for t in p.tests if t.equipment == e) for e in ids}
        self._queued["staff"], self._queue_area["staff"], self._queue_since["staff"] = 0, 0.0, 0.0
        self._center_node, self._origin_nodes = self._places(config)
        self._schedule_shifts(config)
        self._schedule_arrivals(config)
        self._schedule_samples(config)

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
        for t_s, capacity in changes:
            merged[t_s] = max(merged.get(t_s, 0), capacity) if t_s in merged else capacity
        for t_s, capacity in sorted(merged.items()):
            if t_s <= 0.0:
                self.staff.set_capacity(capacity)
            elif t_s < self.model.duration_s:
                self.model.clock.at(t_s, lambda c=capacity: self._shift(c), priority=-1)

    def _shift(self, staff: int) -> None:
        self.staff.set_capacity(staff)
        self._dispatch()

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
            self.model.clock.at(t_s, lambda: self.wip_samples.append(self.wip), priority=1)
            t_s += config.wip_sample_s

    # --- flow -----------------------------------------------------------------------------
    @property
    def wip(self) -> int:
        return sum(self.counts[s] for s in ("in_transit", "waiting", "in_test", "rework"))

    def on_wip_change(self) -> None:
        now_s = self.model.now_s
        self._wip_area += self._wip_last * (now_s - self._wip_since_s)
        self._wip_since_s, self._wip_last = now_s, self.wip
        self._wip_max = max(self._wip_max, self._wip_last)

    def ship(self, part_type: PartType, origin: str) -> Part:
        """A company ships a part now; it reaches the center when the truck arrives."""
        part = Part(self.model, self, len(self.parts) + 1, part_type, origin)
        self.parts.append(part)
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

    def _queue_for_test(self, part: Part) -> None:
        equipment_id = part.part_type.tests[part.step].equipment
        self._count_queue(equipment_id, +1)
        self._sequence += 1
        self._waiting.append((part.priority, self._sequence, self.model.now_s, part))
        self._waiting.sort(key=lambda entry: entry[:2])
        self._dispatch()

    def _dispatch(self) -> None:
        """Start every waiting test whose equipment unit and staff are both free, by priority."""
        for entry in list(self._waiting):
            _, _, asked_s, part = entry
            test = part.part_type.tests[part.step]
            equipment = self.equipment[test.equipment]
            if equipment.free >= 1 and self.staff.free >= test.staff:
                self._waiting.remove(entry)
                self._count_queue(test.equipment, -1)
                waited_s = self.model.now_s - asked_s
                part.waited_s += waited_s
                self._wait_s[test.equipment] += waited_s
                self._starts[test.equipment] += 1
                equipment.request(lambda: None)
                if test.staff:
                    self.staff.request(lambda: None, units=test.staff)
                self._run_test(part)
        # Tests whose rig is free but whose staff are not: the staff's own queue.
        blocked = sum(1 for _, _, _, part in self._waiting
                      if self.equipment[part.part_type.tests[part.step].equipment].free >= 1)
        self._count_queue("staff", blocked - self._queued["staff"])

    def _count_queue(self, equipment_id: str, change: int) -> None:
        now_s = self.model.now_s
        if change > 0 and equipment_id in self._entries:
            self._entries[equipment_id] += change
        self._queue_area[equipment_id] += self._queued[equipment_id] * (now_s - self._queue_since[equipment_id])
        self._queue_since[equipment_id] = now_s
        self._queued[equipment_id] += change

    def _queue_mean(self, equipment_id: str) -> float:
        self._count_queue(equipment_id, 0)
        return self._queue_area[equipment_id] / self.model.now_s if self.model.now_s else 0.0

    def _run_test(self, part: Part) -> None:
        test = part.part_type.tests[part.step]
        part.move("in_test")
        self.tests_run += 1
        duration_s = self.setup_s[test.equipment] + sample_s(self.model.rng, test.duration)
        failed = bool(self.model.rng.random() < test.fail)
        self.model.log.add(self.model.now_s, part.name, "test_start", f"{test.name} on {test.equipment}")
        self.model.clock.after(duration_s, lambda: self._end_test(part, failed))

    def _end_test(self, part: Part, failed: bool) -> None:
        test = part.part_type.tests[part.step]
        if test.staff:
            self.staff.release(test.staff)
        self.model.clock.after(0.0, self._dispatch)  # freed staff may start another test
        equipment = self.equipment[test.equipment]

        def cleaned() -> None:
            equipment.release()
            self._dispatch()

        self.model.clock.after(self.cleaning_s[test.equipment], cleaned)
        now_s = self.model.now_s
        if failed:
            part.failures += 1
            self.model.log.add(now_s, part.name, "failed", test.name)
            if part.failures >= self.config.max_failures:
                part.done_s = now_s
                part.move("rejected")
                self.model.log.add(now_s, part.name, "rejected", f"after {part.failures} failures")
                return
            part.move("rework")
            self.retests += 1
            self.model.clock.after(sample_s(self.model.rng, part.part_type.rework), lambda: self._back(part))
            return
        self.model.log.add(now_s, part.name, "passed", test.name)
        part.step += 1
        if part.step == len(part.part_type.tests):
            part.done_s = now_s
            part.move("certified")
            self.certificates.append((now_s, part.name))
            self.model.log.add(now_s, part.name, "certificate", part.part_type.id)
            return
        part.move("waiting")
        self._queue_for_test(part)

    def _back(self, part: Part) -> None:
        part.move("waiting")
        self.model.log.add(self.model.now_s, part.name, "reworked", part.part_type.tests[part.step].name)
        self._queue_for_test(part)

    # --- figures --------------------------------------------------------------------------
    def kpis(self) -> dict[str, Any]:
        """Key figures; a figure without data is None, and ``why_null`` says why."""
        self.on_wip_change()
        now_s = self.model.now_s
        why_null: dict[str, str] = {}
        equipment = {rid: self._equipment_kpis(rid, why_null) for rid in self.equipment}
        staff = self._staff_kpis()
        loads = {rid: e["offered_load"] for rid, e in equipment.items()}
        if staff["offered_load"] is not None:
            loads["staff"] = staff["offered_load"]
        figures = {
            "service": "certification",
            "parts_shipped": len(self.parts),
            "states": {state: self.counts[state] for state in STATES},
            "certified": self.counts["certified"],
            "rejected": self.counts["rejected"],
            **self._lead_times(why_null),
            **self._flow(now_s),
            "wip_mean": round(self._wip_area / now_s, 3) if now_s else None,
            "wip_max": self._wip_max,
            "wip_samples": self.wip_samples,
            "tests_run": self.tests_run,
            "retest_rate": round(self.retests / self.tests_run, 4) if self.tests_run else None,
            "staff": staff,
            "equipment": equipment,
            "bottleneck": self._bottleneck(loads, equipment, staff),
        }
        figures["overloaded"] = max(loads.values()) > 1.0
        if not now_s:
            why_null["wip_mean"] = "no time has passed"
        if not self.tests_run:
            why_null["retest_rate"] = "no test has run"
        if why_null:
            figures["why_null"] = why_null
        return figures

    def _lead_times(self, why_null: dict[str, str]) -> dict[str, Any]:
        """Shipment to certificate for certified parts, and for every part with open ones at their age so far."""
        now_s = self.model.now_s
        certified = np.array([(p.done_s - p.shipped_s) / DAY_S for p in self.parts if p.state == "certified"])
        every = np.array([((p.done_s if p.done_s is not None else now_s) - p.shipped_s) / DAY_S for p in self.parts])
        open_parts = sum(p.done_s is None for p in self.parts)
        if not len(certified):
            why_null["lead_time_certified_mean_d"] = why_null["lead_time_certified_p95_d"] = "no part certified yet"
        if not len(every):
            why_null["lead_time_all_mean_d"] = "no part shipped"
        return {
            "lead_time_certified_mean_d": round(float(certified.mean()), 3) if len(certified) else None,
            "lead_time_certified_p95_d": round(float(np.percentile(certified, 95)), 3) if len(certified) else None,
            # Open parts count at their age so far: a lower bound on what their lead time will be.
            "lead_time_all_mean_d": round(float(every.mean()), 3) if len(every) else None,
            "lead_time_all_is_lower_bound": open_parts > 0,
            "parts_open": open_parts,
        }

    def _flow(self, now_s: float) -> dict[str, Any]:
        """Arrivals and completions per week, and the trend of parts in the system."""
        weeks = max(int(np.ceil(now_s / WEEK_S)), 1)
        arrivals = np.bincount([int(p.shipped_s // WEEK_S) for p in self.parts], minlength=weeks)[:weeks]
        done = np.bincount([int(p.done_s // WEEK_S) for p in self.parts if p.done_s is not None], minlength=weeks)[:weeks]
        certified = np.bincount([int(t // WEEK_S) for t, _ in self.certificates], minlength=weeks)[:weeks]
        samples = np.asarray(self.wip_samples, dtype=float)
        sampled_week = np.arange(len(samples)) * self.config.wip_sample_s / WEEK_S
        growth = float(np.polyfit(sampled_week, samples, 1)[0]) if len(samples) >= 3 else None
        return {
            "arrivals_per_week_mean": round(float(arrivals.mean()), 3),
            "completions_per_week_mean": round(float(done.mean()), 3),
            "throughput_per_week_mean": round(float(certified.mean()), 3),
            "certified_per_week": certified.tolist(),
            "wip_growth_per_week": round(growth, 3) if growth is not None else None,
        }

    def _working_s(self, equipment_id: str) -> float:
        """Seconds the equipment could work so far: shift hours if its tests need staff, else all hours."""
        if self._staffed[equipment_id]:
            return self.staff.available_unit_s() / self.staff_total if self.staff_total else 0.0
        return self.model.now_s

    def _working_s_per_week(self, staffed: bool) -> float:
        """Hours a week a unit can work: the shifts on workdays if its tests need staff, else the whole week."""
        if not staffed:
            return WEEK_S
        return len(self.config.workdays) * sum(end_s - start_s for start_s, end_s in self.config.shifts_s)

    def _offered_load(self, equipment_id: str) -> float:
        """Work the scenario sends to the equipment over the work it can do, both per week.

        Expected unit-seconds a week: every part type's rate times each of its tests on the equipment,
        tried 1 / (1 - fail) times on average (re-tests), holding a unit for set-up, test and cleaning.
        Above 1, queues grow without bound. Tests started in a shift may run past its end, so the
        realised utilisation over shift hours can exceed 1 a little.
        """
        asked_s = sum(p.per_week * (self.setup_s[equipment_id] + t.duration.mean_s + self.cleaning_s[equipment_id])
                      / max(1.0 - t.fail, 1e-9)
                      for p in self.config.parts for t in p.tests if t.equipment == equipment_id)
        units = self.equipment[equipment_id].capacity
        capacity_s = units * self._working_s_per_week(self._staffed[equipment_id])
        return asked_s / capacity_s if capacity_s else float("inf") if asked_s else 0.0

    def _equipment_kpis(self, rid: str, why_null: dict[str, str]) -> dict[str, Any]:
        resource, working_s = self.equipment[rid], self._working_s(rid)
        units_s = resource.capacity * working_s
        queue_mean = self._queue_mean(rid)
        entries = self._entries[rid]
        # Waits of every test that queued, still-waiting ones up to now: queue_mean = entries / T * wait (Little).
        wait_h = self._queue_area[rid] / entries / 3600.0 if entries else None
        if not entries:
            why_null[f"equipment.{rid}.wait_mean_h"] = "no test queued for it"
        if not units_s:
            why_null[f"equipment.{rid}.utilisation"] = "no working hours yet"
        return {
            "units": resource.capacity,
            "works": "shift hours" if self._staffed[rid] else "all hours",
            "offered_load": round(self._offered_load(rid), 4),
            "utilisation": round(resource.busy_unit_s() / units_s, 4) if units_s else None,
            "utilisation_all_hours": round(resource.utilisation(), 4),
            "tests_queued": entries,
            "tests_started": self._starts[rid],
            "wait_mean_h": round(wait_h, 3) if wait_h is not None else None,
            "queue_mean": round(queue_mean, 3),
        }

    def _staff_kpis(self) -> dict[str, Any]:
        shift_unit_s = self.staff.available_unit_s()
        # Staff-seconds a week the scenario asks for (set-up and test, re-tests included) over the staff's shift hours.
        asked_s = sum(p.per_week * (self.setup_s[t.equipment] + t.duration.mean_s) * t.staff / max(1.0 - t.fail, 1e-9)
                      for p in self.config.parts for t in p.tests)
        capacity_s = self.staff_total * self._working_s_per_week(True)
        return {
            "count": self.staff_total,
            "offered_load": round(asked_s / capacity_s, 4) if capacity_s else None,
            "utilisation": round(self.staff.busy_unit_s() / shift_unit_s, 4) if shift_unit_s else None,
            "queue_mean": round(self._queue_mean("staff"), 3),
        }

    @staticmethod
    def _bottleneck(loads: dict[str, float], equipment: dict[str, Any], staff: dict[str, Any]) -> dict[str, Any]:
        """The resource with the highest offered load (then the longest queue): where capacity buys most."""
        figures = {**equipment, "staff": staff}
        name = max(sorted(loads), key=lambda k: (loads[k], figures[k]["queue_mean"]))
        chosen = figures[name]
        return {"resource": name, "offered_load": loads[name], "utilisation": chosen["utilisation"],
                "queue_mean": chosen["queue_mean"], "overloaded": loads[name] > 1.0}
