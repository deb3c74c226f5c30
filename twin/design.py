"""``twin design``: the cheapest configuration whose every requirement holds at a stated confidence.

A configuration is judged on seeds 1..n, the same seeds for every configuration (common random
numbers), so two configurations differ by what they are, not by their luck. Each requirement gets a
one-sided Student-t bound (:mod:`gwangju_twin.confidence`); a configuration is *feasible* when every
requirement holds at the bound. Where a decision is close, more seeds are added (up to
``max_seeds``); a decision still close then counts as not proven, so not feasible.

Runs go through the sweep machinery (:func:`gwangju_twin.sweep.run_sweep`) into the same DuckDB
file, keyed like sweep runs: a rerun repeats nothing and a killed design resumes where it stopped.
The search itself lives in :mod:`gwangju_twin.design_search`.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gwangju_twin.confidence import Requirement, bounds, verdict
from gwangju_twin.design_config import Design
from gwangju_twin.errors import TwinError
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import run_sweep
from gwangju_twin.sweep_config import Scalar, Sweep, SweepSpec, Task, run_key


@dataclass
class Check:
    """One requirement on one configuration: the mean over seeds, its one-sided bounds, the verdict."""

    requirement: Requirement
    mean: float | None
    lower: float | None
    upper: float | None
    verdict: str
    values: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"requirement": str(self.requirement), "mean": self.mean, "lower": self.lower, "upper": self.upper,
                "verdict": self.verdict, "values": self.values}


@dataclass
class Evaluation:
    """A configuration as judged: cost, seeds it needed, each requirement's check."""

    params: dict[str, Scalar]
    cost: float
    seeds: list[int]
    checks: list[Check]

    @property
    def feasible(self) -> bool:
        return all(c.verdict == "holds" for c in self.checks)

    @property
    def decided(self) -> bool:
        return self.feasible or any(c.verdict == "fails" for c in self.checks)

    def slack(self, check: Check) -> float:
        """How far the requirement's bound is inside its target, relative to the target (negative: outside)."""
        bound = check.upper if check.requirement.upper else check.lower
        if bound is None:
            return float("-inf")
        gap = check.requirement.target - bound if check.requirement.upper else bound - check.requirement.target
        return gap / max(abs(check.requirement.target), 1e-9)

    def binding(self) -> Check:
        """The requirement with the least slack: the one that decides this configuration."""
        return min(self.checks, key=self.slack)

    def as_dict(self) -> dict[str, Any]:
        return {"params": self.params, "cost": self.cost, "seeds": len(self.seeds), "feasible": self.feasible,
                "checks": [c.as_dict() for c in self.checks]}


