"""twin/graphs.py gives what networkx gives for the same graph built in the same order, ties included.

A run uses these in place of networkx (the sweepers' covering walk, the drones' corridor routes and
detours); the runs' results stay those networkx's algorithms gave, which these properties pin.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from gwangju_twin.errors import RoutingError
from gwangju_twin.graphs import EdgeMultigraph, shortest_path, spanning_tree
from hypothesis import given, settings
from hypothesis import strategies as st


@st.composite
def balanced_multigraphs(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Edges of a connected, balanced directed multigraph: closed walks through a common node, in a drawn order."""
    nodes = draw(st.integers(2, 9))
    edges: list[tuple[int, int]] = []
    for _ in range(draw(st.integers(1, 6))):
        cycle = [0, *draw(st.lists(st.integers(0, nodes - 1), min_size=1, max_size=6))]
        edges += [(a, b) for a, b in zip(cycle, [*cycle[1:], 0]) if a != b]
    if not edges:
        edges = [(0, 1), (1, 0)]
    return draw(st.permutations(edges))


@settings(max_examples=300, deadline=None)
@given(balanced_multigraphs(), st.data())
def test_the_euler_circuit_is_networkx_s(edges: list[tuple[int, int]], data: st.DataObject) -> None:
    ours, theirs = EdgeMultigraph(), nx.MultiDiGraph()
    first = data.draw(st.sampled_from(sorted({u for u, _ in edges})))
    ours.add_node(first)
    theirs.add_node(first)
    for k, (u, v) in enumerate(edges):
        ours.add_edge(u, v, 100 + k)
        theirs.add_edge(u, v, edge=100 + k)
    source = data.draw(st.sampled_from(sorted({u for u, _ in edges})))
    expected = [theirs.edges[u, v, k]["edge"] for u, v, k in nx.eulerian_circuit(theirs, source=source, keys=True)]
    walk = ours.euler_circuit(source)
    assert walk == expected
    assert sorted(walk) == list(range(100, 100 + len(edges)))  # every edge once
    ends = dict(enumerate(edges, start=100))
    assert ends[walk[0]][0] == source == ends[walk[-1]][1]  # closed, from the source
    assert all(ends[a][1] == ends[b][0] for a, b in zip(walk, walk[1:]))  # a walk
    assert sorted(map(sorted, ours.weak_components())) == sorted(map(sorted, nx.weakly_connected_components(theirs)))


def test_an_unbalanced_or_broken_street_graph_is_one_routing_error() -> None:
    graph = EdgeMultigraph()
    graph.add_edge(0, 1, 7)
    with pytest.raises(RoutingError, match="not balanced"):
        graph.euler_circuit(0)
    graph.add_edge(1, 0, 8)
    graph.add_edge(2, 3, 9)
    graph.add_edge(3, 2, 10)
    with pytest.raises(RoutingError, match="not all connected"):
        graph.euler_circuit(0)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.data())
def test_the_spanning_tree_is_networkx_s_ties_included(count: int, data: st.DataObject) -> None:
    # small whole weights make ties common; 0 is no edge and inf an edge that cannot be driven
    values = st.sampled_from([0.0, 1.0, 2.0, 3.0, 2.5, float("inf")])
    upper = np.array([[data.draw(values) if j > i else 0.0 for j in range(count)] for i in range(count)])
    weights = upper + upper.T
    expected = sorted(nx.minimum_spanning_tree(nx.from_numpy_array(weights)).edges())
    assert spanning_tree(weights) == expected


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 12), st.data())
def test_the_shortest_path_is_shortest_and_networkx_s_when_unique(count: int, data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.integers(0, count - 1), st.integers(0, count - 1),
                                         st.floats(0.5, 100.0)), max_size=30))
    theirs = nx.Graph()
    theirs.add_nodes_from(range(count))
    ours: dict[int, dict[int, float]] = {k: {} for k in range(count)}
    for a, b, length in pairs:
        theirs.add_edge(a, b, length=length)
        ours[a][b] = ours[b][a] = length
    source, target = data.draw(st.integers(0, count - 1)), data.draw(st.integers(0, count - 1))
    path = shortest_path(ours, source, target)
    if not nx.has_path(theirs, source, target):
        assert path is None
        return
    assert path[0] == source and path[-1] == target
    length = sum(ours[a][b] for a, b in zip(path, path[1:]))
    assert length == pytest.approx(nx.shortest_path_length(theirs, source, target, weight="length"))
    if len(list(nx.all_shortest_paths(theirs, source, target, weight="length"))) == 1:
        assert path == nx.shortest_path(theirs, source, target, weight="length")
