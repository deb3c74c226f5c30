"""twin design: known answers from queueing theory, the exhaustive grid, confidence bounds, one-line errors."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from gwangju_twin import design_config
from gwangju_twin.confidence import Requirement, bounds, paired_difference, verdict
from gwangju_twin.design import Evaluator
from gwangju_twin.design_search import grid, search
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import DaskBackend, LocalBackend
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

DATA = Path(__file__).parent / "data" / "design"
MMC = DATA / "mmc_lab.toml"
RIG = "certification.equipment.rig.units"
WAIT = "certification.equipment.rig.wait_mean_h"
TWIN = [sys.executable, "-c", "from gwangju_twin.cli import main; main()"]


def erlang_c_wait_h(arrival_per_h: float, service_h: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C); infinite when the servers cannot keep up."""
    load = arrival_per_h * service_h
    if servers <= load:
        return math.inf
    top = load**servers / math.factorial(servers) * servers / (servers - load)
    p_wait = top / (sum(load**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers / service_h - arrival_per_h)


def smallest_servers(arrival_per_h: float, service_h: float, target_h: float, candidates: range) -> int:
    return next(c for c in candidates if erlang_c_wait_h(arrival_per_h, service_h, c) <= target_h)


def _twin(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*TWIN, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def mmc_design(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """The M/M/c lab designed once from the command line (4..9 rigs, mean wait <= 0.12 h)."""
    folder = tmp_path_factory.mktemp("mmc")
    done = _twin("design", MMC, "--vary", f"{RIG}=4..9", "--require", f"{WAIT}<=0.12", "--db",
                 folder / "mmc.duckdb", "--workers", "2", cwd=folder)
    return done, folder


def test_erlang_c_matches_the_issues_figures() -> None:
    assert erlang_c_wait_h(3.4, 1.0, 5) == pytest.approx(0.217, abs=0.0005)
    assert erlang_c_wait_h(3.4, 1.0, 6) == pytest.approx(0.061, abs=0.0005)


def test_mmc_lab_design_prints_erlang_cs_smallest_c(mmc_design) -> None:
    done, folder = mmc_design
    assert done.returncode == 0, done.stderr
    expected = smallest_servers(3.4, 1.0, 0.12, range(4, 10))
    assert done.stdout.strip().splitlines()[-1] == f"best: {RIG}={expected}"
    answer = json.loads((folder / "mmc.design.json").read_text())
    assert answer["method"] == "bisection"
    assert answer["effort"]["configurations"] < answer["effort"]["grid_configurations"] == 6
    best = answer["best"]["checks"][0]
    assert best["upper"] <= 0.12 and best["verdict"] == "holds"
    below = next(e for e in answer["evaluations"] if e["params"][RIG] == expected - 1)
    assert not below["feasible"]
    assert "The cheapest configuration meeting every requirement" in (folder / "mmc.design.html").read_text()


def test_a_rerun_repeats_no_run_and_gives_the_same_answer(mmc_design) -> None:
    first, folder = mmc_design
    before = json.loads((folder / "mmc.design.json").read_text())
    again = _twin("design", MMC, "--vary", f"{RIG}=4..9", "--require", f"{WAIT}<=0.12", "--db",
                  folder / "mmc.duckdb", "--workers", "2", cwd=folder)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]
    after = json.loads((folder / "mmc.design.json").read_text())
    assert after["effort"]["ran_now"] == 0 and after["effort"]["found_in_database"] == before["effort"]["runs"]
    assert after["evaluations"] == before["evaluations"]


def test_dask_local_cluster_gives_the_same_design(mmc_design, tmp_path: Path) -> None:
    _, folder = mmc_design
    local = json.loads((folder / "mmc.design.json").read_text())
    spec = design_config.from_options(str(MMC), vary=[f"{RIG}=4..9"], require=[f"{WAIT}<=0.12"], cost=[], options={})
    plan = design_config.build(spec, "<test>")
    backend = DaskBackend(local_workers=2)
    assert backend.client.scheduler.address.startswith("tcp://127.0.0.1:")
    db = ResultsDB(tmp_path / "dask.duckdb")
    try:
        outcome = search(Evaluator(plan, db, backend))
    finally:
        backend.close()
        db.close()
    assert outcome.best.params == local["best"]["params"]
    assert sorted(e.as_dict()["checks"][0]["values"] for e in outcome.evaluations) == sorted(
        e["checks"][0]["values"] for e in local["evaluations"])


def test_two_parameters_match_the_exhaustive_grid_and_erlang_c(tmp_path: Path) -> None:
    """Tandem M/M/c stations (Burke): the exact search's and Optuna's answers are the grid's, and Erlang C's."""
    plan = design_config.load(DATA / "tandem_lab_design.toml")
    db = ResultsDB(tmp_path / "tandem.duckdb")
    backend = LocalBackend(2)
    try:
        evaluator = Evaluator(plan, db, backend)
        outcome = search(evaluator)
        searched = len(evaluator.evaluations)
        every = [evaluator.evaluate(params) for params in grid(plan.space)]
        optimised = design_config.build(plan.spec.model_copy(update={"exact_limit": 1, "trials": 12}), plan.file)
        by_optuna = search(Evaluator(optimised, db, backend))  # every run is in the database by now
    finally:
        backend.close()
        db.close()
    feasible = [e for e in every if e.feasible]
    reference = min(feasible, key=lambda e: (e.cost, -min(e.slack(c) for c in e.checks)))
    assert outcome.best.params == reference.params
    assert searched < len(every) == 9
    assert by_optuna.method.startswith("Optuna") and by_optuna.best.params == reference.params
    assert outcome.best.params == {"certification.equipment.a.units": smallest_servers(3.4, 1.0, 0.12, range(5, 8)),
                                   "certification.equipment.b.units": smallest_servers(3.4, 0.5, 0.3, range(2, 5))}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=2, max_size=30), st.floats(-100, 100),
       st.sampled_from(["<=", ">="]))
