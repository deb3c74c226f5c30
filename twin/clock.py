"""The one clock: a heap of ``(time_s, priority, scheduled_s, sequence, event)``.

The model owns exactly one :class:`EventQueue`. Ties in time break by priority, then by when
each event was scheduled (first scheduled, first served), then by the order of scheduling (the
sequence counter), so the same scenario and seed always replay the same history.

``scheduled_s`` is normally the clock's time when :meth:`EventQueue.at` is called. A shortcut
that books several steps at once (a vehicle driving a whole stretch as one event) passes the
instant at which step-by-step simulation would have scheduled the last step, so the shortcut
takes exactly the place among simultaneous events that the long way would have given it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from enum import IntEnum

from gwangju_twin import speedups


class Priority(IntEnum):
    """Which of several events at the same instant runs first (lower first).

    ``HIGH``: state changes the others should see (a staff shift starting, a day's plan);
    ``DEFAULT``: everything else; ``LOW``: observations of the instant once it is settled
    (samples of parts in work).
    """

    HIGH = -1
    DEFAULT = 0
    LOW = 1


class Event:
    """A scheduled call; :meth:`cancel` makes the queue skip it."""

    __slots__ = ("time_s", "action", "cancelled")

    def __init__(self, time_s: float, action: Callable[[], None]) -> None:
        self.time_s = time_s
        self.action = action
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class EventQueue:
    """Discrete-event clock in seconds since the start of the scenario."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, Priority, float, int, Event]] = []
        self._sequence = itertools.count()
        self.now_s = 0.0
        self.processed = 0

    def __len__(self) -> int:
        return len(self._heap)

    def at(self, time_s: float, action: Callable[[], None], priority: Priority = Priority.DEFAULT,
           scheduled_s: float | None = None) -> Event:
        """Schedule ``action`` at absolute ``time_s`` (never in the past).

        ``scheduled_s`` (default: now) ranks the event among others at the same time and
        priority; it may lie between now and ``time_s`` (see the module).
        """
        if time_s < self.now_s:
            raise ValueError(f"cannot schedule at {time_s} s, the clock is already at {self.now_s} s")
        if scheduled_s is None:
            scheduled_s = self.now_s
        elif not self.now_s <= scheduled_s <= time_s:
            raise ValueError(f"scheduled_s {scheduled_s} s must lie between now ({self.now_s} s) and {time_s} s")
        event = Event(time_s, action)
        heapq.heappush(self._heap, (time_s, priority, scheduled_s, next(self._sequence), event))
        return event

    def reserve(self) -> int:
        """A place in the order of scheduling, taken now, for an event booked later with :meth:`at_reserved`."""
        return next(self._sequence)

    def at_reserved(self, time_s: float, action: Callable[[], None], scheduled_s: float, sequence: int) -> Event:
        """Schedule ``action`` at ``time_s`` (default priority) ranked as if :meth:`at` had scheduled it when
        ``sequence`` was reserved, at ``scheduled_s``: a chain of events booked ahead (each one books the
        next) keeps the heap small and the order exact."""
        if time_s < self.now_s:
            raise ValueError(f"cannot schedule at {time_s} s, the clock is already at {self.now_s} s")
        event = Event(time_s, action)
        heapq.heappush(self._heap, (time_s, Priority.DEFAULT, scheduled_s, sequence, event))
        return event

    def after(self, delay_s: float, action: Callable[[], None], priority: Priority = Priority.DEFAULT) -> Event:
        """Schedule ``action`` ``delay_s`` seconds from now."""
        return self.at(self.now_s + delay_s, action, priority)

    def next_time_s(self) -> float:
        """Time of the next pending event, or ``inf``."""
        while self._heap and self._heap[0][4].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else float("inf")

    def run_until(self, end_s: float) -> None:
        """Process every event at or before ``end_s``, then leave the clock at ``end_s``.

        While events run, the garbage collector is tuned for them (:func:`gwangju_twin.speedups.events_running`:
        every event allocates a little, and with thousands of agents the collector's passes over
        long-lived state cost a third of the run), unless the speed-ups are off.
        """
        with speedups.events_running():
            heap = self._heap
            while heap and heap[0][0] <= end_s:
                time_s, _, _, _, event = heapq.heappop(heap)
                if event.cancelled:
                    continue
                self.now_s = time_s
                self.processed += 1
                event.action()
            self.now_s = max(self.now_s, end_s)
