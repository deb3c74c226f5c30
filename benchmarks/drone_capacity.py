"""Airspace capacity: the price of safety and the capacity curve of the drone free zone.

    python benchmarks/drone_capacity.py [--seeds 1 2 3] [--densities 1 10] [--curve 1 2 5 10 15 20]
                                        [--plot docs/drone_capacity.png]

Density x: the packaged ``drone_free_zone`` scaled x times (vertiport fleets, pads and parcel
demand, as ``scaling.py`` scales it), 24 h on the real Cheomdan 3 area. The price of safety at a
density is the on-time rate with the scenario's separation minima less the on-time rate with every
minimum (en-route and terminal) set to 1 m, same seeds. The capacity curve is the on-time rate and
the deliveries against that multiplier. Separation figures are the independent checker's
(``agents.drones.audit.separation_figures`` over the recorded tracks).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ONE_METRE = {"separation_horizontal": "1 m", "separation_vertical": "1 m",
             "terminal_separation_horizontal": "1 m", "terminal_separation_vertical": "1 m"}


def scenario(density: float, *, relaxed: bool):
    """``drone_free_zone`` x ``density`` (as ``scaling.py`` scales it); ``relaxed``: every minimum 1 m."""
    import tomllib

    from gwangju_twin import scenario as scenario_io

    path = scenario_io.resolve("drone_free_zone")
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    total = round(7 * density)
    factor = total / sum(sum(port["drones"].values()) for port in data["drones"]["vertiports"])
    given = 0
    for i, port in enumerate(data["drones"]["vertiports"]):
        for kind, count in port["drones"].items():
            port["drones"][kind] = total - given if i == len(data["drones"]["vertiports"]) - 1 else round(count * factor)
            given += port["drones"][kind]
        port["pads"] = min(100, round(port.get("pads", 1) * factor))
    for flow in data["drones"]["flows"]:
        flow["scale"] = flow.get("scale", 1.0) * factor
    if relaxed:
        data["drones"].update(ONE_METRE)
        for kind in data["drones"]["types"]:
            kind.pop("separation_horizontal", None)
            kind.pop("separation_vertical", None)
    return scenario_io.from_data(data, text, f"{path} x{density:g}{' minima 1 m' if relaxed else ''}")


def run(density: float, seed: int, *, relaxed: bool) -> dict:
    from gwangju_twin.areas import load_area
    from gwangju_twin.model import TwinModel
    from gwangju_twin.world import World

    started = time.perf_counter()
    model = TwinModel(scenario(density, relaxed=relaxed), World(load_area("cheomdan3"), None), seed=seed)
    model.run_until(model.duration_s)
    kpis = model.kpis()["drones"]
    return {"density": density, "seed": seed, "relaxed": relaxed, "wall_s": time.perf_counter() - started,
            "on_time": kpis["on_time_rate"] or 0.0, "deliveries": kpis["deliveries"], "requests": kpis["requests"],
            "losses": kpis["losses_of_separation"], "hold_h": kpis["ground_hold_h"], "waits": kpis["wait_by_cause_h"]}


def mean(rows: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--densities", type=float, nargs="+", default=[1, 10])
    parser.add_argument("--curve", type=float, nargs="*", default=[1, 2, 5, 10, 15, 20])
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    print("| density | on time (scenario minima) | on time (1 m) | price of safety (points) | deliveries | "
          "losses (checker) | hold h | waits h (airspace, pads, fleet, energy) |")
    print("|---|---|---|---|---|---|---|---|")
    for density in args.densities:
        safe = [run(density, s, relaxed=False) for s in args.seeds]
        free = [run(density, s, relaxed=True) for s in args.seeds]
        waits = {k: round(statistics.fmean(r["waits"][k] for r in safe), 1) for k in safe[0]["waits"]}
        print(f"| {density:g}x | {mean(safe, 'on_time'):.3f} | {mean(free, 'on_time'):.3f} | "
              f"{100 * (mean(free, 'on_time') - mean(safe, 'on_time')):.1f} | {mean(safe, 'deliveries'):.0f} "
              f"of {mean(safe, 'requests'):.0f} | {sum(r['losses'] for r in safe)} | {mean(safe, 'hold_h'):.1f} | "
              f"{', '.join(str(v) for v in waits.values())} |", flush=True)
    curve = []
    for density in args.curve:
        rows = [run(density, s, relaxed=False) for s in args.seeds]
        curve.append((density, mean(rows, "on_time"), mean(rows, "deliveries"), mean(rows, "requests"),
                      sum(r["losses"] for r in rows), mean(rows, "wall_s")))
        print(f"curve {density:g}x: on time {curve[-1][1]:.3f}, deliveries {curve[-1][2]:.0f} of {curve[-1][3]:.0f}, "
              f"losses {curve[-1][4]}, {curve[-1][5]:.1f} s per run", flush=True)
    if args.plot and curve:
        plot(curve, args.plot)


def plot(curve: list[tuple], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, left = plt.subplots(figsize=(7, 4), dpi=120)
    x = [c[0] for c in curve]
    left.plot(x, [100 * c[1] for c in curve], "o-", color="tab:blue", label="on time (%)")
    left.set_xlabel("density: drones, pads and parcel demand x drone_free_zone")
    left.set_ylabel("parcels on time (%)", color="tab:blue")
    left.set_ylim(0, 100)
    right = left.twinx()
    right.plot(x, [c[2] for c in curve], "s--", color="tab:orange", label="deliveries")
    right.plot(x, [c[3] for c in curve], ":", color="grey", label="requests")
    right.set_ylabel("parcels a day", color="tab:orange")
    left.set_title("Drone free zone: capacity curve (seeds 1-3, mean)")
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.88), ncol=3, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


if __name__ == "__main__":
    main()
