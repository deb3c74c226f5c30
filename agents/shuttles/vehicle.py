"""A road vehicle that moves by events: one event per road edge, not one per second.

Vehicles that take no decision between the nodes of a drive (``express = True``: loop shuttles,
waste collectors, sweepers) go further: the edges of a drive up to the next disengagement are one event at
the end of that stretch, which then applies every edge in order, with the same arithmetic and the
same recorded node times as edge-by-edge driving; only the engine's event count differs.

On each edge it drives at ``min(its own cap, the edge's speed limit)``, so no vehicle ever
exceeds either. It spends energy per metre and per hour of driving, charges at its depot's
chargers (a queue), and may disengage: it then stands still until a remote operator of the
control centre has handled it. Every node it reaches, and every moment it sets off after standing
still, is recorded in the model's tracks.
"""

from __future__ import annotations

import bisect
import math
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.agents.shuttles.config import Charging, Energy, Supervision
from gwangju_twin.agents.shuttles.express import ExpressDriving, Leg
from gwangju_twin.mesa_core import Agent
from gwangju_twin.resources import Grant, Resource
from gwangju_twin.units import J_PER_KWH

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel
    from gwangju_twin.world import World


class Depot:
    """A depot node of one area's world, with its chargers and the model's control centre."""

    def __init__(self, world: World, node: int, chargers: Resource, charging: Charging, control: Resource,
                 supervision: Supervision) -> None:
        self.world = world
        self.node, self.chargers, self.charging = node, chargers, charging
        self.control, self.supervision = control, supervision
        self.legs: dict[tuple, Leg] = {}  # the drives its vehicles repeat, by (from, to, cap, energy rates)


