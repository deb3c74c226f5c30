"""Areas, zones and named sites as data: WGS84 polygons and points read from TOML.

The twin ships Gwangju's areas in the ``maps`` package (``maps/areas/*.toml`` for road areas,
``maps/zones/*.toml`` for airspace zones). More can be added by path, or by directories listed
in the ``TWIN_AREA_PATH`` environment variable (the tests add their Helsinki test area this way).
An area may say which of its sites stand in for another area's site ids (``[site_aliases]``), so
that a Gwangju scenario can run on a test area unchanged.

An outline is either written out (``polygon``, ``center`` + ``radius_m``) or built from Korea's
official administrative units (``[outline] units = [...]``, see :mod:`gwangju_twin.boundaries`),
optionally clipped to a better-known outline. A site may name the unit it lies in (``unit``), and
loading checks it against the official boundaries; ``[size]`` states the area a source gives.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
from gwangju_twin.config import Frozen, read_toml, validate
from gwangju_twin.errors import ConfigError, TwinError
from gwangju_twin.memo import Memo
from gwangju_twin.projection import to_metric, transform, utm_bounds
from pydantic import Field, field_validator, model_validator

if TYPE_CHECKING:
    from shapely.geometry import MultiPolygon, Polygon

# What shapely says of a written-out polygon (valid? a point inside it?), kept per its version (twin/memo.py):
# a run on an area whose polygon was asked about before imports no shapely.
_SHAPES = Memo("polygons.json", ("shapely",), keep_at_most=2_000)

AREA_PATH_ENV = "TWIN_AREA_PATH"
Lon = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]  # degrees, finite
Lat = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]


class SiteSpec(Frozen):
    """A named point: a depot, a charger, a vertiport, the certification center, ..."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: str
    name_ko: str
    name_en: str
    lon: Lon
    lat: Lat
    approximate: bool
    source: str
    # The administrative unit the site lies in (full chain of names) and where that comes from.
    unit: str | None = None
    unit_source: str | None = None

    @model_validator(mode="after")
    def _unit_cited(self) -> SiteSpec:
        if self.unit is not None and not self.unit_source:
            raise ValueError("a site's unit needs a unit_source (the source naming it, or ASSUMPTION: why)")
        return self


class Outline(Frozen):
    """An outline built from official administrative units, optionally clipped to a known shape."""

    units: list[str] = Field(min_length=1)
    source: str  # the source that names the units
    clip: list[tuple[Lon, Lat]] | None = None  # [lon, lat] ring the units are cut to
    clip_source: str | None = None

    @model_validator(mode="after")
    def _clip_cited(self) -> Outline:
        if self.clip is not None and not self.clip_source:
            raise ValueError("a clip needs a clip_source (where the better outline comes from, or ASSUMPTION: why)")
        return self


class StatedSize(Frozen):
    """The area a source states for the place, and how far the outline may differ from it."""

    m2: float = Field(gt=0)
    source: str
    tolerance: float = Field(ge=0, le=1)  # relative; the difference is reported whatever it is


class AreaSpec(Frozen):
    """An area as written in its file; see :class:`Area` for the loaded form."""

    id: str = Field(pattern=r"^[a-z0-9_]+$")
    kind: str  # road_area, or a zone kind a plug-in brings (twin.plugins.area_kinds)
    name_ko: str
    name_en: str
    crs: str
    approximate: bool
    source: str
    polygon: list[tuple[Lon, Lat]] | None = None
    outline: Outline | None = None
    size: StatedSize | None = None
    center: tuple[Lon, Lat] | None = None
    radius_m: float | None = Field(default=None, gt=0)
    sites: list[SiteSpec] = []
    site_aliases: dict[str, str] = {}
    # Roads crossing the outline are cut at it (true), or kept whole to their first node outside (false).
    clip_roads: bool = True
    # Zones (geofences) of the places this area stands in for, and the zone of its own that replaces each.
    zone_aliases: dict[str, str] = {}

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        from gwangju_twin.plugins import area_kinds

        if value != "road_area" and value not in area_kinds():
            raise ValueError(f"must be one of {', '.join(area_kinds())}")
        return value

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        if value == "auto" or utm_bounds(value) is not None:  # a UTM zone is projected: no pyproj to say so
            return value
        import pyproj

        try:
            crs = pyproj.CRS.from_user_input(value)
        except pyproj.exceptions.CRSError:
            raise ValueError("must be a CRS such as \"EPSG:32652\"") from None
        if not crs.is_projected:
            raise ValueError("must be a projected (metric) CRS such as \"EPSG:32652\" (UTM 52N)")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> AreaSpec:
        shapes = [self.polygon is not None, self.outline is not None,
                  self.center is not None and self.radius_m is not None]
        if sum(shapes) != 1:
            raise ValueError("give one of polygon = [[lon, lat], ...], [outline] units = [...], "
                             "or center = [lon, lat] with radius_m")
        if self.polygon is not None and not polygon_is_valid(self.polygon):
            raise ValueError("polygon must be a valid ring of at least 3 distinct [lon, lat] points")
        ids = [site.id for site in self.sites]
        if len(ids) != len(set(ids)):
            raise ValueError(f"site ids must be unique, got {ids}")
        return self


