"""The mesa model: one seeded random generator, one event clock, the services of a scenario."""

from __future__ import annotations

from typing import Any

from gwangju_twin import speedups
from gwangju_twin.clock import EventQueue
from gwangju_twin.errors import ScenarioError
from gwangju_twin.mesa_core import Model
from gwangju_twin.plugins import Service
from gwangju_twin.record import EventLog, Tracks
from gwangju_twin.scenario import Scenario
from gwangju_twin.world import World


class TwinModel(Model):
    """A scenario running in a world.

    Time advances by events (:attr:`clock`); :meth:`step` advances it by the scenario's
    ``step`` so that mesa tools (``batch_run``, visualisers) can drive it tick by tick.
    All randomness comes from ``self.rng`` (numpy) seeded by mesa from ``seed``.
    """

    def __init__(
        self, scenario: Scenario, world: World, *, seed: int | None = None, duration_s: float | None = None,
        record_drives: bool = False, worlds: dict[str, World] | None = None,
    ) -> None:
        meta = scenario.spec.scenario
        self.seed_used = meta.seed if seed is None else int(seed)
        super().__init__(seed=self.seed_used)
        self.scenario = scenario
        self.world = world
        # Every area the scenario names, by the reference it uses (``world`` is the scenario's own area;
        # ``worlds`` may list it too).
        self.worlds: dict[str, World] = {meta.area: world, **(worlds or {})}
        self.clock = EventQueue()
        self.log = EventLog()
        self.tracks = Tracks(enabled=meta.record_trajectories)
        self.duration_s = meta.duration_s if duration_s is None else float(duration_s)
        self.step_s = meta.step_s
        self.services: list[Service] = []
        # Opt-in record of every shortest-path drive as [start_s, vehicle, from_node, to_node, end_s]
        # (end_s None while under way), for replaying the same trips in another simulator (twin.sumo_bridge).
        self.drives: list[list] | None = [] if record_drives else None
        # True while a headless runner drives the model to its end with no one reading its state between
        # events (runner.simulate, a sweep's run): a service may then settle ahead of time what no one can
        # see before the end, as long as its log rows and figures come out as they would event by event.
        self.headless = False
        for plugin, config in scenario.spec.services_configs():  # the registered plug-ins: the engine names none
            self.services += plugin.build(self, config)

    def world_of(self, area_ref: str | None) -> World:
        """The world of an area the scenario names (``None``: the scenario's own area)."""
        if area_ref is None:
            return self.world
        if area_ref not in self.worlds:
            raise ScenarioError(self.scenario.file, "area", area_ref,
                                f"was not loaded with the model; loaded: {', '.join(self.worlds)}")
        return self.worlds[area_ref]

    @property
    def stand_in(self) -> dict[str, str]:
        """Areas of the scenario whose map another area stands in for (``--area``): ``{scenario's: used}``."""
        return {ref: world.area.id for ref, world in self.worlds.items() if world.area.id != ref}

    @property
    def now_s(self) -> float:
        return self.clock.now_s

    @property
    def finished(self) -> bool:
        return self.clock.now_s >= self.duration_s

    def close(self) -> None:
        """Let go of this model once it is done with (an exhibition loop, a sweep worker's next run).

        mesa 3.3 numbers its Agent instances per model in a class-level dict keyed by the model
        itself (``mesa.Agent._ids``), which keeps every model ever built alive: a process that builds
        model after model would grow by one model each time. Dropping the key frees it (one of the
        speed-ups, :func:`gwangju_twin.speedups.forget_model`).
        """
        speedups.forget_model(self)

    def step(self) -> None:
        """Advance the clock by one scenario step (mesa's tick)."""
        self.run_until(self.clock.now_s + self.step_s)

    def run_until(self, end_s: float) -> None:
        """Process all events up to ``end_s`` (never past the scenario's duration)."""
        self.clock.run_until(min(end_s, self.duration_s))
        if self.finished:
            self.running = False

    def kpis(self) -> dict[str, Any]:
        """Key figures of every service, by service id, plus the engine's own counts."""
        figures: dict[str, Any] = {service.id: service.kpis() for service in self.services}
        figures["engine"] = {"simulated_s": self.clock.now_s, "events_processed": self.clock.processed}
        return figures
