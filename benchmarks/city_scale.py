"""A whole city: a generated street grid of about 50,000 nodes and 120,000 directed road edges,
written as an OSM file and imported through the normal path (``twin maps import``), then used.

    python benchmarks/city_scale.py [--side 224] [--out /tmp/city]

The grid lies at Gwangju's coordinates (SYNTHETIC streets: 80 m blocks with jitter, 60 % of the
links kept, one in ten a 50 km/h "secondary", the rest 30 km/h residential). It reports:
import time and peak memory (a child process), cached load time (compiled arrays, a child
process, after the first run compiled them), time per new routing destination (a shortest-path
tree and the time to it from every node, at 5 km/h and 30 km/h), and covering the streets of a
1 km2 district with a sweeper. Peers, in the same run: the per-node Python walk that time_to_s
used before, and the bipartite balancing flow cleaning used before (on the same district).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

LON0, LAT0 = 126.80, 35.10  # south-west corner, in Gwangju
BLOCK_M = 80.0


def write_city(side: int, path: Path, seed: int = 1) -> tuple[int, int, tuple[float, float, float, float]]:
    import osmium

    rng = np.random.default_rng(seed)
    m_per_deg_lat = 111_320.0
    m_per_deg_lon = 111_320.0 * np.cos(np.radians(LAT0))
    jitter = rng.uniform(-12, 12, size=(side, side, 2))
    xs = (np.arange(side)[:, None] * BLOCK_M + jitter[..., 0]) / m_per_deg_lon + LON0
    ys = (np.arange(side)[None, :] * BLOCK_M + jitter[..., 1]) / m_per_deg_lat + LAT0
    node_id = lambda i, j: 1 + i * side + j  # noqa: E731
    writer = osmium.SimpleWriter(str(path), overwrite=True)
    for i in range(side):
        for j in range(side):
            writer.add_node(osmium.osm.mutable.Node(id=node_id(i, j), location=(float(xs[i, j]), float(ys[i, j]))))
    way, links = 1, 0
    for i in range(side):
        for j in range(side):
            for di, dj in ((1, 0), (0, 1)):
                a, b = i + di, j + dj
                if a >= side or b >= side or rng.random() > 0.6:
                    continue
                major = (i % 10 == 0 and di == 0) or (j % 10 == 0 and dj == 0)
                tags = {"highway": "secondary", "maxspeed": "50"} if major else {"highway": "residential"}
                writer.add_way(osmium.osm.mutable.Way(id=way, nodes=[node_id(i, j), node_id(a, b)], tags=tags))
                way, links = way + 1, links + 1
    writer.close()
    return side * side, 2 * links, (LON0, LAT0, float(xs.max()), float(ys.max()))


def child(code: str, env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``code`` in a fresh Python; its wall time (s), peak memory (MiB) and output."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(done.stderr)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return wall, peak, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=224)
    parser.add_argument("--out", type=Path, default=Path("/tmp/twin-city"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pbf = args.out / "city.osm.pbf"
    nodes, directed, (w, s, e, n) = write_city(args.side, pbf)
    areas = args.out / "areas"
    areas.mkdir(exist_ok=True)
    (areas / "city.toml").write_text(f"""id = "city"
