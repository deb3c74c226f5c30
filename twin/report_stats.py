"""The statistics of a sweep report: which parameter changes which figure, the best configuration, paired differences.

Every run of a sweep uses the seeds of the other configurations (common random numbers), so a
configuration's seed-*s* run and another's share their random luck. The tests here use that:

* :func:`effect` is the F test of a randomised block design: blocks are the seeds together with
  the values of the other parameters, treatments the values of the parameter; the seed-to-seed
  spread shared by all configurations drops out.
* :func:`paired` is the mean and 95 % t-interval of the difference of two configurations run on
  the same seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from gwangju_twin.confidence import half_width, paired_difference
from scipy import stats

ALPHA = 0.05


@dataclass(frozen=True)
class Effect:
    """A parameter's effect on a figure: the F test's p-value and the range of the level means."""

    param: str
    kpi: str
    p_value: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def blocks(frame: pd.DataFrame, param: str, params: list[str], kpi: str) -> pd.DataFrame:
    """A table of ``kpi``: one row per block (seed and the other parameters' values), one column per value of ``param``."""
    others = [p for p in params if p != param]
    table = frame.pivot_table(index=[*others, "seed"], columns=param, values=kpi, aggfunc="mean")
    return table.dropna()


def effect(frame: pd.DataFrame, param: str, params: list[str], kpi: str) -> Effect:
    """Whether ``param`` changes ``kpi`` beyond the seeds' noise (randomised-block F test)."""
    table = blocks(frame, param, params, kpi)
    means = table.mean(axis=0)
    count_b, count_k = table.shape
    if count_k < 2 or count_b < 1:
        return Effect(param, kpi, 1.0, float("nan"), float("nan"))
    grand = float(table.to_numpy().mean())
    ss_level = count_b * float(((means - grand) ** 2).sum())
    residual = table.sub(table.mean(axis=1), axis=0).sub(means - grand, axis=1)
    ss_error = float((residual**2).to_numpy().sum())
    df_level, df_error = count_k - 1, (count_b - 1) * (count_k - 1)
    if ss_level <= 1e-12 * max(1.0, grand**2):
        p_value = 1.0
    elif ss_error <= 1e-12 * max(1.0, grand**2) or df_error == 0:
        p_value = 0.0 if df_error else 1.0
    else:
        p_value = float(stats.f.sf((ss_level / df_level) / (ss_error / df_error), df_level, df_error))
    return Effect(param, kpi, p_value, float(means.min()), float(means.max()))


def mean_ci(values: pd.Series) -> tuple[float, float]:
    """Mean and the half-width of its two-sided 95 % t-interval (nan for a single value: no spread known)."""
    listed = [float(v) for v in values]
    half = half_width(listed, confidence=0.95, sided=2)
    return sum(listed) / len(listed), half if math.isfinite(half) else float("nan")


def configuration_means(frame: pd.DataFrame, params: list[str], kpi: str) -> pd.DataFrame:
    """Mean, 95 % half-width and seeds of ``kpi`` for each configuration."""
    rows = []
    for key, group in frame.groupby(params, dropna=False):
        mean, half = mean_ci(group[kpi].dropna())
        rows.append({"config": key if isinstance(key, tuple) else (key,), "mean": mean, "half": half,
                     "seeds": int(group[kpi].notna().sum())})
    return pd.DataFrame(rows)


def best_and_runner_up(frame: pd.DataFrame, params: list[str], kpi: str, better: str) -> dict | None:
    """The best configuration by mean in the ``better`` direction, the runner-up, and their paired difference."""
    means = configuration_means(frame, params, kpi)
    if means.empty:
        return None
    ordered = means.sort_values("mean", ascending=better == "lower").reset_index(drop=True)
    best = ordered.iloc[0]
    result = {"best": best["config"], "mean": best["mean"], "half": best["half"], "seeds": best["seeds"]}
    if len(ordered) > 1:
        second = ordered.iloc[1]
        result.update(runner_up=second["config"], runner_up_mean=second["mean"],
                      difference=paired(frame, params, kpi, best["config"], second["config"]))
    return result


def paired(frame: pd.DataFrame, params: list[str], kpi: str, a: tuple, b: tuple) -> tuple[float, float, int] | None:
    """Mean of A - B over the seeds both ran, its 95 % half-width, and how many seeds (None: under two)."""
    def by_seed(config: tuple) -> pd.Series:
        mask = pd.Series(True, index=frame.index)
        for param, value in zip(params, config):
            mask &= frame[param] == value
        return frame[mask].groupby("seed")[kpi].mean()

    joined = pd.concat([by_seed(a), by_seed(b)], axis=1, join="inner").dropna()
    if len(joined) < 2:
        return None
    mean, half = paired_difference(list(joined.iloc[:, 0]), list(joined.iloc[:, 1]))
    return mean, half, len(joined)


def level_differences(frame: pd.DataFrame, param: str, params: list[str], kpi: str) -> list[tuple]:
    """Each value of a (categorical) parameter against the first, paired on seeds and the other parameters."""
    table = blocks(frame, param, params, kpi)
    if table.shape[1] < 2 or len(table) < 2:
        return []
    first = table.columns[0]
    rows = []
    for level in table.columns[1:]:
        mean, half = paired_difference(list(table[level]), list(table[first]))
        rows.append((level, first, mean, half, len(table)))
    return rows
