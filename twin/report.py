"""An HTML report of a sweep: every kept KPI against every swept parameter, with 95 % confidence
intervals over seeds, and the best configuration per KPI. One self-contained file (plots inline)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend
import pandas as pd  # noqa: E402
from gwangju_twin.errors import TwinError  # noqa: E402
from gwangju_twin.fileio import atomic_write_text  # noqa: E402
from gwangju_twin.results_db import ResultsDB  # noqa: E402
from scipy import stats  # noqa: E402

MAX_KPIS = 40


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


def mean_ci(values: pd.Series) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval (0 for a single value)."""
    n = len(values)
    if n < 2:
        return float(values.mean()), 0.0
    return float(values.mean()), float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / n**0.5)


def write_report(db_path: Path, target: Path) -> None:
    frame = load_frame(db_path)
    params = [c for c in frame.columns if c.startswith("param:")]
    kpis = [c for c in frame.columns if c.startswith("kpi:") and frame[c].nunique() > 1][:MAX_KPIS]
    parts = [f"<h1>Sweep report: {html.escape(db_path.name)}</h1>",
             f"<p>{len(frame)} finished runs, {frame['seed'].nunique()} seeds, parameters: "
             f"{html.escape(', '.join(p[6:] for p in params)) or 'none'}.</p>", _maps(frame),
             _best_table(frame, params, kpis)]
    for kpi in kpis:
        for param in params:
            parts.append(f"<h3>{html.escape(kpi[4:])} against {html.escape(param[6:])}</h3>")
            parts.append(f'<img alt="{html.escape(kpi[4:])}" src="data:image/png;base64,{_plot(frame, param, params, kpi)}">')
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>Sweep report</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 8px}</style></head><body>" + "\n".join(parts) + "</body></html>")
    atomic_write_text(target, page)


def _best_table(frame: pd.DataFrame, params: list[str], kpis: list[str]) -> str:
    if not params:
        return ""
    rows = ["<h2>Best configuration per KPI (mean over seeds)</h2><table><tr><th>KPI</th><th>lowest at</th>"
            "<th>mean</th><th>highest at</th><th>mean</th></tr>"]
    grouped = frame.groupby(params, dropna=False)
    for kpi in kpis:
        means = grouped[kpi].mean()
        low, high = means.idxmin(), means.idxmax()
        rows.append(f"<tr><td>{html.escape(kpi[4:])}</td><td>{html.escape(_config(params, low))}</td>"
                    f"<td>{means[low]:.4g}</td><td>{html.escape(_config(params, high))}</td><td>{means[high]:.4g}</td></tr>")
    return "".join(rows) + "</table>"


def _config(params: list[str], key: object) -> str:
    values = key if isinstance(key, tuple) else (key,)
    return ", ".join(f"{p[6:]}={v}" for p, v in zip(params, values))


def _plot(frame: pd.DataFrame, param: str, params: list[str], kpi: str) -> str:
    others = [p for p in params if p != param]
    figure, axes = plt.subplots(figsize=(7, 3.6))
    groups = list(frame.groupby(others, dropna=False)) if others and frame.groupby(others).ngroups <= 8 else [
        ("all", frame)]
    for label, group in groups:
        points = sorted((x, *mean_ci(g[kpi])) for x, g in group.groupby(param))
        xs = [str(x) for x, _, _ in points]
        axes.errorbar(xs, [m for _, m, _ in points], yerr=[h for _, _, h in points], marker="o", capsize=3,
                      label=_config(others, label) if others and label != "all" else "mean over other parameters")
    axes.set_xlabel(param[6:])
    axes.set_ylabel(kpi[4:])
    axes.legend(fontsize=7)
    axes.grid(alpha=0.3)
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()
