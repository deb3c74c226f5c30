"""The world a model runs in: an area, its cached road network, and its sites snapped to roads."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from twin import mapcache
from twin.areas import Area, load_area
from twin.network import RoadNetwork


@dataclass
class World:
    """An area with its compiled road network."""

    area: Area
    network: RoadNetwork
    map_info: mapcache.MapInfo | None = None
    _site_nodes: dict[str, int] = field(default_factory=dict, repr=False)

    def site_node(self, site_id: str, max_snap_m: float) -> int:
        """The road node a site snaps to; refused with one line if it is too far."""
        if site_id not in self._site_nodes:
            x_m, y_m = self.area.site_xy_m(site_id)
            self._site_nodes[site_id] = self.network.snap_site(f"site {site_id}", x_m, y_m, max_snap_m)
        return self._site_nodes[site_id]


def load_world(area_ref: str, relative_to: Path | None = None) -> World:
    """Load an area and its cached network (a missing map is one line naming the command to run)."""
    area = load_area(area_ref, relative_to)
    network, info = mapcache.load_network(area.id, area.crs)
    return World(area, network, info)
