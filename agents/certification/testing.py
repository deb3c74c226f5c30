"""The center's test floor: rigs, staff, and each part's way through its test sequence.

A test starts when a unit of its equipment type and its staff (who work in shifts) are both free:
the part asks for both at once (a joint seize, :class:`gwangju_twin.resources.JointQueue`) and
holds nothing while it waits, waiting tests taken by priority (pre-certification before voluntary),
then by arrival. A test runs for set-up plus a random duration and fails with its probability.
Its staff go back as it ends; the rig is cleaned first and goes back after. A failed part goes
back for rework and is re-tested, or is rejected after ``max_failures``; a part that passes every
test gets its certificate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gwangju_twin.agents.certification.config import Certification
from gwangju_twin.agents.certification.parts import Part, sample_s
from gwangju_twin.resources import JointGrant, JointQueue, Resource

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel


class TestFloor:
    """Equipment units and staff, and the parts' tests on them; ``certified(part)`` runs for each certificate."""

    __test__ = False  # not a pytest class

    def __init__(self, model: TwinModel, config: Certification, *, certified: Callable[[Part], None]) -> None:
        self.model, self.config = model, config
        clock = model.clock
        self.equipment = {e.id: Resource(clock, config.units(e.id), e.id) for e in config.equipment}
        self.setup_s = {e.id: e.setup_s for e in config.equipment}
        self.cleaning_s = {e.id: e.cleaning_s for e in config.equipment}
        self.staff = Resource(clock, 0, "certification staff")
        self.queue = JointQueue(clock, [*self.equipment.values(), self.staff], "certification tests")
        self.tests_run = 0
        self.retests = 0
        self._certified = certified

    def enter(self, part: Part) -> None:
        """The part waits for the rig and staff of its current test (it is in state ``waiting``)."""
        test = part.test
        needs = [(self.equipment[test.equipment], 1)] + ([(self.staff, test.staff)] if test.staff else [])
        self.queue.seize(needs, lambda held: self._start(part, held), priority=part.priority)

    def _start(self, part: Part, held: JointGrant) -> None:
        part.held = held
        part.waited_s += held.granted_s - held.asked_s
        test = part.test
        part.move("in_test")
        self.tests_run += 1
        duration_s = self.setup_s[test.equipment] + sample_s(self.model.rng, test.duration)
        failed = bool(self.model.rng.random() < test.fail)
        self.model.log.add(self.model.now_s, part.name, "test_start", f"{test.name} on {test.equipment}")
        self.model.clock.after(duration_s, lambda: self._end(part, failed))

    def _end(self, part: Part, failed: bool) -> None:
        test, held = part.test, part.held
        assert held is not None
        part.held = None
        staff = held.grant_of(self.staff)
        if staff is not None:
            # Offered to waiting tests once this part has joined the queue for its next test.
            self.staff.release(staff, serve_now=False)
        rig = self.equipment[test.equipment]
        self.model.clock.after(self.cleaning_s[test.equipment], lambda: rig.release(held.grant_of(rig)))
        if failed:
            self._failed(part)
            return
        now_s = self.model.now_s
        self.model.log.add(now_s, part.name, "passed", test.name)
        part.step += 1
        if part.step == len(part.part_type.tests):
            part.done_s = now_s
            part.move("certified")
            self._certified(part)
            self.model.log.add(now_s, part.name, "certificate", part.part_type.id)
            return
        part.move("waiting")
        self.enter(part)

    def _failed(self, part: Part) -> None:
        now_s = self.model.now_s
        part.failures += 1
        self.model.log.add(now_s, part.name, "failed", part.test.name)
        if part.failures >= self.config.max_failures:
            part.done_s = now_s
            part.move("rejected")
            self.model.log.add(now_s, part.name, "rejected", f"after {part.failures} failures")
            return
        part.move("rework")
        self.retests += 1
        self.model.clock.after(sample_s(self.model.rng, part.part_type.rework), lambda: self._back(part))

    def _back(self, part: Part) -> None:
        part.move("waiting")
        self.model.log.add(self.model.now_s, part.name, "reworked", part.test.name)
        self.enter(part)
