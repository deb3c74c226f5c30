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

import numpy as np
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
    rows: Iterable[Sequence] = (), xy: Iterable[tuple[float, float]] | np.ndarray,
    columns: Sequence[Sequence] | None = None,
) -> int:
    """Write a new GeoPackage at ``path`` with one layer of points; return how many.

    ``fields`` are ``(name, type)`` pairs (types from :data:`FIELD_TYPES`; DATETIME values are ISO
    8601 text), ``rows`` their values in that order (or ``columns``: the values field by field),
    ``xy`` each row's point in ``crs`` (an authority code such as ``EPSG:32652``). NaN floats are
    stored as NULL (SQLite has no NaN).
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
            if columns is None:
                columns = [list(column) for column in zip(*rows)]
            count, bounds = _fill(connection, layer, srs, fields, columns, xy)
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
          columns: Sequence[Sequence], xy: Iterable[tuple[float, float]] | np.ndarray) -> tuple[int, tuple]:
    """The schema, the reference systems and the points; returns (points, (min_x, min_y, max_x, max_y))."""
    for statement in _SCHEMA:
        connection.execute(statement)
    connection.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
                           [*_REQUIRED_SRS, _wgs84(), *([srs] if srs[1] != 4326 else [])])
    declared = ", ".join(f'"{name}" {kind}' for name, kind in fields)
    connection.execute(f'CREATE TABLE "{layer}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
                       f'"geom" POINT, {declared})')
    columns = list(columns) or [[] for _ in fields]
    points = np.asarray(xy if isinstance(xy, np.ndarray) else list(xy), dtype=float).reshape(-1, 2)
    count = len(columns[0]) if columns else 0
    if count != len(points):
        raise TwinError(f"GeoPackage layer {layer}: {count} rows but {len(points)} points")
    marks = ", ".join("?" * (len(fields) + 1))
    names = ", ".join(f'"{name}"' for name, _ in fields)
    connection.executemany(f'INSERT INTO "{layer}" ("geom", {names}) VALUES ({marks})',
                           zip(_point_blobs(points, srs[1]), *map(_nan_as_null, columns)))
    if not len(points):
        return 0, (None, None, None, None)
    (min_x, min_y), (max_x, max_y) = points.min(axis=0).tolist(), points.max(axis=0).tolist()
    return len(points), (min_x, min_y, max_x, max_y)


def _point_blobs(points: np.ndarray, srs_id: int) -> list[bytes]:
    """:func:`point_blob` of every point, packed at once (header and WKB: 29 bytes each)."""
    layout = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs", "<i4"), ("order", "u1"),
                       ("type", "<u4"), ("x", "<f8"), ("y", "<f8")])  # packed, as the structs above
    packed = np.zeros(len(points), dtype=layout)
    packed["magic"], packed["flags"], packed["srs"], packed["order"], packed["type"] = b"GP", 1, srs_id, 1, 1
    packed["x"], packed["y"] = points[:, 0], points[:, 1]
    data, size = packed.tobytes(), layout.itemsize
    return [data[k:k + size] for k in range(0, len(data), size)]


def _nan_as_null(values: list) -> list:
    """The values with every NaN as None (SQLite has no NaN): a column of floats at once, any other one by one."""
    numbers = np.array(values) if values and type(values[0]) is float else None
    if numbers is None or numbers.dtype.kind != "f":
        return [v if v == v else None for v in values]
    nan = np.isnan(numbers)
    return [None if n else v for v, n in zip(values, nan.tolist())] if nan.any() else values


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
