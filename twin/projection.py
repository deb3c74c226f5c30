"""WGS84 points in an area's metric CRS, projected by pyproj once per installation.

A run projects a handful of points (its sites, to snap them to the road map); importing pyproj for
them costs more than the rest of the run's start (0.05 s: PROJ's context and its network stack).
The projected points are kept in ``$TWIN_CACHE_DIR/projections.json`` (a ``twin/memo.py`` memo) under
the pyproj version that projected them, so a later run with the same pyproj reads the very numbers pyproj gave
(JSON keeps a float exactly) and imports pyproj only for a point it has not seen; so are the
reference-system rows a GeoPackage of trajectories needs (their WKT comes from PROJ). The file is
the twin's own; one that cannot be read is projected afresh and rewritten, one that cannot be
written leaves runs as they were, projecting with pyproj.

UTM zones on WGS84 (``EPSG:326ZZ`` north, ``EPSG:327ZZ`` south) are also known here without
pyproj: they are projected and made at least for the zone's six degrees of longitude, from the
equator to 84° N or from 80° S to the equator (PROJ's database gives some of them a hundredth of a
degree more; ``tests/test_startup.py`` checks all 120 against it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from gwangju_twin.memo import Memo

MEMO_FILE = "projections.json"
WGS84 = "EPSG:4326"
# Points kept: a run's sites and small zones (a circle is 65 points), not the outlines of official
# units (thousands of points each), whose memo would take longer to read than pyproj to import.
KEEP_AT_MOST_AT_ONCE = 1_000
KEEP_AT_MOST = 20_000
_UTM = re.compile(r"EPSG:(32[67])(\d\d)")
_MEMO = Memo(MEMO_FILE, ("pyproj",), keep_at_most=KEEP_AT_MOST + 100)  # the points, and a few reference systems


def utm_bounds(crs: str) -> tuple[float, float, float, float] | None:
    """``(west, south, east, north)`` in degrees where the WGS84 UTM zone ``crs`` is made for (at least); None if
    ``crs`` is not written as one (``EPSG:32601`` to ``EPSG:32660``, ``EPSG:32701`` to ``EPSG:32760``)."""
    match = _UTM.fullmatch(crs)
    if match is None or not 1 <= int(match[2]) <= 60:
        return None
    west = -180.0 + 6.0 * (int(match[2]) - 1)
    return (west, 0.0, west + 6.0, 84.0) if match[1] == "326" else (west, -80.0, west + 6.0, 0.0)


def to_metric(crs: str, lon: float, lat: float) -> tuple[float, float]:
    """The WGS84 point ``lon``, ``lat`` in ``crs`` (metres), as pyproj projects it (``always_xy``)."""
    xs, ys = transform(WGS84, crs, [lon], [lat])
    return float(xs[0]), float(ys[0])


def to_metric_many(crs: str, lons: Any, lats: Any) -> tuple[np.ndarray, np.ndarray]:
    """Many WGS84 points in ``crs``, as arrays of x and y (metres)."""
    return transform(WGS84, crs, lons, lats)


def transform(source: str, target: str, xs: Any, ys: Any) -> tuple[np.ndarray, np.ndarray]:
    """Points from CRS ``source`` to ``target`` (``always_xy``), as arrays shaped like ``xs``: what pyproj
    gives, which projects points one by one or together to the same bits; only points not projected
    before are handed to it."""
    xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if xs.size > KEEP_AT_MOST_AT_ONCE or _MEMO.size() + xs.size > KEEP_AT_MOST:
        return tuple(np.asarray(a, dtype=float) for a in _transformer(source, target).transform(xs, ys))
    points = _MEMO.kind(f"points {source} {target}")
    keys = [f"{x!r} {y!r}" for x, y in zip(xs.ravel().tolist(), ys.ravel().tolist())]
    missing = [k for k, key in enumerate(keys) if key not in points]
    if missing:
        done_x, done_y = _transformer(source, target).transform(xs.ravel()[missing], ys.ravel()[missing])
        points.update({keys[k]: [float(x), float(y)] for k, x, y in zip(missing, done_x, done_y)})
        _MEMO.save()
    xy = np.array([points[key] for key in keys], dtype=float).reshape(len(keys), 2)
    return xy[:, 0].reshape(xs.shape), xy[:, 1].reshape(xs.shape)


def srs_row(crs: str, make: Callable[[str], tuple]) -> tuple:
    """``make(crs)`` (a GeoPackage's reference-system row, from pyproj), kept like the points."""
    return tuple(_MEMO.answer("srs", crs, lambda: list(make(crs))))


@cache
def _transformer(source: str, target: str) -> Any:
    import pyproj  # here: only for a point not projected before

    return pyproj.Transformer.from_crs(source, target, always_xy=True)
