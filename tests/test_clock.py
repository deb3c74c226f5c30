"""The one clock: exact order of events, ties broken deterministically."""

import pytest
from gwangju_twin.clock import EventQueue, Priority


def test_exact_event_log_with_ties() -> None:
    clock, log = EventQueue(), []
    clock.at(5.0, lambda: log.append(("b", clock.now_s)))
    clock.at(1.0, lambda: log.append(("a", clock.now_s)))
    clock.at(5.0, lambda: log.append(("c", clock.now_s)))
    clock.at(5.0, lambda: log.append(("first at 5", clock.now_s)), priority=Priority.HIGH)
    clock.at(2.0, lambda: clock.after(3.0, lambda: log.append(("scheduled later, same time", clock.now_s))))
    clock.run_until(10.0)
    assert log == [("a", 1.0), ("first at 5", 5.0), ("b", 5.0), ("c", 5.0), ("scheduled later, same time", 5.0)]
    assert clock.now_s == 10.0 and clock.processed == 6


def test_run_until_stops_at_the_boundary_and_cancel_skips() -> None:
    clock, log = EventQueue(), []
    clock.at(3.0, lambda: log.append(3))
    skipped = clock.at(4.0, lambda: log.append(4))
    clock.at(6.0, lambda: log.append(6))
    skipped.cancel()
    clock.run_until(5.0)
    assert log == [3] and clock.now_s == 5.0 and clock.next_time_s() == 6.0
    clock.run_until(6.0)
    assert log == [3, 6]


def test_the_past_cannot_be_scheduled() -> None:
    clock = EventQueue()
    clock.run_until(10.0)
    with pytest.raises(ValueError, match="already at 10.0 s"):
        clock.at(9.0, lambda: None)


def test_a_shortcut_takes_the_place_the_long_way_would_have() -> None:
    """An event booked early for a later step ranks as if scheduled when that step starts."""
    clock, log = EventQueue(), []
    clock.at(0.0, lambda: clock.at(10.0, lambda: log.append("shortcut"), scheduled_s=7.0))
    clock.at(5.0, lambda: clock.at(10.0, lambda: log.append("other, scheduled at 5 s")))
    clock.at(8.0, lambda: clock.at(10.0, lambda: log.append("other, scheduled at 8 s")))
    clock.run_until(10.0)
    assert log == ["other, scheduled at 5 s", "shortcut", "other, scheduled at 8 s"]
    with pytest.raises(ValueError, match="must lie between now"):
        clock.at(20.0, lambda: None, scheduled_s=30.0)
