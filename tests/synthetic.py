"""SYNTHETIC road networks for analytic tests (not OpenStreetMap data).

Builds osmnx-shaped graphs (node ``x``/``y`` in metres, edge ``length`` and ``speed_kph``) in
UTM 52N around a point in Gwangju, with an :class:`~twin.areas.Area` whose sites sit on chosen
nodes, so that results can be computed by hand.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pyproj
from gwangju_twin.areas import Area, AreaSpec, SiteSpec
from gwangju_twin.network import RoadNetwork
from gwangju_twin.world import World

CRS = "EPSG:32652"
ORIGIN_LONLAT = (126.85, 35.23)
_TO_M = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
_TO_DEG = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)
X0, Y0 = _TO_M.transform(*ORIGIN_LONLAT)


def grid_graph(columns: int, rows: int, spacing_m: float, speed_kph: float = 50.0) -> nx.MultiDiGraph:
    """A two-way grid; node ``(c, r)`` has id ``r * columns + c + 1`` at ``(c, r) * spacing_m``."""
    graph = nx.MultiDiGraph(crs=CRS)
    for r in range(rows):
        for c in range(columns):
            graph.add_node(r * columns + c + 1, x=X0 + c * spacing_m, y=Y0 + r * spacing_m)
    for r in range(rows):
        for c in range(columns):
            here = r * columns + c + 1
            for dc, dr in ((1, 0), (0, 1)):
                if c + dc < columns and r + dr < rows:
                    there = (r + dr) * columns + (c + dc) + 1
                    for u, v in ((here, there), (there, here)):
                        graph.add_edge(u, v, length=spacing_m, speed_kph=speed_kph, highway="service")
    return graph


def world(graph: nx.MultiDiGraph, sites: dict[str, int | tuple[float, float]]) -> World:
    """A world over ``graph`` with sites on the given node ids or at given ``(x_m, y_m)`` points."""
    specs = []
    for name, where in sites.items():
        x_m, y_m = where if isinstance(where, tuple) else (graph.nodes[where]["x"], graph.nodes[where]["y"])
        lon, lat = _TO_DEG.transform(x_m, y_m)
        specs.append(SiteSpec(id=name, kind="stop", name_ko=name, name_en=name, lon=lon, lat=lat,
                              approximate=False, source="synthetic"))
    xs = [d["x"] for _, d in graph.nodes(data=True)]
    ys = [d["y"] for _, d in graph.nodes(data=True)]
    ring = [(min(xs) - 50, min(ys) - 50), (max(xs) + 50, min(ys) - 50), (max(xs) + 50, max(ys) + 50),
            (min(xs) - 50, max(ys) + 50)]
    polygon = [_TO_DEG.transform(x, y) for x, y in ring + ring[:1]]
    spec = AreaSpec(id="synthetic", kind="road_area", name_ko="합성", name_en="synthetic", crs=CRS,
                    approximate=False, source="synthetic test network", polygon=polygon, sites=specs)
    return World(Area(spec, Path("synthetic.toml")), RoadNetwork(graph, crs=CRS, fingerprint="synthetic"))


def line_graph(edges: int, spacing_m: float, names: tuple[str, str] = ("Forward", "Back"),
               speed_kph: float = 50.0) -> nx.MultiDiGraph:
    """A straight two-way road of ``edges`` edges; eastbound edges are named ``names[0]``."""
    graph = nx.MultiDiGraph(crs=CRS)
    for i in range(edges + 1):
        graph.add_node(i + 1, x=X0 + i * spacing_m, y=Y0)
    for i in range(1, edges + 1):
        graph.add_edge(i, i + 1, length=spacing_m, speed_kph=speed_kph, highway="service", name=names[0])
        graph.add_edge(i + 1, i, length=spacing_m, speed_kph=speed_kph, highway="service", name=names[1])
    return graph


def scenario_text(fleets: str, *, duration: str = "24 h", extra: str = "") -> str:
    """A scenario on the synthetic area with the given ``[[shuttles.fleet]]`` tables."""
    return f"""
[scenario]
name = "synthetic"
area = "synthetic"
duration = "{duration}"
[shuttles]
{extra}
{fleets}
"""
