"""Covering streets with as little deadheading as possible: the directed rural postman problem.

Given the directed edges that must be driven (both curbs of a two-way street are two edges),
:func:`cover_walk` returns a closed walk from the depot that drives every one of them:

1. the required edges and the depot form components; join them along a minimum spanning tree
   of shortest paths (driven both ways, so balance is kept);
2. balance every node (in-degree = out-degree) with the cheapest extra driving, a min-cost flow
   from the nodes that arrive more often than they leave to those that leave more often. While
   few units are unbalanced (up to ``TRANSPORT_MAX_UNITS``, the usual case of a district's
   streets), as the transportation problem on shortest paths: one unit per row and column, an
   assignment solved by SciPy's sparse-graph matching, each pair driven along its shortest path.
   Beyond that, on the road network itself (one variable per road edge, one balance per node; a
   linear program for HiGHS, whose vertex solutions of a network flow are whole numbers), which
   grows with the network, not with the square of the unbalanced units. Both give the optimum
   (the first to within a millimetre a unit; tests/test_cleaning.py checks they agree); the first
   spares a run SciPy's optimiser and its 0.15 s import;
3. walk an Euler circuit of the result from the depot.

When the required edges and the depot are already connected, step 1 adds nothing and steps 2-3
give the optimal walk (with every street required, this is the directed Chinese postman);
otherwise it is the classic heuristic. :func:`covering_bound_m` gives that optimum, or a lower
bound where the required edges are scattered, to judge a plan against. :func:`split_walk` then
shares the walk among several sweepers. :func:`covering_plan` gives the walk and its bound as
networkx and SciPy work them out, kept per their versions (``twin/memo.py``) so that a run planning
the same streets again imports neither.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin import network
from gwangju_twin.errors import RoutingError
from gwangju_twin.memo import Memo
from gwangju_twin.network import RoadNetwork

if TYPE_CHECKING:
    import networkx as nx

# Plans worked out by networkx and SciPy, kept per their versions and this code's (twin/memo.py): a run
# whose sweepers cover the same streets as an earlier run's reads its plan and imports neither.
_PLANS = Memo("covering_plans.json", ("networkx", "scipy", "numpy"),
              sources=(Path(__file__), Path(network.__file__)), keep_at_most=500)


def covering_plan(net: RoadNetwork, required: list[int], depot: int) -> tuple[list[int], float, bool]:
    """``(walk, bound_m, exact)``: :func:`cover_walk` and :func:`covering_bound_m`, kept once worked out
    (keyed by the network's content, the required edges and the depot)."""
    inputs = {"network": net.digest(), "required": sorted({int(e) for e in required}), "depot": int(depot)}

    def compute() -> list:
        return [cover_walk(net, required, depot), *covering_bound_m(net, required, depot)]

    walk, bound_m, exact = _PLANS.answer("cover", inputs, compute)
    return walk, bound_m, exact


def cover_walk(net: RoadNetwork, required: list[int], depot: int) -> list[int]:
    """A closed walk (edge indices) from ``depot`` driving every edge in ``required``."""
    import networkx as nx  # here: a run whose plan was worked out before never imports it (twin/memo.py)

    if not required:
        return []
    graph = _required_graph(net, required, depot)
    _connect(net, graph)
    for edge, units in _balancing_flow(net, graph).items():
        for _ in range(units):
            graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)
    circuit = nx.eulerian_circuit(graph, source=depot, keys=True)
    return [int(graph.edges[u, v, k]["edge"]) for u, v, k in circuit]


def covering_bound_m(net: RoadNetwork, required: list[int], depot: int) -> tuple[float, bool]:
    """``(metres, exact)``: the shortest closed walk from ``depot`` driving every required edge.

    The required length plus the cheapest balancing paths (min-cost flow). Exact when the required
    edges and the depot are connected; otherwise joining the pieces costs more, and this is a lower bound.
    """
    import networkx as nx

    if not required:
        return 0.0, True
    graph = _required_graph(net, required, depot)
    required_m = float(net.edge_length_m[sorted(set(required))].sum())
    balancing_m = sum(units * float(net.edge_length_m[edge]) for edge, units in _balancing_flow(net, graph).items())
    return required_m + balancing_m, nx.number_weakly_connected_components(graph) == 1


def _required_graph(net: RoadNetwork, required: list[int], depot: int) -> nx.MultiDiGraph:
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_node(depot)
    for edge in sorted(set(required)):
        graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)
    return graph


def _add_path(net: RoadNetwork, graph: nx.MultiDiGraph, source: int, target: int) -> None:
    for edge in net.route_edges(source, target):
        graph.add_edge(int(net.edge_u[edge]), int(net.edge_v[edge]), edge=edge)


def _connect(net: RoadNetwork, graph: nx.MultiDiGraph) -> None:
    import networkx as nx

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


