"""Confidence statements over seeds: one-sided bounds, decisions on requirements, paired differences.

A requirement such as ``on_demand.rejection_rate <= 0.05`` holds *at confidence 0.95* when the
one-sided Student-t upper bound of the mean over seeds is at most 0.05: were the configuration run
on ever more seeds, its mean would lie above the bound in at most 5 % of such statements. It
surely fails when the lower bound lies above the target; between the two the decision is *close*
and more seeds can settle it. Comparisons of configurations use the same seeds (common random
numbers), so their paired differences have much narrower intervals than the means themselves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scipy import stats

Verdict = Literal["holds", "fails", "close"]
OPERATORS = ("<=", ">=", "<", ">")


@dataclass(frozen=True)
class Requirement:
    """``kpi OP target``; ``op`` one of :data:`OPERATORS` (``<`` is read as ``<=``: means are continuous)."""

    kpi: str
    op: str
    target: float

    @property
    def upper(self) -> bool:
        """Whether the figure must stay below the target (``<=``, ``<``)."""
        return self.op in ("<=", "<")

    def __str__(self) -> str:
        return f"{self.kpi}{self.op}{self.target:g}"


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    n = len(values)
    mean = math.fsum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))


def half_width(values: Sequence[float], *, confidence: float, sided: int = 1) -> float:
    """Half-width of the Student-t interval of the mean: one-sided (``sided=1``) or two-sided (2).

    With fewer than two values nothing is known about the spread: infinite.
    """
    n = len(values)
    if n < 2:
        return math.inf
    _, sd = mean_sd(values)
    quantile = 1 - (1 - confidence) / sided
    return float(stats.t.ppf(quantile, n - 1)) * sd / math.sqrt(n)


def bounds(values: Sequence[float], *, confidence: float) -> tuple[float, float, float]:
    """``(lower, mean, upper)``: the mean and its one-sided bounds at ``confidence``."""
    mean, _ = mean_sd(values)
    half = half_width(values, confidence=confidence)
    return mean - half, mean, mean + half


def verdict(values: Sequence[float], requirement: Requirement, *, confidence: float) -> Verdict:
    """Whether ``requirement`` holds, fails, or is too close to call on these seeds.

    Seeds that all give the same value (a deterministic figure) decide at once.
    """
    lower, mean, upper = bounds(values, confidence=confidence)
    if len(values) >= 2 and upper == lower:
        lower = upper = mean
    good, bad = (upper, lower) if requirement.upper else (lower, upper)
    if _meets(good, requirement):
        return "holds"
    if not _meets(bad, requirement):
        return "fails"
    return "close"


def _meets(value: float, requirement: Requirement) -> bool:
    return value <= requirement.target if requirement.upper else value >= requirement.target


def paired_difference(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95) -> tuple[float, float]:
    """Mean of ``a - b`` over the same seeds and its two-sided interval's half-width."""
    if len(a) != len(b):
        raise ValueError("paired differences need values from the same seeds")
    differences = [x - y for x, y in zip(a, b)]
    mean, _ = mean_sd(differences)
    return mean, half_width(differences, confidence=confidence, sided=2)
