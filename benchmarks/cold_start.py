"""A cold ``twin run``: the whole process, N times, alternating with a peer twin if one is given.

    python benchmarks/cold_start.py [--scenario testbed_day] [--runs 11] [--peer /other/venv/bin/twin]

Runs ``twin run SCENARIO --area helsinki_test --out DIR`` with the ``twin`` beside this Python
(install it as the README says, ``pip install .``), and with ``--peer`` another installation
(e.g. the main branch's) in alternation, so that the load of a shared machine hits both alike.
Each installation gets its own cache folder (a copy of the imported maps): the answers a twin keeps
(``twin/memo.py``) are stamped with its own code, so two versions sharing one cache would throw
each other's away and both would pay for working them out again.
Reports the sorted wall times and their median, and the median CPU time (user + system, from
``os.wait4``), which a busy machine inflates less than the wall time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fleet import AREA, machine
from gwangju_twin.fileio import cache_dir


def cold_run(twin: Path, scenario: str, out: Path, cache: Path) -> tuple[float, float]:
    """One fresh process with its own cache folder: (wall s, user + system CPU s)."""
    started = time.perf_counter()
    process = subprocess.Popen([str(twin), "run", scenario, "--area", AREA, "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "TWIN_CACHE_DIR": str(cache)})
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{twin} run {scenario} failed: {process.stderr.read().decode()[-300:]}")
    return wall_s, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="testbed_day")
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--peer", type=Path, help="another installation's twin, run in alternation")
    args = parser.parse_args()
    twins = {"this twin": Path(sys.executable).with_name("twin")}
    if args.peer:
        twins["peer"] = args.peer
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in twins}
    maps = cache_dir() / "maps"
    with tempfile.TemporaryDirectory() as tmp:
        caches = {name: Path(tmp) / f"cache-{k}" for k, name in enumerate(twins)}
        for name, twin in twins.items():  # its own copy of the maps, and one untimed run: file caches
            shutil.copytree(maps, caches[name] / "maps")
            cold_run(twin, args.scenario, Path(tmp) / name, caches[name])
        for _ in range(args.runs):
            for name, twin in twins.items():
                runs[name].append(cold_run(twin, args.scenario, Path(tmp) / name, caches[name]))
    print(f"machine: {machine()}; {args.runs} runs each, alternating; load average {os.getloadavg()[0]:.1f}")
    for name, twin in twins.items():
        walls = sorted(w for w, _ in runs[name])
        cpu = statistics.median(c for _, c in runs[name])
        print(f"{name} ({twin}): `twin run {args.scenario}` wall {' '.join(f'{w:.2f}' for w in walls)}; "
              f"median **{statistics.median(walls):.3f} s**; CPU (user + system) median {cpu:.3f} s")
    if args.peer:
        ratio = statistics.median(w for w, _ in runs["this twin"]) / statistics.median(w for w, _ in runs["peer"])
        cpu_ratio = (statistics.median(c for _, c in runs["this twin"])
                     / statistics.median(c for _, c in runs["peer"]))
        print(f"this twin / peer: wall {ratio:.2f}, CPU {cpu_ratio:.2f}")


if __name__ == "__main__":
    main()
