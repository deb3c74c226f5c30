"""How an on-demand fleet chooses the vehicle for a request: nearest idle vehicle, or the cheapest
insertion into every candidate's plan (the service's ``dispatch``), with the candidates pruned by
lower bounds over the fleet's arrays. A mix-in of :class:`OnDemandService`, which holds the state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gwangju_twin.agents.shuttles.on_demand import OnDemandShuttle, Request

TRIES_PER_CANDIDATE = 4  # insertion dispatch tries at most 3 x candidates vehicles with a plan, plus empty ones
FILTER_TOLERANCE_S = 1e-3  # a filter (not the exact walk) rejects only what misses by more than this
INF = float("inf")
REACH_TOLERANCE_S = 1e-6  # pruning by the lower bound never drops a vehicle that float rounding would let through


def soonest_first(indices: np.ndarray, keys_s: np.ndarray, first: int = 64) -> Iterator[int]:
    """``indices`` (increasing) in order of ``keys_s``, ties in index order: a stable sort, done lazily.

    Dispatch reads a few dozen of a fleet's thousands of vehicles, so only what is read is sorted:
    the ``first`` smallest keys (and every key equal to the last of them) are sorted and given out,
    then four times as many of the rest, and so on. Every key given out is at most every key kept
    back, and each batch is sorted stably from index order, so the order is the full stable sort's.
    """
    batch = first
    while len(indices):
        if len(indices) > batch:
            threshold_s = np.partition(keys_s, batch - 1)[batch - 1]
            take = keys_s <= threshold_s
            now, now_keys_s = indices[take], keys_s[take]
            indices, keys_s = indices[~take], keys_s[~take]
        else:
            now, now_keys_s, indices = indices, keys_s, indices[:0]
        yield from now[np.argsort(now_keys_s, kind="stable")].tolist()
        batch *= 4


@dataclass(frozen=True)
class Visit:
    """A stop of a vehicle's plan: the pick-up or the drop-off of a request."""

    node: int
    pickup: bool
    request: Request


