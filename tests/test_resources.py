"""Resources by grant and joint seize: exact grant logs, all-or-nothing, queueing theory, no deadlock."""

import numpy as np
import pytest
from gwangju_twin.clock import EventQueue
from gwangju_twin.resources import JointQueue, Resource
from hypothesis import given, settings
from hypothesis import strategies as st


def test_grants_follow_priority_then_arrival_and_release_takes_the_grant() -> None:
    clock, log = EventQueue(), []
    rig = Resource(clock, 1, "rig")
    first = rig.request(lambda g: log.append(("first", clock.now_s)))
    late = rig.request(lambda g: log.append(("late", clock.now_s)), priority=1)
    urgent = rig.request(lambda g: log.append(("urgent", clock.now_s)), priority=0)
    assert first.granted and not late.granted and not urgent.granted and rig.queue_length == 2
    clock.at(10.0, lambda: rig.release(first))
    clock.at(25.0, lambda: rig.release(urgent))
    clock.run_until(30.0)
    assert log == [("first", 0.0), ("urgent", 10.0), ("late", 25.0)]
    assert urgent.waited_s == 10.0 and late.waited_s == 25.0
    assert rig.mean_wait_s() == pytest.approx(35.0 / 3)
    assert rig.busy_unit_s() == 30.0 and rig.in_use == 1


def test_a_grant_goes_back_once_and_only_where_it_came_from() -> None:
    clock = EventQueue()
    rig, staff = Resource(clock, 1, "rig"), Resource(clock, 1, "staff")
    grant = rig.request()
    with pytest.raises(RuntimeError, match="a grant of 'rig' was released here"):
        staff.release(grant)
    rig.release(grant)
    with pytest.raises(RuntimeError, match="released twice"):
        rig.release(grant)
    with pytest.raises(ValueError, match="at least 1 unit"):
        rig.request(units=0)


def test_a_waiting_request_is_withdrawn_by_releasing_it() -> None:
    clock, log = EventQueue(), []
    rig = Resource(clock, 1, "rig")
    held = rig.request()
    gone = rig.request(lambda g: log.append("gone"))
    kept = rig.request(lambda g: log.append("kept"))
    rig.release(gone)
    rig.release(held)
    assert log == ["kept"] and kept.granted and not gone.granted and rig.in_use == 1


def test_release_without_serve_now_offers_the_units_at_the_same_instant_after_the_caller() -> None:
    clock, log = EventQueue(), []
    staff = Resource(clock, 1, "staff")
    held = staff.request()
    staff.request(lambda g: log.append(("waiter", clock.now_s)))

    def finish() -> None:
        staff.release(held, serve_now=False)
        log.append(("caller done", clock.now_s))

    clock.at(5.0, finish)
    clock.run_until(6.0)
    assert log == [("caller done", 5.0), ("waiter", 5.0)]


def test_joint_seize_holds_nothing_while_it_waits_and_first_fit_lets_others_pass() -> None:
    clock, log = EventQueue(), []
    rig_a, rig_b, staff = Resource(clock, 1, "a"), Resource(clock, 1, "b"), Resource(clock, 2, "staff")
    queue = JointQueue(clock, [rig_a, rig_b, staff], "tests")
    busy = queue.seize([(rig_a, 1), (staff, 1)], lambda j: log.append(("busy", clock.now_s)))
    blocked = queue.seize([(rig_a, 1), (staff, 1)], lambda j: log.append(("blocked", clock.now_s)))
    passes = queue.seize([(rig_b, 1), (staff, 1)], lambda j: log.append(("passes", clock.now_s)), priority=1)
    assert busy.granted and passes.granted and not blocked.granted
    assert staff.in_use == 2 and rig_b.in_use == 1  # the blocked test holds no staff while its rig is busy
    clock.at(4.0, lambda: staff.release(passes.grant_of(staff)))  # staff free, rig a still busy
    clock.at(7.0, lambda: rig_a.release(busy.grant_of(rig_a)))
    clock.run_until(10.0)
    assert log == [("busy", 0.0), ("passes", 0.0), ("blocked", 7.0)]
    assert blocked.grant_of(rig_b) is None and blocked.grant_of(staff).granted_s == 7.0
    # Waiting for rig a: one test from 0 s to 7 s; held up by rig a alone (its staff free): from 4 s to 7 s.
    assert queue.waiting_area(rig_a) == 7.0 and queue.waiting_area(rig_a, "held_alone") == 3.0
    assert queue.joined[rig_a] == 2 and queue.started[rig_a] == 2 and len(queue) == 0


