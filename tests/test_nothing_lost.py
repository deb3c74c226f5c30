"""Nothing lost, nothing silent: results folders are the twin's own, the audit holds a folder to its
own word, failed sweep runs are said and run again, the cache knows what its maps were built from.

Every test runs the real parts: real runs on the Helsinki extract, real GeoPackages doctored with
geopandas, a real DuckDB file, a real process killed with SIGTERM.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from gwangju_twin import cli, mapcache, runner, scenario
from gwangju_twin.agents.shuttles.arc_routing import split_walk
from gwangju_twin.audit import audit
from gwangju_twin.errors import MapError, TwinError
from gwangju_twin.results import FORMAT
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import run_task
from gwangju_twin.sweep_config import SweepSpec, expand
from hypothesis import given
from hypothesis import strategies as st

BITGREEN = scenario.packaged()["bitgreen_shuttles"]


@pytest.fixture(scope="module")
def day(helsinki_map, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real results folder of a whole day of bitgreen_shuttles on the Helsinki extract."""
    out = tmp_path_factory.mktemp("day") / "run"
    runner.run(BITGREEN, out, area="helsinki_test")
    return out


def _copy(day: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(day, tmp_path / "copy"))


def _status(checks: list, name: str) -> tuple[str, str]:
    found = [c for c in checks if c.name == name]
    assert len(found) == 1, name
    return found[0].status, found[0].figure


def test_the_manifest_names_the_format_and_every_file_written(day: Path) -> None:
    manifest = json.loads((day / "manifest.json").read_text())
    assert manifest["format"] == FORMAT
    written = sorted(p.name for p in day.iterdir())
    assert sorted(manifest["files"]) == written == ["events.csv", "manifest.json", "summary.json", "trajectories.gpkg"]
    assert manifest["files"]["events.csv"]["bytes"] == (day / "events.csv").stat().st_size


def test_a_clean_folder_passes_every_evidence_check(day: Path) -> None:
    checks = audit(day)
    for name in ("files_written", "events_on_tracks", "track_distance"):
        assert _status(checks, name)[0] == "PASS", _status(checks, name)


def test_missing_trajectories_fail_instead_of_skipping(day: Path, tmp_path: Path) -> None:
    folder = _copy(day, tmp_path)
    (folder / "trajectories.gpkg").unlink()
    status, figure = _status(audit(folder), "files_written")
    assert status == "FAIL" and "trajectories.gpkg missing" in figure
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "audit", str(folder)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1


def test_events_moved_earlier_are_not_where_the_tracks_put_the_vehicle(day: Path, tmp_path: Path) -> None:
    """The loop shuttle 'laps at 20 km/h': its stops compressed to a quarter of the time after its departure."""
    folder = _copy(day, tmp_path)
    events = pd.read_csv(folder / "events.csv", dtype={"agent": str, "event": str, "detail": str}, keep_default_na=False)
    mine = events["agent"] == "store_loop-1"
    start_s = events.loc[mine & (events["event"] == "depart"), "t_s"].min()
    later = mine & (events["t_s"] > start_s)
    events.loc[later, "t_s"] = start_s + (events.loc[later, "t_s"] - start_s) / 4
    events.sort_values("t_s", kind="stable").to_csv(folder / "events.csv", index=False, float_format="%.3f")
    status, figure = _status(audit(folder), "events_on_tracks")
    assert status == "FAIL" and "store_loop-1" in figure, figure


def test_a_stop_moved_to_another_place_is_caught(day: Path, tmp_path: Path) -> None:
    """An event renamed to a place where the tracks do not have the vehicle."""
    folder = _copy(day, tmp_path)
    events = pd.read_csv(folder / "events.csv", dtype={"agent": str, "event": str, "detail": str}, keep_default_na=False)
    stops = events[(events["agent"] == "store_loop-1") & (events["event"] == "stop")]
    places = list(dict.fromkeys(stops["detail"]))
    assert len(places) >= 2
    events.loc[stops.index[0], "detail"] = places[1] if stops["detail"].iloc[0] == places[0] else places[0]
    events.to_csv(folder / "events.csv", index=False, float_format="%.3f")
    status, figure = _status(audit(folder), "events_on_tracks")
    assert status == "FAIL" and "m from the other events there" in figure, figure


