"""Small graph algorithms on plain dicts, so that a run needs no networkx (about 0.1 s of a cold start).

networkx stays the twin's tool for building and checking road maps (``twin/osm.py``,
``twin/mapcache.py``); a run needs only a few algorithms on small graphs: a shortest path between
a handful of places, the weakly connected pieces and a minimum spanning tree of a few
representatives, and an Euler circuit of a balanced multigraph. Each gives the answer networkx
gives for the same graph built in the same order (``tests/test_graphs.py`` checks this against
networkx on random graphs, ties included):

* :class:`EdgeMultigraph`'s Euler circuit starts from the same node and takes, at every node, the
  same next edge as ``networkx.eulerian_circuit`` (which walks the reversed graph in insertion order);
* :func:`spanning_tree` is Kruskal's algorithm over the same edge order, ties kept in that order;
* :func:`shortest_path` is Dijkstra's algorithm; where two paths have exactly the same length it
  may pick another of them than networkx's bidirectional search would (both are shortest).
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Hashable, Iterable, Mapping

import numpy as np
from gwangju_twin.errors import RoutingError


class _Components:
    """Union-find: which nodes are joined (by path halving and union by size)."""

    def __init__(self, nodes: Iterable[Hashable] = ()) -> None:
        self.parent: dict[Hashable, Hashable] = {n: n for n in nodes}
        self.size: dict[Hashable, int] = dict.fromkeys(self.parent, 1)

    def root(self, node: Hashable) -> Hashable:
        parent = self.parent.setdefault(node, node)
        self.size.setdefault(node, 1)
        while parent != node:
            grand = self.parent[parent]
            self.parent[node] = grand
            node, parent = parent, self.parent[grand]
        return node

    def join(self, a: Hashable, b: Hashable) -> bool:
        """Join the pieces of ``a`` and ``b``; False if they were one already."""
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return False
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        return True

    def groups(self) -> list[set[Hashable]]:
        pieces: dict[Hashable, set[Hashable]] = {}
        for node in self.parent:
            pieces.setdefault(self.root(node), set()).add(node)
        return list(pieces.values())


class EdgeMultigraph:
    """A directed multigraph whose edges carry an id (e.g. a road edge's index), kept in insertion order.

    Nodes are kept in the order they first appear (as ``add_node`` or an end of ``add_edge``), the
    successors of a node in the order their first edge was added, and parallel edges in the order
    they were added: the order a ``networkx.MultiDiGraph`` built by the same calls keeps.
    """

    def __init__(self) -> None:
        self._succ: dict[int, dict[int, list[int]]] = {}
        self._in: dict[int, int] = {}
        self._out: dict[int, int] = {}
        self.edge_count = 0

    def add_node(self, node: int) -> None:
        if node not in self._succ:
            self._succ[node] = {}
            self._in[node] = self._out[node] = 0

    def add_edge(self, u: int, v: int, edge: int) -> None:
        self.add_node(u)
        self.add_node(v)
        self._succ[u].setdefault(v, []).append(edge)
        self._out[u] += 1
        self._in[v] += 1
        self.edge_count += 1

    @property
    def nodes(self) -> list[int]:
        return list(self._succ)

    def in_degree(self, node: int) -> int:
        return self._in[node]

    def out_degree(self, node: int) -> int:
        return self._out[node]

    def weak_components(self) -> list[set[int]]:
        """The weakly connected pieces (edge directions ignored), each a set of nodes."""
        pieces = _Components(self._succ)
        for u, targets in self._succ.items():
            for v in targets:
                pieces.join(u, v)
        return pieces.groups()

    def euler_circuit(self, source: int) -> list[int]:
        """The edge ids of a closed walk from ``source`` that drives every edge once.

        The walk ``networkx.eulerian_circuit(graph, source, keys=True)`` gives (Hierholzer's
        algorithm on the reversed graph, always leaving a node by its first remaining edge). Raises
        :class:`RoutingError` when no such walk exists (a node arrives more often than it leaves,
        or the edges are not all reachable from ``source``).
        """
        if any(self._in[n] != self._out[n] for n in self._succ) or source not in self._succ:
            raise RoutingError("no closed walk drives every street once: the street graph is not balanced")
        reverse: dict[int, dict[int, deque[int]]] = {n: {} for n in self._succ}
        for u, targets in self._succ.items():
            for v, edges in targets.items():
                reverse[v][u] = deque(edges)
        stack: list[tuple[int, int | None]] = [(source, None)]
        walk: list[int] = []
        while stack:
            node, edge = stack[-1]
            leaving = reverse[node]
            if leaving:
                following = next(iter(leaving))
                parallel = leaving[following]
                stack.append((following, parallel.popleft()))
                if not parallel:
                    del leaving[following]
            else:
                stack.pop()
                if edge is not None:
                    walk.append(edge)
        if len(walk) != self.edge_count or any(self._in[n] == 0 for n in self._succ if n != source):
            raise RoutingError("no closed walk drives every street once: the streets are not all connected")
        return walk


def spanning_tree(weights: np.ndarray) -> list[tuple[int, int]]:
    """The minimum spanning tree (a forest, if some pieces cannot be joined) of the undirected graph
    whose edge ``a``-``b`` weighs ``weights[a, b]`` (a symmetric matrix; 0 is no edge).

    The edges ``(a, b)`` with ``a < b``, sorted: those ``networkx.minimum_spanning_tree`` of
    ``networkx.from_numpy_array(weights)`` gives, ties broken in the same order (row by row).
    """
    count = len(weights)
    rows, columns = np.triu_indices(count, k=1)
    present = weights[rows, columns] != 0
    rows, columns = rows[present].tolist(), columns[present].tolist()
    values = weights[rows, columns].tolist()
    if any(w != w for w in values):
        raise ValueError("spanning_tree: a weight is NaN")
    order = sorted(range(len(values)), key=values.__getitem__)  # stable: ties stay row by row
    pieces = _Components(range(count))
    tree = [(rows[k], columns[k]) for k in order if pieces.join(rows[k], columns[k])]
    return sorted(tree)


def shortest_path(adjacency: Mapping[Hashable, Mapping[Hashable, float]], source: Hashable,
                  target: Hashable) -> list[Hashable] | None:
    """The nodes of a shortest path from ``source`` to ``target`` (``adjacency[a][b]`` is the length
    from ``a`` to ``b``, none negative), or None if there is none. Dijkstra's algorithm."""
    if source == target:
        return [source] if source in adjacency else None
    settled: set[Hashable] = set()
    best = {source: 0.0}
    previous: dict[Hashable, Hashable] = {}
    tie = itertools.count()
    heap = [(0.0, next(tie), source)]
    while heap:
        distance, _, node = heapq.heappop(heap)
        if node in settled:
            continue
        if node == target:
            path = [node]
            while path[-1] != source:
                path.append(previous[path[-1]])
            return path[::-1]
        settled.add(node)
        for neighbour, length in adjacency.get(node, {}).items():
            reach = distance + length
            if neighbour not in settled and reach < best.get(neighbour, float("inf")):
                best[neighbour] = reach
                previous[neighbour] = node
                heapq.heappush(heap, (reach, next(tie), neighbour))
    return None