class Evaluator:
    """Runs configurations on the common seeds through the sweep machinery, adding seeds where close.

    ``backend`` is a sweep backend (local processes or Dask); ``progress`` is told about each
    configuration judged.
    """

    def __init__(self, design: Design, db: ResultsDB, backend: Any, *,
                 progress: Callable[[Evaluation], None] | None = None) -> None:
        self.design, self.db, self.backend, self.progress = design, db, backend, progress
        self.evaluations: dict[str, Evaluation] = {}
        self.runs = {"ran": 0, "cached": 0}
        self._known_kpis: set[str] | None = None
        self._seen: set[str] = set()  # run keys this design has asked for
        spec = design.spec
        values = tomllib.loads(design.scenario_text)  # its values, not its comments: a new note reruns nothing
        scenario_sha = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
        self._context = f"{scenario_sha}|{spec.area}|{spec.until_s}"

    def evaluate(self, params: dict[str, Scalar]) -> Evaluation:
        """Judge one configuration (once: later calls return the same evaluation)."""
        name = json.dumps(params, sort_keys=True)
        if name in self.evaluations:
            return self.evaluations[name]
        spec = self.design.spec
        count = spec.seeds
        while True:
            seeds = self.design.seeds[:count]
            kpis = self._run(params, seeds)
            evaluation = Evaluation(params, self.design.cost(params), seeds, self._checks(kpis))
            if evaluation.decided or count >= spec.max_seeds:
                break
            count = min(count + spec.seeds, spec.max_seeds)
        self.evaluations[name] = evaluation
        if self.progress is not None:
            self.progress(evaluation)
        return evaluation

    def evaluate_many(self, configurations: list[dict[str, Scalar]]) -> list[Evaluation]:
        """Judge several configurations, their first seeds run together (a full pool of workers)."""
        fresh = [p for p in configurations if json.dumps(p, sort_keys=True) not in self.evaluations]
        if fresh:
            self._submit([(p, s) for p in fresh for s in self.design.seeds[:self.design.spec.seeds]])
        return [self.evaluate(p) for p in configurations]

    def key(self, params: dict[str, Scalar], seed: int) -> str:
        """A run's key: its parameters and seed, and the scenario values, area and duration they apply to.

        Sweep keys leave the last three out; a design changing ``--until`` or its scenario must not
        find runs of another duration or scenario.
        """
        return run_key({**params, "design:context": self._context}, seed)

    def _run(self, params: dict[str, Scalar], seeds: list[int]) -> list[dict[str, float]]:
        self._submit([(params, seed) for seed in seeds])
        rows = self.db.kpis_of([self.key(params, seed) for seed in seeds])
        return [rows[self.key(params, seed)] for seed in seeds]

    def _submit(self, runs: list[tuple[dict[str, Scalar], int]]) -> None:
        design, spec = self.design, self.design.spec
        tasks = [Task(self.key(p, s), str(design.scenario_path), design.scenario_text, p, s, spec.area, spec.until_s)
                 for p, s in runs]
        plan = Sweep(SweepSpec(name=spec.name, scenario=str(design.scenario_path), retries=spec.retries),
                     design.file, design.scenario_path, tasks)
        fresh = {t.key for t in tasks} - self._seen
        self.runs["cached"] += len(fresh & self.db.finished())
        self._seen |= fresh
        counts = run_sweep(plan, self.db, self.backend)
        self.runs["ran"] += counts["ok"] + counts["error"] + counts["lost"]
        self._raise_failed(tasks)

    def _raise_failed(self, tasks: list[Task]) -> None:
        """A run that raised or was lost stops the design: its answer would rest on missing runs."""
        rows = self.db.status_of([t.key for t in tasks])
        for task in tasks:
            status, error = rows.get(task.key, ("missing", "not recorded"))
            if status != "ok":
                shown = ", ".join(f"{k}={v}" for k, v in task.params.items())
                raise TwinError(f"run {shown}, seed {task.seed} {status}: {error} ({self.db.path}, run_key {task.key})")

    def _checks(self, kpis: list[dict[str, float]]) -> list[Check]:
        self._check_names(kpis)
        checks = []
        for requirement in self.design.requirements:
            values = [row[requirement.kpi] for row in kpis if requirement.kpi in row]
            if len(values) < len(kpis):  # the figure had no data in some runs (null): not proven
                checks.append(Check(requirement, None, None, None, "fails", values))
                continue
            lower, mean, upper = bounds(values, confidence=self.design.spec.confidence)
            checks.append(Check(requirement, mean, lower, upper,
                                verdict(values, requirement, confidence=self.design.spec.confidence), values))
        return checks

    def _check_names(self, kpis: list[dict[str, float]]) -> None:
        """A requirement on a figure no run reports is a user's mistake: one line with the nearest names."""
        if self._known_kpis is None:
            self._known_kpis = set()
        for row in kpis:
            self._known_kpis.update(row)
        if len(self.evaluations) > 0:
            return
        for requirement in self.design.requirements:
            if requirement.kpi not in self._known_kpis:
                close = difflib.get_close_matches(requirement.kpi, sorted(self._known_kpis), n=3, cutoff=0.5)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                raise TwinError(f"--require {requirement}: no run reports the figure '{requirement.kpi}'{hint} "
                                f"(list them with: twin results query {self.db.path} \"SELECT kpis FROM runs LIMIT 1\")")
