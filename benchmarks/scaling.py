"""How the twin scales: wall time and peak memory for 10 to 5,000 shuttles over a day, and more.

    python benchmarks/scaling.py [--sizes 10 100 1000 5000] [--mix-sizes 100 1000 5000] [--repeats 1]

Each measurement is a fresh process (so peak memory is that run's alone) that imports the twin,
loads the Helsinki test map (imported into the map cache if missing), then builds and runs:

* ``shuttles N``: ``benchmarks/fleet_day.toml`` scaled to N loop shuttles, 24 h at 5 km/h;
* ``mix N``: the packaged Bitgreen scenario's service mix scaled to N vehicles (sweepers, waste
  collectors, on-demand and loop shuttles 2:1:3:1, demand and bins with the fleet; ``fleet.py``);
* ``certification``: the packaged ``certification_center`` scenario for 365 simulated days;
* ``drones``: the packaged ``drone_free_zone`` scenario scaled to 200 drones (vertiport fleets,
  pads and parcel demand all x 200/7) for 24 h;
* ``testbed``: the packaged ``testbed_day`` scenario (both areas, their shuttles, the drones and
  the certification center), both areas on the Helsinki test network, for 24 h.

Every child process is pinned to one core (``sched_setaffinity``), so "real time x" is per core.

Reported per row: the run's wall time (model build + simulation), events processed, events per
second, peak resident memory of the process (the larger of its peak during imports and map
load and its peak during the run) and the run's own peak: the kernel's peak counter (VmHWM) is
read, reset after imports and map load, read again at the end, less the resident memory at that
reset. The growth exponent is the least-squares slope of log(wall time)
against log(shuttles), over all sizes and over the two largest (where fixed costs no longer count).
Sizes are measured in rotation (10, 100, ..., 10, 100, ...) ``--repeats`` times; medians reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

from fleet import AREA, ensure_map, fleet_scenario, machine, mix_scenario

DRONES = 200


def _status_mib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak() -> tuple[float, float]:
    """Reset the kernel's peak-RSS counter (Linux clear_refs 5; getrusage's maximum too).

    Returns the peak before the reset and the resident memory at it.
    """
    before_mib = _status_mib("VmHWM")
    Path("/proc/self/clear_refs").write_text("5")
    return before_mib, _status_mib("VmRSS")


def measure(job: str, folder: Path) -> dict:
    """Run one job in this process and return its figures (called in a fresh child process)."""
    from gwangju_twin import plugins
    from gwangju_twin import scenario as scenario_io
    from gwangju_twin.runner import model_for
    from gwangju_twin.world import scenario_worlds

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    kind, _, size = job.partition(":")
    if kind == "shuttles":
        loaded = scenario_io.load(fleet_scenario(int(size), folder / f"fleet_{size}.toml"))
        duration_s = None
    elif kind == "mix":
        loaded = mix_scenario(int(size))
        duration_s = None
    elif kind == "mixall":
        loaded = mix_scenario(int(size), everything=True)
        duration_s = None
    elif kind == "certification":
        loaded = scenario_io.load(scenario_io.resolve("certification_center"))
        duration_s = 365 * 86400.0
    elif kind == "drones":
        loaded = _scaled_drones(DRONES)
        duration_s = None
    elif kind == "testbed":
        loaded = scenario_io.load(scenario_io.resolve("testbed_day"))
        duration_s = None
    else:
        raise SystemExit(f"unknown job {job!r}")
    worlds = scenario_worlds(loaded.spec, override=AREA)
    plugins.plugins()  # every service's module imported before the timer (the first run's imports are not its work)
    load_peak_mib, base_mib = _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    model = model_for(loaded, worlds, duration_s=duration_s)
    model.run_until(model.duration_s)
    wall_s, cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
    run_peak_mib = _status_mib("VmHWM")
    return {"job": job, "wall_s": wall_s, "cpu_s": cpu_s, "events": model.clock.processed, "simulated_s": model.now_s,
            "peak_mib": max(load_peak_mib, run_peak_mib), "run_peak_mib": run_peak_mib - base_mib,
            "kpis": model.kpis(), "track_points": len(model.tracks.rows),
            "vehicle_km": sum(v.get("vehicle_km", 0.0) for v in model.kpis().values() if isinstance(v, dict))}


def _scaled_drones(total: int, out: Path | None = None):
    """The packaged drone scenario with ``total`` drones; pads and demand scaled by the same factor.

    ``out``: also write it there as a scenario file (for ``twin run`` as a whole process) and load that."""
    from gwangju_twin import scenario as scenario_io

    path = scenario_io.resolve("drone_free_zone")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    ports = data["drones"]["vertiports"]
    base = sum(sum(port["drones"].values()) for port in ports)
    factor = total / base
    given = 0
    for i, port in enumerate(ports):
        for kind, count in port["drones"].items():
            port["drones"][kind] = total - given if i == len(ports) - 1 else round(count * factor)
            given += port["drones"][kind]
        port["pads"] = min(100, round(port.get("pads", 1) * factor))
    for flow in data["drones"]["flows"]:
        flow["scale"] = flow.get("scale", 1.0) * factor
    if out is not None:
        import tomli_w

        data["scenario"]["name"] = f"drone_free_zone_{total}"
        out.write_text(tomli_w.dumps(data), encoding="utf-8")
        return scenario_io.load(out)
    return scenario_io.from_data(data, path.read_text(encoding="utf-8"), f"{path} x{factor:.1f}")


def run_child(job: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", job], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.splitlines()[-1])


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(y) against log(x)."""
    xs, ys = [math.log(x) for x, _ in points], [math.log(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 5000])
    parser.add_argument("--mix-sizes", type=int, nargs="*", default=[100, 1000, 5000],
                        help="vehicles of the Bitgreen service mix (none: skip the mix)")
    parser.add_argument("--mix-all-sizes", type=int, nargs="*", default=[],
                        help="vehicles of the service mix with everything scaled (operators, chargers, sweeper "
                             "fleets, bins, demand, trajectories recorded; fleet.mix_scenario(everything=True))")
    parser.add_argument("--only-mix", action="store_true", help="skip the shuttles, certification, drones and testbed jobs")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(args.child, Path(tmp))))
        return
    ensure_map()
    jobs = ([] if args.only_mix else [f"shuttles:{n}" for n in args.sizes]) + [f"mix:{n}" for n in args.mix_sizes]
    jobs += [f"mixall:{n}" for n in args.mix_all_sizes] + ([] if args.only_mix else ["certification", "drones", "testbed"])
    runs: dict[str, list[dict]] = {job: [] for job in jobs}
    for _ in range(args.repeats):
        for job in jobs:
            runs[job].append(run_child(job))
    print(f"machine: {machine()}; medians of {args.repeats} rotation(s), one process per run")
    print("| run | simulated | wall time | events | events/s | process peak memory | run's own peak | real time x |")
    print("|---|---|---|---|---|---|---|---|")
    walls = {}
    for job in jobs:
        rows = runs[job]
        wall = statistics.median(r["wall_s"] for r in rows)
        walls[job] = wall
        r = rows[0]
        peak = statistics.median(x["peak_mib"] for x in rows)
        added = statistics.median(x["run_peak_mib"] for x in rows)
        print(f"| {_label(job)} | {r['simulated_s'] / 86400:g} d | {wall:.2f} s | {r['events']:,} | "
              f"{r['events'] / wall:,.0f} | {peak:.0f} MiB | {added:.0f} MiB | {r['simulated_s'] / wall:,.0f} |")
    if not args.only_mix:
        points = [(n, walls[f"shuttles:{n}"]) for n in args.sizes]
        print(f"growth exponent of wall time in shuttles: {slope(points):.2f} over {args.sizes}; "
              f"{slope(points[-2:]):.2f} between the two largest")
        memory = [(n, max(statistics.median(x["run_peak_mib"] for x in runs[f"shuttles:{n}"]), 0.1))
                  for n in args.sizes]
        print(f"growth exponent of the run's own peak memory: {slope(memory[-2:]):.2f} between the two largest")
    for kind, sizes in (("mix", args.mix_sizes), ("mixall", args.mix_all_sizes)):
        _mix_report(kind, sizes, runs, walls)
    if not args.only_mix:
        _key_figures(runs)


