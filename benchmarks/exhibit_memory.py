"""Memory of an unattended exhibition: the viewer in exhibition mode (captions, site tour, model
restarted at the end of each simulated day) looping over several simulated days, headless.

    python benchmarks/exhibit_memory.py [--scenario testbed_day] [--area helsinki_test] [--days 4]

Each simulated day is drawn as frames of 1/30 s of wall time at --speed simulated seconds per
wall second (default 1,800: a day in 1,440 frames). After every day (one loop) it prints the
process's resident memory (from /proc) and the Python heap (tracemalloc). Flat means: the last
loop's figures within a few percent of the second's (the first loop warms caches). The peer is
the same process before the first frame.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
import tracemalloc

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from gwangju_twin import runner, scenario  # noqa: E402
from gwangju_twin.viz.app import Viewer  # noqa: E402


def rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="testbed_day")
    parser.add_argument("--area", default="helsinki_test")
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--speed", type=float, default=1800.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    path = scenario.resolve(args.scenario)
    area = args.area or None
    first = runner.build_model(path, area=area)
    worlds = dict(first.worlds)

    def make(loop: int):  # noqa: ANN202 - a TwinModel
        return first if loop == 0 else runner.build_model(path, seed=first.seed_used + loop, area=area, worlds=worlds)

    width, height = (int(v) for v in args.size.split("x"))
    viewer = Viewer(make, size=(width, height), exhibit=True, fullscreen=False, speed=args.speed)
    tracemalloc.start()
    gc.collect()
    print(f"# {args.scenario} on {args.area or 'its own map'}, {width}x{height}, {args.speed:g}x, exhibition mode")
    print(f"before the first frame: RSS {rss_mib():.1f} MiB, heap {tracemalloc.get_traced_memory()[0] / 2**20:.1f} MiB")
    print("| loop (simulated day) | frames | wall s | RSS MiB | Python heap MiB |")
    print("|---:|---:|---:|---:|---:|")
    frames, started = 0, time.perf_counter()
    for day in range(args.days):
        while viewer.loop == day:
            viewer.advance(1 / 30)
            viewer.render()
            frames += 1
        gc.collect()
        print(f"| {day + 1} | {frames} | {time.perf_counter() - started:.0f} | {rss_mib():.1f} "
              f"| {tracemalloc.get_traced_memory()[0] / 2**20:.1f} |", flush=True)


if __name__ == "__main__":
    main()
