"""Which OSM ways are roads a service vehicle may use: osmnx's "drive_service" definition, written once
as data (light to import: a run checks its cached map was built by this rule without loading osmnx)."""

from __future__ import annotations

EXCLUDED_HIGHWAY = frozenset(
    "abandoned bridleway bus_guideway bus_stop construction corridor crossing cycleway elevator "
    "escalator footway no path pedestrian planned platform proposed raceway razed rest_area steps "
    "track trail via_ferrata".split()
)
EXCLUDED_SERVICE = frozenset({"emergency_access", "parking", "parking_aisle", "private"})
EXCLUDED_ACCESS = frozenset({"no", "private"})


def overpass_filter() -> str:
    """The rule as an osmnx custom filter for Overpass (also what names the rule in a map's key)."""
    return (
        '["highway"]["area"!~"yes"]'
        f'["highway"!~"{"|".join(sorted(EXCLUDED_HIGHWAY))}"]'
        f'["service"!~"{"|".join(sorted(EXCLUDED_SERVICE))}"]'
        f'["access"!~"{"|".join(sorted(EXCLUDED_ACCESS))}"]'
        '["motor_vehicle"!~"no"]["motorcar"!~"no"]'
    )
