"""The sweep report answers: effects tested on common seeds, charts only where a parameter changes a figure."""

import re
from pathlib import Path

import pytest
from gwangju_twin import report_stats
from gwangju_twin.report import load_frame, write_report
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep_config import run_key

SEED_NOISE = {1: 0.7, 2: -1.3, 3: 2.1, 4: -0.4, 5: 0.9}  # each seed's luck, shared by every configuration


def _database(path: Path) -> Path:
    """A real sweep database: x (1..3) raises "a" by 10 a step, mode q adds 5; "b" is the seeds' luck alone."""
    db = ResultsDB(path)
    for x in (1, 2, 3):
        for mode in ("p", "q"):
            for seed, noise in SEED_NOISE.items():
                params = {"x": x, "mode": mode}
                kpis = {"svc.a": 10.0 * x + (5.0 if mode == "q" else 0.0) + noise, "svc.b": 3.0 + noise}
                db.record("synthetic", {"key": run_key(params, seed), "seed": seed, "params": params, "status": "ok",
                                        "kpis": kpis, "map": "synthetic"}, 1)
    db.close()
    return path


def test_effects_use_the_common_seeds(tmp_path: Path) -> None:
    frame = load_frame(_database(tmp_path / "s.duckdb"))
    params = ["param:x", "param:mode"]
    assert report_stats.effect(frame, "param:x", params, "kpi:svc.a").p_value == 0.0  # seeds' luck cancels exactly
    assert not report_stats.effect(frame, "param:x", params, "kpi:svc.b").significant
    differences = report_stats.level_differences(frame, "param:mode", params, "kpi:svc.a")
    assert [(level, first) for level, first, *_ in differences] == [("q", "p")]
    assert differences[0][2] == pytest.approx(5.0) and differences[0][3] == pytest.approx(0.0, abs=1e-9)


def test_the_report_charts_only_what_changes_and_labels_its_intervals(tmp_path: Path) -> None:
    write_report(_database(tmp_path / "s.duckdb"), tmp_path / "s.html")
    page = (tmp_path / "s.html").read_text(encoding="utf-8")
    answer = re.search(r"<p class='answer'>(.*?)</p>", page).group(1)
    assert "x changes 1 figure " in answer and "mode changes 1 figure " in answer and "svc.b" not in answer
    assert page.count("<img") == 2  # a against x, a against mode; b is flat
    assert "95 % confidence interval of the mean over seeds" in page
    assert "q − p" in page and "5 ± 0" in page
