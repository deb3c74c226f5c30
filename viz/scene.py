"""What the map shows: roads (drawn once per camera and cached), zones, sites with Korean and
English labels, swept streets, waste bins by fill, moving vehicles by kind and state, and parts
on their way to the certification center."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import numpy as np
import pygame
import pyproj
import shapely
import shapely.ops
from gwangju_twin.agents.shuttles.vehicle import FleetPositions
from gwangju_twin.areas import area_files, load_area
from gwangju_twin.model import TwinModel
from gwangju_twin.viz.basemap import basemap_for
from gwangju_twin.viz.camera import Camera

BACKGROUND = (18, 22, 30)
ROAD = (92, 100, 116)
SWEPT = (70, 190, 110)
ZONE_FILL = {"drone_free_zone": (60, 120, 200, 40), "geofence": (210, 60, 60, 50), "control_zone": (230, 170, 60, 28)}
ZONE_EDGE = {"drone_free_zone": (90, 150, 230), "geofence": (230, 80, 80), "control_zone": (235, 180, 80)}
KIND_COLOUR = {"shuttle": (80, 160, 255), "sweeper": (90, 210, 120), "collector": (230, 160, 60),
               "part": (190, 120, 240), "drone": (240, 240, 250)}
CORRIDOR = (120, 200, 230)
STATE_COLOUR = {"serving": (255, 255, 255), "sweeping": (255, 255, 255), "collecting": (255, 255, 255),
                "dwelling": (220, 220, 220), "charging": (250, 220, 60), "to_charger": (250, 220, 60),
                "stopped": (240, 60, 60), "idle": (110, 110, 120), "flying": (80, 200, 255),
                "holding": (250, 150, 60), "climb": (120, 230, 140), "cruise": (80, 200, 255),
                "transition": (200, 160, 255), "descent": (250, 150, 60), "pad": (110, 110, 120)}
SHADOW = (10, 12, 16)
PX_PER_M_ALTITUDE = 0.25  # how far up a drone is drawn above its shadow, per metre of altitude
EMPTY_STATE = (40, 44, 56)  # driving empty: to a pick-up, deadheading, returning, rebalancing
LAYERS = ("basemap", "roads", "zones", "sites", "coverage", "bins", "vehicles", "parts", "drones")
MARKER_RADIUS_PX, MARKER_CORE_PX = 7, 4  # a vehicle: a disc of its kind's colour, a dot of its state's
SPRITE_KEY = (255, 0, 255)  # the transparent colour of marker sprites (no kind or state is drawn in it)


def place_label(screen: pygame.Surface, label: pygame.Surface, at: tuple[int, int], taken: list[pygame.Rect],
                marks: list[pygame.Rect], backdrop: tuple[int, int, int] | None = None, right_px: int = 0) -> bool:
    """Draw ``label`` at the first of eight places around ``at`` that overlaps no placed label
    (``taken``, which it joins) nor a mark, inside the screen less ``right_px`` on the right (a
    panel); False when none is free."""
    x, y = at
    w, h = label.get_size()
    view = pygame.Rect(0, 0, screen.get_width() - right_px, screen.get_height())
    for dx, dy in ((10, -h // 2), (-10 - w, -h // 2), (-w // 2, -10 - h), (-w // 2, 10),
                   (10, -h - 4), (10, 4), (-10 - w, -h - 4), (-10 - w, 4)):
        rect = pygame.Rect(x + dx, y + dy, w, h)
        if view.contains(rect) and rect.collidelist(taken) < 0 and rect.collidelist(marks) < 0:
            taken.append(rect)
            if backdrop is not None:
                pygame.draw.rect(screen, backdrop, rect.inflate(4, 2))
            screen.blit(label, rect.topleft)
            return True
    return False


class MarkerSprites(dict):
    """A vehicle's marker by ``(kind, state)``, drawn once: the same pixels as :meth:`Scene._draw_marker`."""

    def __missing__(self, key: tuple[str, str]) -> pygame.Surface:
        kind, state = key
        size = 2 * MARKER_RADIUS_PX + 1
        sprite = pygame.Surface((size, size))
        sprite.fill(SPRITE_KEY)
        sprite.set_colorkey(SPRITE_KEY)
        centre = (MARKER_RADIUS_PX, MARKER_RADIUS_PX)
        pygame.draw.circle(sprite, KIND_COLOUR.get(kind, (200, 200, 200)), centre, MARKER_RADIUS_PX)
        pygame.draw.circle(sprite, STATE_COLOUR.get(state, EMPTY_STATE), centre, MARKER_CORE_PX)
        self[key] = sprite
        return sprite