def test_joint_ties_break_by_priority_then_arrival() -> None:
    clock, log = EventQueue(), []
    rig, staff = Resource(clock, 1, "rig"), Resource(clock, 0, "staff")
    queue = JointQueue(clock, [rig, staff], "tests")
    for name, priority in (("v1", 1), ("p1", 0), ("v2", 1), ("p2", 0)):
        queue.seize([(rig, 1), (staff, 1)], lambda j, n=name: (log.append(n), clock.after(1.0, lambda: (
            rig.release(j.grant_of(rig)), staff.release(j.grant_of(staff))))), priority=priority)
    clock.at(1.0, lambda: staff.set_capacity(1))  # the shift starts
    clock.run_until(10.0)
    assert log == ["p1", "p2", "v1", "v2"]


def test_single_resource_joint_queue_matches_mm1_waiting_time() -> None:
    """M/M/1 with lambda = 0.8, mu = 1: mean wait in queue rho / (mu - lambda) = 4 s."""
    rng = np.random.default_rng(7)
    clock = EventQueue()
    server = Resource(clock, 1, "server")
    queue = JointQueue(clock, [server], "m/m/1")
    t_s, waits = 0.0, []
    for _ in range(40_000):
        t_s += rng.exponential(1.25)
        service_s = rng.exponential(1.0)

        def served(joint, service_s=service_s) -> None:
            waits.append(joint.granted_s - joint.asked_s)
            clock.after(service_s, lambda: server.release(joint.grant_of(server)))

        clock.at(t_s, lambda served=served: queue.seize([(server, 1)], served))
    clock.run_until(t_s + 1e6)
    assert len(waits) == 40_000
    assert np.mean(waits) == pytest.approx(4.0, rel=0.12)
    # Little: mean queue length = lambda * mean wait, from the queue's own time integral.
    assert queue.waiting_area(server) / clock.now_s == pytest.approx(np.sum(waits) / clock.now_s, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 2), min_size=1), st.integers(1, 2), st.floats(0.0, 5.0),
                          st.floats(0.1, 3.0), st.integers(0, 1)), min_size=1, max_size=25))
def test_joint_seize_never_overbooks_never_splits_and_every_job_finishes(jobs) -> None:
    clock = EventQueue()
    resources = [Resource(clock, capacity, f"r{i}") for i, capacity in enumerate((2, 2, 3))]
    queue = JointQueue(clock, resources, "jobs")
    done = []

    def check() -> None:
        for r in resources:
            assert 0 <= r.in_use <= r.capacity

    for number, (needs, units, at_s, work_s, priority) in enumerate(jobs):
        asked = [(resources[i], units) for i in sorted(needs)]

        def granted(joint, number=number, work_s=work_s) -> None:
            assert len({g.granted_s for g in joint.grants}) == 1 and joint.granted_s == clock.now_s
            check()

            def finish() -> None:
                for grant in joint.grants:
                    grant.resource.release(grant)
                done.append(number)
                check()

            clock.after(work_s, finish)

        clock.at(at_s, lambda asked=asked, granted=granted, priority=priority: queue.seize(
            asked, granted, priority=priority))
    clock.run_until(1e6)
    assert sorted(done) == list(range(len(jobs))) and len(queue) == 0
    assert all(r.in_use == 0 for r in resources)