@dataclass(frozen=True)
class Area:
    """A loaded area: its spec, the file it came from, and its geometry in WGS84 and metres."""

    spec: AreaSpec
    file: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def crs(self) -> str:
        """The metric CRS: as written, or with ``crs = "auto"`` the UTM zone of the area's centre."""
        return utm_zone_crs(*self.centre_wgs84) if self.spec.crs == "auto" else self.spec.crs

    @property
    def centre_wgs84(self) -> tuple[float, float]:
        if self.spec.center is not None:
            return self.spec.center
        if self.spec.polygon is not None:
            return point_inside(self.spec.polygon)
        point = self.polygon_wgs84.representative_point()
        return point.x, point.y

    @cached_property
    def polygon_wgs84(self) -> Polygon | MultiPolygon:
        from shapely.geometry import Polygon

        if self.spec.polygon is not None:
            return Polygon(self.spec.polygon)
        if self.spec.outline is not None:
            return outline_polygon(self.spec.outline, str(self.file))
        return _reproject(self.polygon_m, self.crs, "EPSG:4326")

    @cached_property
    def polygon_m(self) -> Polygon | MultiPolygon:
        if self.spec.center is not None and self.spec.radius_m is not None:
            from shapely.geometry import Point

            x, y = self._to_metric(*self.spec.center)
            return Point(x, y).buffer(self.spec.radius_m, quad_segs=16)
        return _reproject(self.polygon_wgs84, "EPSG:4326", self.crs)

    @property
    def rings_wgs84(self) -> list[np.ndarray]:
        """The outer rings of the outline, one per part, as (n, 2) lon/lat arrays (for drawing)."""
        return [np.asarray(p.exterior.coords) for p in getattr(self.polygon_wgs84, "geoms", [self.polygon_wgs84])]

    @property
    def rings_m(self) -> list[np.ndarray]:
        """The outer rings of the outline in the area's CRS."""
        return [np.asarray(p.exterior.coords) for p in getattr(self.polygon_m, "geoms", [self.polygon_m])]

    def size_check(self) -> dict[str, float | str | bool] | None:
        """The outline's area against the area its source states, or None when no source states one."""
        stated = self.spec.size
        if stated is None:
            return None
        m2 = float(self.polygon_m.area)
        difference = m2 / stated.m2 - 1.0
        return {"outline_m2": round(m2), "stated_m2": stated.m2, "difference": round(difference, 4),
                "tolerance": stated.tolerance, "within": abs(difference) <= stated.tolerance, "source": stated.source}

    def site(self, site_id: str) -> SiteSpec:
        """The site called ``site_id`` here, or the one this area lets stand in for it."""
        wanted = self.spec.site_aliases.get(site_id, site_id)
        for site in self.spec.sites:
            if site.id == wanted:
                return site
        known = sorted({s.id for s in self.spec.sites} | set(self.spec.site_aliases))
        raise TwinError(f"area '{self.id}' ({self.file}) has no site '{site_id}'; its sites are: {', '.join(known)}")

    def site_xy_m(self, site_id: str) -> tuple[float, float]:
        site = self.site(site_id)
        return self._to_metric(site.lon, site.lat)

    def _to_metric(self, lon: float, lat: float) -> tuple[float, float]:
        return to_metric(self.crs, lon, lat)