@dataclass
class Marker:
    """One thing drawn on the map this frame, for clicking and following."""

    name: str
    kind: str
    state: str
    x_m: float
    y_m: float
    agent: Any
    altitude_m: float = 0.0
    dx_m: float = 0.0  # where its area is drawn, when areas sharing one stand-in map sit side by side


class Scene:
    def __init__(self, model: TwinModel, fonts: dict[str, pygame.font.Font]) -> None:
        self.fonts = fonts
        self.visible = dict.fromkeys(LAYERS, True)
        self.right_px = 0  # screen width on the right that a panel covers: labels stay out of it
        self._road_cache: tuple[int, tuple[int, int], pygame.Surface] | None = None
        self._sprites = MarkerSprites()
        self.bind(model)
        # Every distinct world of the model (a testbed scenario spans both areas; all share one CRS).
        worlds = list({id(world): world for world in model.worlds.values()}.values())
        # Areas that one stand-in map stands in for are drawn side by side, never on top of each other.
        self.place_dx = self._places(model)
        self._copies = list({(id(w), self.place_dx[ref]): (w, self.place_dx[ref], ref)
                             for ref, w in model.worlds.items()}.values())
        edges = [coords + (dx, 0.0) for world, dx, _ in self._copies if world.network is not None
                 for coords in world.network.edge_coords_m]
        self._coords = np.concatenate(edges) if edges else np.zeros((0, 2))
        self._starts = np.cumsum([0] + [len(c) for c in edges])
        self.zones = self._zones(model.world.area.crs)
        self.basemap = basemap_for(model, fonts)  # the real Gwangju under everything (None on a stand-in map)
        to_m = pyproj.Transformer.from_crs("EPSG:4326", model.world.area.crs, always_xy=True)
        self.sites_m = []
        for w, dx, _ in self._copies:
            for site in w.area.spec.sites:
                x, y = to_m.transform(site.lon, site.lat)
                self.sites_m.append((site, (x + dx, y)))
        self.sites_m += self._zone_vertiports(to_m)
        self.place_titles = self._place_titles()
        self._extent_m = self._extent(worlds)

    @staticmethod
    def _places(model: TwinModel) -> dict[str, float]:
        """Each area's x offset: 0, except for further areas drawn on a map already in use."""
        offsets: dict[str, float] = {}
        used: dict[int, int] = {}
        for ref, world in model.worlds.items():
            k = used.get(id(world), 0)
            used[id(world)] = k + 1
            (x0, _, x1, _) = (world.area.polygon_m.bounds if world.network is None
                              else (min(c[:, 0].min() for c in world.network.edge_coords_m), 0,
                                    max(c[:, 0].max() for c in world.network.edge_coords_m), 0))
            offsets[ref] = k * 1.25 * (x1 - x0)
        return offsets

    def _place_titles(self) -> list[tuple[str, float, float]]:
        """Side by side, each copy of a stand-in map says whose place it is."""
        if len(self._copies) < 2 or not self.model.stand_in:
            return []
        titles = []
        for world, dx, ref in self._copies:
            spec = load_area(ref).spec if ref in area_files() else world.area.spec
            x0, _, x1, y1 = world.area.polygon_m.bounds
            if world.network is not None:  # over its roads, which is what the view shows whole
                y1 = max(float(c[:, 1].max()) for c in world.network.edge_coords_m)
            titles.append((f"{spec.name_ko} · {spec.name_en}\n{world.area.id} 지도 · map", (x0 + x1) / 2 + dx, y1))
        return titles

    def service_dx(self, service: Any) -> float:
        """The x offset of the area a service works in."""
        ref = getattr(getattr(service, "config", None), "area", None) or self.model.scenario.spec.scenario.area
        return self.place_dx.get(ref, 0.0)

    def bind(self, model: TwinModel) -> None:
        """Show another model of the same world (exhibition loops restart the model)."""
        self.model = model
        self._fleets: dict[int, FleetPositions] = {}  # by service: its vehicles' positions, kept between frames

    def _zone_vertiports(self, to_m: pyproj.Transformer) -> list[tuple[Any, tuple[float, float]]]:
        """Vertiports the drones use that a zone file holds (the drone park), so they get their names too."""
        if self.model.stand_in:
            return []  # on a stand-in map the vertiports are that map's own sites, already shown
        ports = {p for service in self.model.services for p in getattr(service, "port_xy", {})}
        shown = {site.id for site, _ in self.sites_m}
        found = []
        for area_id in area_files():
            for site in load_area(area_id).spec.sites:
                if site.id in ports and site.id not in shown:
                    found.append((site, to_m.transform(site.lon, site.lat)))
                    shown.add(site.id)
        return found

    def _extent(self, worlds: list) -> np.ndarray:
        """Points the first view must show: the roads, or without roads the areas, vertiports and
        corridors, and the free zone the corridors fly in."""
        if len(self._coords):
            return self._coords
        points = [ring for w in worlds for ring in w.area.rings_m]
        lines = [np.asarray(line.coords) for service in self.model.services
                 for line in getattr(service, "corridors", {}).values()]
        if lines:
            flown = shapely.MultiPoint(np.concatenate(lines)).envelope
            points += [ring for kind, ring, _ in self.zones
                       if kind == "drone_free_zone" and shapely.Polygon(ring).intersects(flown)]
            for kind, ring, _ in self.zones:  # the edge of a no-fly or control zone within 5 km: show it
                zone = shapely.Polygon(ring)
                if kind in ("geofence", "control_zone") and 0 < zone.distance(flown) < 5000.0:
                    near = shapely.ops.nearest_points(zone.exterior, flown)[0]
                    points.append(np.asarray(near.buffer(800.0).exterior.coords))
        return np.concatenate(points + lines)

    def bounds(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self._extent_m.min(axis=0), self._extent_m.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def _zones(self, crs: str) -> list[tuple[str, np.ndarray, Any]]:
        to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        zones = []
        for area_id in area_files():
            area = load_area(area_id)
            if area.spec.kind in ZONE_FILL:
                for ring in area.rings_wgs84:
                    zones.append((area.spec.kind, np.column_stack(to_m.transform(ring[:, 0], ring[:, 1])), area.spec))
        return zones

    # --- layers ---------------------------------------------------------------------------
    def draw(self, screen: pygame.Surface, camera: Camera) -> None:
        screen.fill(BACKGROUND)
        # screen boxes of labels placed so far: later labels avoid them, and the site marks
        taken: list[pygame.Rect] = []
        self._marks = [pygame.Rect(x - 12, y - 12, 24, 24) for x, y in
                       (camera.point(*xy) for _, xy in self.sites_m)] if self.visible["sites"] else []
        if self.basemap is not None and self.visible["basemap"]:
            self.basemap.draw(screen, camera, taken, self._marks)
        if self.visible["zones"]:
            self._draw_zones(screen, camera, taken)
        if self.visible["roads"]:
            screen.blit(self._roads(screen.get_size(), camera), (0, 0))
        if self.visible["drones"]:
            self._draw_corridors(screen, camera, taken)
        if self.visible["coverage"]:
            self._draw_coverage(screen, camera)
        if self.visible["bins"]:
            self._draw_bins(screen, camera)
        if self.visible["sites"]:
            self._draw_sites(screen, camera, taken)
        for title, x_m, y_m in self.place_titles:
            name, _, where = title.partition("\n")
            x, y = camera.point(x_m, y_m)
            for text in (self.fonts["small"].render(where, True, (200, 170, 90)),
                         self.fonts["title"].render(name, True, (250, 205, 80))):
                rect = text.get_rect(midbottom=(x, y - 6))
                taken.append(rect)
                screen.blit(text, rect)
                y = rect.top
        now_s = self.model.now_s
        for service in self.model.services:
            if self.visible["vehicles"]:
                self._draw_vehicles(screen, camera, service, now_s)
            for marker in self._flying_and_carried(service, now_s):
                if self.visible["parts" if marker.kind == "part" else "drones"]:
                    self._draw_marker(screen, camera, marker)

    def _roads(self, size: tuple[int, int], camera: Camera) -> pygame.Surface:
        if self._road_cache is None or self._road_cache[0] != camera.version or self._road_cache[1] != size:
            surface = pygame.Surface(size, pygame.SRCALPHA)
            pixels = camera.to_screen(self._coords)
            width = max(1, min(4, int(camera.px_per_m * 6)))
            for i in range(len(self._starts) - 1):
                pygame.draw.lines(surface, ROAD, False, pixels[self._starts[i]:self._starts[i + 1]], width)
            self._road_cache = (camera.version, size, surface)
        return self._road_cache[2]

    def _draw_zones(self, screen: pygame.Surface, camera: Camera, taken: list[pygame.Rect]) -> None:
        """Zones filled by kind; each named where its edge is in view, nearest the screen's centre."""
        overlay = pygame.Surface(screen.get_size(), pygame.SRCALPHA)
        view = shapely.box(0, 0, *screen.get_size())
        named = []
        for kind, ring, spec in self.zones:
            points = camera.to_screen(ring)
            if view.intersects(shapely.Polygon(points)):
                pygame.draw.polygon(overlay, ZONE_FILL[kind], points)
                pygame.draw.polygon(overlay, ZONE_EDGE[kind], points, 2)
                edge = shapely.LinearRing(points).intersection(view.buffer(-30))
                if not edge.is_empty:
                    centre = shapely.Point(screen.get_width() / 2, screen.get_height() / 2)
                    at = shapely.ops.nearest_points(edge, centre)[0]
                    named.append((kind, spec, (int(at.x), int(at.y))))
        screen.blit(overlay, (0, 0))
        for kind, spec, at in named:
            label = self.fonts["small"].render(f"{spec.name_ko} · {spec.name_en}", True, ZONE_EDGE[kind])
            place_label(screen, label, at, taken, self._marks, backdrop=BACKGROUND, right_px=self.right_px)

    def _draw_corridors(self, screen: pygame.Surface, camera: Camera, taken: list[pygame.Rect]) -> None:
        for service in self.model.services:
            if getattr(service, "id", "") != "drones":
                continue
            bands = {c.id: (c.floor_m, c.ceiling_m) for c in service.config.corridors}
            for line in service.corridors.values():
                points = camera.to_screen(np.asarray(line.coords))
                pygame.draw.lines(screen, CORRIDOR, False, points, 3)
            for corridor_id, line in service.corridors.items():
                floor_m, ceiling_m = bands[corridor_id]
                label = self.fonts["small"].render(f"{corridor_id} {floor_m:.0f}-{ceiling_m:.0f} m", True, CORRIDOR)
                for fraction in (0.5, 0.3, 0.7, 0.15, 0.85):  # along the line until the label fits
                    at = line.interpolate(fraction, normalized=True)
                    if place_label(screen, label, camera.point(at.x, at.y), taken, self._marks, backdrop=BACKGROUND, right_px=self.right_px):
                        break
            for x_m, y_m in service.port_xy.values():
                x, y = camera.point(x_m, y_m)
                pygame.draw.circle(screen, CORRIDOR, (x, y), 11, 2)
                screen.blit(self.fonts["small"].render("H", True, CORRIDOR), (x - 4, y - 8))

    def _draw_coverage(self, screen: pygame.Surface, camera: Camera) -> None:
        width = max(2, min(5, int(camera.px_per_m * 8)))
        for service in self.model.services:
            dx = self.service_dx(service)
            for edge in getattr(service, "swept", ()):
                net = service.world.network
                pygame.draw.lines(screen, SWEPT, False, camera.to_screen(net.edge_coords_m[edge] + (dx, 0.0)), width)

    def _draw_bins(self, screen: pygame.Surface, camera: Camera) -> None:
        now_s = self.model.now_s
        for service in self.model.services:
            for bin_ in getattr(service, "bins", ()):
                net = service.world.network
                fill = bin_.level_kg(now_s) / bin_.capacity_kg
                colour = (int(80 + 175 * fill), int(200 - 150 * fill), 70)
                x, y = camera.point(float(net.x_m[bin_.node]) + self.service_dx(service), float(net.y_m[bin_.node]))
                rect = pygame.Rect(x - 6, y - 8, 12, 16)
                pygame.draw.rect(screen, (60, 64, 76), rect)
                level = int(14 * fill)
                pygame.draw.rect(screen, colour, pygame.Rect(x - 5, y + 7 - level, 10, level))
                if fill >= 1.0:
                    pygame.draw.rect(screen, (255, 50, 50), rect, 2)

    def _draw_sites(self, screen: pygame.Surface, camera: Camera, taken: list[pygame.Rect]) -> None:
        """Sites as diamonds; each label goes to the first of eight places around its site that
        overlaps no label placed before (sites first in the order of their files), else it is left out."""
        points = [(site, camera.point(*xy_m)) for site, xy_m in self.sites_m]
        for _, (x, y) in points:
            pygame.draw.polygon(screen, (255, 210, 90), [(x, y - 7), (x + 6, y), (x, y + 7), (x - 6, y)])
        marks = [pygame.Rect(x - 7, y - 7, 14, 14) for _, (x, y) in points]
        for site, (x, y) in points:
            label = self.fonts["small"].render(f"{site.name_ko} · {site.name_en}", True, (235, 235, 240))
            place_label(screen, label, (x, y), taken, marks, backdrop=BACKGROUND, right_px=self.right_px)

    def _draw_vehicles(self, screen: pygame.Surface, camera: Camera, service: Any, now_s: float) -> None:
        """A service's vehicles, thousands a frame: placed in one numpy pass, drawn in one ``blits``
        of a sprite per kind and state (the same pixels :meth:`_draw_marker` would draw)."""
        vehicles, xy_m = self._vehicles_at(service, now_s)
        if not vehicles:
            return
        corners = (camera.to_screen(xy_m + (self.service_dx(service), 0.0)).astype(int) - MARKER_RADIUS_PX).tolist()
        sprites = map(self._sprites.__getitem__, zip(map(attrgetter("kind"), vehicles), map(attrgetter("state"), vehicles)))
        screen.blits(zip(sprites, corners), doreturn=False)

    def _draw_marker(self, screen: pygame.Surface, camera: Camera, marker: Marker) -> None:
        x, y = camera.point(marker.x_m, marker.y_m)
        if marker.altitude_m > 0:  # a drone in the air: its shadow on the ground, itself raised, its height
            lift = int(min(marker.altitude_m * PX_PER_M_ALTITUDE, 40))
            pygame.draw.ellipse(screen, SHADOW, pygame.Rect(x - 6, y - 3, 12, 6))
            pygame.draw.line(screen, SHADOW, (x, y), (x, y - lift), 1)
            y -= lift
            label = self.fonts["small"].render(f"{marker.altitude_m:.0f} m", True, (200, 220, 240))
            screen.blit(label, (x + 9, y - 8))
        pygame.draw.circle(screen, KIND_COLOUR.get(marker.kind, (200, 200, 200)), (x, y), MARKER_RADIUS_PX)
        pygame.draw.circle(screen, STATE_COLOUR.get(marker.state, EMPTY_STATE), (x, y), MARKER_CORE_PX)

    # --- what moves -----------------------------------------------------------------------
    def markers(self) -> list[Marker]:
        """Everything that moves, where it is now (for clicking and following)."""
        now_s, found = self.model.now_s, []
        for service in self.model.services:
            dx = self.service_dx(service)
            vehicles, xy_m = self._vehicles_at(service, now_s)
            found += [Marker(vehicle.name, vehicle.kind, vehicle.state, x + dx, y, vehicle, dx_m=dx)
                      for vehicle, (x, y) in zip(vehicles, xy_m.tolist())]
            found += self._flying_and_carried(service, now_s)
        return found

    def _vehicles_at(self, service: Any, now_s: float) -> tuple[list, np.ndarray]:
        """A service's road vehicles and their positions (metres, in their area's own place)."""
        vehicles = list(getattr(service, "vehicles", ()))
        fleet = self._fleets.get(id(service))
        if fleet is None or fleet.vehicles != vehicles:
            fleet = self._fleets[id(service)] = FleetPositions(vehicles)
        return fleet.vehicles, fleet.at(now_s)

    def _flying_and_carried(self, service: Any, now_s: float) -> list[Marker]:
        """A service's drones and the parts on their way to the certification center (a few each)."""
        found = []
        if getattr(service, "id", "") == "drones":
            for drone in service.drones:
                x, y = drone.position_m(now_s)
                found.append(Marker(drone.name, "drone", drone.phase(now_s), x, y, drone, drone.altitude_m(now_s)))
        for part in getattr(service, "parts", ()):
            if part.state == "in_transit" and part.route_m is not None:
                x, y = part.route_position_m(now_s)
                found.append(Marker(part.name, "part", "serving", x, y, part))
        return found
