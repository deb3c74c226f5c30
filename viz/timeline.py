"""Time that is always alive: the hours of the day the services work (from their schedules and
demand, as each :class:`~gwangju_twin.plugins.ServiceView` declares them), the busiest of them,
and where the quiet hours end. The exhibition and the videos open in the busiest hour, play the
active hours only and jump over the quiet ones, showing a card that says so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gwangju_twin.plugins import ServiceView

HOUR_S = 3600.0
DAY_S = 86400.0


@dataclass(frozen=True)
class Timeline:
    """The active spans of a day (seconds from midnight, merged, in order) and the expected movements
    in each hour of the day (every service's summed)."""

    spans_s: tuple[tuple[float, float], ...]
    busy_per_hour: tuple[float, ...]

    @classmethod
    def of(cls, views: Sequence[ServiceView]) -> Timeline:
        spans = sorted((float(a), float(b)) for view in views for a, b in view.active_s() if b > a)
        merged: list[tuple[float, float]] = []
        for start_s, end_s in spans:
            if merged and start_s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end_s))
            else:
                merged.append((start_s, end_s))
        busy = [0.0] * 24
        for view in views:
            for hour, value in enumerate(list(view.busy_per_hour())[:24]):
                busy[hour] += float(value)
        return cls(tuple(merged), tuple(busy))

    def busiest_s(self) -> float:
        """The start of the busiest hour (the first of equals; 0 when no service says when it works)."""
        if not any(self.busy_per_hour):
            return self.spans_s[0][0] if self.spans_s else 0.0
        return HOUR_S * max(range(24), key=lambda hour: (self.busy_per_hour[hour], -hour))

    def active(self, now_s: float) -> bool:
        """Whether ``now_s`` falls in an active span (of its day); always, when nothing says otherwise."""
        if not self.spans_s:
            return True
        of_day = now_s % DAY_S
        return any(a <= of_day < b for a, b in self.spans_s)

    def next_active_s(self, now_s: float) -> float:
        """The next moment from ``now_s`` on that is active (``now_s`` itself when it is)."""
        if self.active(now_s):
            return now_s
        day_s = now_s - now_s % DAY_S
        of_day = now_s % DAY_S
        later = [a for a, _ in self.spans_s if a > of_day]
        return day_s + later[0] if later else day_s + DAY_S + self.spans_s[0][0]


def clock(t_s: float) -> str:
    """HH:MM of the day."""
    of_day = int(t_s % DAY_S)
    return f"{of_day // 3600:02d}:{of_day % 3600 // 60:02d}"