def test_a_track_point_moved_sideways_exceeds_the_odometer(day: Path, tmp_path: Path) -> None:
    folder = _copy(day, tmp_path)
    frame = gpd.read_file(folder / "trajectories.gpkg")
    moving = frame.index[(frame["agent"] == "store_loop-1") & (frame["odometer_m"] > 100)][3]
    point = frame.geometry[moving]
    frame.loc[moving, "geometry"] = gpd.points_from_xy([point.x + 300.0], [point.y])[0]
    frame.to_file(folder / "trajectories.gpkg", layer="trajectories", driver="GPKG")
    checks = audit(folder)
    status, figure = _status(checks, "track_distance")
    assert status == "FAIL" and "store_loop-1" in figure and "more than its odometer" in figure, figure
    assert _status(checks, "files_written")[0] == "FAIL"  # and the file is not the one the run wrote


def test_a_second_run_keeps_the_files_a_user_added(day: Path, tmp_path: Path) -> None:
    folder = _copy(day, tmp_path)
    (folder / "notes.txt").write_text("mine\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "plot.png").write_bytes(b"\x89PNG")
    runner.run(BITGREEN, folder, area="helsinki_test", until_s=3600.0, seed=5)
    assert (folder / "notes.txt").read_text() == "mine\n"
    assert (folder / "figures" / "plot.png").read_bytes() == b"\x89PNG"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["seed"] == 5 and "notes.txt" not in manifest["files"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]  # no staging or old folder left


def test_a_folder_the_twin_did_not_write_is_refused_or_kept_with_force(helsinki_map, tmp_path: Path) -> None:
    folder = tmp_path / "w"
    (folder / "src").mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")
    (folder / "src" / "app.js").write_text("x")
    with pytest.raises(TwinError, match="was not written by the twin"):
        runner.run(BITGREEN, folder, area="helsinki_test", until_s=3600.0)
    runner.run(BITGREEN, folder, area="helsinki_test", until_s=3600.0, force=True)
    assert (folder / "src" / "app.js").read_text() == "x"
    assert json.loads((folder / "manifest.json").read_text())["format"] == FORMAT


def test_sigterm_while_writing_leaves_no_hidden_folder(helsinki_map, tmp_path: Path) -> None:
    """A run killed with SIGTERM while it writes its results: the earlier folder whole, no partial folder."""
    out = tmp_path / "res"
    runner.run(BITGREEN, out, area="helsinki_test", until_s=3600.0)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    # the child stops itself with SIGTERM once it has begun writing (the GeoPackage is being written)
    code = ("import os, signal\n"
            "from gwangju_twin import gpkg, runner, scenario\n"
            "write = gpkg.write_points\n"
            "def write_points(*a, **k):\n"
            "    count = write(*a, **k)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return count\n"
            "gpkg.write_points = write_points\n"
            f"runner.run(scenario.packaged()['bitgreen_shuttles'], {str(out)!r}, area='helsinki_test', until_s=7200.0)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ})
    assert done.returncode != 0
    assert "terminated (SIGTERM) while writing results; nothing was replaced" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_split_walk_with_no_sweepers_gives_no_pieces(helsinki_world) -> None:
    net = helsinki_world.network
    walk = list(range(min(40, net.edge_count)))
    required = set(walk[::2])
    assert split_walk(net, walk, required, 0) == []
    assert split_walk(net, walk, required, 1) == [walk]
    pieces = split_walk(net, walk, required, 3)
    assert len(pieces) == 3 and sum(pieces, []) == walk
    with pytest.raises(ValueError, match="parts = -1"):
        split_walk(net, walk, required, -1)


def test_a_cleaning_fleet_of_zero_sweeps_nothing(helsinki_map, tmp_path: Path) -> None:
    text = BITGREEN.read_text(encoding="utf-8").replace(
        "count = 2                      # ASSUMPTION: fleet size", "count = 0 #", 1)
    path = tmp_path / "no_sweepers.toml"
    path.write_text(text, encoding="utf-8")
    model = runner.build_model(path, area="helsinki_test", until_s=86400.0)
    runner.simulate(model)
    sweepers = model.kpis()["sweepers"]
    assert sweepers["vehicles"] == 0
    assert not sweepers.get("vehicle_km")  # no sweeper drove: 0 km or null with its reason


def test_a_sweep_says_what_failed_and_runs_it_again(helsinki_map, tmp_path: Path, monkeypatch, capsys) -> None:
    """Every run fails (no map for the scenario's own area): exit 1 with the error and its count; with the
    fix the same database runs them again, and finished runs stay done."""
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "s.duckdb"
    argv = ["sweep", "--scenario", "bitgreen_shuttles", "--seeds", "2", "--workers", "1", "--db", str(db)]
    plan = expand(SweepSpec.model_validate({"name": "bitgreen_shuttles", "scenario": "bitgreen_shuttles",
                                            "seeds": {"from": 0, "count": 2}}), "<test>")
    results = ResultsDB(db)
    for task in plan.tasks:  # what the workers return, recorded as run_sweep records them
        results.record("bitgreen_shuttles", run_task(task), 1)
    assert results.failures([t.key for t in plan.tasks])[0][1] == 2
    assert results.finished() == set()  # failed runs are not done: the next call runs them again
    results.close()
    with pytest.raises(SystemExit) as exit_:
        cli.run_command([*argv, "--param", "shuttles.fleet.on_demand.count=3"])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "2 of 2 runs failed (1 distinct errors)" in err and "2 x MapError: no road network cached" in err
    fixed = expand(SweepSpec.model_validate({"name": "bitgreen_shuttles", "scenario": "bitgreen_shuttles",
                                             "until": "1 h", "seeds": {"from": 0, "count": 2}}), "<test>",
                   area="helsinki_test")
    results = ResultsDB(db)
    results.record("bitgreen_shuttles", run_task(fixed.tasks[0]), 1)
    assert results.finished() == {fixed.tasks[0].key}
    results.close()


def test_a_changed_area_file_names_the_command_that_rebuilds_its_map(helsinki_map, tmp_path: Path) -> None:
    from gwangju_twin.areas import load_area_file
    from gwangju_twin.world import load_world

    source = Path(__file__).parents[1] / "maps" / "areas" / "helsinki_test.toml"
    half = tmp_path / "helsinki_test.toml"
    half.write_text(source.read_text(encoding="utf-8").replace(
        "[24.952, 60.1655], [24.952, 60.178]", "[24.9445, 60.1655], [24.9445, 60.178]"), encoding="utf-8")
    assert mapcache.area_fingerprint(load_area_file(half)) != helsinki_map.area_fingerprint
    with pytest.raises(MapError, match="changed .* since its map was cached; rebuild the map: 'twin maps import "
                                       "helsinki_test FILE.osm.pbf'"):
        load_world(str(half))
    renamed = tmp_path / "renamed.toml"  # names and sources do not count: the same map serves
    renamed.write_text(source.read_text(encoding="utf-8").replace('name_en = "Helsinki test area"',
                                                                  'name_en = "Another name"'), encoding="utf-8")
    assert load_world(str(renamed)).network is not None


def test_a_truncated_compiled_map_is_rebuilt_from_the_graph(helsinki_map) -> None:
    compiled = mapcache.cache_dir() / "maps" / "helsinki_test.network.npz"
    whole = compiled.read_bytes()
    compiled.write_bytes(whole[:20000])
    network, _ = mapcache.load_network("helsinki_test", "EPSG:32635")
    assert network.fingerprint == helsinki_map.fingerprint and network.edge_count > 0
    assert len(compiled.read_bytes()) > 20000  # written again whole


def test_query_tables_fit_80_columns(helsinki_map, tmp_path: Path, capsys, monkeypatch) -> None:
    db = ResultsDB(tmp_path / "q.duckdb")
    plan = expand(SweepSpec.model_validate({"name": "q", "scenario": str(BITGREEN), "until": "1 h", "seeds": [1]}),
                  "<test>", area="helsinki_test")
    db.record("q", run_task(plan.tasks[0]), 1)
    db.refresh_view()
    db.close()
    monkeypatch.setattr(cli.out, "_width", 80)
    cli.run_command(["results", "query", str(tmp_path / "q.duckdb"), "SELECT * FROM results LIMIT 5"])
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "status" in text and "ok" in text and "(1 rows)" in text


def test_areas_list_keeps_the_ids_whole_in_80_columns(capsys, monkeypatch) -> None:
    from gwangju_twin.areas import area_files

    monkeypatch.setattr(cli.out, "_width", 80)
    cli.run_command(["areas", "list"])
    lines = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in lines) <= 80
    firsts = {line.split()[0] for line in lines if line.strip()}
    assert set(area_files()) <= firsts


def test_an_unreachable_scheduler_is_one_line(helsinki_map, tmp_path: Path) -> None:
    """A closed port: one line within the connect timeout, and no database left behind (its own process:
    a failed Dask client may leave a socket for the garbage collector)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "sweep", "--scenario", "bitgreen_shuttles", "--area",
                           "helsinki_test", "--seeds", "1", "--scheduler", "tcp://127.0.0.1:1"], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--scheduler tcp://127.0.0.1:1: no Dask scheduler answered" in lines[0], done.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "sweeps" / "bitgreen_shuttles.duckdb").exists()


def test_a_relative_area_path_is_taken_from_the_current_folder(helsinki_map, tmp_path: Path, monkeypatch) -> None:
    source = Path(__file__).parents[1] / "maps" / "areas" / "helsinki_test.toml"
    (tmp_path / "some" / "dir").mkdir(parents=True)
    shutil.copy(source, tmp_path / "some" / "dir" / "area.toml")
    monkeypatch.chdir(tmp_path)
    cli.run_command(["run", "bitgreen_shuttles", "--area", "some/dir/area.toml", "--until", "1 h", "--out", "r"])
    assert json.loads((tmp_path / "r" / "summary.json").read_text())["area"] == "helsinki_test"


def test_pygame_is_quiet_where_the_cli_imports_it() -> None:
    """No banner and no audio device opened: pygame imported and initialised as the viewer and the video do."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYGAME_HIDE_SUPPORT_PROMPT", "SDL_AUDIODRIVER")}
    code = ("from gwangju_twin import cli_text\ncli_text._quiet_pygame()\nimport pygame\npygame.init()\n"
            "import os\nprint(os.environ['SDL_AUDIODRIVER'])\npygame.quit()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**env, "SDL_VIDEODRIVER": "dummy"})
    assert done.returncode == 0, done.stderr
    assert done.stdout == "dummy\n" and "ALSA" not in done.stderr and "pygame" not in done.stderr.lower()


@given(steps=st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500), st.floats(0, 50)), min_size=2, max_size=30),
       pick=st.integers(min_value=1), push_m=st.floats(1.0, 1000.0))
def test_track_distance_holds_exactly_when_no_point_outruns_its_odometer(steps, pick, push_m) -> None:
    """Points joined by straight moves with the odometer at least their length pass; one point put
    further from a neighbour than the odometer advanced between them fails, naming the vehicle."""
    import numpy as np
    from gwangju_twin import evidence

    xy = np.cumsum(np.array([(dx, dy) for dx, dy, _ in steps]), axis=0)
    odometer = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T) + [extra for *_, extra in steps[1:]])])
    frame = pd.DataFrame({"agent": "cart-1", "kind": "shuttle", "t_s": np.arange(len(xy), dtype=float),
                          "odometer_m": odometer, "x_m": xy[:, 0], "y_m": xy[:, 1]})
    assert evidence.track_distance(frame)[1] == "PASS"
    k = pick % len(xy)
    j = k - 1 if k > 0 else k + 1  # a neighbour: the point is put further from it than the odometer advanced
    advance_m = abs(odometer[k] - odometer[j])
    moved = frame.copy()
    moved.loc[k, ["x_m", "y_m"]] = [xy[j, 0] + advance_m + push_m, xy[j, 1]]
    name, status, figure = evidence.track_distance(moved)
    assert status == "FAIL" and "cart-1" in figure
