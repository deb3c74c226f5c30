"""How the airspace scales: 100 to 1,000 drones over a day, full 3D planning and the record's check.

    python benchmarks/drone_scaling.py [--sizes 100 200 500 1000]
    python benchmarks/drone_scaling.py --write 1000 drones_1000.toml   # then: /usr/bin/time twin run drones_1000.toml

The packaged ``drone_free_zone`` scenario scaled to N drones (vertiport fleets, pads and parcel
demand all x N/7, as in ``scaling.py``) runs for 24 h on the Gwangju area itself: drones need no
road map. For each size, one process, in turn: the model's wall time (every flight planned as a
4D trajectory against every committed flight), events per second, flights, and, separately, the
time the independent checker (``twin.audit.separation_figures``) takes to read every recorded
track and count losses of separation. The growth exponent is the least-squares slope of
log(wall time) against log(drones).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from scaling import _scaled_drones, slope  # noqa: E402


def child(total: int) -> dict:
    from gwangju_twin.agents.drones.audit import separation_figures
    from gwangju_twin.agents.drones.figures import terminals
    from gwangju_twin.areas import load_area
    from gwangju_twin.model import TwinModel
    from gwangju_twin.world import World

    loaded = _scaled_drones(total)
    started, cpu_started = time.perf_counter(), time.process_time()
    model = TwinModel(loaded, World(load_area("cheomdan3"), None))
    model.run_until(model.duration_s)
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    service = next(s for s in model.services if s.id == "drones")
    minima = {kind.id: service.minima(kind) for kind in service.types.values()}
    started = time.perf_counter()
    figures = separation_figures(service.track.arrays(model.now_s), minima, terminals(service))
    check_s = time.perf_counter() - started
    kpis = model.kpis()["drones"]
    return {"drones": total, "wall_s": wall_s, "cpu_s": cpu_s, "events": model.clock.processed, "flights": service.flights,
            "deliveries": service.delivered, "conflicts": service.conflicts, "check_s": check_s,
            "track_points": len(service.rows), "on_time": kpis["on_time_rate"], "delay_mean_s": kpis["delay_mean_s"],
            "hold_h": kpis["ground_hold_h"], "slots": getattr(service.planner, "slots_tried", None), **figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 200, 500, 1000])
    parser.add_argument("--child", type=int)
    parser.add_argument("--write", nargs=2, metavar=("DRONES", "FILE"),
                        help="write the scenario scaled to DRONES drones as a scenario file, for `twin run` (and stop)")
    args = parser.parse_args()
    if args.write:
        total, file = int(args.write[0]), Path(args.write[1])
        _scaled_drones(total, file)
        print(f"wrote {file}: drone_free_zone scaled to {total} drones (fleets, pads and demand x {total}/7)")
        return
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    for total in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--child", str(total)], check=True, capture_output=True,
                              text=True)
        rows.append(json.loads(done.stdout.splitlines()[-1]))
        r = rows[-1]
        slots = "-" if r["slots"] is None else f"{r['slots'] / max(r['flights'], 1):.2f}"
        print(f"| {r['drones']:,} | {r['wall_s']:.2f} s | {r['cpu_s']:.2f} s | {r['events']:,} | {r['events'] / r['wall_s']:,.0f} | "
              f"{r['flights']:,} | {r['conflicts']:,} | {r['losses_of_separation']} | {r['closest_approach_m']} m | "
              f"{r['check_s']:.2f} s | {r['deliveries']:,} | {r['on_time']} | {r['delay_mean_s']} s | {r['hold_h']} h | "
              f"{slots} |", flush=True)
    if len(rows) > 1:
        print(f"growth exponent of wall time in drones: {slope([(r['drones'], r['wall_s']) for r in rows]):.2f}; "
              f"of CPU time: {slope([(r['drones'], r['cpu_s']) for r in rows]):.2f}; "
              f"of the check: {slope([(r['drones'], r['check_s']) for r in rows]):.2f}")


if __name__ == "__main__":
    main()
