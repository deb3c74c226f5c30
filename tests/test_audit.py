"""``twin audit``: every default scenario passes it, and a doctored results folder fails it.

The runs are real (Helsinki network, packaged scenarios); the doctoring edits the files a user
would open, so each check is shown to catch the violation it is there for.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from gwangju_twin import runner, scenario
from gwangju_twin.audit import audit
from gwangju_twin.cli import app
from typer.testing import CliRunner

DEFAULTS = ["bitgreen_shuttles", "cheomdan3_shuttles", "certification_center", "testbed_day", "cargo_link",
            "drone_free_zone"]


def _run(name: str, seed: int, out: Path) -> Path:
    runner.run(scenario.packaged()[name], out, seed=seed, area="helsinki_test")
    return out


@pytest.fixture(scope="module")
def testbed_run(helsinki_map, tmp_path_factory) -> Path:
    return _run("testbed_day", 1, tmp_path_factory.mktemp("audit") / "testbed")


def _by_name(folder: Path) -> dict[str, str]:
    return {check.name: check.status for check in audit(folder)}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("name", DEFAULTS)
def test_every_default_scenario_passes_the_audit(helsinki_map, tmp_path: Path, name: str, seed: int) -> None:
    checks = audit(_run(name, seed, tmp_path / name))
    failed = [check.line() for check in checks if check.status == "FAIL"]
    assert not failed
    statuses = {check.name: check.status for check in checks}
    spec = scenario.load(scenario.packaged()[name]).spec
    if any(f.service == "on_demand" for f in spec.shuttles.fleet):
        assert statuses["on_demand_rides"] == statuses["vehicle_capacity"] == statuses["service_windows"] == "PASS"
    if spec.certification is not None:
        assert statuses["parts_conserved"] == statuses["part_procedures"] == "PASS"


def _doctored(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "doctored"
    shutil.copytree(source, target)
    return target


def _edit_tracks(folder: Path, edit) -> None:  # noqa: ANN001 - a function of the frame
    tracks = gpd.read_file(folder / "trajectories.gpkg", layer="trajectories")
    edit(tracks)
    tracks.to_file(folder / "trajectories.gpkg", layer="trajectories", driver="GPKG")


def _edit_events(folder: Path, edit) -> None:  # noqa: ANN001 - a function of the frame
    events = pd.read_csv(folder / "events.csv", keep_default_na=False)
    events = edit(events)
    events.to_csv(folder / "events.csv", index=False)


def test_a_vehicle_faster_than_its_cap_fails(testbed_run: Path, tmp_path: Path) -> None:
    folder = _doctored(testbed_run, tmp_path)

    def faster(tracks: gpd.GeoDataFrame) -> None:
        rows = tracks.index[(tracks["agent"] == "bitgreen_store_loop-1") & (tracks["odometer_m"] > 0)]
        tracks.loc[rows[5:], "t_s"] -= 0.3 * (tracks.loc[rows[5], "t_s"] - tracks.loc[rows[4], "t_s"])

    _edit_tracks(folder, faster)
    assert _by_name(folder)["speed_cap"] == "FAIL"


def test_driving_outside_the_windows_fails(testbed_run: Path, tmp_path: Path) -> None:
    folder = _doctored(testbed_run, tmp_path)

    def late(tracks: gpd.GeoDataFrame) -> None:
        mine = tracks["agent"] == "bitgreen_on_demand-1"
        tracks.loc[mine, "t_s"] += 3 * 3600.0  # the same drives, three hours later: past 16:00

    _edit_tracks(folder, late)
    line = next(c for c in audit(folder) if c.name == "service_windows")
    assert line.status == "FAIL" and "bitgreen_on_demand-1" in line.figure


def test_a_battery_below_its_reserve_fails(testbed_run: Path, tmp_path: Path) -> None:
    folder = _doctored(testbed_run, tmp_path)

    def drained(tracks: gpd.GeoDataFrame) -> None:
        tracks.loc[tracks.index[tracks["agent"] == "cheomdan3_waste-1"][3], "battery_kwh"] = 0.5

    _edit_tracks(folder, drained)
    assert _by_name(folder)["battery_reserve"] == "FAIL"


def test_rides_that_do_not_add_up_fail(testbed_run: Path, tmp_path: Path) -> None:
    folder = _doctored(testbed_run, tmp_path)
    first_dropoff = None

    def lose_a_dropoff(events: pd.DataFrame) -> pd.DataFrame:
        nonlocal first_dropoff
        first_dropoff = events.index[events["event"] == "dropoff"][0]
        return events.drop(index=first_dropoff)

    _edit_events(folder, lose_a_dropoff)
    assert first_dropoff is not None and _by_name(folder)["on_demand_rides"] == "FAIL"


def test_more_riders_than_seats_fails(testbed_run: Path, tmp_path: Path) -> None:
    folder = _doctored(testbed_run, tmp_path)

    def crowd(events: pd.DataFrame) -> pd.DataFrame:
        pickup = events[events["event"] == "pickup"].iloc[[0]]
        return pd.concat([events, *[pickup.assign(detail=f"request ghost/{i}") for i in range(5)]])

    _edit_events(folder, crowd)
    checks = _by_name(folder)
    assert checks["vehicle_capacity"] == "FAIL" and checks["on_demand_rides"] == "FAIL"


def test_a_part_that_skips_a_test_or_goes_missing_fails(helsinki_map, tmp_path: Path) -> None:
    run = _run("certification_center", 1, tmp_path / "lab")
    skipped = _doctored(run, tmp_path / "a")
    _edit_events(skipped, lambda e: e.drop(index=e.index[e["event"] == "test_start"][0]))
    assert _by_name(skipped)["part_procedures"] == "FAIL"
    lost = _doctored(run, tmp_path / "b")
    _edit_events(lost, lambda e: e.drop(index=e.index[e["event"] == "shipped"][-1]))
    checks = _by_name(lost)
    assert checks["parts_conserved"] == "FAIL"


def test_the_command_prints_one_line_per_check_and_exits_1_on_a_failure(testbed_run: Path, tmp_path: Path) -> None:
    cli = CliRunner()
    good = cli.invoke(app, ["audit", str(testbed_run)])
    assert good.exit_code == 0, good.output
    lines = good.output.strip().splitlines()
    assert len(lines) == len(audit(testbed_run)) and all(line.split()[0] in ("PASS", "SKIP") for line in lines)
    folder = _doctored(testbed_run, tmp_path)
    _edit_events(folder, lambda e: e.drop(index=e.index[e["event"] == "pickup"][0]))
    bad = cli.invoke(app, ["audit", str(folder)])
    assert bad.exit_code == 1 and "FAIL on_demand_rides" in bad.output


def test_a_folder_that_is_not_a_run_is_one_clear_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "audit", str(tmp_path)], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {tmp_path}: no manifest.json; give a results folder written by 'twin run'"


def test_lab_queues_that_disagree_with_the_log_fail(helsinki_map, tmp_path: Path) -> None:
    run = _run("certification_center", 2, tmp_path / "lab")
    folder = _doctored(run, tmp_path / "late")

    def later_start(events: pd.DataFrame) -> pd.DataFrame:
        starts = events.index[events["event"] == "test_start"]
        events.loc[starts[len(starts) // 2], "t_s"] += 20 * 86400.0  # one test started 20 days later than it did
        return events

    _edit_events(folder, later_start)
    assert _by_name(folder)["lab_queues"] == "FAIL"
