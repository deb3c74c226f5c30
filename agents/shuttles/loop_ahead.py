"""A loop shuttle's next stops driven ahead of time, in numpy, when no one looks before the run ends.

A loop shuttle takes its only decision at a stop: drive on to the next stop, or go home (the next
leg, a dwell there and the way home must fit in its window, and in its battery above the reserve).
Nothing else touches it on the way: no disengagement (none can happen), no one else on the road.
So when no one reads it before the run ends (``model.headless``), it can drive its next
:data:`STOPS_AHEAD` stops at once, at the real event of the first: :func:`drive_ahead` works out the
arrival times, odometer, driving time and battery of those legs as running sums in numpy and
takes each stop's decision from them; the legs it drives on are booked, and each stop's log row
becomes an event of its own at the instant, and with the rank, that the stop's event would have
had. The results are those of stop-by-stop driving, to the bit: ``np.cumsum`` adds in order, one
element after another, as the event-by-event sums do (``t + dwell``, then each edge's time; the
odometer, driving time and battery edge by edge), the decisions are the same comparisons of the
same floats, and the log rows land where the stops' events would have put them.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gwangju_twin.agents.shuttles.express import Leg
    from gwangju_twin.agents.shuttles.loop import LoopService, LoopShuttle

# How many stops a shuttle drives ahead at most; their log rows wait in the clock's heap meanwhile.
STOPS_AHEAD = 16


class AheadPlan:
    """The next :data:`STOPS_AHEAD` legs of a loop from one of its stops, as arrays of what they add.

    ``times``: a dwell then the leg's edge times, leg after leg (``leave_at`` and ``end_at`` index
    where each leg sets off and arrives in their running sum); ``lengths``, ``durations`` and
    ``drains`` (minus each edge's energy): edge after edge (``edge_end``: each leg's last). Each
    array starts with a slot for the running sum's first value. Per leg: the decision's figures at
    the stop it leaves (``needed_s``, ``onward_j``: ``LoopService.at_stop``), the name of the stop it
    reaches, and how many of the legs so far end at the loop's first stop (``loops``).
    """

    def __init__(self, service: LoopService, legs: list[Leg], start: int) -> None:
        n, dwell_s = len(legs), service.dwell_s
        times, lengths, durations, drains = [0.0], [0.0], [0.0], [0.0]
        leave_at, end_at, edge_end, needed_s, onward_j, self.names, self.loops = [], [], [], [], [], [], [0]
        for j in range(STOPS_AHEAD):
            i = (start + j) % n
            leg = legs[i]
            times.append(dwell_s)
            leave_at.append(len(times) - 1)
            times += leg.durations
            end_at.append(len(times) - 1)
            lengths += leg.lengths
            durations += leg.durations
            drains += [-energy_j for energy_j in leg.energies]
            edge_end.append(len(lengths) - 1)
            _, _, _, _, need_s, _, need_j = service.at_stop[i]
            needed_s.append(need_s)
            onward_j.append(need_j)
            self.names.append(service.config.route[(i + 1) % n])
            self.loops.append(self.loops[-1] + ((i + 1) % n == 0))
        self.times, self.lengths, self.durations, self.drains = (np.array(a) for a in (times, lengths, durations, drains))
        self.leave_at, self.end_at, self.edge_end = (np.array(a, dtype=np.intp) for a in (leave_at, end_at, edge_end))
        self.needed_s, self.onward_j = np.array(needed_s), np.array(onward_j)
        self.stop_after = [(start + j + 1) % n for j in range(STOPS_AHEAD)]


def plans(service: LoopService, legs: list[Leg]) -> list[AheadPlan] | None:
    """One :class:`AheadPlan` per stop of the loop, or None if a leg has fewer than two edges (such a
    leg is driven edge by edge, with events of its own)."""
    if any(len(leg.edges) < 2 for leg in legs):
        return None
    return [AheadPlan(service, legs, start) for start in range(len(legs))]


def _running(start: float, steps: np.ndarray) -> np.ndarray:
    values = steps.copy()
    values[0] = start
    return np.cumsum(values)


def drive_ahead(shuttle: LoopShuttle, plan: AheadPlan, now_s: float) -> float:
    """Drive ``shuttle`` on from the stop it reached at ``now_s`` as far as it would go on without a
    decision to go home, :data:`STOPS_AHEAD` stops at most, none arriving after the run; the time it
    reaches the last (``now_s`` if none: the caller decides there as at any stop)."""
    model, service = shuttle.model, shuttle.service
    times = _running(now_s, plan.times)
    leaves, arrivals = times[plan.leave_at], times[plan.end_at]
    levels = _running(shuttle.battery_j, plan.drains)
    battery_j = np.empty(STOPS_AHEAD)
    battery_j[0], battery_j[1:] = shuttle.battery_j, levels[plan.edge_end[:-1]]
    on = ((leaves + plan.needed_s <= shuttle.window_end_s) & (battery_j - plan.onward_j >= service.reserve_j)
          & (arrivals <= model.duration_s))
    driven = STOPS_AHEAD if on.all() else int(np.argmin(on))
    if not driven:
        return now_s
    last = int(plan.edge_end[driven - 1])
    shuttle.odometer_m = float(_running(shuttle.odometer_m, plan.lengths[:last + 1])[-1])
    shuttle.driving_s = float(_running(shuttle.driving_s, plan.durations[:last + 1])[-1])
    shuttle.battery_j = float(levels[last])
    shuttle.min_battery_j = min(shuttle.min_battery_j, float(levels[1:last + 1].min()))
    shuttle.stop_visits += driven
    shuttle.loops_completed += plan.loops[driven]
    stop = shuttle._next_stop = plan.stop_after[driven - 1]
    arrived = arrivals[:driven].tolist()
    shuttle.node = shuttle.next_node = service.stop_nodes[stop]
    shuttle.edge_start_s, shuttle.next_node_s = float(leaves[driven - 1]), arrived[-1]
    rows, reserve, waiting = shuttle.stop_rows, model.clock.reserve, bool(shuttle.stop_rows)
    for t_s, scheduled_s, stop_name in zip(arrived, times[plan.end_at[:driven] - 1].tolist(), plan.names):
        rows.append((t_s, scheduled_s, reserve(), stop_name))
    if not waiting:
        rows.book_next()
    return arrived[-1]


class StopRows(deque):
    """A shuttle's log rows of the stops it drove ahead: ``(t_s, scheduled_s, sequence, stop)``, in order.

    Only the first waits in the clock's heap: when it is due it is logged and books the next, each
    ranked by the place in the clock's order it took when its stop was driven (``reserve``), so the
    rows land in the log where the stops' own events would have put them, and the heap holds one
    entry per shuttle, not one per stop driven ahead.
    """

    def __init__(self, model: object, agent: str) -> None:
        super().__init__()
        self.model, self.agent = model, agent

    def book_next(self) -> None:
        t_s, scheduled_s, sequence, _ = self[0]
        self.model.clock.at_reserved(t_s, self.due, scheduled_s, sequence)

    def due(self) -> None:
        t_s, _, _, stop = self.popleft()
        self.model.log.add(t_s, self.agent, "stop", stop)
        if self:
            self.book_next()
