"""The searches of ``twin design``: bisection, exact search in cost order, Optuna.

* **One whole-number resource** (:func:`bisect`): more of it never hurts, so the feasible values
  are an upper interval; bisection between a value known to fail and one known to hold finds its
  lowest value with about log2(range) configurations instead of the whole range.
* **A small space** (:func:`exact`): configurations in order of cost; a configuration that fails
  rules out every configuration with no more of any resource (when every parameter is a
  whole-number range), so most cheap ones are never run. The first cost level with a feasible
  configuration holds the answer: exactly the grid's answer.
* **A large space** (:func:`optimise`): Optuna's TPE sampler on two objectives, cost and the
  tightest requirement's shortfall, with the requirements as constraints; the answer is the
  cheapest feasible configuration it found, and the Pareto front of cost against service level
  comes from every configuration judged.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from gwangju_twin.design import Evaluation, Evaluator
from gwangju_twin.sweep_config import Scalar


@dataclass
class Outcome:
    """What a search found: the best feasible evaluation (or None), the method, and its evaluations."""

    best: Evaluation | None
    method: str
    evaluations: list[Evaluation]


def search(evaluator: Evaluator) -> Outcome:
    """Choose the search for the design's space and run it."""
    design = evaluator.design
    if len(design.space) == 1 and design.ordered and _positive_weights(evaluator):
        return bisect(evaluator)
    if design.grid_size() <= design.spec.exact_limit:
        return exact(evaluator)
    return optimise(evaluator)


def _positive_weights(evaluator: Evaluator) -> bool:
    weights = evaluator.design.weights
    return bool(weights) and all(w > 0 for w in weights.values())


def bisect(evaluator: Evaluator) -> Outcome:
    """The lowest value of the one varied resource that is feasible (more never hurts)."""
    (path, values), = evaluator.design.space.items()
    top = evaluator.evaluate({path: values[-1]})
    if not top.feasible:
        return Outcome(None, "bisection", list(evaluator.evaluations.values()))
    failing, holding = -1, len(values) - 1  # indices: values[failing] fails (-1: below the range), values[holding] holds
    while holding - failing > 1:
        middle = (failing + holding) // 2
        if evaluator.evaluate({path: values[middle]}).feasible:
            holding = middle
        else:
            failing = middle
    best = evaluator.evaluate({path: values[holding]})
    return Outcome(best, "bisection", list(evaluator.evaluations.values()))


def grid(space: dict[str, list[Scalar]]) -> list[dict[str, Scalar]]:
    """Every configuration of the space."""
    names = list(space)
    return [dict(zip(names, combination)) for combination in itertools.product(*space.values())]


def exact(evaluator: Evaluator) -> Outcome:
    """The cheapest feasible configuration, configurations judged in order of cost (ties: the most slack)."""
    design = evaluator.design
    pending = sorted(grid(design.space), key=lambda p: (design.cost(p), [str(v) for v in p.values()]))
    failed: list[dict[str, Scalar]] = []
    for cost in sorted({design.cost(p) for p in pending}):
        level = [p for p in pending if design.cost(p) == cost and not _ruled_out(p, failed, design.ordered)]
        evaluations = evaluator.evaluate_many(level)
        failed += [e.params for e in evaluations if not e.feasible]
        feasible = [e for e in evaluations if e.feasible]
        if feasible:
            best = max(feasible, key=lambda e: min(e.slack(c) for c in e.checks))
            return Outcome(best, "exact search in cost order", list(evaluator.evaluations.values()))
    return Outcome(None, "exact search in cost order", list(evaluator.evaluations.values()))


def _ruled_out(params: dict[str, Scalar], failed: list[dict[str, Scalar]], ordered: bool) -> bool:
    """Whether a failing configuration has at least as much of every resource as ``params``."""
    if not ordered:
        return False
    return any(all(params[k] <= other[k] for k in params) for other in failed)


def optimise(evaluator: Evaluator) -> Outcome:
    """Optuna (TPE, seeded, so a rerun asks for the same configurations and finds them cached)."""
    import optuna

    design = evaluator.design
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=0)
    study = optuna.create_study(directions=["minimize", "minimize"], sampler=sampler)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        params = {path: _suggest(trial, path, values) for path, values in design.space.items()}
        evaluation = evaluator.evaluate(params)
        shortfalls = [-evaluation.slack(c) for c in evaluation.checks]
        for index, shortfall in enumerate(shortfalls):
            trial.set_constraint(f"requirement_{index}", min(shortfall, 1e9))  # <= 0: feasible
        return evaluation.cost, max(min(s, 1e9) for s in shortfalls)

    study.optimize(objective, n_trials=design.spec.trials)
    feasible = [e for e in evaluator.evaluations.values() if e.feasible]
    best = min(feasible, key=lambda e: (e.cost, -min(e.slack(c) for c in e.checks)), default=None)
    if best is not None:
        best = polish(evaluator, best)
    return Outcome(best, f"Optuna TPE, {design.spec.trials} trials, then one step down each resource",
                   list(evaluator.evaluations.values()))


def polish(evaluator: Evaluator, best: Evaluation) -> Evaluation:
    """From the optimiser's best, take one value less of any parameter while that stays feasible and cheaper."""
    space = evaluator.design.space
    improved = True
    while improved:
        improved = False
        for path, values in space.items():
            index = values.index(best.params[path])
            if index == 0:
                continue
            candidate = evaluator.evaluate({**best.params, path: values[index - 1]})
            if candidate.feasible and candidate.cost < best.cost:
                best, improved = candidate, True
    return best


def _suggest(trial: object, path: str, values: list[Scalar]) -> Scalar:
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values) and values == list(
            range(values[0], values[-1] + 1)):
        return trial.suggest_int(path, values[0], values[-1])
    return trial.suggest_categorical(path, values)


def pareto(evaluations: list[Evaluation]) -> list[Evaluation]:
    """Configurations no other beats on both cost and the tightest requirement's slack."""
    points = [(e, e.cost, min(e.slack(c) for c in e.checks)) for e in evaluations]
    front = [e for e, cost, slack in points
             if not any(c2 <= cost and s2 >= slack and (c2 < cost or s2 > slack) for _, c2, s2 in points)]
    return sorted(front, key=lambda e: e.cost)
