"""The twin against Eclipse SUMO on the real Helsinki extract: the same trips, the same distances.

SUMO (the ``eclipse-sumo`` wheel) gets the extract through netconvert, the twin through its own
import; the twin's drives are replayed in SUMO as trips between the same OSM junctions. Two
independent simulators must agree on how far the fleet drove and how many trips it completed.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import HELSINKI_PBF
from gwangju_twin import scenario, sumo_bridge
from gwangju_twin.agents.shuttles.config import SHUTTLE_SPEED_CAP_MPS
from gwangju_twin.areas import load_area
from gwangju_twin.errors import TwinError
from gwangju_twin.model import TwinModel

FLEET = """
[scenario]
name = "sumo_check"
area = "helsinki_test"
duration = "6 h"
record_trajectories = false

[shuttles.supervision]
disengagement_rate = "0 / h"

[[shuttles.fleet]]
id = "loop_a"
service = "loop"
count = 3
depot = "west_depot"
windows = ["00:00-06:00"]
route = ["south_stop", "north_stop", "east_stop"]
energy = { battery = "100 kWh" }

[[shuttles.fleet]]
id = "loop_b"
service = "loop"
count = 2
depot = "west_depot"
windows = ["00:00-06:00"]
route = ["centre_stop", "southwest_stop"]
energy = { battery = "100 kWh" }
"""


@pytest.fixture(scope="module")
def sumo_net(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sumo_bridge.write_sumo_network(load_area("helsinki_test"), HELSINKI_PBF, tmp_path_factory.mktemp("sumo"))


def test_sumo_drives_the_twins_trips_the_same_distance(helsinki_world, sumo_net: Path, tmp_path: Path) -> None:
    model = TwinModel(scenario.loads(FLEET), helsinki_world, record_drives=True)
    model.run_until(model.duration_s)
    routes, tripinfo = tmp_path / "trips.rou.xml", tmp_path / "tripinfo.xml"
    written = sumo_bridge.write_trips(model.drives, helsinki_world.network, routes, SHUTTLE_SPEED_CAP_MPS,
                                      sumo_bridge.sumo_junctions(sumo_net))
    subprocess.run(sumo_bridge.sumo_command(sumo_net, routes, tripinfo, model.duration_s), check=True,
                   capture_output=True, timeout=300)
    twin, sumo = sumo_bridge.twin_figures(model), sumo_bridge.sumo_figures(tripinfo)
    assert written == twin.trips > 100  # the window ends with the run: every drive arrived
    assert twin.vehicle_km == pytest.approx(sum(v.odometer_m for v in model.agents if hasattr(v, "odometer_m")) / 1e3)
    assert sumo.trips == twin.trips  # every trip the twin finished, SUMO finished within the same hours
    assert sumo.vehicle_km == pytest.approx(twin.vehicle_km, rel=0.01)


def test_a_trip_end_sumo_lacks_is_named(helsinki_world, sumo_net: Path, tmp_path: Path) -> None:
    drives = [[0.0, "shuttle-1", 0, 1, None]]
    with pytest.raises(TwinError, match=r"OSM node \d+ \(a trip end of shuttle-1\) is not a junction of SUMO"):
        sumo_bridge.write_trips(drives, helsinki_world.network, tmp_path / "r.xml", 1.0, junctions=set())


def test_figures_need_recorded_drives(helsinki_world) -> None:
    model = TwinModel(scenario.loads(FLEET), helsinki_world)
    with pytest.raises(TwinError, match="record_drives=True"):
        sumo_bridge.twin_figures(model)


def test_cli_exports_a_run_that_sumo_drives(helsinki_map, tmp_path: Path) -> None:
    import sys
    import xml.etree.ElementTree as ET

    scenario_file = tmp_path / "fleet.toml"
    scenario_file.write_text(FLEET, encoding="utf-8")
    out = tmp_path / "sumo"
    command = [sys.executable, "-m", "gwangju_twin.cli", "sumo", str(scenario_file), "--extract", str(HELSINKI_PBF),
               "--out", str(out), "--until", "2 h"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    trips = int(done.stdout.split()[0])  # trips the twin completed in 2 h: SUMO completes the same
    assert "sumo -c" in done.stdout and (out / "run.sumocfg").is_file()
    subprocess.run([str(sumo_bridge.sumo_binary("sumo")), "-c", "run.sumocfg", "--no-step-log"], cwd=out,
                   check=True, capture_output=True, timeout=300)
    assert len(list(ET.parse(out / "tripinfo.xml").getroot().iter("tripinfo"))) == trips > 10


def test_cli_export_with_a_missing_extract_is_one_line(helsinki_map, tmp_path: Path) -> None:
    import sys

    command = [sys.executable, "-m", "gwangju_twin.cli", "sumo", "bitgreen_shuttles", "--area", "helsinki_test",
               "--extract", str(tmp_path / "nowhere.osm.pbf"), "--out", str(tmp_path / "s")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "nowhere.osm.pbf: file not found" in done.stderr


def test_the_service_mix_in_sumo_sweeps_collects_and_dispatches_taxis(helsinki_world, sumo_net: Path,
                                                                      tmp_path: Path) -> None:
    """The Bitgreen mix: sweepers' streets, waste tours and loops replayed as trips drive the same km in
    SUMO; the on-demand fleet becomes SUMO taxis that SUMO's own dispatcher sends to the same requests."""
    model = TwinModel(scenario.load(scenario.packaged()["bitgreen_shuttles"]), helsinki_world, record_drives=True)
    model.run_until(model.duration_s)
    junctions = sumo_bridge.sumo_junctions(sumo_net)
    taxis = sumo_bridge.taxi_fleets(model)
    caps = {agent.name: agent.max_speed_mps for agent in model.agents if hasattr(agent, "max_speed_mps")}
    routes, tripinfo = tmp_path / "mix.rou.xml", tmp_path / "tripinfo.xml"
    written = sumo_bridge.write_trips(model.drives, helsinki_world.network, routes, caps, junctions, taxis=taxis,
                                      skip_missing=True)
    subprocess.run(sumo_bridge.sumo_command(sumo_net, routes, tripinfo, model.duration_s, taxis=True), check=True,
                   capture_output=True, timeout=300)
    taxi_names = {name for fleet in taxis for name in fleet.vehicles}
    twin, sumo = sumo_bridge.twin_figures(model, junctions, exclude=taxi_names), sumo_bridge.sumo_figures(tripinfo)
    swept = [d for d in model.drives if d[1].startswith("sweepers") and d[4] is not None]
    assert len(taxis) == 1 and len(taxis[0].vehicles) == 3
    assert len(swept) > 50 and written >= twin.trips > len(swept)  # streets swept are trips too
    assert sumo.trips == pytest.approx(twin.trips, rel=0.01)
    # Per service: SUMO's lanes stop where its junction shapes begin (a few metres a trip end), which
    # is 0.2 % of a loop's or a collection's trip but 3-5 % of a swept street (one edge, median 45 m).
    ids, twin_km, sumo_km = helsinki_world.network.osm_ids, {}, {}
    trips = sorted((t_s, vehicle, a, b) for t_s, vehicle, a, b, *_ in model.drives
                   if a != b and vehicle not in taxi_names and {str(ids[a]), str(ids[b])} <= junctions)
    for _, vehicle, a, b in trips:
        service = vehicle.rsplit("-", 1)[0]
        twin_km[service] = twin_km.get(service, 0.0) + helsinki_world.network.distance_m(a, b) / 1e3
        sumo_km.setdefault(service, 0.0)
    for info in ET.parse(tripinfo).getroot().iter("tripinfo"):
        if info.get("vType").startswith("cap_"):
            service = info.get("id").rsplit(".", 1)[0].rsplit("-", 1)[0]
            sumo_km[service] += float(info.get("routeLength")) / 1e3
    assert set(twin_km) == {"sweepers", "waste", "store_loop", "info_collector"}
    for service, km in twin_km.items():
        assert sumo_km[service] == pytest.approx(km, rel=0.06 if service == "sweepers" else 0.01), service
    twin_rides, sumo_rides = sumo_bridge.twin_rides(model, junctions), sumo_bridge.sumo_rides(tripinfo)
    assert sumo_rides.requests == twin_rides.requests > 10  # every request SUMO's network can take was asked
    assert 0 < sumo_rides.served <= sumo_rides.requests


