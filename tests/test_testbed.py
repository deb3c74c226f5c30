"""The full testbed: scenarios spanning both areas (SYNTHETIC worlds and the real Helsinki extract)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import synthetic
from conftest import HELSINKI_PBF
from gwangju_twin import mapcache, osm, runner, scenario
from gwangju_twin.areas import load_area
from gwangju_twin.errors import MapError, ScenarioError
from gwangju_twin.model import TwinModel
from gwangju_twin.world import load_worlds

TESTBED = scenario.packaged()["testbed_day"]

TWO_AREAS = """
[scenario]
name = "two_areas"
area = "synthetic"
duration = "24 h"

[shuttles.supervision]
disengagement_rate = "0 / h"

[[shuttles.fleet]]
id = "here"
service = "loop"
count = 2
depot = "depot"
route = ["a", "b"]
dwell = "0 s"
windows = ["10:00-12:00"]

[[shuttles.fleet]]
id = "there"
area = "far_area"
service = "loop"
count = 1
depot = "depot"
route = ["a", "b"]
dwell = "0 s"
windows = ["10:00-12:00"]
"""


def _far_grid():
    """A 2 x 5 grid (250 m) 10 km east of the first one, so no coordinate is shared."""
    graph = synthetic.grid_graph(2, 5, 250.0)
    for _, data in graph.nodes(data=True):
        data["x"] += 10_000.0
    return graph


def test_fleets_of_two_areas_each_drive_their_own_roads() -> None:
    near = synthetic.world(synthetic.grid_graph(3, 3, 100.0), {"depot": 1, "a": 1, "b": 9})
    far = synthetic.world(_far_grid(), {"depot": 1, "a": 1, "b": 10})
    model = TwinModel(scenario.loads(TWO_AREAS), near, worlds={"far_area": far})
    model.run_until(model.duration_s)
    here, there = model.services[0], model.services[1]
    assert here.world is near and there.world is far and there.depot is not here.depot
    # Loop lengths by hand: corner to corner and back on each grid.
    assert here.kpis()["loop_length_km"] == pytest.approx(0.8)
    assert there.kpis()["loop_length_km"] == pytest.approx(2 * (250 + 4 * 250) / 1000)
    tracks = model.tracks.frame()
    for service, world in ((here, near), (there, far)):
        nodes = {(round(x, 6), round(y, 6)) for x, y in zip(world.network.x_m, world.network.y_m)}
        mine = tracks[tracks["agent"].isin([v.name for v in service.vehicles])]
        assert len(mine) > 10
        assert {(round(x, 6), round(y, 6)) for x, y in zip(mine["x_m"], mine["y_m"])} <= nodes
        assert service.kpis()["vehicle_km"] > 0


def test_an_area_the_model_was_not_given_is_one_clear_error() -> None:
    near = synthetic.world(synthetic.grid_graph(3, 3, 100.0), {"depot": 1, "a": 1, "b": 9})
    with pytest.raises(ScenarioError, match="area = 'far_area': was not loaded with the model; loaded: synthetic"):
        TwinModel(scenario.loads(TWO_AREAS), near)


def test_areas_of_one_scenario_must_share_a_crs(helsinki_map, tmp_path: Path) -> None:
    text = load_area("helsinki_test").file.read_text(encoding="utf-8")
    other = tmp_path / "helsinki_tm35fin.toml"  # Finland's national grid: right for the place, not the same CRS
    other.write_text(text.replace('id = "helsinki_test"', 'id = "helsinki_tm35fin"')
                     .replace('crs = "EPSG:32635"', 'crs = "EPSG:3067"'), encoding="utf-8")
    area = load_area(str(other))
    mapcache.save(osm.import_graph(area, HELSINKI_PBF), area.id, "import for a CRS test")
    with pytest.raises(MapError, match=r"must share a CRS; these do not: helsinki_test \(EPSG:32635\), .*EPSG:3067"):
        load_worlds(["helsinki_test", str(other)])


def test_a_vertiport_listed_twice_is_refused() -> None:
    text = TESTBED.read_text(encoding="utf-8") + '\n[[drones.vertiports]]\nsite = "wolchul_vertiport"\n'
    with pytest.raises(ScenarioError, match="each vertiport site may appear once; repeated: wolchul_vertiport"):
        scenario.loads(text, "testbed.toml")


def test_testbed_day_runs_everything_in_both_areas(helsinki_map, tmp_path: Path) -> None:
    loaded = scenario.load(TESTBED)
    assert loaded.spec.area_refs() == ["bitgreen", "cheomdan3"]
    result = runner.run(TESTBED, tmp_path / "out", area="helsinki_test")
    kpis, model = result.summary["kpis"], result.model
    assert set(model.worlds) == {"bitgreen", "cheomdan3"}
    assert {k.split("_")[0] for k in kpis if k.startswith(("bitgreen_", "cheomdan3_"))} == {"bitgreen", "cheomdan3"}
    assert kpis["drones"]["losses_of_separation"] == 0 and kpis["drones"]["deliveries"] > 0
    # Every cargo-drone load became a part at the certification center, trucked from the vertiport.
    center = next(s for s in model.services if getattr(s, "id", "") == "certification")
    by_drone = [p for p in center.parts if p.part_type.id == "drone_battery_module"]
    assert by_drone and len(by_drone) <= kpis["drones"]["deliveries"]
    assert sum(kpis["certification"]["states"].values()) == kpis["certification"]["parts_shipped"]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["maps"]) == {"bitgreen", "cheomdan3"}
    assert result.summary["areas"] == {"bitgreen": "helsinki_test", "cheomdan3": "helsinki_test"}


def test_testbed_day_is_the_same_in_another_process(helsinki_map, tmp_path: Path) -> None:
    here = runner.run(TESTBED, tmp_path / "here", area="helsinki_test", seed=3)
    command = [sys.executable, "-m", "gwangju_twin.cli", "run", str(TESTBED), "--area", "helsinki_test", "--seed", "3",
               "--out", str(tmp_path / "there")]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    for name in ("summary.json", "events.csv"):
        assert (tmp_path / "here" / name).read_bytes() == (tmp_path / "there" / name).read_bytes()
    assert here.summary["kpis"]["engine"]["events_processed"] > 1000
