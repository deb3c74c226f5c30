"""Running a design end to end: search, then ``NAME.design.json`` and ``NAME.design.html`` beside the database.

Both files are written atomically once the search has finished; a killed design leaves its runs in
the database and the files of the previous finished design (if any) untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gwangju_twin.design import Evaluation, Evaluator
from gwangju_twin.design_config import Design
from gwangju_twin.design_search import Outcome, pareto, search
from gwangju_twin.fileio import atomic_write_text
from gwangju_twin.results_db import ResultsDB


def solve(design: Design, db: ResultsDB, backend: Any, *, command: str,
          say: Callable[[str], None] = lambda line: None) -> tuple[Outcome, dict[str, Any]]:
    """Search the design's space; write the JSON and HTML answers; return the outcome and the JSON."""
    evaluator = Evaluator(design, db, backend, progress=lambda e: say(describe(e)))
    outcome = search(evaluator)
    answer = summary(design, outcome, evaluator, command=command)
    json_path, html_path = output_paths(db.path)
    atomic_write_text(json_path, json.dumps(answer, indent=2, sort_keys=False) + "\n")
    from gwangju_twin.design_report import write_design_report

    write_design_report(answer, html_path)
    return outcome, answer


def output_paths(db_path: Path) -> tuple[Path, Path]:
    stem = db_path.with_suffix("")
    return stem.with_name(f"{stem.name}.design.json"), stem.with_name(f"{stem.name}.design.html")


def describe(evaluation: Evaluation) -> str:
    """One line per configuration judged: the values, the verdict, each requirement's bound."""
    shown = ", ".join(f"{k}={v}" for k, v in evaluation.params.items())
    checks = "; ".join(_check_text(c) for c in evaluation.checks)
    verdict = "meets" if evaluation.feasible else "fails"
    return f"  {shown}: {verdict} ({len(evaluation.seeds)} seeds) {checks}"


def _check_text(check: Any) -> str:
    if check.mean is None:
        return f"{check.requirement.kpi} has no value in some runs"
    return (f"{check.requirement.kpi} mean {check.mean:.4g}, one-sided bounds {check.lower:.4g}..{check.upper:.4g}: "
            f"{check.verdict}")


def best_line(design: Design, outcome: Outcome) -> str:
    if outcome.best is None:
        return (f"best: none (no configuration in the ranges meets every requirement at confidence "
                f"{design.spec.confidence:g}; widen the ranges or add seeds)")
    varied = {k: v for k, v in outcome.best.params.items() if len(design.space[k]) > 1}  # one-value lists only set
    return "best: " + ", ".join(f"{k}={v}" for k, v in varied.items())


def summary(design: Design, outcome: Outcome, evaluator: Evaluator, *, command: str) -> dict[str, Any]:
    """Everything the answer rests on, for design.json and the report."""
    spec, best = design.spec, outcome.best
    seeds_run = sum(len(e.seeds) for e in outcome.evaluations)
    return {
        "design": spec.name, "command": command, "scenario": str(design.scenario_path), "area": spec.area,
        "until_s": spec.until_s, "confidence": spec.confidence,
        "requirements": [str(r) for r in design.requirements], "space": design.space, "weights": design.weights,
        "method": outcome.method,
        "best": None if best is None else best.as_dict(),
        "binding": None if best is None else str(best.binding().requirement),
        "answer": best_line(design, outcome),
        "seeds": {"first": spec.seeds, "max": spec.max_seeds, "common": True},
        "effort": {"configurations": len(outcome.evaluations), "grid_configurations": design.grid_size(),
                   "runs": seeds_run, "grid_runs_at_first_seeds": design.grid_size() * spec.seeds,
                   "ran_now": evaluator.runs["ran"], "found_in_database": evaluator.runs["cached"]},
        "evaluations": [e.as_dict() for e in sorted(outcome.evaluations, key=lambda e: e.cost)],
        "pareto": [e.params for e in pareto(outcome.evaluations)],
        "kpi_meta": _kpi_meta([r.kpi for r in design.requirements]),
    }


def _kpi_meta(kpis: list[str]) -> dict[str, Any]:
    """Units and directions the services state for the required figures (empty where none is stated)."""
    from gwangju_twin.kpi_info import describe_kpi

    return {kpi: describe_kpi(kpi) for kpi in kpis}