class _Watched:
    """An attribute that tells the fleets watching a vehicle when it is written (see :class:`FleetPositions`).

    No ``__get__``: reading it reads the instance's dictionary; only writes look at the watchers. Only a
    watched vehicle has it: a fleet that watches one gives it its class's watched twin (:func:`_watched_class`).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __set__(self, vehicle: RoadVehicle, value: object) -> None:
        attributes = vehicle.__dict__
        attributes[self.name] = value
        for watcher, index in attributes.get("_motion_watchers", ()):
            changed = watcher()
            if changed is not None:
                changed.add(index)


# What an event changes whenever it changes a vehicle's motion: a new edge (edge_start_s), an arrival
# (edge), a stretch begun or ended (_stretch, edge_start_s), a stop (state), a resume (state, edge_start_s).
MOTION_ATTRIBUTES = ("edge", "edge_start_s", "_stretch", "state")
_WATCHED_CLASSES: dict[type, type] = {}  # each vehicle class's watched twin, made once (_watched_class)


def _watched_class(cls: type) -> type:
    """``cls`` with its :data:`MOTION_ATTRIBUTES` watched: the class a vehicle takes when a fleet watches it."""
    if not cls.__dict__.get("_motion_watched", False) and cls not in _WATCHED_CLASSES:
        _WATCHED_CLASSES[cls] = type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                                            "_motion_watched": True,
                                                            **{name: _Watched() for name in MOTION_ATTRIBUTES}})
    return _WATCHED_CLASSES.get(cls, cls)


class RoadVehicle(ExpressDriving, Agent):
    """Base of every ground vehicle: position, odometer, battery, event-driven driving."""

    kind = "vehicle"
    express = False  # True: drive the edges of a drive as one event (no per-edge decisions, see the module)

    def __init__(self, model: TwinModel, name: str, depot: Depot, max_speed_mps: float, energy: Energy) -> None:
        super().__init__(model)
        self.model: TwinModel = model
        self.name = name
        self.depot = depot
        self.world = depot.world  # a vehicle drives the roads of its depot's area
        self.node = depot.node
        self.max_speed_mps = max_speed_mps
        self.energy = energy
        self.battery_j = energy.initial * energy.battery_j
        self.min_battery_j = self.battery_j
        self.state = "idle"
        self.odometer_m = 0.0
        self.driving_s = 0.0
        self.disengagements = 0
        self.stopped_s = 0.0
        self.charge_sessions = 0
        self.charged_j = 0.0
        self.next_node, self.next_node_s = self.node, 0.0
        self.edge: int | None = None  # the edge being driven, for smooth display between events
        self.edge_start_s = 0.0
        self._stopped_at_s = 0.0
        self.window_end_s = 0.0
        self._edges: deque[int] = deque()
        self._stretch: tuple[list[int], list[float]] | None = None  # express: the edges and when each ends
        self._stretch_leg: Leg | None = None  # the stretch as a whole leg, when it is one (depart_at)
        self._legs: dict[tuple[int, int], Leg] = {}  # the legs it drives, by (from node, to node): _leg
        # True when on_edge and energy_j are the base's, so _book_stretch may stand in for _apply_edge.
        self._books_plainly = type(self).on_edge is RoadVehicle.on_edge and type(self).energy_j is RoadVehicle.energy_j
        self._then: Callable[[], None] | None = None
        self._until_disengagement_s = self._draw_disengagement()
        self._recorded_s = -1.0
        self.record()

    # --- movement -------------------------------------------------------------------------
    def motion(self, now_s: float) -> tuple[int, float, float, float, float]:
        """How the vehicle moves at ``now_s``: ``(edge, start_s, end_s, stopped_at_s, next_edge_s)``.

        It drives ``edge`` from ``start_s`` to ``end_s`` at constant speed, and stands where it
        was at ``stopped_at_s`` if it stopped on the way (NaN: it did not); ``edge`` is -1 while
        it stands on ``node``. ``next_edge_s`` is when a stretch moves on to its next edge, or
        sets off (infinity when only an event changes the motion). :meth:`position_m` and
        :class:`FleetPositions` read it alike.
        """
        if self.edge is None:
            return -1, 0.0, 0.0, math.nan, math.inf
        if self._stretch is not None:
            if now_s < self.edge_start_s:  # booked ahead (depart_at): on its node until it sets off
                return -1, 0.0, 0.0, math.nan, self.edge_start_s
            edges, ends = self._stretch
            i = min(bisect.bisect_right(ends, now_s), len(edges) - 1)  # the edge under way
            return (edges[i], ends[i - 1] if i else self.edge_start_s, ends[i], math.nan,
                    ends[i] if i < len(edges) - 1 else math.inf)
        stopped_at_s = self._stopped_at_s if self.state == "stopped" else math.nan
        return self.edge, self.edge_start_s, self.next_node_s, stopped_at_s, math.inf

    def position_m(self, now_s: float) -> tuple[float, float]:
        """Where the vehicle is at ``now_s``: on its node, or interpolated along the edge it drives."""
        net = self.world.network
        edge, start_s, end_s, stopped_at_s, _ = self.motion(now_s)
        if edge < 0:
            return float(net.x_m[self.node]), float(net.y_m[self.node])
        at_s = now_s if math.isnan(stopped_at_s) else stopped_at_s
        return net.point_along(edge, min(max((at_s - start_s) / max(end_s - start_s, 1e-9), 0.0), 1.0))

    def record(self, t_s: float | None = None) -> None:
        """Add the current node to the model's tracks, at ``t_s`` (default: now)."""
        tracks = self.model.tracks
        if not tracks.enabled:
            return
        t_s = self.model.clock.now_s if t_s is None else t_s
        self._recorded_s = t_s
        x_m, y_m = self.world.network.xy_list[self.node]
        tracks.add(self.name, self.kind, t_s, x_m, y_m, self.odometer_m, self.state, self.battery_j / J_PER_KWH)

    def drive_to(self, target: int, then: Callable[[], None]) -> None:
        """Drive the shortest path to ``target``, then call ``then``."""
        self._follow(self.world.network.route_edges(self.node, target), self._recorded(target, then))

    def follow(self, edges: list[int], then: Callable[[], None]) -> None:
        """Drive along ``edges`` (which must start at the current node), then call ``then``.

        A model that records drives records this one too, from here to the last edge's end (a
        sweeper's street, an on-demand shuttle's next edge): what SUMO replays is all that moved.
        """
        if edges:
            then = self._recorded(int(self.world.network.edge_v[edges[-1]]), then)
        self._follow(edges, then)

    def _recorded(self, target: int, then: Callable[[], None], start_s: float | None = None) -> Callable[[], None]:
        """``then``, noting the drive from here to ``target`` (setting off now, or at ``start_s``) and when
        it arrived, if the model records drives."""
        drives = self.model.drives
        if drives is None:
            return then
        drive = [self.model.now_s if start_s is None else start_s, self.name, self.node, target, None]
        drives.append(drive)

        def arrived() -> None:
            drive[4] = self.model.now_s
            then()

        return arrived

    def _follow(self, edges: list[int], then: Callable[[], None]) -> None:
        self._edges = deque(edges)
        self._then = then
        self._next_edge()

    def on_edge(self, edge: int) -> None:
        """Called after each edge is driven; services count what the edge meant to them."""

    def _next_edge(self) -> None:
        if not self._edges:
            then, self._then = self._then, None
            if then is not None:
                then()
            return
        if self._recorded_s < self.model.clock.now_s:
            self.record()  # leaving after standing still: the track shows when it set off
        if self.express and len(self._edges) > 1 and self._drive_stretch():
            return
        edge = self._edges.popleft()
        net, now_s = self.world.network, self.model.clock.now_s
        duration_s = net.edge_times_s(self.max_speed_mps)[edge]
        self.next_node = net.edge_v_list[edge]
        self.next_node_s = now_s + duration_s
        self.edge, self.edge_start_s = edge, now_s
        if self._until_disengagement_s < duration_s:
            driven_s = self._until_disengagement_s
            self._until_disengagement_s = self._draw_disengagement()
            self.model.clock.after(driven_s, lambda: self._disengage(edge, duration_s, driven_s))
        else:
            self._until_disengagement_s -= duration_s
            self.model.clock.after(duration_s, lambda: self._arrive(edge, duration_s))

    def _apply_edge(self, edge: int, elapsed_s: float) -> None:
        """Book one driven edge: position, odometer, driving time, battery, the service's count."""
        net = self.world.network
        length_m = net.edge_length_list[edge]
        self.node = net.edge_v_list[edge]
        self.edge = None
        self.odometer_m += length_m
        self.driving_s += elapsed_s
        self.battery_j -= self.energy_j(length_m, elapsed_s)
        if self.battery_j < self.min_battery_j:
            self.min_battery_j = self.battery_j
        self.on_edge(edge)

    def _arrive(self, edge: int, elapsed_s: float) -> None:
        self._apply_edge(edge, elapsed_s)
        self.record()
        self._next_edge()

    # --- remote supervision ---------------------------------------------------------------
    def _draw_disengagement(self) -> float:
        rate = self.depot.supervision.disengagement_rate_per_s
        return float(self.model.rng.exponential(1.0 / rate)) if rate > 0 else float("inf")

    def _disengage(self, edge: int, duration_s: float, driven_s: float) -> None:
        stopped_at_s, before = self.model.now_s, self.state
        self.state = "stopped"
        self._stopped_at_s = stopped_at_s
        self.disengagements += 1
        self.model.log.add(stopped_at_s, self.name, "disengage", f"edge {edge}")

        def handle(operator: Grant) -> None:
            handling_s = float(self.model.rng.exponential(self.depot.supervision.handling_s))

            def resume() -> None:
                self.depot.control.release(operator)
                self.state = before
                stopped_s = self.model.now_s - stopped_at_s
                self.stopped_s += stopped_s
                self.model.log.add(self.model.now_s, self.name, "resume", f"stopped {stopped_s:.0f} s")
                self.next_node_s += stopped_s
                self.edge_start_s += stopped_s
                self.model.clock.after(duration_s - driven_s, lambda: self._arrive(edge, duration_s + stopped_s))

            self.model.clock.after(handling_s, resume)

        self.depot.control.request(handle)

    # --- energy ---------------------------------------------------------------------------
    def energy_j(self, distance_m: float, time_s: float) -> float:
        """Energy to drive ``distance_m`` taking ``time_s``."""
        return distance_m * self.energy.per_length_jpm + time_s * self.energy.per_time_w

    def can_afford(self, distance_m: float, time_s: float) -> bool:
        """True if a trip of ``distance_m``/``time_s`` leaves at least the reserve in the battery."""
        reserve_j = self.energy.reserve * self.energy.battery_j
        return self.battery_j - self.energy_j(distance_m, time_s) >= reserve_j

    def start_window(self, end_s: float) -> None:
        """Begin work in a service window ending at ``end_s`` (services that work in windows override it)."""

    def arrive_at_depot(self) -> None:
        """Park at the depot; charge if low, then go back out if the window still has time."""
        self.state = "idle"
        self.model.log.add(self.model.now_s, self.name, "arrive", "depot")
        self.record()
        if self.needs_charge():
            self.charge(self._resume_window)

    def _resume_window(self) -> None:
        if self.model.now_s < self.window_end_s:
            self.start_window(self.window_end_s)

    def needs_charge(self) -> bool:
        return self.battery_j < self.depot.charging.charge_below * self.energy.battery_j

    def charge(self, then: Callable[[], None]) -> None:
        """Go to the depot, queue for a charger, charge to full, then call ``then``."""
        if self.node != self.depot.node:
            self.state = "to_charger"
            self.drive_to(self.depot.node, lambda: self.charge(then))
            return
        self.state = "charging"
        self.record()

        def plugged_in(charger: Grant) -> None:
            missing_j = max(self.energy.battery_j - self.battery_j, 0.0)

            def full() -> None:
                self.depot.chargers.release(charger)
                self.battery_j = self.energy.battery_j
                self.charged_j += missing_j
                self.charge_sessions += 1
                self.state = "idle"
                self.model.log.add(self.model.now_s, self.name, "charged", f"{missing_j / J_PER_KWH:.2f} kWh")
                self.record()
                then()

            self.model.clock.after(missing_j / self.depot.charging.power_w, full)

        self.depot.chargers.request(plugged_in)


