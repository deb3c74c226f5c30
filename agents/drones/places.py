"""Where the drones fly: vertiports, corridors, the zones they keep out of, and automatic detours.

Places follow the scenario's area: vertiports resolve through the area's ``[site_aliases]`` and
geofences through its ``[zone_aliases]``, so with ``--area`` the drones fly over the same map as
the shuttles. Corridor ``via`` waypoints are coordinates of the real place: on a stand-in map a
corridor runs straight between its vertiports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from gwangju_twin.agents.drones.config import Corridor, Drones, Vertiport
from gwangju_twin.agents.drones.vertiports import FATO_D, TLOF_D, VertiportLayout, pad_grid, pad_spacing_m
from gwangju_twin.areas import area_files, load_area
from gwangju_twin.errors import RoutingError, TwinError
from gwangju_twin.memo import Memo
from gwangju_twin.projection import to_metric, to_metric_many

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

MAX_LAYERS = 4  # ASSUMPTION: cruise layers in a corridor's band, at most
DETOUR_MARGIN_M = 200.0  # ASSUMPTION: an automatic detour keeps half the corridor width plus this from a zone
# Shortest paths worked out by networkx, kept per its version and this code's (twin/memo.py): a run whose
# corridors and zones were routed before imports no networkx.
_PATHS = Memo("drone_paths.json", ("networkx",), sources=(Path(__file__),), keep_at_most=2_000)


def shortest_path(nodes: list, edges: list[tuple[Any, Any, float]], start: Any, end: Any) -> list | None:
    """networkx's shortest path (by ``length``) from ``start`` to ``end`` in the undirected graph of ``nodes``
    and then ``edges`` ``(a, b, length)`` added in this order; None if there is none. Kept (``_PATHS``)."""
    def compute() -> list | None:
        import networkx as nx  # here: only for a graph not routed before

        graph = nx.Graph()
        graph.add_nodes_from(nodes)
        for a, b, length in edges:
            graph.add_edge(a, b, length=length)
        try:
            return nx.shortest_path(graph, start, end, weight="length")
        except nx.NetworkXNoPath:
            return None

    return _PATHS.answer("shortest_path", [nodes, [list(e) for e in edges], start, end], compute)


@dataclass
class Leg:
    """One corridor flown in one direction: a polyline in metres and its layer."""

    xy_m: np.ndarray
    altitude_m: float
    length_m: float
    corridor: Corridor | None = None
    forward: bool = True


class Places:
    """The air layer's geography in the scenario's metric CRS.

    Attributes
    ----------
    port_xy : dict[str, tuple[float, float]]
        Each vertiport's reference point, metres.
    corridors : dict[str, shapely.LineString]
        Each corridor's centre line, metres (its ``via`` points, or an automatic detour).
    geofences : dict[str, tuple[str, shapely.Geometry]]
        Each zone of ``geofences``: its kind (geofence or control_zone) and polygon.
    """

    def __init__(self, model: TwinModel, config: Drones) -> None:
        self.model, self.config = model, config
        self.crs = model.world.area.crs  # the air layer lives in the scenario's place, like the ground
        self.stand_in = model.stand_in
        self.port_xy = {v.site: self._site_xy(v.site) for v in config.vertiports}
        self.geofences = dict(self._zone(fence, "geofence") for fence in config.geofences)
        self.detours_m: dict[str, float] = {}  # corridor -> extra length of its automatic detour
        self.approved: dict[str, dict[str, Any]] = {}  # corridor -> the control zone it may cross
        self.operational_volumes: dict[str, str] = {}  # corridor -> the zone it is confined to
        self.corridors = {c.id: self._corridor_line(c) for c in config.corridors}
        self._check_crossings()
        self._check_volumes()
        self.graph: dict[str, dict[str, Corridor]] = {}  # vertiport -> vertiport -> the corridor between them
        for c in config.corridors:  # the last of several corridors between two vertiports is the one flown
            self.graph.setdefault(c.start, {})[c.end] = self.graph.setdefault(c.end, {})[c.start] = c
        self._by_id = {c.id: c for c in config.corridors}
        self._legs: dict[tuple[str, str], list[Leg]] = {}
        self.vertiports = {v.site: self._layout(v) for v in config.vertiports}
        self.terminal_centres_m = np.array([p.centre_xy_m for p in self.vertiports.values()], dtype=float)
        self.terminal_radii_m = np.array([p.terminal_radius_m for p in self.vertiports.values()], dtype=float)

    def to_crs(self, lon: Any, lat: Any) -> tuple[Any, Any]:
        """WGS84 to the scenario's CRS, as pyproj projects (points or arrays; pyproj only for points not projected before)."""
        if np.ndim(lon) == 0:
            return to_metric(self.crs, lon, lat)
        return to_metric_many(self.crs, lon, lat)

    def _site_xy(self, site_id: str) -> tuple[float, float]:
        """A site of the scenario's areas (aliases apply); on the real map also any zone's sites."""
        worlds = list({id(w): w for w in self.model.worlds.values()}.values())
        for world in worlds:
            area = world.area
            if site_id in area.spec.site_aliases or any(s.id == site_id for s in area.spec.sites):
                return self.to_crs(area.site(site_id).lon, area.site(site_id).lat)
        if not self.stand_in:
            for area_id in area_files():
                for site in load_area(area_id).spec.sites:
                    if site.id == site_id:
                        return self.to_crs(site.lon, site.lat)
        names = ", ".join(sorted(w.area.id for w in worlds))
        raise TwinError(f"vertiport site '{site_id}' is not in area {names}: add it to that area file's "
                        "[site_aliases] (a site of the area that stands in for it)")

    def _zone(self, zone_id: str, role: str) -> tuple[str, Any]:
        """A zone by id (its stand-in on a stand-in map) and its polygon in the scenario's CRS."""
        files = area_files()
        aliases: dict[str, str] = {}
        for world in self.model.worlds.values():
            aliases.update(world.area.spec.zone_aliases)
        actual = aliases.get(zone_id, zone_id) if self.stand_in else zone_id
        if actual not in files:
            raise TwinError(f"{role} '{zone_id}' is not an area or zone id; known: {', '.join(sorted(files))}")
        if self.stand_in and actual == zone_id:
            raise TwinError(f"{role} '{zone_id}' is not on the stand-in map {', '.join(sorted(set(self.stand_in.values())))}: "
                            "add it to that area file's [zone_aliases]")
        area = load_area(actual)
        parts = [shapely.Polygon(np.column_stack(self.to_crs(r[:, 0], r[:, 1]))) for r in area.rings_wgs84]
        return actual, (area.spec.kind, shapely.union_all(parts))

    def _corridor_line(self, corridor: Corridor) -> shapely.LineString:
        """The corridor's centre line: its ``via`` waypoints, or a detour around the zones it may not enter."""
        start, end = self.port_xy[corridor.start], self.port_xy[corridor.end]
        via = [] if self.stand_in else [self.to_crs(*p) for p in corridor.via]
        line = shapely.LineString([start, *via, end])
        keep_out = [shape for kind, shape in self.geofences.values()
                    if kind != "control_zone" or not corridor.approval]
        if via or not any(line.buffer(corridor.width_m / 2).intersects(z) for z in keep_out):
            return line
        try:
            waypoints = detour_m(start, end, keep_out, corridor.width_m / 2 + DETOUR_MARGIN_M)
        except ValueError as exc:
            raise RoutingError(f"corridor {corridor.id} cannot be routed around its zones: {exc}") from None
        routed = shapely.LineString([start, *waypoints, end])
        self.detours_m[corridor.id] = float(routed.length - line.length)
        return routed

    def _check_crossings(self) -> None:
        """No corridor's volume enters a geofence, nor a control zone without approval."""
        for c in self.config.corridors:
            volume = self.corridors[c.id].buffer(c.width_m / 2)
            for name, (kind, fence) in self.geofences.items():
                if not volume.intersects(fence):
                    continue
                if kind == "control_zone" and c.approval:
                    inside_m = float(self.corridors[c.id].intersection(fence).length)
                    self.approved[c.id] = {"zone": name, "km_inside": round(inside_m / 1000.0, 3)}
                    continue
                hint = "" if kind == "geofence" else ", or set approval = true if it has the zone's approval"
                raise RoutingError(f"corridor {c.id} enters {kind.replace('_', ' ')} {name}; "
                                   f"route it around with 'via' waypoints{hint}")

    def _check_volumes(self) -> None:
        """Each corridor with an operational volume lies inside it."""
        for c in self.config.corridors:
            if c.operational_volume is None:
                continue
            name, (_, volume_shape) = self._zone(c.operational_volume, "operational_volume")
            outside = self.corridors[c.id].buffer(c.width_m / 2).difference(volume_shape)
            if outside.area > 1.0:
                far_m = max(volume_shape.boundary.distance(shapely.Point(p)) for p in shapely.get_coordinates(outside))
                raise RoutingError(f"corridor {c.id} leaves its operational volume {name} "
                                   f"({outside.area:.0f} m2 outside, up to {far_m:.0f} m); move its vertiports or 'via'")
            self.operational_volumes[c.id] = name

    def _layout(self, port: Vertiport) -> VertiportLayout:
        """The vertiport's pads, gates and terminal volume; one line if they do not fit."""
        cfg = self.config
        size_m = max(t.size_m for t in cfg.types)
        spacing = pad_spacing_m(size_m, cfg.terminal_separation_horizontal_m)
        centre = self.port_xy[port.site]
        pads = pad_grid(centre, port.pads, spacing)
        radius = cfg.terminal_radius_m
        reach_m = float(np.hypot(pads[:, 0] - centre[0], pads[:, 1] - centre[1]).max()) + spacing
        if reach_m > radius:
            raise TwinError(f"drones.terminal_radius {radius:g} m is too small for vertiport {port.site}'s "
                            f"{port.pads} pads {spacing:.1f} m apart: it must be at least {reach_m:.0f} m")
        gates = {}
        for c in cfg.corridors:
            if port.site not in (c.start, c.end):
                continue
            line = self.corridors[c.id]
            if line.length <= 2 * radius:
                raise TwinError(f"drones.terminal_radius {radius:g} m: corridor {c.id} is only {line.length:.0f} m "
                                f"long; it must be longer than two terminal radii")
            at = line.interpolate(radius if c.start == port.site else line.length - radius)
            gates[c.id] = (float(at.x), float(at.y))
        ceiling = max(c.ceiling_m for c in cfg.corridors)
        return VertiportLayout(port.site, centre, pads, spacing, TLOF_D * size_m, FATO_D * size_m, radius,
                               ceiling, gates)

    def layers(self, corridor: Corridor, forward: bool) -> list[float]:
        """The cruise layers of ``corridor`` in one direction, lowest first.

        Layers lie one vertical minimum apart (at most four in the band, ASSUMPTION) from the
        floor up; a two-way corridor flies even layers one way and odd layers the other, so
        opposite directions never share a layer.
        """
        band = corridor.ceiling_m - corridor.floor_m
        step = max(self.config.separation_vertical_m, band / (MAX_LAYERS - 1))
        count = int(band // step + 1e-9) + 1
        altitudes = [corridor.floor_m + k * step for k in range(count)]
        if not corridor.two_way:
            return altitudes
        own = altitudes[0 if forward else 1::2]
        return own or altitudes[:1]

    def legs(self, start: str, end: str) -> list[Leg]:
        """The corridors from vertiport ``start`` to ``end`` (shortest by length), each in its layer."""
        key = (start, end)
        if key not in self._legs:
            self._legs[key] = self._route(start, end)
        return self._legs[key]

    def _route(self, start: str, end: str) -> list[Leg]:
        edges = [(c.start, c.end, float(self.corridors[c.id].length)) for c in self.config.corridors]
        ports = shortest_path([], edges, start, end)
        if ports is None:
            raise RoutingError(f"no corridor route from vertiport {start} to {end}")
        legs = []
        for a, b in zip(ports, ports[1:]):
            c = self.graph[a][b]
            forward = c.start == a
            xy = np.asarray(self.corridors[c.id].coords)[:: 1 if forward else -1]
            altitude = self.layers(c, forward)[0]
            legs.append(Leg(xy, altitude, float(self.corridors[c.id].length), c, forward))
        return legs

    def ground_speed_mps(self, leg: Leg, airspeed: float, gust_mps: float) -> float:
        """Airspeed plus the wind's along-track part, averaged over the leg's length."""
        wind = self.config.wind
        towards = np.radians(wind.from_deg + 180.0)
        w = (wind.speed_mps + gust_mps) * np.array([np.sin(towards), np.cos(towards)])
        steps = np.diff(leg.xy_m, axis=0)
        lengths = np.hypot(*steps.T)
        along = float((steps @ w).sum() / lengths.sum())
        return max(airspeed + along, 0.25 * airspeed)


def detour_m(start_xy: tuple[float, float], end_xy: tuple[float, float], obstacles: list, clearance_m: float,
             ) -> list[tuple[float, float]]:
    """The shortest path from ``start_xy`` to ``end_xy`` that keeps ``clearance_m`` from every obstacle.

    A visibility graph: the nodes are the two ends and the corners of each obstacle's convex hull
    grown by the clearance; an edge joins two nodes whose straight segment does not enter any grown
    obstacle. Returns the waypoints between the ends (empty when the straight line is clear).
    Raises ``ValueError`` when an end lies inside a grown obstacle or no path exists.
    """
    grown = [shapely.convex_hull(o).buffer(clearance_m, quad_segs=4) for o in obstacles]
    blocked = shapely.union_all(grown)
    # corners pushed a metre outwards, so that a path along a hull's edge does not graze it
    corners = [tuple(c) for g in grown for c in np.asarray(g.buffer(1.0, join_style="mitre").exterior.coords)[:-1]]
    for end in (start_xy, end_xy):
        if blocked.contains(shapely.Point(end)):
            raise ValueError(f"the point {end[0]:.0f}, {end[1]:.0f} lies within {clearance_m:.0f} m of a zone")
    nodes = [tuple(start_xy), tuple(end_xy), *corners]
    xy = np.asarray(nodes, dtype=float)
    i, j = np.triu_indices(len(nodes), k=1)
    segments = shapely.linestrings(np.stack([xy[i], xy[j]], axis=1))
    clear = ~shapely.intersects(segments, shapely.buffer(blocked, -0.01))
    edges = [(a, b, float(np.hypot(*(xy[a] - xy[b])))) for a, b in zip(i[clear].tolist(), j[clear].tolist())]
    path = shortest_path(list(range(len(nodes))), edges, 0, 1)
    if path is None:
        raise ValueError("no path around the zones")
    return [nodes[k] for k in path[1:-1]]
