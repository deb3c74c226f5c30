"""Limited resources on the model's clock: chargers, remote operators, test rigs, staff.

A :class:`Resource` has ``capacity`` identical units. :meth:`Resource.request` returns a
:class:`Grant` at once, whether or not the units are free yet; the grant's callback runs when
they are given, and :meth:`Resource.release` takes that grant back (never a bare count), so a
holder can only return what it was given, and only once. A resource's own queue is served by
priority (lower first), then first come, first served: ties keep request order, so runs replay
exactly. Its capacity can change over time (staff shifts). It keeps the time integrals needed for
utilisation and mean waiting time.

A :class:`JointQueue` seizes several resources together (a test rig *and* its staff): a joint
request gets every unit it needs at the same instant or waits holding nothing, so two tests can
never each hold half of what the other needs. Waiting joint requests are offered the free units
by priority, then by arrival; one that cannot have everything is passed over for the moment and
the next one is tried ("first fit"), so a test whose rig is free does not wait behind a test
whose rig is busy.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Sequence

from gwangju_twin.clock import EventQueue

KINDS = ("waiting", "held_alone")


class Grant:
    """What one request asked of one resource, and whether (since when) it holds it.

    ``granted_s`` is ``None`` while the request waits; ``released`` becomes true when the units
    go back (or a waiting request is withdrawn).
    """

    __slots__ = ("resource", "units", "priority", "asked_s", "granted_s", "released", "_on_grant")

    def __init__(self, resource: Resource, units: int, priority: int, asked_s: float,
                 on_grant: Callable[[Grant], None] | None) -> None:
        self.resource, self.units, self.priority = resource, units, priority
        self.asked_s = asked_s
        self.granted_s: float | None = None
        self.released = False
        self._on_grant = on_grant

    @property
    def granted(self) -> bool:
        return self.granted_s is not None

    @property
    def waited_s(self) -> float | None:
        """Time from request to grant (``None`` while still waiting)."""
        return None if self.granted_s is None else self.granted_s - self.asked_s


class Resource:
    """``capacity`` units shared by grant, first come, first served."""

    def __init__(self, clock: EventQueue, capacity: int, name: str) -> None:
        if capacity < 0:
            raise ValueError(f"{name}: capacity must be at least 0, got {capacity}")
        self.clock = clock
        self.capacity = capacity
        self.name = name
        self.in_use = 0
        self._queue: list[tuple[int, int, Grant]] = []
        self._sequence = itertools.count()
        self._watchers: list[JointQueue] = []
        self._available_unit_s = 0.0
        self._last_s = clock.now_s
        self._busy_unit_s = 0.0
        self.granted = 0
        self.total_wait_s = 0.0

    def request(self, on_grant: Callable[[Grant], None] | None = None, *, units: int = 1,
                priority: int = 0) -> Grant:
        """Ask for ``units`` units at once; returns the grant, and ``on_grant(grant)`` runs (now or later)
        when they are yours.

        Units are granted together, never piecemeal, so requests for several cannot deadlock; the
        queue is served strictly in order (no request overtakes a higher-ranked one).
        """
        if units < 1:
            raise ValueError(f"{self.name}: a request needs at least 1 unit, got {units}")
        self._account()
        grant = Grant(self, units, priority, self.clock.now_s, on_grant)
        heapq.heappush(self._queue, (priority, next(self._sequence), grant))
        self._serve_queue()
        return grant

    def release(self, grant: Grant, *, serve_now: bool = True) -> None:
        """Give back the units of ``grant`` (a waiting request is withdrawn instead).

        With ``serve_now`` the waiters (this resource's queue, then the joint queues that use it)
        are offered the units at once; without, by an event at the same instant, after the caller
        has finished what it is doing (a part that passed a test joins the queue for its next one
        first, so it competes for the staff it just freed).
        """
        if grant.resource is not self:
            raise RuntimeError(f"{self.name}: a grant of '{grant.resource.name}' was released here")
        if grant.released:
            raise RuntimeError(f"{self.name}: a grant was released twice")
        grant.released = True
        if not grant.granted:
            self._queue = [entry for entry in self._queue if entry[2] is not grant]
            heapq.heapify(self._queue)
            return
        self._account()
        self.in_use -= grant.units
        if serve_now:
            self._wake()
        else:
            self.clock.after(0.0, self._wake)

    def set_capacity(self, capacity: int) -> None:
        """Change the number of units (a shift starts or ends); units in use finish their work."""
        self._account()
        self.capacity = capacity
        self._wake()

    def _wake(self) -> None:
        self._serve_queue()
        for queue in self._watchers:
            queue.serve()

    def _serve_queue(self) -> None:
        while self._queue and self.in_use + self._queue[0][2].units <= self.capacity:
            grant = heapq.heappop(self._queue)[2]
            self._give(grant)
            if grant._on_grant is not None:
                grant._on_grant(grant)

    def _give(self, grant: Grant) -> None:
        self.in_use += grant.units
        self.granted += 1
        grant.granted_s = self.clock.now_s
        self.total_wait_s += grant.granted_s - grant.asked_s

    def can_give(self, units: int) -> bool:
        """True if ``units`` units are free now and nobody in this resource's own queue is ahead."""
        return not self._queue and self.in_use + units <= self.capacity

    @property
    def free(self) -> int:
        """Units that a request could have right now."""
        return max(self.capacity - self.in_use, 0)

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    def _account(self) -> None:
        now_s = self.clock.now_s
        self._busy_unit_s += self.in_use * (now_s - self._last_s)
        self._available_unit_s += max(self.capacity, self.in_use) * (now_s - self._last_s)
        self._last_s = now_s

    def busy_unit_s(self) -> float:
        """Unit-seconds in use since the start."""
        self._account()
        return self._busy_unit_s

    def available_unit_s(self) -> float:
        """Unit-seconds the resource had (for staff: the shift hours times the staff on shift)."""
        self._account()
        return self._available_unit_s

    def utilisation(self) -> float:
        """Busy unit-time over available unit-time since the start (shifts counted as they were)."""
        self._account()
        return self._busy_unit_s / self._available_unit_s if self._available_unit_s > 0 else 0.0

    def mean_wait_s(self) -> float:
        """Mean time from request to grant over every granted request."""
        return self.total_wait_s / self.granted if self.granted else 0.0


class JointGrant:
    """One request for several resources at once: all its grants are given together.

    ``grants`` holds one :class:`Grant` per resource, in the order asked; each is released on its
    own resource (a rig goes back after cleaning, its staff as the test ends).
    """

    __slots__ = ("grants", "priority", "asked_s", "granted_s", "_on_grant")

    def __init__(self, grants: tuple[Grant, ...], priority: int, asked_s: float,
                 on_grant: Callable[[JointGrant], None]) -> None:
        self.grants, self.priority, self.asked_s = grants, priority, asked_s
        self.granted_s: float | None = None
        self._on_grant = on_grant

    @property
    def granted(self) -> bool:
        return self.granted_s is not None

    def grant_of(self, resource: Resource) -> Grant | None:
        """The grant held on ``resource`` (``None``: this request did not ask for it)."""
        return next((grant for grant in self.grants if grant.resource is resource), None)



class _Integral:
    """A count that changes over time and its time integral (count-seconds)."""

    __slots__ = ("count", "area", "since_s")

    def __init__(self, now_s: float) -> None:
        self.count, self.area, self.since_s = 0, 0.0, now_s

    def change(self, now_s: float, change: int) -> None:
        self.area += self.count * (now_s - self.since_s)
        self.since_s = now_s
        self.count += change


class JointQueue:
    """Joint requests over a fixed set of resources, each granted everything or nothing.

    Besides the grants it keeps, per resource, the time integral of the requests waiting for it
    (``waiting``) and of those held up by it alone, everything else they need being free
    (``held_alone``: for staff, the tests whose rig is free but whose staff are not).
    """

    def __init__(self, clock: EventQueue, resources: Sequence[Resource], name: str) -> None:
        self.clock, self.name = clock, name
        self.resources = tuple(resources)
        self._waiting: list[tuple[int, int, JointGrant]] = []
        self._sequence = itertools.count()
        self._serving = self._again = False
        self.joined = dict.fromkeys(self.resources, 0)  # requests that asked for each resource
        self.started = dict.fromkeys(self.resources, 0)  # ... and were granted
        self._integrals = {kind: {r: _Integral(clock.now_s) for r in self.resources} for kind in KINDS}
        for resource in self.resources:
            resource._watchers.append(self)

    def seize(self, needs: Sequence[tuple[Resource, int]], on_grant: Callable[[JointGrant], None], *,
              priority: int = 0) -> JointGrant:
        """Ask for ``units`` of every ``(resource, units)`` in ``needs`` together; ``on_grant(joint)`` runs
        (now or later) when all are yours. Ranked by ``priority`` (lower first), then by arrival."""
        now_s = self.clock.now_s
        for resource, units in needs:
            if resource not in self.resources:
                raise ValueError(f"{self.name}: '{resource.name}' is not one of this queue's resources")
            if units < 1:
                raise ValueError(f"{self.name}: a joint request needs at least 1 unit of '{resource.name}'")
        joint = JointGrant(tuple(Grant(r, units, priority, now_s, None) for r, units in needs), priority, now_s,
                           on_grant)
        for grant in joint.grants:
            self.joined[grant.resource] += 1
            self._integrals["waiting"][grant.resource].change(now_s, +1)
        bisect.insort(self._waiting, (priority, next(self._sequence), joint), key=lambda entry: entry[:2])
        self.serve()
        return joint

    def serve(self) -> None:
        """Grant every waiting request whose resources all have its units free, by rank (first fit)."""
        if self._serving:  # a grant's callback asked or released: scan again once this scan is done
            self._again = True
            return
        self._serving, self._again = True, True
        try:
            while self._again:
                self._again = False
                for entry in list(self._waiting):
                    joint = entry[2]
                    if joint.granted_s is not None:
                        continue
                    for grant in joint.grants:
                        resource = grant.resource
                        if resource._queue or resource.in_use + grant.units > resource.capacity:
                            break
                    else:  # every resource can give its units now
                        self._waiting.remove(entry)
                        self._give(joint)
        finally:
            self._serving = False
        self._count_held_alone()

    def _give(self, joint: JointGrant) -> None:
        now_s = self.clock.now_s
        waiting = self._integrals["waiting"]
        for grant in joint.grants:
            waiting[grant.resource].change(now_s, -1)
            self.started[grant.resource] += 1
        for grant in joint.grants:
            grant.resource._account()
            grant.resource._give(grant)
        joint.granted_s = now_s
        joint._on_grant(joint)

    def _count_held_alone(self) -> None:
        held: dict[Resource, int] = {}
        for _, _, joint in self._waiting:
            alone = None
            for grant in joint.grants:
                resource = grant.resource
                if resource._queue or resource.in_use + grant.units > resource.capacity:
                    if alone is not None:  # held up by two: by neither alone
                        break
                    alone = resource
            else:
                if alone is not None:
                    held[alone] = held.get(alone, 0) + 1
        now_s = self.clock.now_s
        for resource, integral in self._integrals["held_alone"].items():
            count = held.get(resource, 0)
            if count or integral.count:  # a count of 0 that stays 0 adds nothing to the integral
                integral.change(now_s, count - integral.count)

    def waiting(self, resource: Resource) -> int:
        """Requests waiting now that need ``resource``."""
        return self._integrals["waiting"][resource].count

    def waiting_area(self, resource: Resource, kind: str = "waiting") -> float:
        """Time integral (request-seconds) of the requests waiting for ``resource`` (``kind="held_alone"``:
        held up by it alone) up to now."""
        integral = self._integrals[kind][resource]
        integral.change(self.clock.now_s, 0)
        return integral.area

    def __len__(self) -> int:
        return len(self._waiting)