def polygon_is_valid(ring: list[tuple[float, float]]) -> bool:
    """Whether shapely finds ``ring`` a valid polygon (kept in a memo: twin/memo.py)."""

    def ask() -> bool:
        from shapely.geometry import Polygon

        return bool(Polygon(ring).is_valid)

    return _SHAPES.answer("valid", ring, ask)


def point_inside(ring: list[tuple[float, float]]) -> tuple[float, float]:
    """The point shapely gives as surely inside the polygon ``ring`` (its ``representative_point``; a memo's)."""

    def ask() -> list[float]:
        from shapely.geometry import Polygon

        return list(Polygon(ring).representative_point().coords[0])

    x, y = _SHAPES.answer("representative_point", ring, ask)
    return x, y


def _reproject(geometry: Polygon, source: str, target: str) -> Polygon:
    import shapely

    return shapely.transform(geometry, lambda xy: np.column_stack(transform(source, target, xy[:, 0], xy[:, 1])))


def utm_zone_crs(lon: float, lat: float) -> str:
    """The WGS84 UTM zone CRS holding a point: ``EPSG:326ZZ`` north, ``EPSG:327ZZ`` south."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return f"EPSG:{(32600 if lat >= 0 else 32700) + zone}"


def check_crs(area: Area) -> None:
    """A CRS that does not fit where the area is (another UTM zone, or a CRS made for elsewhere) is refused."""
    if area.spec.crs == "auto":
        return
    lon, lat = area.centre_wgs84
    expected = utm_zone_crs(lon, lat)
    bounds = utm_bounds(area.spec.crs)
    if area.spec.crs == expected and bounds is not None and bounds[1] - 1 <= lat <= bounds[3] + 1:
        return  # the zone of the centre, made for it: what pyproj's checks below would find
    import pyproj

    crs = pyproj.CRS.from_user_input(area.spec.crs)
    code = crs.to_epsg() or 0
    if 32601 <= code <= 32760 and f"EPSG:{code}" != expected:
        raise ConfigError(str(area.file), "crs", area.spec.crs,
                          f"is UTM zone {code % 100}{'N' if code < 32700 else 'S'}, but the area's centre "
                          f"({lon:.3f}, {lat:.3f}) lies in zone {expected[-2:]}{'N' if lat >= 0 else 'S'}: "
                          f"use crs = \"{expected}\" (or \"auto\")")
    use = crs.area_of_use
    if use is not None and not (use.west - 1 <= lon <= use.east + 1 and use.south - 1 <= lat <= use.north + 1):
        raise ConfigError(str(area.file), "crs", area.spec.crs,
                          f"is made for {use.name} (lon {use.west:.0f}..{use.east:.0f}, lat {use.south:.0f}.."
                          f"{use.north:.0f}), not for the area at ({lon:.3f}, {lat:.3f}): use crs = \"{expected}\"")


def outline_polygon(outline: Outline, file: str) -> Polygon | MultiPolygon:
    """The union of the outline's units, cut to its clip (WGS84)."""
    import shapely
    from gwangju_twin import boundaries
    from shapely.geometry import Polygon

    try:
        shape = boundaries.union(outline.units)
    except boundaries.UnknownUnit as exc:
        raise ConfigError(file, "outline.units", None, str(exc)) from None
    if outline.clip is not None:
        shape = shape.intersection(Polygon(outline.clip))
    if shape.is_empty:
        raise ConfigError(file, "outline.clip", outline.clip, "does not overlap the outline's units")
    return shapely.normalize(shape)


def check_site_units(area: Area) -> None:
    """Every site that names its unit lies in that unit by the official boundaries."""
    for i, site in enumerate(area.spec.sites):
        if site.unit is None:
            continue
        import shapely
        from gwangju_twin import boundaries  # here: only areas whose sites name their unit need it
        try:
            shape = boundaries.unit(site.unit).polygon
        except boundaries.UnknownUnit as exc:
            raise ConfigError(str(area.file), f"sites[{i}].unit", site.unit, str(exc)) from None
        if not shape.contains(shapely.Point(site.lon, site.lat)):
            actual = boundaries.unit_at(site.lon, site.lat) or "outside Korea"
            raise ConfigError(str(area.file), f"sites[{i}] ({site.id})", [site.lon, site.lat],
                              f"lies in {actual}, not in its unit {site.unit}; move the point or fix the unit")


