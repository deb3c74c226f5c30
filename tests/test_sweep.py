"""Sweeps: same results on every backend, nothing lost when workers die or the user interrupts."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from gwangju_twin import scenario as scenario_io
from gwangju_twin import sweep_config
from gwangju_twin.errors import ScenarioError
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import DaskBackend, LocalBackend, run_sweep

SCENARIO = "cheomdan3_shuttles"


def _plan(tmp_path: Path, grid: str, seeds: str = "[1, 2]", extra: str = "") -> sweep_config.Sweep:
    file = tmp_path / "sweep.toml"
    file.write_text(f"""
[sweep]
name = "test_sweep"
scenario = "{SCENARIO}"
area = "helsinki_test"
seeds = {seeds}
{extra}
[sweep.parameters]
{grid}
""", encoding="utf-8")
    return sweep_config.load(file)


def _rows(db_path: Path) -> dict[str, tuple]:
    db = ResultsDB(db_path, read_only=True)
    rows = db.con.execute("SELECT run_key, status, kpis, attempts, error FROM runs").fetchall()
    db.close()
    return {key: (status, json.loads(kpis), attempts, error) for key, status, kpis, attempts, error in rows}


GRID = '"shuttles.fleet.on_demand.count" = [1, 2]\n"shuttles.fleet.on_demand.dispatch" = ["nearest", "insertion"]'


def test_local_and_dask_give_identical_results_and_a_second_call_skips(helsinki_map, tmp_path: Path) -> None:
    plan = _plan(tmp_path, GRID)
    assert len(plan.tasks) == 8
    local_db, dask_db = ResultsDB(tmp_path / "local.duckdb"), ResultsDB(tmp_path / "dask.duckdb")
    backend = LocalBackend(2)
    assert run_sweep(plan, local_db, backend)["ok"] == 8
    again = run_sweep(plan, local_db, backend)
    backend.close()
    assert again == {"ok": 0, "error": 0, "lost": 0, "skipped": 8}
    dask = DaskBackend(local_workers=2)
    assert dask.client.scheduler.address.startswith("tcp://127.0.0.1:")  # loopback only
    assert run_sweep(plan, dask_db, dask)["ok"] == 8
    dask.close()
    local_db.close()
    dask_db.close()
    local, distributed = _rows(tmp_path / "local.duckdb"), _rows(tmp_path / "dask.duckdb")
    assert local.keys() == distributed.keys()
    assert all(local[k][1] == distributed[k][1] for k in local)
    assert len({json.dumps(v[1], sort_keys=True) for v in local.values()}) > 1  # parameters matter


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(helsinki_map, tmp_path: Path) -> None:
    plan = _plan(tmp_path, '"shuttles.fleet.sweepers.depot" = ["nowhere", "cheomdan3_depot"]', seeds="[1]")
    db = ResultsDB(tmp_path / "s.duckdb")
    backend = LocalBackend(1)
    counts = run_sweep(plan, db, backend)
    backend.close()
    db.close()
    assert (counts["ok"], counts["error"]) == (1, 1)
    errors = [row[3] for row in _rows(tmp_path / "s.duckdb").values() if row[0] == "error"]
    assert errors == ["TwinError: area 'helsinki_test' (" + errors[0].split("(")[1].split(")")[0]
                      + ") has no site 'nowhere'; its sites are: " + errors[0].split("its sites are: ")[1]]


def test_bad_sweep_parameter_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"sweep.parameters.shuttles.fleet.shuttle_bus.count: 'shuttles.fleet' "
                                            r"has no item with id 'shuttle_bus'; ids: sweepers, waste, on_demand"):
        _plan(tmp_path, '"shuttles.fleet.shuttle_bus.count" = [1]')
    with pytest.raises(ScenarioError, match=r"on_demand.max_wait = '9 furlongs'\): shuttles.fleet\[2\].max_wait"):
        _plan(tmp_path, '"shuttles.fleet.on_demand.max_wait" = ["9 furlongs"]')


def _twin(*args: str, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gwangju_twin.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)


def _workers(pid: int) -> list[int]:
    found = []
    for child in Path(f"/proc/{pid}/task").glob("*/children"):
        for text in child.read_text().split():
            cmdline = Path(f"/proc/{text}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                found.append(int(text))
    return found


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def _sweep_file(tmp_path: Path, *, seeds: int = 6) -> Path:
    file = tmp_path / "sweep.toml"
    file.write_text(f"""
