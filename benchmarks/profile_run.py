"""Where a run spends its time: a pyinstrument profile of one scenario, imports and map load excluded.

    python benchmarks/profile_run.py [--shuttles 1000 | --scenario NAME] [--hours 6] [--html profile.html]

``--shuttles N`` profiles ``fleet_day.toml`` scaled to N loop shuttles; ``--scenario`` any packaged
scenario or file (on the Helsinki test area); ``--mix N`` the Bitgreen service mix scaled to N vehicles. Prints the call tree (and writes HTML with ``--html``).
This is how the changes in RESULTS.md were found: profile first, then optimise what the tree shows.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from fleet import AREA, ensure_map, fleet_scenario, mix_scenario
from gwangju_twin import scenario as scenario_io
from gwangju_twin.runner import model_for
from gwangju_twin.world import scenario_worlds
from pyinstrument import Profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--shuttles", type=int, default=1000)
    what.add_argument("--scenario")
    what.add_argument("--mix", type=int, metavar="N", help="the Bitgreen service mix scaled to N vehicles")
    parser.add_argument("--everything", action="store_true",
                        help="with --mix: everything scaled with the fleet (fleet.mix_scenario(everything=True))")
    parser.add_argument("--hours", type=float, default=6.0, help="simulated hours to profile")
    parser.add_argument("--html", type=Path)
    args = parser.parse_args()
    ensure_map()
    with tempfile.TemporaryDirectory() as tmp:
        path = (scenario_io.resolve(args.scenario) if args.scenario
                else fleet_scenario(args.shuttles, Path(tmp) / "fleet.toml"))
        loaded = mix_scenario(args.mix, everything=args.everything) if args.mix else scenario_io.load(path)
        worlds = scenario_worlds(loaded.spec, override=AREA)
        profiler = Profiler(interval=0.001)
        with profiler:
            model = model_for(loaded, worlds, duration_s=args.hours * 3600.0)
            model.headless = True  # as runner.simulate (twin run): no one looks before the end
            model.run_until(model.duration_s)
    print(f"{model.clock.processed:,} events in {args.hours:g} simulated hours")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html(), encoding="utf-8")
        print(f"profile in {args.html}")


if __name__ == "__main__":
    main()
