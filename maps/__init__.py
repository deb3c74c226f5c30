"""Area definitions (WGS84 polygons and named sites) shipped with the twin, as TOML data.

Road networks themselves are never stored here: they are fetched or imported by the user
and cached (see ``twin.maps``).
"""
