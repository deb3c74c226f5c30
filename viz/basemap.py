"""The real place under everything: Gwangju's districts and dongs from the official boundaries
(offline, :mod:`gwangju_twin.boundaries`), outlined and named in Korean and English.

Drawn whenever the scenario's areas lie in Korea (not on a stand-in map). The outlines are
projected once into the scenario's CRS and simplified to 15 m; the layer is drawn into a cached
surface that is redrawn only when the camera moves. Names are placed, not scattered: districts
first, then dongs from the largest on screen down, each only where its label fits inside the
unit's outline on screen and does not overlap one already placed.
"""

from __future__ import annotations

import numpy as np
import pygame
import pyproj
import shapely
from gwangju_twin import boundaries
from gwangju_twin.romanize import romanize_place
from gwangju_twin.viz.camera import Camera

CITY = "광주광역시"
DONG_EDGE = (48, 56, 72)
DISTRICT_EDGE = (88, 100, 128)
DONG_TEXT = (120, 132, 156)
DISTRICT_TEXT = (170, 182, 210)
NEIGHBOUR_MARGIN_M = 3000.0  # units of neighbouring counties drawn this far around the scenario's areas
SIMPLIFY_M = 15.0


class Label:
    """A unit's name in Korean and English, and where it can go."""

    def __init__(self, ko: str, en: str, anchor_m: tuple[float, float], area_m2: float, district: bool) -> None:
        self.ko, self.en, self.anchor_m, self.area_m2, self.district = ko, en, anchor_m, area_m2, district


class Basemap:
    """District and dong outlines with names, in the scenario's CRS."""

    def __init__(self, crs: str, areas_wgs84: list[shapely.Geometry], fonts: dict[str, pygame.font.Font]) -> None:
        self.fonts = fonts
        to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)

        def metric(geometry: shapely.Geometry) -> shapely.Geometry:
            return shapely.transform(geometry, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))

        reach = shapely.union_all([metric(a) for a in areas_wgs84]).buffer(NEIGHBOUR_MARGIN_M)
        city = boundaries.units_within(CITY, "sigungu")
        neighbours = [u for u in boundaries.units_within("전라남도", "sigungu") if metric(u.polygon).intersects(reach)]
        dongs = boundaries.units_within(CITY, "emd") + [
            u for n in neighbours for u in boundaries.units_within(n.name, "emd") if metric(u.polygon).intersects(reach)]
        self.dong_rings = self._rings([metric(u.polygon) for u in dongs])
        self.district_rings = self._rings([metric(u.polygon) for u in city + neighbours])
        self.labels = [self._label(u, metric(u.polygon), district=True) for u in city + neighbours]
        self.labels += [self._label(u, metric(u.polygon), district=False) for u in dongs]
        self.labels.sort(key=lambda lab: (not lab.district, -lab.area_m2))
        self.extent_m = np.concatenate(self.district_rings[: len(city)]) if city else np.zeros((0, 2))
        self._cache: tuple[int, tuple[int, int], pygame.Surface] | None = None
        self._boxes: tuple[tuple | None, list[pygame.Rect]] = (None, [])

    @staticmethod
    def _rings(shapes: list[shapely.Geometry]) -> list[np.ndarray]:
        rings = []
        for shape in shapes:
            for part in getattr(shape, "geoms", [shape]):
                rings.append(np.asarray(shapely.simplify(part, SIMPLIFY_M).exterior.coords))
        return rings

    @staticmethod
    def _label(unit: boundaries.Unit, shape_m: shapely.Geometry, district: bool) -> Label:
        anchor = shape_m.representative_point() if not district else shapely.Point(shape_m.centroid.coords[0])
        if district and not shape_m.contains(anchor):
            anchor = shape_m.representative_point()
        return Label(unit.short_name, romanize_place(unit.short_name), (anchor.x, anchor.y), shape_m.area, district)

    def draw(self, screen: pygame.Surface, camera: Camera, taken: list[pygame.Rect], marks: list[pygame.Rect]) -> None:
        """Blit the layer (names avoid ``marks``); placed names join ``taken`` so later labels avoid them."""
        size = screen.get_size()
        if self._cache is None or self._cache[0] != camera.version or self._cache[1] != size:
            self._cache = (camera.version, size, self._render(size, camera, marks))
        screen.blit(self._cache[2], (0, 0))
        taken.extend(self._placed)

    def boxes(self, camera: Camera, size: tuple[int, int]) -> list[pygame.Rect]:
        """Where the names would go if nothing else were on the map (other labels prefer to avoid them)."""
        key = (camera.version, size)
        if self._boxes[0] != key:
            view, found = pygame.Rect(0, 0, *size), []
            for label in self.labels:
                x, y = camera.point(*label.anchor_m)
                font = self.fonts["normal" if label.district else "small"]
                w = max(font.size(label.ko)[0], font.size(label.en)[0])
                if view.collidepoint(x, y) and (label.district or np.sqrt(label.area_m2) * camera.px_per_m >= 1.2 * w):
                    found.append(pygame.Rect(x - w // 2, y - font.get_height(), w, 2 * font.get_height()))
            self._boxes = (key, found)
        return self._boxes[1]

    def _render(self, size: tuple[int, int], camera: Camera, reserved: list[pygame.Rect]) -> pygame.Surface:
        surface = pygame.Surface(size, pygame.SRCALPHA)
        view = pygame.Rect(0, 0, *size)
        for rings, colour, width in ((self.dong_rings, DONG_EDGE, 1), (self.district_rings, DISTRICT_EDGE, 2)):
            for ring in rings:
                points = camera.to_screen(ring)
                lo, hi = points.min(axis=0), points.max(axis=0)
                if hi[0] < 0 or hi[1] < 0 or lo[0] > size[0] or lo[1] > size[1] or len(points) < 3:
                    continue
                pygame.draw.lines(surface, colour, True, points, width)
        self._placed: list[pygame.Rect] = []
        for label in self.labels:
            x, y = camera.point(*label.anchor_m)
            if not view.collidepoint(x, y):
                continue
            side_px = np.sqrt(label.area_m2) * camera.px_per_m  # the unit's size on screen
            font = self.fonts["normal" if label.district else "small"]
            colour = DISTRICT_TEXT if label.district else DONG_TEXT
            lines = [font.render(label.ko, True, colour), font.render(label.en, True, colour)]
            w, h = max(s.get_width() for s in lines), sum(s.get_height() for s in lines)
            if not label.district and side_px < 1.2 * w:
                continue  # the name would spill over its neighbours
            rect = pygame.Rect(x - w // 2, y - h // 2, w, h)
            if rect.collidelist(self._placed) >= 0 or rect.collidelist(reserved) >= 0:
                continue
            self._placed.append(rect)
            top = rect.top
            for line in lines:
                surface.blit(line, (x - line.get_width() // 2, top))
                top += line.get_height()
        return surface


def basemap_for(model, fonts: dict[str, pygame.font.Font]) -> Basemap | None:  # noqa: ANN001 - a TwinModel
    """The basemap when the model's places are in Korea (not on a stand-in map), else None."""
    if model.stand_in:
        return None
    areas = [w.area for w in {id(w): w for w in model.worlds.values()}.values()]
    centre = areas[0].polygon_wgs84.representative_point()
    if boundaries.unit_at(centre.x, centre.y, "sido") is None:
        return None
    return Basemap(areas[0].crs, [a.polygon_wgs84 for a in areas], fonts)
