"""The twin for users of ``mesa.batch_run``.

```python
from mesa.batchrunner import batch_run
from gwangju_twin.batch import ScenarioModel

rows = batch_run(ScenarioModel, {"scenario": "bitgreen_shuttles", "area": "helsinki_test",
                                 "shuttles.fleet.on_demand.count": [1, 2, 3]},
                 iterations=3, max_steps=1440, number_processes=1)
```

Keyword arguments other than ``scenario``, ``seed``, ``area`` and ``keep`` are scenario key paths,
as in sweep files. The model's ``datacollector`` reports the flat KPIs of the finished run.
"""

from __future__ import annotations

from typing import Any

import mesa
from gwangju_twin import scenario as scenario_io
from gwangju_twin.model import TwinModel
from gwangju_twin.sweep import WORLD_CACHE, flatten
from gwangju_twin.sweep_config import Task, task_scenario


class ScenarioModel(TwinModel):
    """A :class:`TwinModel` built from keyword arguments, with a mesa DataCollector of its KPIs."""

    def __init__(self, scenario: str, seed: int | None = None, area: str | None = None,
                 keep: tuple[str, ...] = (), **params: Any) -> None:
        path = scenario_io.resolve(scenario)
        task = Task("", str(path), path.read_text(encoding="utf-8"), params, seed or 0, area, None)
        spec = task_scenario(task)
        from gwangju_twin.world import scenario_worlds

        worlds = scenario_worlds(spec.spec, override=area, relative_to=path.parent, cache=WORLD_CACHE)
        super().__init__(spec, worlds[spec.spec.scenario.area], seed=seed, worlds=worlds)
        self.final_kpis: dict[str, float] = {}
        keys = list(keep) or list(flatten(self.kpis()))
        self.datacollector = mesa.DataCollector(
            model_reporters={key: (lambda model, key=key: model.final_kpis.get(key)) for key in keys})

    def step(self) -> None:
        """One scenario step; the KPIs are collected once the run has finished (mesa reads the last step)."""
        super().step()
        if self.finished:
            self.final_kpis = flatten(self.kpis())
        self.datacollector.collect(self)
