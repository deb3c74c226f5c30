"""The loop day of N shuttles as K copies of the day of N / K, each on its own copy of the roads.

    from copies import copies_scenario, copies_network

Why: ``fleet_day.toml`` scaled to 1,000 shuttles puts 200 on each of its five loops, at 5 km/h, on
the Helsinki test area's 24 km of roads (185 nodes). That is more vehicles than the loops' lanes
hold: SUMO meso's segments fill, vehicles queue, SUMO teleports those that wait too long and they
skip their stops, so SUMO does other work than the twin (whose shuttles never meet). Loops scaled
with the fleet on the same roads (25 loops of 40 shuttles over the network's junctions) still jam
it: 63 teleports in the first simulated hour. The network cannot hold 1,000 shuttles at once.

So the 1,000-shuttle day is given to both sides as five copies of the 200-shuttle day (the five
loops with 40 shuttles each, which meso drives without a queue), copy k on its own copy of the
roads: in SUMO, the network converted once and copied K times with the prefix ``c{k}_`` on its
junction and edge ids (and an offset, so no two copies overlap), merged into one network; in the
twin, K area files identical to the test area (the same map, loaded K times), each copy's fleets
working in their own (``area = ...``), their ids prefixed ``c{k}_``. Each side does K times the
work of its 200-shuttle day, checked fleet by fleet.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from fleet import AREA, fleet_scenario
from gwangju_twin import sumo_bridge
from gwangju_twin.areas import load_area

COPY_OFFSET_M = 5000.0  # how far apart the copies of the network lie in SUMO (the test area is 1.4 km across)


def prefix(copy: int) -> str:
    """The prefix of copy ``copy``'s fleet ids (twin) and junction and edge ids (SUMO); copies count from 1."""
    return f"c{copy}_"


def area_file(folder: Path, copy: int) -> Path:
    return folder / f"{AREA}_copy{copy}.toml"


def copies_scenario(shuttles: int, copies: int, folder: Path) -> Path:
    """Write the scenario of ``shuttles`` as ``copies`` copies of the day of ``shuttles / copies``, and the
    copies' area files, into ``folder``; the scenario's path."""
    if shuttles % copies:
        raise SystemExit(f"--copies {copies}: must divide the number of shuttles ({shuttles})")
    folder.mkdir(parents=True, exist_ok=True)
    area_text = Path(load_area(AREA).file).read_text(encoding="utf-8")
    one = fleet_scenario(shuttles // copies, folder / f"fleet_{shuttles // copies}.toml").read_text(encoding="utf-8")
    head, *fleets = one.split("[[shuttles.fleet]]")
    head = re.sub(r'^area = ".*"$', f'area = "{area_file(folder, 1).name}"', head, flags=re.M)
    head = head.replace('name = "fleet_day"', f'name = "fleet_day_{copies}_copies"')
    blocks = []
    for copy in range(1, copies + 1):
        area_file(folder, copy).write_text(area_text, encoding="utf-8")
        for fleet in fleets:
            fleet = re.sub(r'^id = "(.*)"$', rf'id = "{prefix(copy)}\1"', fleet, count=1, flags=re.M)
            blocks.append(f'[[shuttles.fleet]]\narea = "{area_file(folder, copy).name}"' + fleet.rstrip("\n") + "\n\n")
    out = folder / f"fleet_{shuttles}_{copies}_copies.toml"
    out.write_text(head + "".join(blocks), encoding="utf-8")
    return out


def copies_network(net_xml: Path, copies: int, folder: Path) -> Path:
    """SUMO's network ``net_xml`` copied ``copies`` times (ids prefixed, copies offset) into one network."""
    netconvert = str(sumo_bridge.sumo_binary("netconvert"))
    parts = []
    for copy in range(1, copies + 1):
        part = folder / f"copy{copy}.net.xml"
        subprocess.run([netconvert, "-s", str(net_xml), "--prefix", prefix(copy), "--offset.x",
                        f"{(copy - 1) * COPY_OFFSET_M:g}", "-o", str(part), "--no-warnings"],
                       check=True, capture_output=True)
        parts.append(str(part))
    merged = folder / f"copies{copies}.net.xml"
    subprocess.run([netconvert, "-s", ",".join(parts), "-o", str(merged), "--no-warnings"], check=True,
                   capture_output=True)
    return merged