def test_routes_are_xml_with_names_escaped_and_departures_in_order(helsinki_world, tmp_path: Path) -> None:
    """Names with XML's special characters come back as written; trips, taxis and persons sorted by departure."""
    ids, routes = helsinki_world.network.osm_ids, tmp_path / "r.rou.xml"
    drives = [(60.0, 'loop "A" & <B>-1', 0, 5, 90.0), (30.0, "loop-2", 3, 4, None), (45.0, "loop-2", 2, 2, 45.0)]
    fleet = sumo_bridge.TaxiFleet("on'demand", ("taxi&1",), 7, 2.0, 4, ((10.0, 1, 6), (20.0, 3, 3)))
    written = sumo_bridge.write_trips(drives, helsinki_world.network, routes, {'loop "A" & <B>-1': 1.0, "loop-2": 2.0},
                                      taxis=[fleet])
    root = ET.parse(routes).getroot()
    assert written == 2 and [e.tag for e in root] == ["vType", "vType", "vType", "trip", "person", "trip", "trip"]
    assert [e.get("id") for e in root if e.tag != "vType"] == ["taxi&1", "on'demand.request1", "loop-2.0",
                                                               'loop "A" & <B>-1.1']
    taxi_type = root.find("vType[@id=\"taxi_on'demand\"]")
    assert taxi_type.get("personCapacity") == "4" and taxi_type.find("param").get("key") == "has.taxi.device"
    person = root.find("person")
    assert person.find("personTrip").attrib == {"fromJunction": str(ids[1]), "toJunction": str(ids[6]),
                                                "modes": "taxi"}
    assert [float(e.get("depart")) for e in root if e.tag != "vType"] == [0.0, 10.0, 30.0, 60.0]
