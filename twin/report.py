"""An HTML report of a sweep that answers: what each parameter changes, and what is best.

One paragraph on top says which parameter changes which figures beyond the seeds' noise (a
randomised-block F test on the common seeds, :mod:`gwangju_twin.report_stats`) and which
configuration is best for each figure whose service states the better direction (its
:class:`~gwangju_twin.plugins.Kpi` metadata), with 95 % intervals. Charts are drawn only where a
parameter changes a figure; numbers as lines, categories as grouped bars; error bars are labelled
95 % intervals of the mean over seeds; legends sit beside the plot, never over the data. Paired
differences (A against B on the same seeds) come with their intervals. One self-contained file.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from gwangju_twin import report_stats  # noqa: E402
from gwangju_twin.charts import plt, png_base64
from gwangju_twin.errors import TwinError  # noqa: E402
from gwangju_twin.fileio import atomic_write_text  # noqa: E402
from gwangju_twin.kpi_info import better, label  # noqa: E402
from gwangju_twin.report_stats import Effect, mean_ci  # noqa: E402
from gwangju_twin.results_db import ResultsDB  # noqa: E402

MAX_CHARTS = 40
INTERVAL = "error bars: 95 % confidence interval of the mean over seeds (Student t)"
STYLE = ("body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:3px 8px}.answer{font-size:1.1em;background:#eef6ee;padding:10px}")

__all__ = ["load_frame", "mean_ci", "write_report"]


def load_frame(db_path: Path) -> pd.DataFrame:
    db = ResultsDB(db_path, read_only=True)
    columns = {name for (name,) in db.con.execute("SELECT name FROM pragma_table_info('runs')").fetchall()}
    map_column = "map" if "map" in columns else "NULL"
    rows = db.con.execute(f"SELECT seed, params, kpis, status, {map_column} FROM runs WHERE status = 'ok'").fetchall()
    db.close()
    if not rows:
        raise TwinError(f"{db_path}: no finished runs to report on")
    records = []
    for seed, params, kpis, _, map_name in rows:
        records.append({"seed": seed, "map": map_name or "not recorded (a database from before maps were recorded)",
                        **{f"param:{k}": v for k, v in json.loads(params).items()},
                        **{f"kpi:{k}": v for k, v in json.loads(kpis).items()}})
    return pd.DataFrame.from_records(records)


def _maps(frame: pd.DataFrame) -> str:
    """Which maps the runs used; a stand-in map is said loudly, in Korean and English."""
    lines = []
    for name, count in frame["map"].value_counts().sort_index().items():
        stand_in = "stands in for" in name
        style = " style='background:#fff3cd;border:1px solid #e0b000;padding:6px'" if stand_in else ""
        note = (" 대체 지도: 결과는 실제 광주 도로망이 아닙니다 · a stand-in map: the figures are not Gwangju's roads"
                if stand_in else "")
        lines.append(f"<p{style}><b>Map</b> ({count} runs): {html.escape(name)}{note}</p>")
    return "\n".join(lines)


def write_report(db_path: Path, target: Path) -> None:
    """Write the report of the sweep database ``db_path`` to ``target`` (atomically)."""
    frame = load_frame(db_path)
    params = [c for c in frame.columns if c.startswith("param:")]
    kpis = [c for c in frame.columns if c.startswith("kpi:") and frame[c].nunique() > 1]
    effects = [report_stats.effect(frame, p, params, k) for p in params for k in kpis]
    significant = [e for e in effects if e.significant]
    parts = [f"<h1>Sweep report: {html.escape(db_path.name)}</h1>",
             f"<p class='answer'>{html.escape(_answer(frame, params, kpis, effects))}</p>", _maps(frame),
             _best_table(frame, params, sorted({e.kpi for e in significant}) if params else kpis),
             _differences(frame, params, significant)]
    parts.append(f"<h2>What changes what</h2><p>Only figures a parameter changes beyond the seeds' noise "
                 f"(p &lt; {report_stats.ALPHA}); {INTERVAL}.</p>")
    for effect in significant[:MAX_CHARTS]:
        parts.append(f"<h3>{html.escape(label(effect.kpi[4:]))} against {html.escape(effect.param[6:])} "
                     f"(p = {effect.p_value:.2g})</h3>")
        parts.append(f'<img alt="{html.escape(effect.kpi[4:])}" '
                     f'src="data:image/png;base64,{_plot(frame, effect.param, params, effect.kpi)}">')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>Sweep report</title>"
            f"<style>{STYLE}</style></head><body>" + "\n".join(parts) + "</body></html>")
    atomic_write_text(target, page)


def _answer(frame: pd.DataFrame, params: list[str], kpis: list[str], effects: list[Effect]) -> str:
    """The paragraph on top: runs, which parameter changes which figures, how confident."""
    configs = frame.groupby(params, dropna=False).ngroups if params else 1
    text = [f"{len(frame)} finished runs: {configs} configurations on {frame['seed'].nunique()} common seeds."]
    for param in params:
        changed = [e for e in effects if e.param == param and e.significant]
        names = ", ".join(f"{e.kpi[4:]} ({e.low:.4g} to {e.high:.4g})" for e in changed[:8])
        more = f" and {len(changed) - 8} more" if len(changed) > 8 else ""
        unchanged = len([e for e in effects if e.param == param]) - len(changed)
        text.append(f"{param[6:]} changes {len(changed)} figure{'' if len(changed) == 1 else 's'} beyond the seeds' noise (block F test, p < "
                    f"{report_stats.ALPHA}){': ' + names + more if changed else ''}; "
                    f"{unchanged} other{'' if unchanged == 1 else 's'} vary no more than the seeds do.")
    directed = [k for k in kpis if better(k[4:])]
    if params and not directed:
        text.append("No service states which way its figures are better, so no configuration is called best; "
                    "the tables give the lowest and highest means.")
    return " ".join(text)


def _config(params: list[str], key: object) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{p[6:]}={v}" for p, v in zip(params, values))


def _interval(mean: float, half: float) -> str:
    if not math.isfinite(half):
        return f"{mean:.4g}"
    if half <= 1e-9 * max(1.0, abs(mean)):  # the same on every seed, up to rounding
        half = 0.0
    return f"{mean:.4g} ± {half:.2g}"


def _best_table(frame: pd.DataFrame, params: list[str], kpis: list[str]) -> str:
    """Best configuration per figure the parameters change: in its better direction where stated."""
    if not params or not kpis:
        return ""
    rows = ["<h2>Best configuration per KPI</h2><p>Mean over seeds ± half-width of its 95 % interval; "
            "the difference to the runner-up is paired on the same seeds.</p><table><tr><th>KPI</th>"
            "<th>better</th><th>best at</th><th>mean ± 95 %</th><th>runner-up</th><th>best − runner-up ± 95 %</th></tr>"]
    for kpi in kpis:
        direction = better(kpi[4:])
        result = report_stats.best_and_runner_up(frame, params, kpi, direction or "lower")
        if result is None:
            continue
        shown = html.escape(_config(params, result["best"]))
        if direction is None:
            shown = f"lowest at {shown} (no better direction stated)"
        difference = result.get("difference")
        paired = "" if difference is None else f"{_interval(difference[0], difference[1])} ({difference[2]} seeds)"
        runner = html.escape(_config(params, result["runner_up"])) if "runner_up" in result else ""
        rows.append(f"<tr><td>{html.escape(label(kpi[4:]))}</td><td>{direction or 'not stated'}</td><td>{shown}</td>"
                    f"<td>{_interval(result['mean'], result['half'])}</td><td>{runner}</td><td>{paired}</td></tr>")
    return "".join(rows) + "</table>"


def _differences(frame: pd.DataFrame, params: list[str], significant: list[Effect]) -> str:
    """Paired differences of each category against the first, for categorical parameters."""
    rows = []
    for effect in significant:
        if _numeric(frame[effect.param]):
            continue
        for level, first, mean, half, count in report_stats.level_differences(frame, effect.param, params, effect.kpi):
            rows.append(f"<tr><td>{html.escape(effect.kpi[4:])}</td><td>{html.escape(effect.param[6:])}: "
                        f"{html.escape(str(level))} − {html.escape(str(first))}</td><td>{_interval(mean, half)}</td>"
                        f"<td>{count}</td></tr>")
    if not rows:
        return ""
    return ("<h2>Paired differences (same seeds, same other parameters)</h2><table><tr><th>KPI</th><th>A − B</th>"
            "<th>mean ± 95 %</th><th>pairs</th></tr>" + "".join(rows) + "</table>")


def _numeric(column: pd.Series) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column.dropna())


def _plot(frame: pd.DataFrame, param: str, params: list[str], kpi: str) -> str:
    others = [p for p in params if p != param]
    figure, axes = plt.subplots(figsize=(8.5, 3.6))
    groups = list(frame.groupby(others, dropna=False)) if others and frame.groupby(others).ngroups <= 8 else [
        ("all", frame)]
    if _numeric(frame[param]):
        _lines(axes, groups, param, others, kpi)
    else:
        _bars(axes, groups, param, others, kpi)
    axes.set_xlabel(param[6:])
    axes.set_ylabel(label(kpi[4:]))
    axes.set_title(INTERVAL, fontsize=8)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axes.grid(alpha=0.3)
    return png_base64(figure)


def _group_label(others: list[str], label_key: object) -> str:
    return _config(others, label_key) if others and label_key != "all" else "all runs"


def _lines(axes: plt.Axes, groups: list, param: str, others: list[str], kpi: str) -> None:
    for key, group in groups:
        points = sorted((x, *mean_ci(g[kpi].dropna())) for x, g in group.groupby(param) if g[kpi].notna().any())
        axes.errorbar([x for x, _, _ in points], [m for _, m, _ in points],
                      yerr=[0 if math.isnan(h) else h for _, _, h in points], marker="o", capsize=3,
                      label=_group_label(others, key))


def _bars(axes: plt.Axes, groups: list, param: str, others: list[str], kpi: str) -> None:
    levels = sorted({str(v) for _, g in groups for v in g[param]})
    width = 0.8 / max(len(groups), 1)
    for index, (key, group) in enumerate(groups):
        stats_by_level = {str(x): mean_ci(g[kpi].dropna()) for x, g in group.groupby(param) if g[kpi].notna().any()}
        xs = np.arange(len(levels)) + index * width - 0.4 + width / 2
        means = [stats_by_level.get(level, (np.nan, np.nan))[0] for level in levels]
        halves = [0 if math.isnan(stats_by_level.get(level, (0, np.nan))[1]) else stats_by_level[level][1]
                  for level in levels]  # one seed: no interval known, none drawn
        axes.bar(xs, means, width, yerr=halves, capsize=3, label=_group_label(others, key))
    axes.set_xticks(np.arange(len(levels)), levels)