TRANSPORT_MAX_UNITS = 200  # unbalanced units up to which balancing is an assignment on shortest paths


def _balancing_flow(net: RoadNetwork, graph: nx.MultiDiGraph, *, max_transport_units: int = TRANSPORT_MAX_UNITS,
                    ) -> dict[int, int]:
    """How many extra times to drive each road edge so that every node's in- and out-degree are
    equal, at least total length: ``{edge: times}``."""
    surplus = np.zeros(net.node_count, dtype=np.int64)
    for n in graph.nodes:
        surplus[n] = graph.in_degree(n) - graph.out_degree(n)  # arrive more than leave: needs extra exits
    if not surplus.any():
        return {}
    if int(surplus[surplus > 0].sum()) <= max_transport_units:
        return _balancing_paths(net, surplus)
    return _balancing_network_flow(net, surplus)


def _balancing_paths(net: RoadNetwork, surplus: np.ndarray) -> dict[int, int]:
    """The balancing flow as the transportation problem: every unit of surplus (a node that needs
    one more exit) is paired with a unit of deficit at least total shortest-path length."""
    from gwangju_twin import speedups
    from scipy.sparse import csr_matrix

    min_weight_full_bipartite_matching = speedups.csgraph_function("min_weight_full_bipartite_matching", "_matching")
    sources, sinks = np.flatnonzero(surplus > 0), np.flatnonzero(surplus < 0)
    rows = np.repeat(np.arange(len(sources)), surplus[sources])  # one row per unit: its source's index
    columns = np.repeat(np.arange(len(sinks)), -surplus[sinks])
    cost_m = net.distance_matrix_m(sources.tolist(), to=sinks.tolist())[np.ix_(rows, columns)]
    reachable = np.isfinite(cost_m)
    # Whole millimetres: SciPy's LAPJVsp can cycle forever on fractional costs (scipy/scipy#17269
    # and its kin), never on whole ones, and the pairing is then optimal to within a millimetre a
    # unit. Every full matching has one pair per unit, so adding 1 mm to each keeps the optimum and
    # keeps a zero-length pair from reading as "no pair" in the sparse matrix.
    row_of, column_of = np.nonzero(reachable)
    cost_mm = np.rint(cost_m[reachable] * 1000.0) + 1.0
    pairs = csr_matrix((cost_mm, (row_of, column_of)), shape=cost_m.shape)
    try:
        matched_rows, matched_columns = min_weight_full_bipartite_matching(pairs)
    except ValueError:
        raise RoutingError("the streets to cover cannot be balanced on this network (some nodes cannot "
                           "reach the others)") from None
    units: dict[int, int] = {}
    for row, column in zip(matched_rows, matched_columns):
        for edge in net.route_edges(int(sources[rows[row]]), int(sinks[columns[column]])):
            units[edge] = units.get(edge, 0) + 1
    return dict(sorted(units.items()))


def _balancing_network_flow(net: RoadNetwork, surplus: np.ndarray) -> dict[int, int]:
    """The balancing flow as a linear program on the road network (one variable per edge)."""
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix

    m = net.edge_count
    columns = np.concatenate([np.arange(m), np.arange(m)])
    incidence = coo_matrix((np.concatenate([np.ones(m), -np.ones(m)]),
                            (np.concatenate([net.edge_u, net.edge_v]), columns)), shape=(net.node_count, m)).tocsr()
    result = linprog(net.edge_length_m, A_eq=incidence, b_eq=surplus, bounds=(0, None), method="highs-ds")
    if result.status != 0:
        raise RoutingError(f"the streets to cover cannot be balanced on this network ({result.message})")
    units = np.rint(result.x).astype(np.int64)
    if not np.array_equal(incidence @ units, surplus):
        raise RoutingError("the balancing flow is not whole; the network's lengths may be degenerate")
    return {int(e): int(units[e]) for e in np.flatnonzero(units)}


def split_walk(net: RoadNetwork, walk: list[int], required: set[int], parts: int) -> list[list[int]]:
    """Cut a walk into ``parts`` consecutive pieces with about equal required length each.

    No parts (a fleet of 0 sweepers) is no pieces: nobody sweeps. A negative count is a bug of the caller.
    """
    if parts < 0:
        raise ValueError(f"split_walk: parts = {parts}; must be 0 or more")
    if parts == 0:
        return []
    if parts == 1 or not walk:
        return [walk] + [[] for _ in range(max(parts - 1, 0))]
    weights = np.array([net.edge_length_m[e] if e in required else 0.0 for e in walk])
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    cuts = [int(np.searchsorted(cumulative, total * k / parts, side="left")) + 1 for k in range(1, parts)]
    bounds = [0, *cuts, len(walk)]
    return [walk[bounds[k]:bounds[k + 1]] for k in range(parts)]