kind = "road_area"
name_ko = "합성 도시"
name_en = "Synthetic city"
crs = "auto"
approximate = false
source = "SYNTHETIC: benchmarks/city_scale.py"
polygon = [[{w}, {s}], [{e}, {s}], [{e}, {n}], [{w}, {n}], [{w}, {s}]]
[[sites]]
id = "depot"
kind = "depot"
name_ko = "차고지"
name_en = "Depot"
lon = {(w + e) / 2}
lat = {(s + n) / 2}
approximate = false
source = "SYNTHETIC"
""", encoding="utf-8")
    env = {**os.environ, "TWIN_AREA_PATH": str(areas), "TWIN_CACHE_DIR": str(args.out / "cache")}
    print(f"# city: {nodes} OSM nodes, {directed} directed road links written to {pbf.name} "
          f"({pbf.stat().st_size / 2**20:.1f} MiB)")
    wall, peak, said = child("import sys; sys.argv = ['twin', 'maps', 'import', 'city', "
                             f"{str(pbf)!r}]; from gwangju_twin.cli import main; main()", env)
    print(f"import: {wall:.1f} s, peak {peak:.0f} MiB ({said})")
    load = ("import time; t0 = time.perf_counter(); from gwangju_twin.world import load_world; "
            "t = time.perf_counter(); w = load_world('city'); "
            "print(f'{time.perf_counter() - t:.3f} {t - t0:.3f} {w.network.node_count} {w.network.edge_count}')")
    _, _, first = child(load, env)
    wall, _, second = child(load, env)
    loaded_s, imports_s, net_nodes, net_edges = second.split()
    print(f"network: {net_nodes} nodes, {net_edges} directed edges")
    print(f"first load (compiles arrays): {float(first.split()[0]):.2f} s; cached load: {float(loaded_s):.3f} s "
          f"(+ {float(imports_s):.2f} s of imports; the whole process {wall:.2f} s)")
    bench = """
import time, numpy as np, json
from gwangju_twin.world import load_world
from gwangju_twin.agents.shuttles import arc_routing
net = load_world('city').network
rng = np.random.default_rng(2)
chosen = rng.choice(net.node_count, 120, replace=False).tolist()
out = {}
for kph, targets in ((5.0, chosen[:60]), (30.0, chosen[60:])):  # new destinations each: no tree cached
    t = time.perf_counter()
    for target in targets:
        net.time_to_s(int(target), kph / 3.6)
    out[f'new_destination_ms_{kph:g}'] = (time.perf_counter() - t) / len(targets) * 1000
def old_time_to_s(target, speed):  # the per-node walk used before, as the peer
    dist, pred = net.toward(target)
    times = np.full(net.node_count, np.inf); times[target] = 0.0
    for node in np.argsort(dist, kind='stable'):
        if node == target or not np.isfinite(dist[node]): continue
        following = int(pred[node])
        times[node] = net.edge_time_s(net._edge_of[(int(node), following)], speed) + times[following]
    return times
t = time.perf_counter()
for target in targets[:5]:
    old = old_time_to_s(int(target), 30 / 3.6)
out['old_walk_ms'] = (time.perf_counter() - t) / 5 * 1000
assert np.allclose(old[np.isfinite(old)], net.time_to_s(int(targets[4]), 30 / 3.6)[np.isfinite(old)])
x0, y0 = np.median(net.x_m), np.median(net.y_m)
inside = (np.abs(net.x_m[net.edge_u] - x0) < 500) & (np.abs(net.y_m[net.edge_u] - y0) < 500)
required = np.flatnonzero(inside).tolist()
depot = net.snap(x0, y0).node
t = time.perf_counter(); walk = arc_routing.cover_walk(net, required, depot); out['district_cover_s'] = time.perf_counter() - t
out['district_edges'] = len(required)
out['district_walk_km'] = float(net.edge_length_m[walk].sum() / 1000)
out['district_required_km'] = float(net.edge_length_m[required].sum() / 1000)
t = time.perf_counter(); bound, exact = arc_routing.covering_bound_m(net, required, depot); out['bound_s'] = time.perf_counter() - t
out['bound_km'] = bound / 1000
print(json.dumps(out))
"""
    wall, peak, said = child(bench, env)
    figures = json.loads(said.splitlines()[-1])
    print(f"new destination (tree + times from every node): {figures['new_destination_ms_5']:.2f} ms at 5 km/h, "
          f"{figures['new_destination_ms_30']:.2f} ms at 30 km/h; the old per-node walk: "
          f"{figures['old_walk_ms']:.0f} ms (ratio {figures['old_walk_ms'] / figures['new_destination_ms_30']:.0f}x)")
    print(f"cleaning a 1 km2 district: {figures['district_edges']} edges, {figures['district_required_km']:.1f} km to "
          f"sweep, walk {figures['district_walk_km']:.1f} km in {figures['district_cover_s']:.1f} s; lower bound "
          f"{figures['bound_km']:.1f} km in {figures['bound_s']:.1f} s (peak of that process {peak:.0f} MiB)")


if __name__ == "__main__":
    main()
