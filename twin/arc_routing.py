"""Covering streets with as little deadheading as possible: the directed rural postman problem.

Given the directed edges that must be driven (both curbs of a two-way street are two edges),
:func:`cover_walk` returns a closed walk from the depot that drives every one of them:

1. the required edges and the depot form components; join them along a minimum spanning tree
   of shortest paths (driven both ways, so balance is kept);
2. balance every node (in-degree = out-degree) with the cheapest extra paths, by min-cost flow
   from nodes with surplus arrivals to nodes with surplus departures;
3. walk an Euler circuit of the result from the depot.

When the required edges and the depot are already connected, step 1 adds nothing and steps 2-3
give the optimal walk (with every street required, this is the directed Chinese postman);
otherwise it is the classic heuristic. :func:`covering_bound_m` gives that optimum, or a lower
bound where the required edges are scattered, to judge a plan against. :func:`split_walk` then
shares the walk among several sweepers.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from gwangju_twin.network import RoadNetwork


def cover_walk(net: RoadNetwork, required: list[int], depot: int) -> list[int]:
    """A closed walk (edge indices) from ``depot`` driving every edge in ``required``."""
    if not required:
        return []
    graph = _required_graph(net, required, depot)
    _connect(net, graph)
    for (a, b), units in _balancing_flow(net, graph).items():
        for _ in range(units):
            _add_path(net, graph, a, b)
    circuit = nx.eulerian_circuit(graph, source=depot, keys=True)
    return [graph.edges[u, v, k]["edge"] for u, v, k in circuit]


def covering_bound_m(net: RoadNetwork, required: list[int], depot: int) -> tuple[float, bool]:
    """``(metres, exact)``: the shortest closed walk from ``depot`` driving every required edge.

    The required length plus the cheapest balancing paths (min-cost flow). Exact when the required
    edges and the depot are connected; otherwise joining the pieces costs more, and this is a lower bound.
    """
    if not required:
        return 0.0, True
    graph = _required_graph(net, required, depot)
    required_m = float(net.edge_length_m[sorted(set(required))].sum())
    balancing_m = sum(units * net.distance_m(a, b) for (a, b), units in _balancing_flow(net, graph).items())
    return required_m + balancing_m, nx.number_weakly_connected_components(graph) == 1


def _required_graph(net: RoadNetwork, required: list[int], depot: int) -> nx.MultiDiGraph:
    graph = nx.MultiDiGraph()
    graph.add_node(depot)
    for edge in sorted(set(required)):
        graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)
    return graph


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


def _balancing_flow(net: RoadNetwork, graph: nx.MultiDiGraph) -> dict[tuple[int, int], int]:
    """How many extra shortest paths from ``a`` to ``b`` make every node's in- and out-degree equal, at least cost."""
    surplus = {n: graph.in_degree(n) - graph.out_degree(n) for n in sorted(graph.nodes)}
    sources = [n for n, s in surplus.items() if s > 0]  # arrive more than they leave: need extra exits
    sinks = [n for n, s in surplus.items() if s < 0]
    if not sources:
        return {}
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
    return {(a, b): units for (_, a), targets in sorted(flow.items())
            for (_, b), units in sorted(targets.items()) if units}


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
