"""A GeoPackage of points, written with the standard library's sqlite3.

A GeoPackage is a SQLite database laid out as OGC 12-128r18 (version 1.4) says: the
``application_id`` and ``user_version`` pragmas, the tables ``gpkg_spatial_ref_sys``,
``gpkg_contents`` and ``gpkg_geometry_columns``, and a feature table whose geometry column holds
GeoPackage binary geometries (a small header, then the geometry as ISO WKB). That is all
:func:`write_points` writes: one layer of 2D points with typed attribute columns.

Why not pyogrio/GDAL: importing them (pyogrio imports pandas and geopandas whenever they are
installed) cost a quarter of a cold ``twin run testbed_day`` (0.25 s) to write a few thousand
points (benchmarks/RESULTS.md). GDAL, QGIS and geopandas read these files as they read GDAL's own
(tests/test_gpkg.py reads them back through pyogrio and compares with what GDAL writes). No spatial
index is written (GDAL's needs functions plain SQLite lacks); QGIS offers to add one.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path

from gwangju_twin import projection
from gwangju_twin.errors import TwinError

APPLICATION_ID = 0x47504B47  # "GPKG"
USER_VERSION = 10400  # GeoPackage 1.4.0
FIELD_TYPES = ("TEXT", "REAL", "INTEGER", "DATETIME")
# GeoPackage binary header for a point: magic "GP", version 0, flags 0b00000001 (little-endian,
# no envelope, not empty, standard type), then the srs id; then ISO WKB: little-endian, type 1 (Point).
_HEADER = struct.Struct("<2sBBi")
_WKB_POINT = struct.Struct("<BIdd")

_SCHEMA = (
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, "
    "organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, "
    "description TEXT)",
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, "
    "identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT "
    "(strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, "
    "srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
    "geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, "
    "CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name), "
    "CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name), "
    "CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))",
)
# The three rows every GeoPackage must have (spec 1.4, requirement 11).
_REQUIRED_SRS = (
    ("Undefined Cartesian SRS", -1, "NONE", -1, "undefined", "undefined Cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
)


def point_blob(x: float, y: float, srs_id: int) -> bytes:
    """A point as a GeoPackage binary geometry (header without envelope, then WKB)."""
    return _HEADER.pack(b"GP", 0, 1, srs_id) + _WKB_POINT.pack(1, 1, x, y)


def write_points(
    path: Path, *, layer: str, crs: str, fields: Sequence[tuple[str, str]],
    rows: Iterable[Sequence], xy: Iterable[tuple[float, float]],
) -> int:
    """Write a new GeoPackage at ``path`` with one layer of points; return how many.

    ``fields`` are ``(name, type)`` pairs (types from :data:`FIELD_TYPES`; DATETIME values are ISO
    8601 text), ``rows`` their values in that order, ``xy`` each row's point in ``crs`` (an
    authority code such as ``EPSG:32652``). NaN floats are stored as NULL (SQLite has no NaN).
    """
    for name, kind in fields:
        if kind not in FIELD_TYPES:
            raise TwinError(f"GeoPackage field {name}: type {kind!r} is not one of {', '.join(FIELD_TYPES)}")
    srs = _srs_row(crs)
    srs_id = srs[1]
    path = Path(path)
    if path.exists():
        raise TwinError(f"{path}: exists; a GeoPackage is written only as a new file")
    connection = sqlite3.connect(path)
    try:
        # A new file that no reader sees before it is complete: no rollback journal and no syncs per
        # statement (each CREATE TABLE commits on its own), one fsync when it is written, below.
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {USER_VERSION}")
        with connection:
            count, bounds = _fill(connection, layer, srs, fields, rows, xy)
            connection.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                               "min_x, min_y, max_x, max_y, srs_id) VALUES (?, 'features', ?, '', ?, ?, ?, ?, ?)",
                               (layer, layer, *bounds, srs_id))
            connection.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POINT', ?, 0, 0)",
                               (layer, srs_id))
    finally:
        connection.close()
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())
    return count


def _fill(connection: sqlite3.Connection, layer: str, srs: tuple, fields: Sequence[tuple[str, str]],
          rows: Iterable[Sequence], xy: Iterable[tuple[float, float]]) -> tuple[int, tuple]:
    """The schema, the reference systems and the points; returns (points, (min_x, min_y, max_x, max_y))."""
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                           [*_REQUIRED_SRS, _wgs84(), *([srs] if srs[1] != 4326 else [])])
    columns = ", ".join(f'"{name}" {kind}' for name, kind in fields)
    connection.execute(f'CREATE TABLE "{layer}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                       f'"geom" POINT, {columns})')
    xs: list[float] = []
    ys: list[float] = []
    header, point = _HEADER.pack(b"GP", 0, 1, srs[1]), _WKB_POINT.pack  # point_blob's parts, packed once

    def records():
        for row, (x, y) in zip(rows, xy):
            xs.append(x)
            ys.append(y)
            yield (header + point(1, 1, x, y), *[v if v == v else None for v in row])  # v != v: NaN

    marks = ", ".join("?" * (len(fields) + 1))
    names = ", ".join(f'"{name}"' for name, _ in fields)
    connection.executemany(f'INSERT INTO "{layer}" ("geom", {names}) VALUES ({marks})', records())
    bounds = (min(xs), min(ys), max(xs), max(ys)) if xs else (None, None, None, None)
    return len(xs), bounds


def _srs_row(crs: str) -> tuple:
    """The ``gpkg_spatial_ref_sys`` row of ``crs`` (its authority's code as the srs id, WKT1 as GDAL writes),
    from pyproj once per installation (twin/projection.py keeps it)."""
    return projection.srs_row(crs, _srs_row_from_pyproj)


def _srs_row_from_pyproj(crs: str) -> tuple:
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    authority = parsed.to_authority()
    if authority is None:
        raise TwinError(f"CRS {crs!r} has no authority code; a GeoPackage needs one (e.g. EPSG:32652)")
    organization, code = authority
    return (parsed.name, int(code), organization, int(code), parsed.to_wkt("WKT1_GDAL"), None)


def _wgs84() -> tuple:
    return projection.srs_row("WGS 84 geodetic", _wgs84_from_pyproj)


def _wgs84_from_pyproj(_: str) -> tuple:
    from pyproj import CRS

    return ("WGS 84 geodetic", 4326, "EPSG", 4326, CRS.from_epsg(4326).to_wkt("WKT1_GDAL"),
            "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid")
