"""Where a big drone run spends its CPU time outside the planner, part by part, in one process.

    python benchmarks/drone_scaling.py --write 200 d200.toml
    python benchmarks/drone_run_parts.py d200.toml [--out DIR] [--folder RESULTS_DIR]

Runs ``twin run`` (``twin.runner.run``) on the scenario once and prints, as JSON, the CPU time
(``time.process_time``) of the whole run and of its parts: planning (``DroneService._plan``),
committing (``_commit``, which holds the recording ``_record`` and the planner's airspace commit),
recording the tracks (``_record``, ``_settle_track``), the key figures with the separation checker
(``kpis``), building the model and writing the results folder (``write_results``: events.csv,
trajectories.gpkg). ``outside_plan_s`` is the whole run less planning. With ``--folder``, it also
times each audit check on a results folder read once (the checker alone: ``check_separation``).
Run it under two installations (e.g. main's and a branch's venv) in turn, for paired figures.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def _timed(owner: object, name: str, times: dict[str, float]) -> None:
    """Wrap ``owner.name`` (if it exists) so that its CPU time adds up in ``times[name]``."""
    function = getattr(owner, name, None)
    if function is None:
        return

    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            times[name] = times.get(name, 0.0) + time.process_time() - started

    setattr(owner, name, wrapper)


def run_parts(scenario: Path, out: Path) -> dict[str, float]:
    from gwangju_twin import results, runner
    from gwangju_twin.agents.drones.service import DroneService

    times: dict[str, float] = {}
    for name in ("_plan", "_commit", "_record", "_settle_track", "kpis"):
        _timed(DroneService, name, times)
    for owner, name in ((runner, "build_model"), (runner, "write_results"), (results, "_trajectories"),
                        (results, "_events_csv")):
        _timed(owner, name, times)
    started = time.process_time()
    runner.run(scenario, out)
    total_s = time.process_time() - started
    return {"total_cpu_s": round(total_s, 3), "outside_plan_s": round(total_s - times.get("_plan", 0.0), 3),
            **{name: round(s, 3) for name, s in times.items()}}


def check_parts(folder: Path) -> dict[str, float]:
    from gwangju_twin.agents.drones import audit, audit_record
    from gwangju_twin.audit import read_record

    started = time.process_time()
    record = read_record(folder)
    times = {"read_record": time.process_time() - started}
    for check in (*audit.CHECKS, *audit_record.CHECKS):
        started = time.process_time()
        check(record)
        times[check.__name__] = time.process_time() - started
    return {name: round(s, 3) for name, s in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", type=Path)
    parser.add_argument("--out", type=Path, default=Path("drone_run_parts_results"))
    parser.add_argument("--folder", type=Path, help="also time each audit check on this results folder")
    args = parser.parse_args()
    print(json.dumps(run_parts(args.scenario, args.out)))
    if args.folder:
        print(json.dumps(check_parts(args.folder)))


if __name__ == "__main__":
    main()
