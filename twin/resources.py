"""Limited resources on the model's clock: chargers, remote operators, test rigs, staff.

A :class:`Resource` has ``capacity`` identical units and a queue served by priority (lower
first), then first come, first served (ties keep request order, so runs replay exactly). Its
capacity can change over time (staff shifts). It keeps the time integrals needed for
utilisation and mean waiting time.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable

from gwangju_twin.clock import EventQueue


class Resource:
    """``capacity`` units shared first come, first served."""

    def __init__(self, clock: EventQueue, capacity: int, name: str) -> None:
        if capacity < 0:
            raise ValueError(f"{name}: capacity must be at least 0, got {capacity}")
        self.clock = clock
        self.capacity = capacity
        self.name = name
        self.in_use = 0
        self._queue: list[tuple[int, int, float, int, Callable[[], None]]] = []
        self._sequence = itertools.count()
        self._available_unit_s = 0.0
        self._last_s = clock.now_s
        self._busy_unit_s = 0.0
        self.granted = 0
        self.total_wait_s = 0.0

    def request(self, granted: Callable[[], None], priority: int = 0, units: int = 1) -> None:
        """Ask for ``units`` units at once; ``granted()`` is called (now or later) when they are yours.

        Units are granted together, never piecemeal, so requests for several cannot deadlock;
        the queue is served strictly in order (no request overtakes a higher-ranked one).
        """
        self._account()
        heapq.heappush(self._queue, (priority, next(self._sequence), self.clock.now_s, units, granted))
        self._serve_queue()

    def set_capacity(self, capacity: int) -> None:
        """Change the number of units (a shift starts or ends); units in use finish their work."""
        self._account()
        self.capacity = capacity
        self._serve_queue()

    def _serve_queue(self) -> None:
        while self._queue and self.in_use + self._queue[0][3] <= self.capacity:
            _, _, asked_s, units, granted = heapq.heappop(self._queue)
            self.in_use += units
            self.granted += 1
            self.total_wait_s += self.clock.now_s - asked_s
            granted()

    def release(self, units: int = 1) -> None:
        """Give ``units`` back; the first request in the queue gets them when enough are free."""
        self._account()
        if self.in_use < units:
            raise RuntimeError(f"{self.name}: released more units than were granted")
        self.in_use -= units
        self._serve_queue()

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