[sweep]
name = "fault"
scenario = "{SCENARIO}"
area = "helsinki_test"
until = "300 d"
seeds = {{ from = 1, count = {seeds} }}
retries = 3
[sweep.parameters]
"shuttles.fleet.on_demand.count" = [1, 2]
""", encoding="utf-8")
    return file


def test_kill_9_of_a_worker_loses_nothing(helsinki_map, tmp_path: Path) -> None:
    db = tmp_path / "fault.duckdb"
    proc = _twin("sweep", str(_sweep_file(tmp_path)), "--db", str(db), "--workers", "2", env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while not _workers(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(5.0)  # imports done, first runs under way
        victims = _workers(proc.pid)
        assert victims, "no worker process found"
        os.kill(victims[0], signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err
    rows = _rows(db)
    assert len(rows) == 12 and all(status == "ok" for status, *_ in rows.values()), rows
    assert max(attempts for _, _, attempts, _ in rows.values()) >= 2  # the killed runs ran again
    assert "12 ok, 0 error, 0 lost" in out


def test_ctrl_c_stops_cleanly_and_the_next_call_resumes(helsinki_map, tmp_path: Path) -> None:
    db = tmp_path / "fault.duckdb"
    # 60 runs: a sweep still running 10 s in (12 runs of 300 days took 9.7 s once the engine got faster)
    file = _sweep_file(tmp_path, seeds=30)
    proc = _twin("sweep", str(file), "--db", str(db), "--workers", "2", env=dict(os.environ))
    try:
        time.sleep(10.0)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        out, err = proc.communicate(timeout=120)
    finally:
        _stop(proc)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err
    first = _rows(db)
    assert len(first) < 60
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "sweep", str(file), "--db", str(db), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(first)} already done" in done.stdout
    rows = _rows(db)
    assert len(rows) == 60 and all(status == "ok" for status, *_ in rows.values())
    assert all(rows[key][1] == first[key][1] for key in first)  # finished runs were kept, not redone


def test_report_and_query(helsinki_map, tmp_path: Path) -> None:
    plan = _plan(tmp_path, GRID, seeds="[1, 2, 3]")
    db = ResultsDB(tmp_path / "r.duckdb")
    backend = LocalBackend(2)
    run_sweep(plan, db, backend)
    backend.close()
    db.refresh_view()
    columns, rows = db.query('SELECT "shuttles.fleet.on_demand.count", avg("on_demand.served") FROM results GROUP BY 1 ORDER BY 1')
    _, maps = db.query("SELECT DISTINCT map FROM results")
    db.close()
    assert [r[0] for r in rows] == ["1", "2"]
    assert maps == [("map of helsinki_test stands in for cheomdan3",)]  # the database says which map stood in
    from gwangju_twin.report import write_report

    write_report(tmp_path / "r.duckdb", tmp_path / "r.html")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert page.count("<img") >= 4 and "Best configuration per KPI" in page and "on_demand.vehicles" in page  # the fleet size changes it on every seed
    assert "(12 runs): map of helsinki_test stands in for cheomdan3" in page and "a stand-in map" in page
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "results", "query", str(tmp_path / "r.duckdb"),
                           "SELECT nonsense FROM results"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "query failed" in done.stderr


def test_mesa_batch_run_drives_the_twin(helsinki_map) -> None:
    from gwangju_twin.batch import ScenarioModel
    from mesa.batchrunner import batch_run

    rows = batch_run(ScenarioModel, {"scenario": SCENARIO, "area": "helsinki_test", "seed": [1, 2],
                                     "shuttles.fleet.on_demand.count": [1, 2],
                                     "keep": [("on_demand.served", "on_demand.vehicles")]},
                     iterations=1, max_steps=2000, number_processes=1, display_progress=False)
    assert len(rows) == 4
    assert sorted(r["on_demand.vehicles"] for r in rows) == [1.0, 1.0, 2.0, 2.0]
    assert all(r["Step"] == 1439 and r["on_demand.served"] > 0 for r in rows)
    # the same run through the sweep worker gives the same figure
    from gwangju_twin.sweep import run_task

    path = scenario_io.resolve(SCENARIO)
    plan_task = sweep_config.Task("k", str(path), path.read_text(encoding="utf-8"),
                                  {"shuttles.fleet.on_demand.count": 2}, 1, "helsinki_test", None)
    row = next(r for r in rows if r["seed"] == 1 and r["shuttles.fleet.on_demand.count"] == 2)
    assert run_task(plan_task)["kpis"]["on_demand.served"] == row["on_demand.served"]


def test_ctrl_c_during_a_write_arrives_after_the_row_is_safe(tmp_path: Path) -> None:
    """duckdb aborts a statement a signal interrupts; the results database holds the signal instead."""
    from gwangju_twin.results_db import _signals_held

    db = ResultsDB(tmp_path / "held.duckdb")
    with pytest.raises(KeyboardInterrupt):
        with _signals_held():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # delivered, and noted, before the write starts
            db.record("held", {"key": "k1", "seed": 1, "params": {}, "status": "ok"}, 1)
    assert db.finished() == {"k1"}
    db.close()


def test_workers_exit_when_the_sweep_is_killed(helsinki_map, tmp_path: Path) -> None:
    """SIGKILL of the sweep itself (no chance to clean up): its workers must not live on."""
    proc = _twin("sweep", str(_sweep_file(tmp_path)), "--db", str(tmp_path / "fault.duckdb"), "--workers", "2",
                 env=dict(os.environ))
    try:
        deadline = time.monotonic() + 60
        while len(_workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers(proc.pid)
        assert len(workers) == 2, "the sweep started no workers"
        os.kill(proc.pid, signal.SIGKILL)  # the sweep only, not its process group
        proc.communicate(timeout=30)
        deadline = time.monotonic() + 20
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived the sweep"
    finally:
        _stop(proc)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
