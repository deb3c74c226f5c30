"""The hand-written GeoPackage (twin/gpkg.py) reads back exactly as GDAL's own, through GDAL.

The peer is GDAL itself: the same rows written by geopandas/pyogrio (the writer this module
replaced) and by :mod:`twin.gpkg`, both read back with pyogrio, must give equal tables, points,
CRS and types. A real run's trajectories (the Bitgreen service mix, NaN altitudes and all) and
hypothesis-drawn rows are both compared.
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from gwangju_twin import gpkg, runner
from gwangju_twin.errors import TwinError
from gwangju_twin.record import Tracks
from gwangju_twin.results import _trajectories
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BITGREEN = Path(__file__).parent.parent / "scenarios" / "bitgreen_shuttles.toml"
START = dt.datetime(2026, 4, 6)


def _gdal_file(rows: list[tuple], crs: str, path: Path, start: dt.datetime = START) -> Path:
    """The rows written the way results.py wrote them before (pandas, geopandas, pyogrio/GDAL)."""
    frame = pd.DataFrame(rows, columns=list(Tracks.COLUMNS))
    frame["time"] = pd.to_datetime(start) + pd.to_timedelta(frame["t_s"], unit="s")
    geometry = gpd.points_from_xy(frame.pop("x_m"), frame.pop("y_m"))
    gpd.GeoDataFrame(frame, geometry=geometry, crs=crs).to_file(path, layer="trajectories", driver="GPKG")
    return path


def _assert_same_read_back(ours: Path, gdal: Path) -> None:
    mine, theirs = pyogrio.read_dataframe(ours), pyogrio.read_dataframe(gdal)
    assert mine.crs == theirs.crs
    assert list(mine.columns) == list(theirs.columns)
    assert dict(mine.dtypes.astype(str)) == dict(theirs.dtypes.astype(str))
    pd.testing.assert_frame_equal(pd.DataFrame(mine.drop(columns="geometry")),
                                  pd.DataFrame(theirs.drop(columns="geometry")))
    assert mine.geometry.x.tolist() == theirs.geometry.x.tolist()
    assert mine.geometry.y.tolist() == theirs.geometry.y.tolist()
    assert pyogrio.read_info(ours)["geometry_type"] == pyogrio.read_info(gdal)["geometry_type"] == "Point"


def test_a_runs_trajectories_read_back_as_gdal_writes_them(helsinki_map, tmp_path: Path) -> None:
    result = runner.run(BITGREEN, tmp_path / "run", area="helsinki_test")
    model = result.model
    rows = model.tracks.until(model.now_s)
    assert len(rows) > 100 and any(math.isnan(r[8]) for r in rows)  # altitudes NaN on roads
    start = dt.datetime.combine(model.scenario.spec.scenario.start_date, dt.time())
    gdal = _gdal_file(rows, model.world.area.crs, tmp_path / "gdal.gpkg", start)
    _assert_same_read_back(tmp_path / "run" / "trajectories.gpkg", gdal)
    frame = gpd.read_file(tmp_path / "run" / "trajectories.gpkg", layer="trajectories")
    assert frame.crs.to_epsg() == int(model.world.area.crs.split(":")[1])


def test_the_file_is_a_geopackage_by_the_spec(tmp_path: Path) -> None:
    path = tmp_path / "p.gpkg"
    gpkg.write_points(path, layer="points", crs="EPSG:32652", fields=[("name", "TEXT"), ("v", "REAL")],
                      rows=[("a", 1.0), ("b", math.nan)], xy=[(1.0, 2.0), (3.0, -4.0)])
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        assert db.execute("PRAGMA user_version").fetchone()[0] == 10400
        assert {r[0] for r in db.execute("SELECT srs_id FROM gpkg_spatial_ref_sys")} == {-1, 0, 4326, 32652}
        assert db.execute("SELECT min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents").fetchone() == (
            1.0, -4.0, 3.0, 2.0, 32652)
        assert db.execute("SELECT v FROM points ORDER BY fid").fetchall() == [(1.0,), (None,)]  # NaN is NULL
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with pytest.raises(TwinError, match="exists"):
        gpkg.write_points(path, layer="points", crs="EPSG:32652", fields=[], rows=[], xy=[])
    with pytest.raises(TwinError, match="type 'BLOB'"):
        gpkg.write_points(tmp_path / "q.gpkg", layer="p", crs="EPSG:32652", fields=[("b", "BLOB")], rows=[], xy=[])


_row = st.tuples(
    st.sampled_from(["shuttle-1", "sweeper-2", "드론-3"]), st.sampled_from(["shuttle", "drone"]),
    st.floats(0.0, 400 * 86400.0), st.floats(-1e6, 1e6), st.floats(0.0, 1e7), st.floats(0.0, 1e6),
    st.sampled_from(["idle", "serving"]), st.floats(0.0, 100.0) | st.just(math.nan),
    st.floats(0.0, 500.0) | st.just(math.nan),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_row, min_size=1, max_size=40))
def test_any_rows_read_back_as_gdal_writes_them(tmp_path: Path, rows: list[tuple]) -> None:
    folder = Path(tmp_path) / f"case{abs(hash(tuple(map(repr, rows))))}"
    folder.mkdir()
    _trajectories(folder / "ours.gpkg", rows, Tracks.COLUMNS, "EPSG:32652", START)
    _assert_same_read_back(folder / "ours.gpkg", _gdal_file(rows, "EPSG:32652", folder / "gdal.gpkg"))


@settings(max_examples=400, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1970, 1, 1), max_value=dt.datetime(2200, 12, 31)),
       st.lists(st.one_of(st.floats(0.0, 400 * 86400.0), st.integers(0, 400 * 86400).map(float),
                          st.integers(0, 400 * 86400 * 1000).map(lambda ms: ms / 1000.0)), max_size=20))
def test_trajectory_times_are_spelled_as_datetime_spells_them(start: dt.datetime, times_s: list[float]) -> None:
    """The fast spelling of a column of times (whole milliseconds, dates looked up once) is datetime's, to the
    character, for a start on a whole second and any other start (which goes through datetime)."""
    from gwangju_twin import results

    for begin in (start.replace(microsecond=0), start):
        assert results._gdal_times(begin, times_s) == [results._gdal_time(begin, t) for t in times_s]


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from(["add", "hold", "hold", "read"]), st.integers(1, 4)), max_size=30))
def test_points_held_back_keep_their_place_among_the_others(steps) -> None:
    """An owner that holds its points (``Tracks.later``) and adds them when settled leaves the rows
    as adding every point at once would, whatever is added and read in between."""
    eager, lazy, held = Tracks(), Tracks(), []

    def settle() -> None:
        if held:
            lazy.extend(*(list(c) for c in zip(*held)))
            held.clear()

    for k, (what, n) in enumerate(steps):
        rows = [(f"a-{k}", "drone", float(k), float(i), 0.0, 0.0, "cruise", 1.0, 60.0) for i in range(n)]
        if what == "read":
            assert list(lazy.rows) == list(eager.rows)
            continue
        for row in rows:
            eager.add(*row)
        if what == "add":
            for row in rows:
                lazy.add(*row)
        else:
            held.extend(rows)
            lazy.later(settle)
    assert lazy.until() == eager.until() and len(lazy.rows) == len(eager.rows)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["a", "b-1"]), st.sampled_from(["drone", "shuttle"]),
                               st.integers(0, 20).map(float), st.floats(-1e6, 1e6), st.floats(-1e6, 1e6),
                               st.floats(0, 1e5), st.sampled_from(["pad", "cruise", ""]),
                               st.sampled_from([math.nan, 0.5, 1.25]), st.sampled_from([math.nan, 60.0])),
                     max_size=30),
       until_s=st.sampled_from([-1.0, 0.0, 7.5, 20.0, math.inf]))
def test_the_view_of_the_tracks_is_their_rows_until_a_time(rows, until_s, tmp_path_factory) -> None:
    """:meth:`Tracks.view` holds the rows :meth:`Tracks.until` gives (the same values, NaN
    included, in order), column by column; the GeoPackage written from it is the one written from
    the rows, table row by table row."""
    tracks = Tracks()
    for row in rows:
        tracks.add(*row)
    view, until = tracks.view(until_s), tracks.until(until_s)
    assert len(view) == len(until) and [tuple(map(repr, r)) for r in view] == [tuple(map(repr, r)) for r in until]
    assert [list(c) for c in view.columns] == [list(c) for c in zip(*until)] or not until
    folder = tmp_path_factory.mktemp("view")
    written = []
    for name, given_rows in (("view", view), ("rows", until)):
        _trajectories(folder / f"{name}.gpkg", given_rows, Tracks.COLUMNS, "EPSG:32652", START)
        with sqlite3.connect(folder / f"{name}.gpkg") as connection:
            written.append(connection.execute("SELECT * FROM trajectories ORDER BY fid").fetchall())
    assert repr(written[0]) == repr(written[1])
