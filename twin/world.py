"""The world a model runs in: an area, its cached road network, and its sites snapped to roads.

A scenario whose services need no roads (drones only) runs in a world without a network: its
area gives the places, and a road map is used for display only when one is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from gwangju_twin import mapcache
from gwangju_twin.areas import Area, load_area
from gwangju_twin.errors import MapError
from gwangju_twin.network import RoadNetwork
from gwangju_twin.scenario import SpecBase


@dataclass
class World:
    """An area with its compiled road network."""

    area: Area
    network: RoadNetwork | None  # None: no road map was needed, and none is cached
    map_info: mapcache.MapInfo | None = None
    _site_nodes: dict[str, int] = field(default_factory=dict, repr=False)

    def site_node(self, site_id: str, max_snap_m: float) -> int:
        """The road node a site snaps to; refused with one line if it is too far."""
        if site_id not in self._site_nodes:
            if self.network is None:
                raise MapError(f"area '{self.area.id}' has no road map cached; run 'twin maps fetch {self.area.id}' "
                               f"or 'twin maps import {self.area.id} FILE'")
            x_m, y_m = self.area.site_xy_m(site_id)
            self._site_nodes[site_id] = self.network.snap_site(f"site {site_id}", x_m, y_m, max_snap_m)
        return self._site_nodes[site_id]


def load_world(area_ref: str, relative_to: Path | None = None, *, roads_required: bool = True) -> World:
    """Load an area and its cached network (a missing map is one line naming the command to run).

    With ``roads_required`` False a missing map is no error: the world has no network.
    """
    area = load_area(area_ref, relative_to)
    try:
        network, info = mapcache.load_network(area.id, area.crs, area=area)
    except MapError:
        if roads_required:
            raise
        return World(area, None, None)
    return World(area, network, info)


def load_worlds(
    area_refs: list[str], *, override: str | None = None, relative_to: Path | None = None,
    cache: dict[str, World] | None = None, roads_required: bool = True,
) -> dict[str, World]:
    """The worlds of a scenario's areas, by the reference the scenario uses for each.

    With ``override`` every area is replaced by that one (``--area``: the whole scenario moves,
    as when Gwangju scenarios run on the Helsinki test area). ``cache`` keeps loaded worlds
    across calls (sweep workers). All areas of one scenario must share a metric CRS, so that
    every agent's position is in one frame. ``roads_required`` False: see :func:`load_world`.
    """
    cache = {} if cache is None else cache
    worlds: dict[str, World] = {}
    for ref in area_refs:
        actual = override or ref
        if actual not in cache or (roads_required and cache[actual].network is None):
            cache[actual] = load_world(actual, relative_to, roads_required=roads_required)
        worlds[ref] = cache[actual]
    crs = {world.area.crs for world in worlds.values()}
    if len(crs) > 1:
        listed = ", ".join(f"{ref} ({world.area.crs})" for ref, world in worlds.items())
        raise MapError(f"the areas of one scenario must share a CRS; these do not: {listed}")
    return worlds


def scenario_worlds(spec: SpecBase, *, override: str | None = None, relative_to: Path | None = None,
                    cache: dict[str, World] | None = None) -> dict[str, World]:
    """The worlds of a scenario's areas; road maps are required only if its services drive."""
    return load_worlds(spec.area_refs(), override=override, relative_to=relative_to, cache=cache,
                       roads_required=spec.needs_roads())