class FleetPositions:
    """:meth:`RoadVehicle.position_m` of a whole fleet on one network at once, as an (n, 2) array.

    The viewer places every vehicle every frame: 5,000 calls of ``position_m`` are about 10 ms of
    Python a frame. This keeps each vehicle's :meth:`RoadVehicle.motion` in arrays and asks a
    vehicle again only when what it does changed: an event wrote another edge, a stretch, a stop
    (the vehicle's watched attributes note its index in this fleet's set of changed vehicles, so no
    frame looks at the vehicles that did not change). A stretch is copied once into a pool of
    arrays (a leading ``-1`` edge ending when it sets off, then its edges and their ends), and a
    vehicle moving on to its next edge steps along the pool in numpy, as ``motion``'s bisection
    would; the points come from :meth:`RoadNetwork.points_along`.
    """

    def __init__(self, vehicles: Sequence[RoadVehicle]) -> None:
        self.vehicles = list(vehicles)
        n = len(self.vehicles)
        self._changed: set[int] = set(range(n))  # the vehicles whose watched attributes were written since
        for index, vehicle in enumerate(self.vehicles):
            vehicle.__class__ = _watched_class(type(vehicle))  # its motion attributes now tell the watchers
            watchers = [w for w in vehicle.__dict__.get("_motion_watchers", ()) if w[0]() is not None]
            watchers.append((weakref.ref(self._changed), index))
            vehicle.__dict__["_motion_watchers"] = watchers
        self._edge = np.full(n, -1, dtype=np.intp)
        self._start_s, self._end_s = np.zeros(n), np.ones(n)
        self._stopped_at_s = np.full(n, np.nan)  # NaN: not stopped, the position is the one at the time asked
        self._next_edge_s = np.full(n, np.inf)
        self._node = np.zeros(n, dtype=np.intp)
        self.states: list[str] = [vehicle.state for vehicle in self.vehicles]  # as of the last :meth:`at`
        self._asked_s = -math.inf
        # The pool: a vehicle's stretch is pool[base..last]; cursor is where it is on it (-1: on none).
        self._base, self._last, self._cursor = np.zeros(n, np.intp), np.zeros(n, np.intp), np.full(n, -1, np.intp)
        self._pool_edges, self._pool_ends_s, self._used = np.zeros(0, np.intp), np.zeros(0), 0
        self.pool_min = 1024  # entries the pool never goes under

    def at(self, now_s: float) -> np.ndarray:
        """Every vehicle's ``position_m(now_s)``, in the order of :attr:`vehicles`; :attr:`states`
        then holds each one's ``state``."""
        if not self.vehicles:
            return np.zeros((0, 2))
        asked = np.zeros(len(self.vehicles), dtype=bool)
        if now_s < self._asked_s:  # back in time (a replay): ask everyone
            stale, stepping = range(len(self.vehicles)), np.zeros(0, np.intp)
        else:
            due = self._next_edge_s <= now_s
            stale = self._changed.union(np.flatnonzero(due & (self._cursor < 0)).tolist())
            stepping = np.flatnonzero(due & (self._cursor >= 0))
        self._changed.clear()  # in place: the vehicles hold weak references to this very set
        asked[list(stale)] = True
        pooled = self._ask(stale, now_s)
        self._step(np.concatenate((stepping[~asked[stepping]], pooled)), now_s)
        self._asked_s = now_s
        net = self.vehicles[0].world.network
        at_s = np.where(np.isnan(self._stopped_at_s), now_s, self._stopped_at_s)
        fraction = np.clip((at_s - self._start_s) / np.maximum(self._end_s - self._start_s, 1e-9), 0.0, 1.0)
        moving = self._edge >= 0
        xy = np.column_stack((net.x_m[self._node], net.y_m[self._node]))
        if moving.any():
            xy[moving] = net.points_along(self._edge[moving], fraction[moving])
        return xy

    def _ask(self, stale: Iterable[int], now_s: float) -> np.ndarray:
        """Ask the stale vehicles how they move; those on a stretch go into the pool at its start
        (their indices are returned, for :meth:`_step` to place)."""
        pooled, edges, ends_s = [], [], []
        for i in stale:
            vehicle = self.vehicles[i]
            self._node[i] = vehicle.node
            self.states[i] = vehicle.state  # a watched attribute: it changed only if the vehicle is stale
            self._cursor[i] = -1
            stretch = vehicle._stretch
            if stretch is not None and vehicle.edge is not None:
                self._base[i] = len(edges)  # within this batch, until it is placed in the pool
                edges += [-1, *stretch[0]]
                ends_s += [vehicle.edge_start_s, *stretch[1]]
                self._last[i] = len(edges) - 1
                pooled.append(i)
            else:
                (self._edge[i], self._start_s[i], self._end_s[i], self._stopped_at_s[i],
                 self._next_edge_s[i]) = vehicle.motion(now_s)
        pooled = np.array(pooled, dtype=np.intp)
        if len(pooled):
            self._reserve(len(edges))
            used = self._used
            self._pool_edges[used:used + len(edges)], self._pool_ends_s[used:used + len(edges)] = edges, ends_s
            self._base[pooled] += used
            self._last[pooled] += used
            self._cursor[pooled] = self._base[pooled]
            self._used = used + len(edges)
        return pooled

    def _step(self, index: np.ndarray, now_s: float) -> None:
        """Move pooled vehicles to the edge under way at ``now_s``: the first whose end is after it (the
        last at most), as ``motion``'s ``bisect_right``; before it sets off, on its node."""
        if not len(index):
            return
        ends_s, last = self._pool_ends_s, self._last[index]
        at = self._cursor[index]
        going = ends_s[at] <= now_s  # set off (the cursor's end has passed)
        at = np.where(going, at + 1, at)
        while True:
            on = going & (at < last) & (ends_s[at] <= now_s)
            if not on.any():
                break
            at[on] += 1
        self._cursor[index] = at
        self._edge[index] = self._pool_edges[at]  # -1 at the leading entry: not yet set off
        self._start_s[index] = np.where(going, ends_s[at - 1], 0.0)
        self._end_s[index] = np.where(going, ends_s[at], 0.0)
        self._stopped_at_s[index] = np.nan
        self._next_edge_s[index] = np.where(at < last, ends_s[at], np.inf)

    def _reserve(self, extra: int) -> None:
        """Room for ``extra`` more entries in the pool: the stretches still driven moved to its front,
        in a pool twice what they and ``extra`` need."""
        if self._used + extra <= len(self._pool_edges):
            return
        live = np.flatnonzero(self._cursor >= 0)
        lengths = self._last[live] - self._base[live] + 1
        base = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.intp)
        take = np.repeat(self._base[live] - base, lengths) + np.arange(int(lengths.sum()), dtype=np.intp)
        size = max(2 * (len(take) + extra), self.pool_min)
        edges, ends_s = np.empty(size, np.intp), np.empty(size)
        edges[:len(take)], ends_s[:len(take)] = self._pool_edges[take], self._pool_ends_s[take]
        shift = base - self._base[live]
        self._base[live], self._last[live], self._cursor[live] = base, self._last[live] + shift, self._cursor[live] + shift
        self._pool_edges, self._pool_ends_s, self._used = edges, ends_s, len(take)
