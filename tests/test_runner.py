"""Headless runs on the real Helsinki network: results folder, reproducibility, atomic writes."""

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from gwangju_twin import gpkg, runner, scenario
from gwangju_twin.errors import TwinError

BITGREEN = scenario.packaged()["bitgreen_shuttles"]


@pytest.fixture(scope="module")
def cli_run(helsinki_map, tmp_path_factory) -> Path:
    """``twin run`` as a user types it, in its own process, on the imported Helsinki area."""
    out = tmp_path_factory.mktemp("cli") / "run"
    done = subprocess.run(
        [sys.executable, "-m", "gwangju_twin.cli", "run", "bitgreen_shuttles", "--area", "helsinki_test", "--seed", "7",
         "--out", str(out)], capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when piped
    return out


def test_results_folder_has_everything(cli_run: Path, helsinki_map) -> None:
    assert sorted(p.name for p in cli_run.iterdir()) == ["events.csv", "manifest.json", "summary.json",
                                                         "trajectories.gpkg"]
    summary = json.loads((cli_run / "summary.json").read_text())
    assert summary["seed"] == 7 and summary["area"] == "helsinki_test"
    assert summary["kpis"]["store_loop"]["vehicle_km"] > 0
    manifest = json.loads((cli_run / "manifest.json").read_text())
    assert manifest["scenario_text"] == BITGREEN.read_text(encoding="utf-8")
    assert manifest["map"]["fingerprint"] == helsinki_map.fingerprint
    assert manifest["packages"]["mesa"].startswith("3.3") and manifest["packages"]["osmnx"].startswith("2.")
    events = pd.read_csv(cli_run / "events.csv")
    assert list(events.columns) == ["t_s", "agent", "event", "detail"] and len(events) > 10


def test_trajectories_open_as_geopackage_in_the_area_crs(cli_run: Path) -> None:
    tracks = gpd.read_file(cli_run / "trajectories.gpkg", layer="trajectories")
    assert tracks.crs.to_epsg() == 32635
    assert {"sweepers-1", "sweepers-2", "waste-1", "on_demand-1", "store_loop-1"} <= set(tracks["agent"])
    assert {"sweeper", "collector", "shuttle"} <= set(tracks["kind"])
    assert str(tracks["time"].iloc[0]).startswith("2026-04-01")
    assert (tracks.geom_type == "Point").all()


def test_same_seed_same_summary_in_one_process_and_in_another(cli_run: Path, tmp_path: Path) -> None:
    first = runner.run(BITGREEN, tmp_path / "a", seed=7, area="helsinki_test").summary
    second = runner.run(BITGREEN, tmp_path / "b", seed=7, area="helsinki_test").summary
    assert first == second
    for name in ("summary.json", "events.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (cli_run / name).read_bytes(), name


def test_until_shortens_the_run(helsinki_map, tmp_path: Path) -> None:
    summary = runner.run(BITGREEN, tmp_path / "short", until_s=11 * 3600.0, area="helsinki_test").summary
    assert summary["simulated_s"] == 11 * 3600.0
    full = runner.run(BITGREEN, tmp_path / "full", area="helsinki_test").summary
    assert summary["kpis"]["store_loop"]["vehicle_km"] < full["kpis"]["store_loop"]["vehicle_km"]


def test_a_crash_while_writing_leaves_the_old_results_whole(helsinki_map, tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "results"
    runner.run(BITGREEN, out, seed=1, area="helsinki_test")
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(gpkg, "write_points", crash)  # the trajectories' writer fails mid-folder
    with pytest.raises(TwinError, match="results could not be written \\(disk full\\); nothing was replaced"):
        runner.run(BITGREEN, out, seed=2, area="helsinki_test")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no staging folder left behind


def test_refuses_to_overwrite_a_folder_that_is_not_results(helsinki_map, tmp_path: Path) -> None:
    (tmp_path / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(TwinError, match="exists and was not written by the twin"):
        runner.run(BITGREEN, tmp_path, area="helsinki_test")
    assert (tmp_path / "thesis.tex").read_text(encoding="utf-8") == "precious"


@pytest.mark.parametrize("name", sorted(scenario.packaged()))
def test_every_scenario_runs_on_the_helsinki_test_area(name: str, helsinki_map, tmp_path: Path) -> None:
    summary = runner.run(scenario.packaged()[name], tmp_path / name, area="helsinki_test").summary
    assert summary["simulated_s"] == scenario.load(scenario.packaged()[name]).spec.scenario.duration_s
    services = {k: v for k, v in summary["kpis"].items() if k not in ("engine", "operations")}
    assert services
    for figures in services.values():
        done = {"drones": "deliveries", "certification": "tests_run"}.get(figures["service"], "vehicle_km")
        assert figures[done] > 0, (figures["service"], done)


def test_missing_map_stops_the_run_with_the_command_to_run(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "run", "cheomdan3_shuttles", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "TWIN_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "twin maps fetch cheomdan3" in done.stderr
    assert not (tmp_path / "o").exists()


def test_headless_run_never_imports_pygame() -> None:
    code = "import sys, gwangju_twin.cli, gwangju_twin.runner, gwangju_twin.agents.shuttles.loop; print('pygame' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr


def test_a_run_without_trajectories_says_why_and_never_imports_pandas(helsinki_map, tmp_path: Path) -> None:
    """No trajectories.gpkg when the scenario turns recording off, and the manifest says so (no silent absence).

    Such a run (the benchmarks' loop day) writes its event log with the csv module: its process
    never imports pandas, and the CSV holds exactly the model's log, times to the millisecond.
    """
    text = BITGREEN.read_text(encoding="utf-8").replace("[scenario]\n", "[scenario]\nrecord_trajectories = false\n", 1)
    (tmp_path / "quiet.toml").write_text(text, encoding="utf-8")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gwangju_twin import runner\n"
        f"result = runner.run(Path({str(tmp_path / 'quiet.toml')!r}), Path({str(tmp_path / 'run')!r}), seed=1,"
        " area='helsinki_test')\n"
        "print('pandas' in sys.modules, len(result.model.log.rows))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    imported_pandas, rows = done.stdout.split()
    assert imported_pandas == "False"
    assert not (tmp_path / "run" / "trajectories.gpkg").exists()
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["trajectories"] == "not written: the scenario sets record_trajectories = false"
    model = runner.build_model(tmp_path / "quiet.toml", seed=1, area="helsinki_test")
    runner.simulate(model)
    written = pd.read_csv(tmp_path / "run" / "events.csv", dtype=str, keep_default_na=False)
    assert len(written) == int(rows) == len(model.log.rows) > 100
    expected = model.log.frame().astype(str).assign(t_s=[f"{t:.3f}" for t, *_ in model.log.rows])
    pd.testing.assert_frame_equal(written, expected)


def test_parts_trucks_are_in_the_trajectories(helsinki_map, tmp_path: Path) -> None:
    runner.run(scenario.packaged()["certification_center"], tmp_path / "lab", seed=1, area="helsinki_test")
    tracks = gpd.read_file(tmp_path / "lab" / "trajectories.gpkg", layer="trajectories")
    events = pd.read_csv(tmp_path / "lab" / "events.csv")
    trucks = tracks[tracks["kind"] == "truck"]
    assert set(trucks["agent"]) == set(events.loc[events["event"] == "shipped", "agent"])
    arrived = events[events["event"] == "arrived"].set_index("agent")["t_s"]
    last = trucks.groupby("agent")["t_s"].max()
    assert (abs(last[arrived.index] - arrived) < 1e-3).all()  # the truck's last point is the part's arrival


def test_the_manifest_s_package_versions_are_the_installed_ones() -> None:
    """Read from the dist-info folders' names, they are what importlib.metadata reads from the metadata."""
    import importlib.metadata

    from gwangju_twin.runner import PACKAGES, installed_versions

    expected = {}
    for name in (*PACKAGES, "no-such-package-here", "typing_extensions", "Mesa"):
        try:
            expected[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected[name] = "not installed"
    assert installed_versions(list(expected)) == expected
    assert expected["gwangju-twin"] != "not installed" and expected["no-such-package-here"] == "not installed"


def test_the_manifest_s_platform_is_what_platform_says_and_is_read_back_without_asking_again(
        tmp_path: Path, monkeypatch) -> None:
    import platform

    from gwangju_twin import runner

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    said = platform.platform()
    assert runner.platform_name() == said
    monkeypatch.setattr(platform, "platform", lambda: "asked again")  # a kept answer does not ask
    assert runner.platform_name() == said
    assert runner.Memo("platforms.json", ()).size() == 1