def test_verdict_follows_the_one_sided_t_bound(values: list[float], target: float, op: str) -> None:
    requirement = Requirement("x", op, target)
    lower, mean, upper = bounds(values, confidence=0.95)
    n = len(values)
    sd = stats.tstd(values) if len(set(values)) > 1 else 0.0
    assert upper - mean == pytest.approx(stats.t.ppf(0.95, n - 1) * sd / math.sqrt(n), abs=1e-9)
    assert mean - lower == pytest.approx(upper - mean, abs=1e-9)
    said = verdict(values, requirement, confidence=0.95)
    good, bad = (upper, lower) if op == "<=" else (lower, upper)
    meets = (lambda v: v <= target) if op == "<=" else (lambda v: v >= target)
    assert said == ("holds" if meets(good) else "fails" if not meets(bad) else "close")


def test_paired_differences_on_common_seeds_are_exact_for_a_shift() -> None:
    a = [3.0, 7.5, 1.0, 4.25]
    mean, half = paired_difference([x + 2.0 for x in a], a)
    assert mean == pytest.approx(2.0) and half == pytest.approx(0.0)


@pytest.mark.parametrize(("args", "said"), [
    (["--vary", f"{RIG}=9..4", "--require", f"{WAIT}<=0.12"], "LO <= HI"),
    (["--vary", f"{RIG}=4..9", "--require", f"{WAIT}=0.12"], "must be KPI OP VALUE"),
    (["--vary", "certification.equipment.nope.units=4..9", "--require", f"{WAIT}<=0.12"], "no item with id 'nope'"),
    (["--vary", f"{RIG}=4..9", "--require", f"{WAIT}<=0.12", "--cost", "certification.staff=1"], "not a varied"),
    (["--vary", f"{RIG}=4..9", "--require", f"{WAIT}<=0.12", "--seeds", "1"], "seeds"),
])
def test_mistakes_are_one_line_before_any_run(args: list[str], said: str, tmp_path: Path) -> None:
    done = _twin("design", MMC, *args, "--db", tmp_path / "x.duckdb", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert said in done.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_a_service_level_bounded_on_its_good_side_is_refused(tmp_path: Path) -> None:
    """The drones' plug-in says on-time is better higher: a requirement "<= 0.95" is a mistake, said before any run."""
    done = _twin("design", "drone_free_zone", "--vary", "drones.vertiports.wolchul_vertiport.pads=1..2",
                 "--require", "drones.on_time_rate<=0.95", "--db", tmp_path / "x.duckdb", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "is better higher" in done.stderr and ">=" in done.stderr
    assert not (tmp_path / "x.duckdb").exists()


def test_a_figure_no_run_reports_is_one_line_naming_the_nearest(tmp_path: Path) -> None:
    done = _twin("design", MMC, "--vary", f"{RIG}=8..9", "--require", "certification.equipment.rig.wait_mean<=1",
                 "--until", "1 d", "--seeds", "2", "--db", tmp_path / "x.duckdb", "--workers", "1", cwd=tmp_path)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "did you mean certification.equipment.rig.wait_mean_h" in done.stderr


def test_a_killed_design_resumes_where_it_stopped(tmp_path: Path) -> None:
    """kill -9 after the first configuration is judged: the rerun finds its runs and runs only the rest."""
    args = ["design", str(MMC), "--vary", f"{RIG}=4..9", "--require", f"{WAIT}<=0.12", "--until", "10 d",
            "--db", str(tmp_path / "k.duckdb"), "--workers", "2"]
    process = subprocess.Popen([*TWIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    judged = []
    for line in iter(process.stdout.readline, ""):
        if line.startswith("  "):  # the first configuration is judged: its runs are in the database
            judged.append(line)
            break
    process.kill()
    process.communicate(timeout=60)
    assert judged and f"{RIG}=9" in judged[0]
    assert not (tmp_path / "k.design.json").exists()  # nothing half-written
    again = _twin(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    answer = json.loads((tmp_path / "k.design.json").read_text())
    assert answer["effort"]["found_in_database"] >= 5
    assert answer["effort"]["found_in_database"] + answer["effort"]["ran_now"] == answer["effort"]["runs"]
    assert again.stdout.splitlines()[-1].startswith(f"best: {RIG}=")