def _mix_report(kind: str, sizes: list[int], runs: dict[str, list[dict]], walls: dict[str, float]) -> None:
    """The service mix's growth exponent and, per size, the work done (so equal work per vehicle shows)."""
    if len(sizes) > 1:
        mix = [(n, walls[f"{kind}:{n}"]) for n in sizes]
        cpu = [(n, statistics.median(r["cpu_s"] for r in runs[f"{kind}:{n}"])) for n in sizes]
        print(f"{_label(f'{kind}:N')}: growth exponent of wall time {slope(mix):.2f} over {sizes}; "
              f"{slope(mix[-2:]):.2f} between the two largest; of CPU time {slope(cpu):.2f} and {slope(cpu[-2:]):.2f} "
              f"(CPU s: {', '.join(f'{c:.2f}' for _, c in cpu)})")
    for n in sizes:
        run = runs[f"{kind}:{n}"][0]
        od = next(v for v in run["kpis"].values() if isinstance(v, dict) and v.get("service") == "on_demand")
        print(f"  {kind} {n}: vehicle-km {run['vehicle_km']:,.0f} ({run['vehicle_km'] / n:.1f} a vehicle), "
              f"track points {run['track_points']:,}, on-demand requests {od['requests']}, served {od['served']}, "
              f"rejected {od['rejected']}, wait mean {od['wait_mean_s']} s")


def _label(job: str) -> str:
    kind, _, size = job.partition(":")
    return {"shuttles": f"{size} shuttles", "mix": f"service mix, {size} vehicles",
            "mixall": f"service mix with everything scaled, {size} vehicles", "certification": "certification, 1 year",
            "drones": f"{DRONES} drones", "testbed": "testbed_day (everything)"}[kind]


def _key_figures(runs: dict[str, list[dict]]) -> None:
    cert = runs["certification"][0]["kpis"]
    drones = runs["drones"][0]["kpis"]
    lab = next(v for v in cert.values() if isinstance(v, dict) and v.get("service") == "certification")
    fly = next(v for v in drones.values() if isinstance(v, dict) and v.get("service") == "drones")
    print(f"certification year: {json.dumps({k: lab[k] for k in list(lab)[:8]}, ensure_ascii=False)}")
    print(f"200 drones: deliveries {fly['deliveries']}, flights {fly['flights']}, "
          f"losses of separation {fly['losses_of_separation']}, conflicts {fly['conflicts_detected']}")


if __name__ == "__main__":
    main()
