"""Limited resources on the model's clock: chargers, remote operators, test rigs, staff.

A :class:`Resource` has ``capacity`` identical units and a first-come-first-served queue (ties
keep request order, so runs replay exactly). It keeps the time integrals needed for
utilisation and mean waiting time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from twin.clock import EventQueue


class Resource:
    """``capacity`` units shared first come, first served."""

    def __init__(self, clock: EventQueue, capacity: int, name: str) -> None:
        if capacity < 0:
            raise ValueError(f"{name}: capacity must be at least 0, got {capacity}")
        self.clock = clock
        self.capacity = capacity
        self.name = name
        self.in_use = 0
        self._queue: deque[tuple[float, Callable[[], None]]] = deque()
        self._last_s = clock.now_s
        self._busy_unit_s = 0.0
        self._queue_s = 0.0
        self.granted = 0
        self.total_wait_s = 0.0
        self.max_queue = 0

    def request(self, granted: Callable[[], None]) -> None:
        """Ask for one unit; ``granted()`` is called (now or later) when it is yours."""
        self._account()
        if self.in_use < self.capacity:
            self.in_use += 1
            self.granted += 1
            granted()
        else:
            self._queue.append((self.clock.now_s, granted))
            self.max_queue = max(self.max_queue, len(self._queue))

    def release(self) -> None:
        """Give one unit back; the longest-waiting request gets it."""
        self._account()
        if self.in_use <= 0:
            raise RuntimeError(f"{self.name}: released more units than were granted")
        if self._queue:
            asked_s, granted = self._queue.popleft()
            self.granted += 1
            self.total_wait_s += self.clock.now_s - asked_s
            granted()
        else:
            self.in_use -= 1

    @property
    def queue_length(self) -> int:
        return len(self._queue)

    def _account(self) -> None:
        now_s = self.clock.now_s
        self._busy_unit_s += self.in_use * (now_s - self._last_s)
        self._queue_s += len(self._queue) * (now_s - self._last_s)
        self._last_s = now_s

    def utilisation(self) -> float:
        """Busy unit-time over available unit-time since the start."""
        self._account()
        available = self.capacity * self._last_s
        return self._busy_unit_s / available if available > 0 else 0.0

    def mean_queue_length(self) -> float:
        self._account()
        return self._queue_s / self._last_s if self._last_s > 0 else 0.0

    def mean_wait_s(self) -> float:
        """Mean time from request to grant over every granted request."""
        return self.total_wait_s / self.granted if self.granted else 0.0