def load_area_file(path: Path) -> Area:
    """Read and validate one area file; sites that name their unit are checked against it.

    Loaded once per file version (path and modification time): an outline built from official
    units is a union of polygons, and runs and the viewer look areas up many times."""
    try:
        stamp = Path(path).stat().st_mtime_ns
    except OSError:
        stamp = None  # read_toml says what is wrong with the path
    return _load_area_file(Path(path), stamp)


@functools.lru_cache(maxsize=128)
def _load_area_file(path: Path, stamp: int | None) -> Area:
    area = Area(validate(AreaSpec, read_toml(path), str(path)), path)
    check_crs(area)
    check_site_units(area)
    return area


def area_files() -> dict[str, Path]:
    """Every known area id and its file: the packaged ones, then ``TWIN_AREA_PATH`` directories."""
    found: dict[str, Path] = {}
    packaged = resources.files("gwangju_twin.maps")
    for folder in ("areas", "zones"):
        for entry in sorted(packaged.joinpath(folder).iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                found[entry.name.removesuffix(".toml")] = Path(str(entry))
    for folder in filter(None, os.environ.get(AREA_PATH_ENV, "").split(os.pathsep)):
        for file in sorted(Path(folder).glob("*.toml")):
            found[file.stem] = file
    return found


def load_area(ref: str, relative_to: Path | None = None) -> Area:
    """Load an area by id (``"bitgreen"``) or by path to its TOML file.

    A path is taken relative to ``relative_to`` (the scenario's folder) when not absolute.
    """
    if ref.endswith(".toml"):
        path = Path(ref)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        return load_area_file(path)
    files = area_files()
    if ref not in files:
        raise TwinError(f"unknown area '{ref}'; known areas: {', '.join(sorted(files))} (or give a path to an area .toml)")
    area = load_area_file(files[ref])
    if area.id != ref:
        raise ConfigError(str(files[ref]), "id", area.id, f"must match the file name '{ref}'")
    return area


def new_area_text(area_id: str, bbox: str, *, name_en: str | None = None, name_ko: str | None = None) -> str:
    """A skeleton area file for a bounding box "WEST,SOUTH,EAST,NORTH" (checked; its CRS chosen)."""
    import re

    if not re.fullmatch(r"[a-z0-9_]+", area_id):
        raise TwinError(f"area id {area_id!r}: use lower-case letters, digits and _ only")
    try:
        west, south, east, north = (float(v) for v in bbox.split(","))
    except ValueError:
        raise TwinError(f"--bbox {bbox!r}: must be WEST,SOUTH,EAST,NORTH in degrees, e.g. 126.83,35.22,126.86,35.25") from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise TwinError(f"--bbox {bbox!r}: needs west < east within -180..180 and south < north within -90..90")
    crs = utm_zone_crs((west + east) / 2, (south + north) / 2)
    name = name_en or area_id.replace("_", " ").capitalize()
    return f'''# {name}: written by 'twin areas new'. Every field is explained in the README ("Area files").
id = "{area_id}"
kind = "road_area"
name_ko = "{name_ko or name}"
name_en = "{name}"
crs = "{crs}"  # the UTM zone of the box's centre ("auto" chooses it too)
approximate = true
source = "ASSUMPTION: a bounding box given to 'twin areas new'; say where the outline comes from"
polygon = [[{west}, {south}], [{east}, {south}], [{east}, {north}], [{west}, {north}], [{west}, {south}]]
# clip_roads = false  # keep roads that cross the outline whole (default: cut them at it)

# One block per named place; scenarios refer to sites by id.
[[sites]]
id = "depot"
kind = "depot"
name_ko = "차고지"
name_en = "Depot"
lon = {(west + east) / 2:.6f}
lat = {(south + north) / 2:.6f}
approximate = true
source = "ASSUMPTION: the box's centre; move it to the real depot"

# Let Gwangju scenarios run here unchanged: which site of this area stands in for each of theirs.
[site_aliases]
# bitgreen_depot = "depot"

# And which zone stands in for each zone the scenarios name (geofences, operational volumes).
[zone_aliases]
# gwangju_airport_ctr = "some_zone_id"
'''
