"""What the map shows: roads (drawn once per camera and cached), zones, sites with Korean and
English labels, and what each service declares in its :class:`~gwangju_twin.plugins.ServiceView`:
its layers (corridors, vertiports, swept streets, bins, ...) and its moving agents by kind and
state. The scene names no service: it draws what the plug-ins declare."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pygame
import pyproj
import shapely
import shapely.ops
from gwangju_twin.areas import area_files, load_area
from gwangju_twin.model import TwinModel
from gwangju_twin.plugins import Layer, ServiceView, area_kinds, plugin_of
from gwangju_twin.viz.basemap import basemap_for
from gwangju_twin.viz.camera import Camera
from gwangju_twin.viz.labels import LabelPlacer
from gwangju_twin.viz.marks import (
    BACKGROUND,
    EMPTY_STATE,
    MARKER_CORE_PX,
    MARKER_RADIUS_PX,
    UNKNOWN,
    MarkerSprites,
    StateSprites,
    draw_layer,
    mover_of,
)
from gwangju_twin.viz.motion import SHAPE_PX_PER_M, Motion, ShapeSprites, draw_shapes, draw_trails
from gwangju_twin.viz.still import ask_labels, draw_titles, still_map
from gwangju_twin.viz.zones import ZONE_EDGE, ZONE_FILL, ZONE_LEGEND, ZONE_OTHER, ZONE_TEXT  # noqa: F401 - the viewer's zone styles

ROAD = (92, 100, 116)
SHADOW = (10, 12, 16)
PX_PER_M_ALTITUDE = 0.25  # how far up a drone is drawn above its shadow, per metre of altitude
LAYERS = ("basemap", "roads", "zones", "sites", "service_layers", "ground", "air")


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
    colour: tuple[int, int, int] = UNKNOWN.colour
    core: tuple[int, int, int] = EMPTY_STATE
    view: ServiceView | None = None
    index: int = 0  # its place in its service's agents


class Scene:
    def __init__(self, model: TwinModel, fonts: dict[str, pygame.font.Font]) -> None:
        self.fonts = fonts
        self.visible = dict.fromkeys(LAYERS, True)
        self.right_px = 0  # screen width on the right that a panel covers: labels stay out of it
        self.bottom_px = 0  # screen height at the bottom that a caption covers
        self._road_cache: tuple[int, tuple[int, int], pygame.Surface] | None = None
        self._sprites = MarkerSprites()
        self._rendered: dict = {}  # label surfaces by (text, colour)
        self._static: tuple | None = None  # (key, the still map, its labels)
        self._shapes = ShapeSprites()
        self.trails = True  # fading trails of recent movement
        self.trail_step_s = 10.0  # simulated seconds between trail points (the viewer sets it by its speed)
        self._bound = 0  # bumps with each model shown
        self.bind(model)
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
        self.sites_m = self._sites(model)
        self.place_titles = self._place_titles()
        self._extent_m = self._extent([w for w, _, _ in self._copies])

    def bind(self, model: TwinModel) -> None:
        """Show another model of the same world (exhibition loops restart the model)."""
        self.model = model
        self._bound += 1
        self.views: list[ServiceView] = [view for service in model.services
                                         if (view := plugin_of(service).view(service)) is not None]
        self._state_sprites = [StateSprites(view, self._sprites) for view in self.views]
        self._motion: dict[int, Motion] = {}  # by id of view: positions over the last frames, trails
        self._looks: dict[tuple[int, str], tuple] = {}
        self._codes: dict[int, dict[str, int]] = {}

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

    def view_dx(self, view: ServiceView) -> float:
        """The x offset of the area a service works in."""
        return self.place_dx.get(view.area_ref or self.model.scenario.spec.scenario.area, 0.0)

    def _sites(self, model: TwinModel) -> list[tuple[Any, tuple[float, float]]]:
        """The map's sites, less those a service's layer draws and names itself (a vertiport)."""
        to_m = pyproj.Transformer.from_crs("EPSG:4326", model.world.area.crs, always_xy=True)
        claimed_ids = {sid for view in self.views for layer in view.layers() for sid in layer.site_ids}
        claimed_xy = [np.asarray(layer.points, dtype=float) + (self.view_dx(view), 0.0) for view in self.views
                      for layer in view.layers() if layer.kind == "points" and layer.labels and len(layer.points)]
        claimed = np.concatenate(claimed_xy) if claimed_xy else np.zeros((0, 2))
        found = []
        for w, dx, _ in self._copies:
            for site in w.area.spec.sites:
                x, y = to_m.transform(site.lon, site.lat)
                near = len(claimed) and float(np.hypot(*(claimed - (x + dx, y)).T).min()) < 1.0
                if site.id not in claimed_ids and not near:
                    found.append((site, (x + dx, y)))
        return found

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

    def _extent(self, worlds: list) -> np.ndarray:
        """Points the first view must show: the roads, or without roads the areas and what the services'
        layers draw, and the free zone they lie in, and the edge of a zone within 5 km."""
        if len(self._coords):
            return self._coords
        points = [ring for w in worlds for ring in w.area.rings_m]
        drawn = [np.asarray(p, dtype=float).reshape(-1, 2) + (self.view_dx(view), 0.0) for view in self.views
                 for layer in view.layers() if not layer.live
                 for p in (layer.points if layer.kind != "points" else [layer.points])]
        drawn = [p for p in drawn if len(p)]
        if drawn:
            flown = shapely.MultiPoint(np.concatenate(drawn)).envelope
            points += [ring for kind, ring, _ in self.zones
                       if kind == "drone_free_zone" and shapely.Polygon(ring).intersects(flown)]
            for kind, ring, _ in self.zones:
                zone = shapely.Polygon(ring)
                if kind in ("geofence", "control_zone") and 0 < zone.distance(flown) < 5000.0:
                    near = shapely.ops.nearest_points(zone.exterior, flown)[0]
                    points.append(np.asarray(near.buffer(800.0).exterior.coords))
        return np.concatenate(points + drawn)

    def bounds(self) -> tuple[float, float, float, float]:
        (x0, y0), (x1, y1) = self._extent_m.min(axis=0), self._extent_m.max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    def tour_points(self) -> list[tuple[float, float]]:
        """Places worth a closer look: the sites and every labelled point a service draws."""
        points = [xy for _, xy in self.sites_m]
        for view in self.views:
            for layer in view.layers():
                if layer.kind == "points" and layer.labels:
                    points += [(float(x) + self.view_dx(view), float(y)) for x, y in np.asarray(layer.points)]
        return points

    def _zones(self, crs: str) -> list[tuple[str, np.ndarray, Any]]:
        to_m = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        zones = []
        for area_id in area_files():
            area = load_area(area_id)
            if area.spec.kind in area_kinds() and area.spec.kind != "road_area":  # a zone a plug-in brings
                for ring in area.rings_wgs84:
                    zones.append((area.spec.kind, np.column_stack(to_m.transform(ring[:, 0], ring[:, 1])), area.spec))
        return zones

    # --- drawing ---------------------------------------------------------------------------
    def draw(self, screen: pygame.Surface, camera: Camera, *, top_px: int = 0) -> LabelPlacer:
        """Everything: the still map (kept until the camera, the screen or the layers shown change),
        the services' live layers, the labels (placed by priority, none over another nor over a mark)
        and the agents on top. Returns the frame's labels (what was placed and left out)."""
        key = (camera.version, screen.get_size(), self.right_px, self.bottom_px, top_px,
               tuple(self.visible.values()), self._bound)
        if self._static is None or self._static[0] != key:
            self._static = (key, *still_map(self, screen.get_size(), camera, top_px))
        _, still, placed = self._static
        screen.blit(still, (0, 0))
        labels = LabelPlacer(screen, placed.view, self.fonts["small"], BACKGROUND, self._rendered)
        labels.taken, labels.marks, labels.placed = list(placed.taken), list(placed.marks), list(placed.placed)
        labels.left_out, labels.placed_text = list(placed.left_out), list(placed.placed_text)
        live = [(view, layer, self._layer_px(camera, view, layer)) for view in self.views
                for layer in view.layers() if layer.live] if self.visible["service_layers"] else []
        for _, layer, shapes in live:
            draw_layer(screen, layer, shapes)
        ask_labels(self, labels, [], live, [])
        labels.place()
        labels.draw()
        draw_titles(self, screen)
        now_s = self.model.now_s
        for view, sprites in zip(self.views, self._state_sprites):
            self._draw_agents(screen, camera, view, sprites, now_s)
        return labels

    def _roads(self, size: tuple[int, int], camera: Camera) -> pygame.Surface:
        if self._road_cache is None or self._road_cache[0] != camera.version or self._road_cache[1] != size:
            surface = pygame.Surface(size, pygame.SRCALPHA)
            pixels = camera.to_screen(self._coords)
            width = max(1, min(4, int(camera.px_per_m * 6)))
            for i in range(len(self._starts) - 1):
                pygame.draw.lines(surface, ROAD, False, pixels[self._starts[i]:self._starts[i + 1]], width)
            self._road_cache = (camera.version, size, surface)
        return self._road_cache[2]

    def _layer_px(self, camera: Camera, view: ServiceView, layer: Layer) -> list[np.ndarray]:
        """A layer's points (one (n, 2) array) or polylines on screen."""
        dx = (self.view_dx(view), 0.0)
        if layer.kind == "points":
            return [camera.to_screen(np.asarray(layer.points, dtype=float).reshape(-1, 2) + dx)]
        return [camera.to_screen(np.asarray(line, dtype=float) + dx) for line in layer.points]

    def _draw_agents(self, screen: pygame.Surface, camera: Camera, view: ServiceView, sprites: StateSprites,
                     now_s: float) -> None:
        """A service's agents, thousands a frame: placed in one numpy pass, drawn in one ``blits`` of a
        sprite per state (the same pixels :meth:`draw_marker` would draw), or close up as oriented
        shapes; agents in the air one by one; fading trails under them."""
        air = view.altitudes_m is not None
        if not self.visible["air" if air else "ground"]:
            return
        agents, xy_m, states = view.positions(now_s)
        motion = self._motion.setdefault(id(view), Motion())
        if not len(agents):
            return
        xy_m = np.asarray(xy_m, dtype=float) + (self.view_dx(view), 0.0)
        due = self.trails and motion.due(now_s, self.trail_step_s)
        close = camera.px_per_m >= SHAPE_PX_PER_M
        looks = [self._look(view, state) for state in states] if close else []
        motion.see(now_s, xy_m, self._colours(view, states) if due else None, self.trail_step_s)
        if self.trails:
            draw_trails(screen, camera, motion, BACKGROUND)
        if air:
            markers = self._markers_of(view, now_s, (agents, xy_m - (self.view_dx(view), 0.0), states))
            for marker in sorted(markers, key=lambda m: m.altitude_m):  # on the ground first, the highest last
                self.draw_marker(screen, camera, marker)
        elif close:
            length_px = int(min(max(5.0 * camera.px_per_m, 24), 44))
            draw_shapes(screen, camera.to_screen(xy_m), motion.heading, looks, self._shapes, length_px)
        else:
            corners = (camera.to_screen(xy_m).astype(int) - MARKER_RADIUS_PX).tolist()
            screen.blits(zip(map(sprites.__getitem__, states), corners), doreturn=False)

    def _look(self, view: ServiceView, state: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        key = (id(view), state)
        if key not in self._looks:
            mover = mover_of(view, state)
            self._looks[key] = (mover.colour, mover.core or EMPTY_STATE)
        return self._looks[key]

    def _colours(self, view: ServiceView, states: list[str]) -> np.ndarray:
        """Each agent's kind colour, as an (n, 3) array (a palette index per state, then one take)."""
        codes = self._codes.setdefault(id(view), {})
        for state in set(states) - codes.keys():
            codes[state] = len(codes)
        palette = np.array([self._look(view, state)[0] for state in codes], dtype=float)
        return palette[np.fromiter(map(codes.__getitem__, states), dtype=np.intp, count=len(states))]

    def moved_m(self, marker: Marker) -> float:
        """How far an agent moved over the last frame."""
        motion = self._motion.get(id(marker.view))
        return motion.moved_m(marker.index) if motion is not None else 0.0

    def speed_mps(self, marker: Marker) -> float:
        motion = self._motion.get(id(marker.view))
        return motion.speed_mps(marker.index) if motion is not None else 0.0

    def draw_marker(self, screen: pygame.Surface, camera: Camera, marker: Marker) -> None:
        x, y = camera.point(marker.x_m, marker.y_m)
        if marker.altitude_m > 0:  # in the air: its shadow on the ground, itself raised on a stalk
            lift = int(min(marker.altitude_m * PX_PER_M_ALTITUDE, 40))
            pygame.draw.ellipse(screen, SHADOW, pygame.Rect(x - 6, y - 3, 12, 6))
            pygame.draw.line(screen, SHADOW, (x, y), (x, y - lift), 1)
            y -= lift
        pygame.draw.circle(screen, marker.colour, (x, y), MARKER_RADIUS_PX)
        pygame.draw.circle(screen, marker.core, (x, y), MARKER_CORE_PX)

    # --- what moves -----------------------------------------------------------------------
    def markers(self) -> list[Marker]:
        """Everything that moves, where it is now (for clicking and following)."""
        now_s = self.model.now_s
        return [marker for view in self.views for marker in self._markers_of(view, now_s)]

    def _markers_of(self, view: ServiceView, now_s: float, drawn: tuple | None = None) -> list[Marker]:
        agents, xy_m, states = drawn if drawn is not None else view.positions(now_s)
        if not len(agents):
            return []
        dx = self.view_dx(view)
        heights = view.altitudes_m(now_s) if view.altitudes_m is not None else np.zeros(len(agents))
        found = []
        for i, (agent, (x, y), state, z) in enumerate(zip(agents, np.asarray(xy_m).tolist(), states,
                                                           np.asarray(heights).tolist())):
            mover = mover_of(view, state)
            found.append(Marker(agent.name, mover.kind, state, x + dx, y, agent, float(z), dx, mover.colour,
                                mover.core or EMPTY_STATE, view, i))
        return found

    def locate(self, marker: Marker) -> Marker | None:
        """Where a followed agent is now (None once its service no longer shows it)."""
        if marker.view is None:
            return None
        for found in self._markers_of(marker.view, self.model.now_s):
            if found.agent is marker.agent:
                return found
        return None
