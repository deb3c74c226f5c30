"""osmnx's process-wide settings: the twin changes them only inside a block and puts every one back."""

import osmnx as ox
import pytest
from gwangju_twin import osm
from gwangju_twin.areas import load_area
from gwangju_twin.errors import MapError


def _settings() -> dict[str, object]:
    return {name: repr(getattr(ox.settings, name)) for name in dir(ox.settings) if not name.startswith("_")
            and not callable(getattr(ox.settings, name)) and not isinstance(getattr(ox.settings, name), type(ox))}


def test_a_failed_fetch_leaves_every_osmnx_setting_as_it_was() -> None:
    before = _settings()
    assert "overpass_url" in before and "use_cache" in before and "requests_kwargs" in before
    with pytest.raises(MapError, match="downloading area 'helsinki_test' from http://127.0.0.1:9/api"):
        osm.fetch_graph(load_area("helsinki_test"), timeout_s=5.0, overpass_url="http://127.0.0.1:9/api")
    assert _settings() == before


def test_the_settings_block_sets_what_it_names_and_refuses_unknown_names() -> None:
    before = _settings()
    with osm.osmnx_settings(use_cache=not ox.settings.use_cache, requests_timeout=1.5):
        assert ox.settings.requests_timeout == 1.5 and repr(ox.settings.use_cache) != before["use_cache"]
    assert _settings() == before
    with pytest.raises(AttributeError, match="no settings named no_such_setting"), \
            osm.osmnx_settings(no_such_setting=1, use_cache=False):
        pass
    assert _settings() == before