class Dispatch:
    """Dispatch for :class:`~gwangju_twin.agents.shuttles.on_demand.OnDemandService`."""

    def _nearest(self, request: Request) -> tuple[OnDemandShuttle, list[Visit]] | None:
        best = None
        for vehicle in self.vehicles:
            if not vehicle.dispatchable or vehicle.plan or vehicle.onboard:
                continue
            plan = [Visit(request.origin, True, request), Visit(request.destination, False, request)]
            end_s = self._feasible_end_s(vehicle, plan)
            if end_s is not None:
                pickup_s = self._start(vehicle)[1] + self._time(self._start(vehicle)[0], request.origin)
                if best is None or pickup_s < best[0]:
                    best = (pickup_s, vehicle, plan)
        return None if best is None else (best[1], best[2])

    def _insertion(self, request: Request) -> tuple[OnDemandShuttle, list[Visit]] | None:
        """The vehicle and plan where the request adds the least time, or None if nobody can serve it.

        Vehicles are tried in order of how soon they could reach the pick-up, until ``candidates``
        of them could take the request; among those the least added time wins, and of equal
        times the lower-numbered vehicle (as a search in fleet order would pick). Vehicles that
        already have a plan are tried only up to ``TRIES_PER_CANDIDATE - 1`` times ``candidates``:
        near a busy pick-up most of them are full, and an empty vehicle a little further away
        should still get its turn.
        """
        best = None
        found_by = busy_tried = 0
        enough = self.config.candidates or len(self.vehicles) + 1  # 0: try them all
        busy_most = (TRIES_PER_CANDIDATE - 1) * enough
        legs = self._legs()
        for vehicle in self._candidates(request, busy_most):
            if vehicle.plan or vehicle.onboard:
                if busy_tried == busy_most:
                    continue
                busy_tried += 1
            found = self._best_insertion(vehicle, request, legs, INF if best is None else best[0])
            if found is not None:
                if best is None or (found[0], vehicle.index) < (best[0], best[1].index):
                    best = (found[0], vehicle, found[1])
                found_by += 1
                if found_by == enough:
                    break
        return None if best is None else (best[1], best[2])

    def _candidates(self, request: Request, busy_most: int) -> Iterator[OnDemandShuttle]:
        """The dispatchable vehicles that could serve the request, soonest at the pick-up first, of
        them at most ``busy_most`` with a plan (the rest are never read: :meth:`_insertion` skips them).

        Two lower bounds prune the fleet without walking any plan, both from the shortest
        distance at the vehicle's cap from where and when it can next act (no plan gets it
        anywhere sooner): it must reach the pick-up within the maximum wait, and it must be able
        to then drive the trip and get home by the end of its window.
        """
        cfg, net = self.config, self.world.network
        to_origin_m = net.toward(request.origin)[0]
        start_s = np.maximum(np.maximum(self.next_node_times_s, self.free_times_s), self.model.now_s)
        pickup_s = start_s + to_origin_m[self.next_nodes] / cfg.max_speed_mps
        trip_home_m = net.distance_m(request.origin, request.destination) + net.distance_m(request.destination,
                                                                                        self.depot.node)
        home_s = pickup_s + trip_home_m / cfg.max_speed_mps + 2 * cfg.dwell_s
        ok = ((pickup_s <= request.t_s + cfg.max_wait_s + REACH_TOLERANCE_S)
              & (home_s <= self.window_ends_s + REACH_TOLERANCE_S))
        reachable = np.flatnonzero(ok)
        planned = self.planned[reachable]
        busy, free = reachable[planned], reachable[~planned]
        return self._merged(soonest_first(busy, pickup_s[busy]), soonest_first(free, pickup_s[free]), pickup_s,
                            busy_most)

    def _merged(self, busy: Iterator[int], free: Iterator[int], keys_s: np.ndarray,
                busy_most: int) -> Iterator[OnDemandShuttle]:
        """Vehicles with a plan (``busy``) and without (``free``), each stream in order of ``keys_s`` then
        index, merged in that order; the busy stream is left once ``busy_most`` dispatchable ones came
        from it. The fleet's thousands of busy vehicles are thus never walked past one by one."""
        vehicles = self.vehicles
        b, f = next(busy, None), next(free, None)
        taken = 0
        while f is not None or (b is not None and taken < busy_most):
            if b is not None and taken < busy_most and (f is None or (keys_s[b], b) < (keys_s[f], f)):
                i, b = b, next(busy, None)
                if vehicles[i].dispatchable:
                    taken += 1
                    yield vehicles[i]
            else:
                i, f = f, next(free, None)
                if vehicles[i].dispatchable:
                    yield vehicles[i]

    def _best_insertion(self, vehicle: OnDemandShuttle, request: Request, legs: _Legs,
                        beat_s: float = float("inf")) -> tuple[float, list[Visit]] | None:
        """The cheapest feasible insertion of the request into the vehicle's plan: (added time, plan).

        Pick-up positions ``i`` and drop-off positions ``j >= i`` in the order an exhaustive search
        takes them (first cheapest wins); the plan's prefix before ``i`` is walked once (and kept,
        :meth:`_walk_plan`), the part between pick-up and drop-off once per ``i``. The rest of the
        plan after a drop-off only shifts by the delay the two new visits cause there; it is walked
        only if that delay fits the rest's slack (every later pick-up's wait, on-board rider's ride
        and the window's end) and adds less than ``beat_s``, the best found so far elsewhere (or
        this vehicle's best). Once the vehicle has an insertion, a pick-up position is skipped whose
        delay at the visit it precedes, plus the drop-off's dwell still to come, already exceeds
        that insertion's and ``beat_s``'s added time: no stop waits and legs are shortest paths,
        so the delay only grows, and the vehicle's answer is the same whenever it can win.
        Filters keep a tolerance, so the walk, not the filter, decides every close call.
        """
        plan = vehicle.plan
        walked = self._walk_plan(vehicle, legs)
        if walked is None or (plan and self._finish(vehicle, walked[0][-1], legs) is None):
            return None  # the current plan is broken already, or no longer ends home in time: it takes nothing more
        prefix, known, arrive_s, _, riders_s = walked
        cfg, visits = self.config, self._visits_of(request)
        latest_s, dwell_s = request.t_s + cfg.max_wait_s, cfg.dwell_s
        best, seats, origin, pairs, n = None, cfg.capacity, request.origin, legs.pairs, len(plan)
        for i in range(n + 1):
            node, reach_s, distance_m, load = prefix[i]
            if node != origin:  # the legs and the pick-up's _step inlined: this loop runs for every vehicle tried
                leg_s, leg_m = pairs.get((node, origin)) or legs(node, origin)
                reach_s += leg_s
                distance_m += leg_m
            if reach_s - latest_s > FILTER_TOLERANCE_S:
                break  # too late at the pick-up from here, and later still from every later position
            if load >= seats or reach_s > latest_s:
                continue  # full here, or just too late
            after = {request.id: reach_s}  # pick-up times that moved: this pick-up's and those after it
            state = (origin, reach_s + dwell_s, distance_m, load + 1)
            # the pick-up's delay at the visit it precedes: every visit after is at least that late
            shift_s = 0.0
            if i < n:
                reach_s, there = state[1], plan[i].node
                if there != origin:
                    reach_s += (pairs.get((origin, there)) or legs(origin, there))[0]
                shift_s = reach_s - arrive_s[i]
            if shift_s > riders_s[i] + FILTER_TOLERANCE_S or (best is not None and shift_s + dwell_s
                                                                > min(best[0], beat_s) + FILTER_TOLERANCE_S):
                continue
            least_s = shift_s + dwell_s if i < n else 0.0  # the least any drop-off adds
            best = self._best_dropoff(vehicle, walked, legs, (i, visits, state, after, least_s), beat_s, best)
        return best

    def _visits_of(self, request: Request) -> tuple[Visit, Visit]:
        """The request's pick-up and drop-off, made once for all the vehicles tried."""
        visits = self.__dict__.get("_visits")
        if visits is None or visits[0].request is not request:
            visits = self._visits = (Visit(request.origin, True, request), Visit(request.destination, False, request))
        return visits

    def _best_dropoff(self, vehicle: OnDemandShuttle, walked: tuple[list, dict, list, list, list], legs: _Legs,
                      picked: tuple[int, tuple[Visit, Visit], tuple[int, float, float, int], dict[int, float], float],
                      beat_s: float,
                      best: tuple[float, list[Visit]] | None) -> tuple[float, list[Visit]] | None:
        """The better of ``best`` and the best drop-off after the pick-up ``picked``: (position, the request's
        pick-up and drop-off, state after the pick-up, moved pick-up times, least added time). A drop-off
        before the plan's end that must add more than the best (or ``beat_s``) is not tried; none is once
        the new rider's ride is too long."""
        cfg, plan, (prefix, known, arrive_s, slack_s, _) = self.config, vehicle.plan, walked
        i, (pickup, dropoff), state, after, least_s = picked
        request, before_s, step = pickup.request, prefix[-1][1], self._step
        ride_s, n, picked_s = cfg.max_detour * request.direct_s + cfg.dwell_s, len(plan), after[request.id]
        for j in range(i, n + 1):
            if state is None or state[1] - picked_s > ride_s:
                break  # every later drop-off passes the same broken stretch, or comes later still
            bar_s = beat_s if best is None else best[0]
            if j == n or least_s <= bar_s + 2 * FILTER_TOLERANCE_S:
                end = step(state, dropoff, after, legs, known)
                if end is not None and j < n:
                    delay_s = self._delay_s(end, plan[j], arrive_s[j], legs)  # what the rest of the plan shifts by
                    if delay_s > min(slack_s[j], bar_s) + FILTER_TOLERANCE_S:
                        end = None
                    for visit in plan[j:]:
                        if end is None:
                            break
                        end = step(end, visit, after, legs, known)
                end_s = None if end is None else self._finish(vehicle, end, legs)
                if end_s is not None and (best is None or end_s - before_s < best[0]):
                    best = (end_s - before_s, [*plan[:i], pickup, *plan[i:j], dropoff, *plan[j:]])
            if j < n:
                state = step(state, plan[j], after, legs, known)
        return best

    def _walk_plan(self, vehicle: OnDemandShuttle, legs: _Legs) -> tuple[list, dict, list, list, list] | None:
        """The plan walked from where and when the vehicle can next act; None if it breaks a rule on the way.

        The state before each visit and after the last, the pick-up times then known, and
        :meth:`_slack`'s figures. None of them depends on the time of the request, so they are
        kept per vehicle until its plan, start or window changes (the plan list itself is kept
        with them, so a new plan is never taken for the old one). Only the end's energy and
        window check (:meth:`_finish`) is the caller's, every time.
        """
        # _start, read from the properties' own fields (this runs for every vehicle tried)
        node, t_s = vehicle._next_node, max(vehicle._next_node_s, vehicle._free_at_s, self.model.clock.now_s)
        if not vehicle.plan:  # nothing to walk, nothing worth keeping: what the walk below gives for no visits
            return [(node, t_s, 0.0, len(vehicle.onboard))], {r.id: r.pickup_s for r in vehicle.onboard}, [], [INF], [INF]
        key = (len(vehicle.plan), len(vehicle.onboard), node, t_s, vehicle.window_end_s)
        walks = self.__dict__.setdefault("_walks", {})
        kept = walks.get(vehicle.index)
        if kept is not None and kept[0] is vehicle.plan and kept[1] == key:
            return kept[2]
        known = {r.id: r.pickup_s for r in vehicle.onboard}
        prefix = [(node, t_s, 0.0, len(vehicle.onboard))]
        walked = None
        for visit in vehicle.plan:
            state = self._step(prefix[-1], visit, known, legs)
            if state is None:
                break
            prefix.append(state)
        else:
            walked = (prefix, known, *self._slack(vehicle, prefix, prefix[-1][1], legs))
        walks[vehicle.index] = (vehicle.plan, key, walked)
        return walked

    @staticmethod
    def _delay_s(state: tuple[int, float, float, int], visit: Visit, arrive_s: float, legs: _Legs) -> float:
        """How much later than planned (``arrive_s``) the vehicle reaches ``visit`` from ``state``."""
        node, t_s, there = state[0], state[1], visit.node
        return t_s + ((legs.pairs.get((node, there)) or legs(node, there))[0] if node != there else 0.0) - arrive_s

    def _slack(self, vehicle: OnDemandShuttle, prefix: list[tuple[int, float, float, int]], before_s: float,
               legs: _Legs) -> tuple[list[float], list[float], list[float]]:
        """When each visit of the plan is reached now, and how late visit k and all after it may be
        reached (every later pick-up's wait, on-board rider's ride, the window's end), and the same
        without the window's end (the riders' slack, which holds wherever the drop-off goes)."""
        cfg, plan = self.config, vehicle.plan
        arrive_s = [after[1] - cfg.dwell_s for after in prefix[1:]]
        slack_s = [float("inf")] * (len(plan) + 1)
        riders_s = slack_s.copy()
        if plan:
            slack_s[-1] = vehicle.window_end_s - before_s - legs(prefix[-1][0], vehicle.depot.node)[0]
        for k in range(len(plan) - 1, -1, -1):
            visit = plan[k]
            rider = visit.request
            if visit.pickup:
                room_s = rider.t_s + cfg.max_wait_s - arrive_s[k]
            elif rider.pickup_s is not None:  # on board: picked up at a fixed time
                room_s = cfg.max_detour * rider.direct_s + cfg.dwell_s - (arrive_s[k] - rider.pickup_s)
            else:
                room_s = float("inf")
            slack_s[k] = min(slack_s[k + 1], room_s)
            riders_s[k] = min(riders_s[k + 1], room_s)
        return arrive_s, slack_s, riders_s

    def _step(self, state: tuple[int, float, float, int], visit: Visit, pickups: dict[int, float],
              legs: _Legs, fallback: dict[int, float] | None = None) -> tuple[int, float, float, int] | None:
        """Drive to and serve one visit from ``(node, time, distance, load)``; None if it breaks a rule.

        A pick-up records its time in ``pickups``; a drop-off reads its pick-up's time there,
        else in ``fallback`` (pick-ups earlier in the plan that did not move).
        """
        cfg = self.config
        node, t_s, distance_m, load = state
        there = visit.node
        if there != node:
            leg_s, leg_m = legs.pairs.get((node, there)) or legs(node, there)
            t_s += leg_s
            distance_m += leg_m
        request = visit.request
        if visit.pickup:
            load += 1
            if load > cfg.capacity or t_s > request.t_s + cfg.max_wait_s:
                return None
            pickups[request.id] = t_s
        else:
            load -= 1
            picked_s = pickups[request.id] if fallback is None or request.id in pickups else fallback[request.id]
            if t_s - picked_s > cfg.max_detour * request.direct_s + cfg.dwell_s:
                return None
        return there, t_s + cfg.dwell_s, distance_m, load

    def _finish(self, vehicle: OnDemandShuttle, state: tuple[int, float, float, int], legs: _Legs) -> float | None:
        """When the last visit ends, or None if the vehicle could not then get home in its window with energy."""
        node, t_s, distance_m, _ = state
        home_s, home_m = legs.pairs.get((node, vehicle.depot.node)) or legs(node, vehicle.depot.node)
        distance_m += home_m
        if t_s + home_s > vehicle.window_end_s or not vehicle.can_afford(distance_m, t_s + home_s - self.model.clock.now_s):
            return None  # back home by the window's end, with the energy reserve intact
        return t_s

    def _start(self, vehicle: OnDemandShuttle) -> tuple[int, float]:
        """Where and when the vehicle can next act on a plan."""
        return vehicle.next_node, max(vehicle.next_node_s, vehicle.free_at_s, self.model.now_s)

    def _legs(self) -> _Legs:
        """The fleet's legs at its speed cap, kept for the whole run (the roads do not change in a run)."""
        legs = self.__dict__.get("_fleet_legs")
        if legs is None:
            legs = self._fleet_legs = _Legs(self.world.network, self.config.max_speed_mps)
        return legs

    def _time(self, a: int, b: int) -> float:
        return self.world.network.travel_time_s(a, b, self.config.max_speed_mps)

    def _feasible_end_s(self, vehicle: OnDemandShuttle, plan: list[Visit]) -> float | None:
        """When the plan would end, or None if it breaks a rider's wait, ride, seats, window or energy."""
        legs = self._legs()
        node, t_s = self._start(vehicle)
        state: tuple[int, float, float, int] | None = (node, t_s, 0.0, len(vehicle.onboard))
        pickups = {r.id: r.pickup_s for r in vehicle.onboard}
        for visit in plan:
            state = self._step(state, visit, pickups, legs)
            if state is None:
                return None
        return self._finish(vehicle, state, legs)


class _Legs:
    """Shortest-path legs ``(time_s, distance_m)`` at one speed cap: each destination's tree fetched once,
    each pair's figures remembered (up to ``PAIRS_KEPT`` pairs, then forgotten all at once and relearnt)."""

    PAIRS_KEPT = 250_000

    def __init__(self, network, max_speed_mps: float) -> None:
        self.network, self.max_speed_mps = network, max_speed_mps
        self._trees: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.pairs: dict[tuple[int, int], tuple[float, float]] = {}

    def __call__(self, source: int, target: int) -> tuple[float, float]:
        pair = self.pairs.get((source, target))
        if pair is not None:
            return pair
        tree = self._trees.get(target)
        if tree is None:
            net = self.network
            tree = self._trees[target] = (net.time_to_s(target, self.max_speed_mps), net.toward(target)[0])
        if len(self.pairs) >= self.PAIRS_KEPT:
            self.pairs.clear()
        pair = self.pairs[(source, target)] = (float(tree[0][source]), float(tree[1][source]))
        return pair
