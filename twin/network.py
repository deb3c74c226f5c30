"""A road network compiled for the hot loop: node arrays, a sparse matrix and batched Dijkstra.

Built once per run from the cached osmnx graph. networkx is for building and checking;
routing here runs on ``scipy.sparse``: one Dijkstra tree per destination (stops, depots, bins),
cached, which every vehicle heading there shares; planners ask for distance matrices in one
batch. Positions are numpy arrays in the area's metric CRS.

Trees are also kept on disk (twin/route_trees.py), so that a run whose destinations were routed
before reads the very arrays SciPy gave and imports no SciPy (the sparse matrices are built on first use).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin import route_trees, speedups
from gwangju_twin.errors import RoutingError

if TYPE_CHECKING:
    import networkx as nx

KPH_TO_MPS = 1000.0 / 3600.0
ROUTE_CACHE_BYTES = 256 * 2**20  # shortest-path trees and time arrays kept per network, at most (LRU)
ROUTE_CACHE_SIZE = 4096  # shortest paths kept per network, as edge lists (LRU)


def __getattr__(name: str) -> object:
    """``csr_matrix`` and ``dijkstra`` (scipy.sparse.csgraph's, without scipy.linalg), imported when first asked for."""
    if name == "csr_matrix":
        return speedups.scipy_sparse().csr_matrix
    if name == "dijkstra":
        return _dijkstra()
    raise AttributeError(name)


@functools.cache
def _dijkstra():  # noqa: ANN202 - scipy's
    return speedups.csgraph_function("dijkstra", "_shortest_path")


@dataclass(frozen=True)
class Snap:
    """Where a point meets the network: the nearest node and how far it was."""

    node: int
    distance_m: float


class RoadNetwork:
    """Directed road graph with integer nodes ``0..n-1`` and one edge per ordered node pair.

    Parallel OSM edges between the same two nodes keep the shortest one.
    """

    def __init__(self, graph: nx.MultiDiGraph, *, crs: str, fingerprint: str,
                 cache_bytes: int = ROUTE_CACHE_BYTES) -> None:
        self.crs = crs
        self.fingerprint = fingerprint
        self.osm_ids = np.array(list(graph.nodes), dtype=np.int64)
        index = {osm_id: i for i, osm_id in enumerate(graph.nodes)}
        self.x_m = np.array([graph.nodes[n]["x"] for n in graph.nodes], dtype=float)
        self.y_m = np.array([graph.nodes[n]["y"] for n in graph.nodes], dtype=float)

        best: dict[tuple[int, int], dict] = {}
        for u, v, data in graph.edges(data=True):
            key = (index[u], index[v])
            if key not in best or data["length"] < best[key]["length"]:
                best[key] = data
        pairs = sorted(best)
        self.edge_u = np.array([u for u, _ in pairs], dtype=np.int64)
        self.edge_v = np.array([v for _, v in pairs], dtype=np.int64)
        self.edge_length_m = np.array([best[p]["length"] for p in pairs], dtype=float)
        self.edge_speed_limit_mps = np.array([best[p]["speed_kph"] * KPH_TO_MPS for p in pairs], dtype=float)
        self.edge_name = [_first(best[p].get("name", "")) for p in pairs]
        self.edge_coords_m = [self._coords(best[p], u, v) for p, (u, v) in zip(pairs, pairs)]
        self._index(cache_bytes)

    def _index(self, cache_bytes: int) -> None:
        """Build the lookups, sparse matrices and caches every query uses."""
        self._edge_of = {(int(u), int(v)): e for e, (u, v) in enumerate(zip(self.edge_u, self.edge_v))}
        # Plain Python lists for the per-event hot path: indexing them is several times faster
        # than indexing numpy arrays one element at a time.
        self.edge_v_list: list[int] = self.edge_v.tolist()
        self.edge_length_list: list[float] = self.edge_length_m.tolist()
        self.xy_list: list[tuple[float, float]] = list(zip(self.x_m.tolist(), self.y_m.tolist()))  # nodes' (x_m, y_m)
        self._edge_times: dict[float, list[float]] = {}
        n = len(self.osm_ids)
        self._sparse: dict[str, object] | None = None
        self._geometry_cache: dict[int, tuple] = {}
        self._time_cache: OrderedDict[tuple[int, float], np.ndarray] = OrderedDict()
        self._toward_cache: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        # Routes asked for again (a loop's legs, a depot's way out): the same edges, walked once.
        self._route_cache: OrderedDict[tuple[int, int], tuple[int, ...]] = OrderedDict()
        # Caches bounded in bytes, not entries: a tree is n distances and n predecessors, a time array n floats.
        tree_bytes, times_bytes = 12 * max(n, 1), 8 * max(n, 1)
        self._tree_limit = max(8, cache_bytes // 2 // tree_bytes)
        self._times_limit = max(8, cache_bytes // 2 // times_bytes)
        self._min_limit_mps = float(self.edge_speed_limit_mps.min()) if len(self.edge_u) else 0.0

    @property
    def matrix(self):  # noqa: ANN201 - a scipy.sparse CSR matrix
        """Edge lengths in metres as a sparse (node, node) matrix."""
        return _matrices(self)["matrix"]

    def save_npz(self, path: Path) -> None:
        """Write the compiled network (arrays only) so runs need neither networkx nor osmnx to load it."""
        offsets = np.cumsum([0] + [len(c) for c in self.edge_coords_m])
        np.savez(
            path, crs=np.array(self.crs), fingerprint=np.array(self.fingerprint), osm_ids=self.osm_ids,
            x_m=self.x_m, y_m=self.y_m, edge_u=self.edge_u, edge_v=self.edge_v, edge_length_m=self.edge_length_m,
            edge_speed_limit_mps=self.edge_speed_limit_mps, edge_name=np.array(self.edge_name, dtype=str),
            coords_m=np.concatenate(self.edge_coords_m) if self.edge_coords_m else np.zeros((0, 2)),
            coords_offsets=offsets,
        )

    @classmethod
    def load_npz(cls, path: Path, *, cache_bytes: int = ROUTE_CACHE_BYTES) -> RoadNetwork:
        """Read a network written by :meth:`save_npz`."""
        with np.load(path, allow_pickle=False) as data:
            network = cls.__new__(cls)
            network.crs, network.fingerprint = str(data["crs"]), str(data["fingerprint"])
            for name in ("osm_ids", "x_m", "y_m", "edge_u", "edge_v", "edge_length_m", "edge_speed_limit_mps"):
                setattr(network, name, data[name])
            network.edge_name = [str(name) for name in data["edge_name"]]
            coords, offsets = data["coords_m"], data["coords_offsets"]
            network.edge_coords_m = [coords[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
        network._index(cache_bytes)
        return network

    def digest(self) -> str:
        """The sha256 (hex) of the network's routing content: its node count, edges and their lengths
        (what shortest paths depend on), worked out once; two networks with one digest route alike."""
        if getattr(self, "_digest", None) is None:
            content = hashlib.sha256(np.int64(self.node_count).tobytes())
            for array, dtype in ((self.edge_u, "<i8"), (self.edge_v, "<i8"), (self.edge_length_m, "<f8")):
                content.update(np.ascontiguousarray(array, dtype=dtype).tobytes())
            self._digest = content.hexdigest()
        return self._digest

    @property
    def node_count(self) -> int:
        return len(self.osm_ids)

    @property
    def edge_count(self) -> int:
        return len(self.edge_u)

    @property
    def total_length_m(self) -> float:
        return float(self.edge_length_m.sum())

    def _coords(self, data: dict, u: int, v: int) -> np.ndarray:
        geometry = data.get("geometry")
        if geometry is not None:
            return np.asarray(geometry.coords, dtype=float)
        return np.array([[self.x_m[u], self.y_m[u]], [self.x_m[v], self.y_m[v]]])

    def point_along(self, edge: int, fraction: float) -> tuple[float, float]:
        """The point ``fraction`` (0..1) of the way along ``edge``'s geometry."""
        coords, cumulative = self._geometry(edge)
        if len(cumulative) == 2:  # a straight edge, the common case: no search
            x0, y0, x1, y1 = coords
            return x0 + fraction * (x1 - x0), y0 + fraction * (y1 - y0)
        target = fraction * cumulative[-1]
        i = min(bisect.bisect_right(cumulative, target) - 1, len(cumulative) - 2)
        step = cumulative[i + 1] - cumulative[i]
        local = (target - cumulative[i]) / step if step > 0 else 0.0
        (xa, ya), (xb, yb) = coords[i], coords[i + 1]
        return xa + local * (xb - xa), ya + local * (yb - ya)

    def points_along(self, edges: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """:meth:`point_along` for many (edge, fraction) pairs in one numpy pass: an (n, 2) array.

        Every edge's points sit in one array, their distances along the edge offset by the
        lengths of the edges before it, so one binary search finds each pair's segment.
        """
        flat = self._flat_geometry()
        edges = np.asarray(edges, dtype=np.intp)
        first, last = flat["first"][edges], flat["first"][edges + 1] - 1  # an edge's first and last point
        target = flat["along"][first] + np.asarray(fractions, dtype=float) * flat["length"][edges]
        i = np.clip(np.searchsorted(flat["along"], target, side="right") - 1, first, last - 1)
        step = flat["along"][i + 1] - flat["along"][i]
        local = np.divide(target - flat["along"][i], step, out=np.zeros_like(target), where=step > 0)
        coords = flat["coords"]
        return coords[i] + local[:, None] * (coords[i + 1] - coords[i])

    def _flat_geometry(self) -> dict[str, np.ndarray]:
        """All edges' points in one array, with where each edge starts and the running distance."""
        flat = self.__dict__.get("_flat")
        if flat is None:
            coords = np.concatenate(self.edge_coords_m) if self.edge_coords_m else np.zeros((0, 2))
            first = np.concatenate([[0], np.cumsum([len(c) for c in self.edge_coords_m])]).astype(np.intp)
            step = np.hypot(*np.diff(coords, axis=0).T) if len(coords) else np.zeros(0)
            step[first[1:-1] - 1] = 0.0  # from one edge's last point to the next edge's first: not a road
            along = np.concatenate([[0.0], np.cumsum(step)])
            flat = self._flat = {"coords": coords, "first": first, "along": along,
                                 "length": along[first[1:] - 1] - along[first[:-1]]}
        return flat

    def _geometry(self, edge: int) -> tuple:
        """An edge's points and cumulative lengths as plain Python lists, computed once per edge
        (the viewer places every vehicle every frame)."""
        hit = self._geometry_cache.get(edge)
        if hit is None:
            coords = self.edge_coords_m[edge]
            cumulative = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))]).tolist()
            points = coords.ravel().tolist() if len(coords) == 2 else coords.tolist()
            hit = self._geometry_cache[edge] = (points, cumulative)
        return hit

    def snap(self, x_m: float, y_m: float) -> Snap:
        """The nearest node to a point (the first of equally near ones).

        One pass over the nodes' coordinates: the twin snaps a few named sites per area, once
        each, which costs less than building (and importing) a spatial index.
        """
        distance_m = np.hypot(self.x_m - x_m, self.y_m - y_m)
        node = int(np.argmin(distance_m))
        return Snap(node, float(distance_m[node]))

    def snap_site(self, name: str, x_m: float, y_m: float, max_distance_m: float) -> int:
        """Snap a named place, refusing it with one line if it is too far from any road."""
        snap = self.snap(x_m, y_m)
        if snap.distance_m > max_distance_m:
            raise RoutingError(
                f"'{name}' is {snap.distance_m:.0f} m from the nearest road node, "
                f"more than the allowed {max_distance_m:.0f} m; move it or raise snap_distance"
            )
        return snap.node

    def toward(self, target: int) -> tuple[np.ndarray, np.ndarray]:
        """``(distance_m, next_node)`` from every node to ``target``, cached per target.

        Trees rooted at destinations: vehicles that re-plan at every node need only as many
        trees as there are destinations (stops, depots, bins), not one per node they pass.
        """
        hit = self._toward_cache.get(target)
        if hit is not None:
            self._toward_cache.move_to_end(target)
            return hit
        hit = route_trees.kept(self, target)
        if hit is None:
            dist, pred = _dijkstra()(_matrices(self)["reverse"], directed=True, indices=target,
                                     return_predecessors=True)
            hit = (dist, pred.astype(np.int32))
            route_trees.keep(self, target, *hit)
        self._toward_cache[target] = hit
        if len(self._toward_cache) > self._tree_limit:
            self._toward_cache.popitem(last=False)
        return self._toward_cache[target]

    def next_edge_toward(self, node: int, target: int) -> int:
        """The first edge of a shortest path from ``node`` to ``target`` (``node != target``)."""
        dist, pred = self.toward(target)
        if not np.isfinite(dist[node]):
            raise RoutingError(f"node {self.osm_ids[target]} cannot be reached from node {self.osm_ids[node]}")
        return self._edge_of[(node, int(pred[node]))]

    def distance_matrix_m(self, nodes: list[int], to: list[int] | None = None) -> np.ndarray:
        """Shortest distances from every one of ``nodes`` (rows) to every one of ``to`` (columns;
        default ``nodes`` again), in one batch; ``inf`` where there is no way."""
        targets = nodes if to is None else to
        if not nodes or not targets:
            return np.zeros((len(nodes), len(targets)))
        return _dijkstra()(self.matrix, directed=True, indices=nodes)[:, targets]

    def distance_m(self, source: int, target: int) -> float:
        """Shortest driving distance; ``inf`` if ``target`` cannot be reached."""
        return float(self.toward(target)[0][source])

    def route_edges(self, source: int, target: int) -> list[int]:
        """Edges of the shortest path from ``source`` to ``target`` (empty if they are the same node).

        Each path is walked once and kept (the most recent :data:`ROUTE_CACHE_SIZE` of them): a fleet
        on a loop asks for the same few legs thousands of times a day.
        """
        key = (source, target)
        hit = self._route_cache.get(key)
        if hit is not None:
            self._route_cache.move_to_end(key)
            return list(hit)
        dist, pred = self.toward(target)
        if not np.isfinite(dist[source]):
            raise RoutingError(f"node {self.osm_ids[target]} cannot be reached from node {self.osm_ids[source]}")
        edges, node = [], source
        while node != target:
            following = int(pred[node])
            edges.append(self._edge_of[(node, following)])
            node = following
        self._route_cache[key] = tuple(edges)
        if len(self._route_cache) > ROUTE_CACHE_SIZE:
            self._route_cache.popitem(last=False)
        return edges

    def time_to_s(self, target: int, max_speed_mps: float) -> np.ndarray:
        """Time from every node to ``target`` along :meth:`route_edges` for a vehicle capped at ``max_speed_mps``.

        When the cap is below every road's limit (5 km/h shuttles), it is the distance over the cap.
        Otherwise the edge times are summed up the shortest-path tree by pointer doubling: every
        node adds the sum of its current ancestor and jumps to that ancestor's ancestor, so
        log2(depth) vectorised passes replace a walk over every node.
        """
        key = (target, max_speed_mps)
        hit = self._time_cache.get(key)
        if hit is not None:
            self._time_cache.move_to_end(key)
            return hit
        dist, pred = self.toward(target)
        if max_speed_mps <= self._min_limit_mps:
            times = dist / max_speed_mps
        else:
            n = self.node_count
            reach = np.isfinite(dist)
            moving = reach.copy()
            moving[target] = False
            nodes = np.flatnonzero(moving)
            parent = np.full(n, target, dtype=np.int64)
            parent[nodes] = pred[nodes]
            total = np.zeros(n)
            edges = np.asarray(_matrices(self)["edges"][nodes, parent[nodes]]).ravel() - 1
            total[nodes] = np.asarray(self.edge_times_s(max_speed_mps))[edges]
            while (parent[nodes] != target).any():
                total = total + total[parent]  # total[target] stays 0
                parent = parent[parent]
            times = np.where(reach, total, np.inf)
        self._time_cache[key] = times
        if len(self._time_cache) > self._times_limit:
            self._time_cache.popitem(last=False)
        return times

    def edge_time_s(self, edge: int, max_speed_mps: float) -> float:
        """Time to drive ``edge`` at ``min(max_speed_mps, the edge's limit)``."""
        return self.edge_times_s(max_speed_mps)[edge]

    def edge_times_s(self, max_speed_mps: float) -> list[float]:
        """Time to drive every edge at ``min(max_speed_mps, its limit)``, computed once per speed cap."""
        times = self._edge_times.get(max_speed_mps)
        if times is None:
            times = (self.edge_length_m / np.minimum(max_speed_mps, self.edge_speed_limit_mps)).tolist()
            self._edge_times[max_speed_mps] = times
        return times

    def travel_time_s(self, source: int, target: int, max_speed_mps: float) -> float:
        """Time along the shortest path for a vehicle capped at ``max_speed_mps``."""
        return float(self.time_to_s(target, max_speed_mps)[source])


def _matrices(network: RoadNetwork) -> dict:
    """The sparse matrices ``network``'s routing runs on, built (and SciPy imported) when first needed: edge
    lengths, their transpose, and edge index + 1 by (u, v), to find the edges of many (node, next node) pairs at once."""
    if network._sparse is None:  # noqa: SLF001 - the network's own cache
        csr_matrix, n, u, v = speedups.scipy_sparse().csr_matrix, network.node_count, network.edge_u, network.edge_v
        matrix = csr_matrix((network.edge_length_m, (u, v)), shape=(n, n))
        edges = csr_matrix((np.arange(1, len(u) + 1), (u, v)), shape=(n, n))
        network._sparse = {"matrix": matrix, "reverse": matrix.T.tocsr(), "edges": edges}  # noqa: SLF001
    return network._sparse  # noqa: SLF001


def _first(value: object) -> str:
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value) if value else ""
