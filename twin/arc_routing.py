"""Covering streets with as little deadheading as possible: the directed rural postman problem.

Given the directed edges that must be driven (both curbs of a two-way street are two edges),
:func:`cover_walk` returns a closed walk from the depot that drives every one of them:

1. the required edges and the depot form components; join them along a minimum spanning tree
   of shortest paths (driven both ways, so balance is kept);
2. balance every node (in-degree = out-degree) with the cheapest extra paths, by min-cost flow
   from nodes with surplus arrivals to nodes with surplus departures;
3. walk an Euler circuit of the result from the depot.

With every edge of a strongly connected, already balanced graph required, step 2 adds nothing
and the walk is optimal (the directed Chinese postman); otherwise it is the classic heuristic.
:func:`split_walk` then shares the walk among several sweepers.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from twin.network import RoadNetwork


def cover_walk(net: RoadNetwork, required: list[int], depot: int) -> list[int]:
    """A closed walk (edge indices) from ``depot`` driving every edge in ``required``."""
    if not required:
        return []
    graph = nx.MultiDiGraph()
    graph.add_node(depot)
    for edge in sorted(set(required)):
        graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)
    _connect(net, graph)
    _balance(net, graph)
    circuit = nx.eulerian_circuit(graph, source=depot, keys=True)
    return [graph.edges[u, v, k]["edge"] for u, v, k in circuit]


def _add_path(net: RoadNetwork, graph: nx.MultiDiGraph, source: int, target: int) -> None:
    for edge in net.route_edges(source, target):
        graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)


def _connect(net: RoadNetwork, graph: nx.MultiDiGraph) -> None:
    components = [sorted(c) for c in nx.weakly_connected_components(graph)]
    if len(components) < 2:
        return
    components.sort()
    representatives = [c[0] for c in components]
    dist = net.distance_matrix_m(representatives)
    both_ways = dist + dist.T
    tree = nx.minimum_spanning_tree(nx.from_numpy_array(both_ways))
    for a, b in sorted(tree.edges()):
        _add_path(net, graph, representatives[a], representatives[b])
        _add_path(net, graph, representatives[b], representatives[a])


def _balance(net: RoadNetwork, graph: nx.MultiDiGraph) -> None:
    surplus = {n: graph.in_degree(n) - graph.out_degree(n) for n in sorted(graph.nodes)}
    sources = [n for n, s in surplus.items() if s > 0]  # arrive more than they leave: need extra exits
    sinks = [n for n, s in surplus.items() if s < 0]
    if not sources:
        return
    dist = net.distance_matrix_m(sources + sinks)[: len(sources), len(sources):]
    flow_graph = nx.DiGraph()
    for n in sources:
        flow_graph.add_node(("s", n), demand=-surplus[n])
    for n in sinks:
        flow_graph.add_node(("t", n), demand=-surplus[n])
    for i, a in enumerate(sources):
        for j, b in enumerate(sinks):
            if np.isfinite(dist[i, j]):
                flow_graph.add_edge(("s", a), ("t", b), weight=int(round(dist[i, j] * 100)))
    flow = nx.min_cost_flow(flow_graph)
    for (_, a), targets in sorted(flow.items()):
        for (_, b), units in sorted(targets.items()):
            for _ in range(units):
                _add_path(net, graph, a, b)


def split_walk(net: RoadNetwork, walk: list[int], required: set[int], parts: int) -> list[list[int]]:
    """Cut a walk into ``parts`` consecutive pieces with about equal required length each."""
    if parts <= 1 or not walk:
        return [walk] + [[] for _ in range(max(parts - 1, 0))]
    weights = np.array([net.edge_length_m[e] if e in required else 0.0 for e in walk])
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    cuts = [int(np.searchsorted(cumulative, total * k / parts, side="left")) + 1 for k in range(1, parts)]
    bounds = [0, *cuts, len(walk)]
    return [walk[bounds[k]:bounds[k + 1]] for k in range(parts)]
