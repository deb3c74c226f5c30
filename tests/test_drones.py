"""Drones: flight times by hand, wind, separation over the whole airspace checked from the recorded
tracks (over many seeds, and failing when deconfliction is off), geofences, energy, the air layer on
any map, and a drone-only scenario with no road map at all."""

from pathlib import Path

import numpy as np
import pytest
import shapely
from gwangju_twin import runner, scenario
from gwangju_twin.agents.drones.audit import separation_figures
from gwangju_twin.agents.drones.energy import TAKEOFF_PAD_S
from gwangju_twin.areas import load_area
from gwangju_twin.audit import audit
from gwangju_twin.errors import RoutingError, ScenarioError, TwinError
from gwangju_twin.model import TwinModel
from gwangju_twin.world import World
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from straight_flights import STOPS, flight

FREE_ZONE = scenario.packaged()["drone_free_zone"]
CARGO = scenario.packaged()["cargo_link"]
TESTBED = scenario.packaged()["testbed_day"]


def _text(path, **replace: str) -> str:
    text = path.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


def _run(text: str, world, seed: int = 1) -> TwinModel:
    model = TwinModel(scenario.loads(text), world, seed=seed)
    model.run_until(model.duration_s)
    return model


def _gwangju() -> World:
    """The real Cheomdan 3 area with no road map: enough for drones, which need none."""
    return World(load_area("cheomdan3"), None)


def _one_flight(world, wind: str) -> tuple[TwinModel, object]:
    text = _text(FREE_ZONE, **{'wind = { speed = "4 m/s", from_deg = 300.0, gust_sd = "1.5 m/s" }': wind})
    text = text.replace('deadline = "45 min"', 'deadline = "45 min"\nscale = 0.0').replace(
        'deadline = "1 h"', 'deadline = "1 h"\nscale = 0.0')  # no demand but the one request below
    model = TwinModel(scenario.loads(text), world)
    service = model.services[-1]
    model.clock.at(3600.0, lambda: service.request(service.config.flows[0]))
    model.run_until(3 * 3600.0)
    assert service.requests == 1
    drone = next(d for d in service.drones if d.flight is not None)
    return model, drone


def test_flight_time_is_climb_cruise_descent() -> None:
    model, drone = _one_flight(_gwangju(), 'wind = { speed = "0 m/s" }')
    service = model.services[-1]
    a, b = (np.array(service.port_xy[s]) for s in ("daechon_drone_park", "cheomdan3_vertiport"))
    assert 950 < float(np.hypot(*(b - a))) < 1100  # the real Gwangju distance (both in Daechon-dong): no road map

    def expected_s(altitude_m: float, length_m: float) -> float:
        return TAKEOFF_PAD_S + altitude_m / 3.0 + length_m / (54 / 3.6) + altitude_m / 2.0

    # Home again in the backward layer (the second of the band's four layers, 90 m), from pad to pad:
    flight = drone.flight.trajectory
    assert flight.position(flight.t_s[3])[2] == pytest.approx(90.0)
    home_m = flight.horizontal_length_m()
    assert flight.end_s - flight.start_s == pytest.approx(expected_s(90.0, home_m), rel=1e-9)
    # Out in the forward layer (the floor, 60 m), requested at 01:00, delivered on landing; the park's
    # first pad lies half a pad spacing (the terminal minimum 10 m + D 1.5 m, halved) off the site:
    delivered = [t for t, _, event, _ in model.log.rows if event == "delivered"]
    port = service.vertiports["daechon_drone_park"]
    assert np.hypot(*(port.pads_xy_m[0] - port.centre_xy_m)) == pytest.approx(port.pad_spacing_m / 2)
    takeoff = next(t for t, agent, event, _ in model.log.rows if event == "takeoff" and agent == drone.name)
    assert delivered[0] - takeoff == pytest.approx(expected_s(60.0, home_m), rel=1e-9)  # the same path, reversed
    events = [event for _, agent, event, _ in model.log.rows if agent == drone.name]
    assert events == ["takeoff", "descent", "landed", "delivered", "takeoff", "descent", "landed"]


def _cruise_s(drone) -> float:
    trajectory = drone.flight.trajectory
    return sum(t1 - t0 for t0, t1, phase in zip(trajectory.t_s, trajectory.t_s[1:], trajectory.phases)
               if phase == "cruise")


def test_tailwind_shortens_the_cruise() -> None:
    model, calm = _one_flight(_gwangju(), 'wind = { speed = "0 m/s" }')
    trajectory = calm.flight.trajectory
    dx, dy = trajectory.xyz_m[-1, :2] - trajectory.xyz_m[0, :2]
    towards = np.degrees(np.arctan2(dx, dy)) % 360  # track bearing of the flight home
    _, pushed = _one_flight(_gwangju(), f'wind = {{ speed = "5 m/s", from_deg = {(towards + 180) % 360} }}')
    assert _cruise_s(pushed) == pytest.approx(_cruise_s(calm) * 15.0 / 20.0, rel=1e-6)  # 15 m/s airspeed + 5 m/s


# Heavy traffic: ten drones at the park, three times the parcels, four pads at Cheomdan 3.
BUSY = {"drones = { parcel_multicopter = 4 }": "drones = { parcel_multicopter = 10 }",
        'id = "parcels_out"': 'id = "parcels_out"\nscale = 3.0',
        'site = "cheomdan3_vertiport"\npads = 2 ': 'site = "cheomdan3_vertiport"\npads = 4 '}
OFF = {"strategic = true\ntactical = true": "strategic = false\ntactical = false"}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31), gust=st.floats(min_value=0.0, max_value=4.0))
def test_no_loss_of_separation_in_heavy_traffic(seed: int, gust: float) -> None:
    text = _text(FREE_ZONE, **{'gust_sd = "1.5 m/s"': f'gust_sd = "{gust} m/s"', **BUSY})
    kpis = _run(text, _gwangju(), seed).kpis()["drones"]
    assert kpis["deliveries"] > 50
    assert kpis["losses_of_separation"] == 0 and kpis["time_in_loss_s"] == 0.0
    assert kpis["min_energy_fraction"] >= 0.2  # never below the reserve


def test_without_deconfliction_the_checker_finds_losses() -> None:
    on = _run(_text(FREE_ZONE, **BUSY), _gwangju()).kpis()["drones"]
    off = _run(_text(FREE_ZONE, **BUSY, **OFF), _gwangju()).kpis()["drones"]
    assert on["losses_of_separation"] == 0 and on["conflicts_detected"] > 0
    assert off["losses_of_separation"] > 0 and off["time_in_loss_s"] > 0 and off["closest_approach_m"] < 30.0
    assert sum(on["resolutions"].values()) > 0 and off["conflicts_detected"] == sum(off["resolutions"].values()) == 0


@pytest.mark.parametrize("name", ["drone_free_zone", "cargo_link", "testbed_day"])
def test_a_hundred_seeds_without_a_loss(helsinki_map, name: str) -> None:
    """The default scenarios on the offline map, seeds 1-100: the recorded tracks show no loss."""
    path = scenario.packaged()[name]
    model = runner.build_model(path, seed=1, area="helsinki_test")
    worlds = dict(model.worlds)
    flights = 0
    for seed in range(1, 101):
        model = runner.build_model(path, seed=seed, area="helsinki_test", worlds=worlds)
        model.run_until(model.duration_s)
        kpis = model.kpis()["drones"]
        assert kpis["losses_of_separation"] == 0, (seed, kpis["pairs_in_loss"])
        flights += kpis["flights"]
    assert flights > 100 * (50 if name == "cargo_link" else 150)


def test_the_checker_sees_a_loss_it_is_given() -> None:
    """Two drones head-on at one altitude: one loss, closest approach 0 m; 40 m apart vertically: none."""
    def track(name: str, x0: float, x1: float, z: float) -> list[tuple]:
        return [(name, "drone", 0.0, x0, 0.0, 0.0, "cruise", 1.0, z), (name, "drone", 100.0, x1, 0.0, 0.0, "landed", 1.0, z)]

    minima = {"a": (150.0, 30.0), "b": (150.0, 30.0)}
    head_on = separation_figures(track("a-1", 0.0, 1000.0, 100.0) + track("b-1", 1000.0, 0.0, 100.0), minima)
    assert head_on["losses_of_separation"] == 1 and head_on["closest_approach_m"] == 0.0
    assert head_on["time_in_loss_s"] == pytest.approx(15.0)  # 150 m each side at a closing speed of 20 m/s
    apart = separation_figures(track("a-1", 0.0, 1000.0, 100.0) + track("b-1", 1000.0, 0.0, 140.0), minima)
    assert apart["losses_of_separation"] == 0 and apart["closest_approach_m"] == 40.0
    wider = separation_figures(track("a-1", 0.0, 1000.0, 100.0) + track("b-1", 1000.0, 0.0, 140.0),
                               {"a": (150.0, 30.0), "b": (150.0, 50.0)})  # a pair keeps the larger minimum
    assert wider["losses_of_separation"] == 1


_point = st.tuples(st.integers(min_value=0, max_value=60).map(float), st.integers(-800, 800).map(float),
                  st.integers(-800, 800).map(float), st.sampled_from([0.0, 20.0, 60.0, 75.0, 90.0]),
                  st.sampled_from(["pad", "climb", "cruise", "descent", "landed"]))


def test_two_drones_in_two_terminal_volumes_keep_the_en_route_minima() -> None:
    """Two overlapping terminal volumes, a drone hovering inside each, 120 m apart at one altitude:
    a loss (the 150 m en-route minimum, not the terminal 10 m), also while two others 15 m apart
    inside one volume keep the closest approach small; both inside one volume: none."""
    def hover(name: str, x: float) -> list[tuple]:
        return [(name, "drone", 0.0, x, 0.0, 0.0, "cruise", 1.0, 60.0), (name, "drone", 60.0, x, 0.0, 0.0, "landed", 1.0, 60.0)]

    minima = {"a": (150.0, 30.0)}
    two = {"centres_xy_m": [[-150.0, 0.0], [150.0, 0.0]], "radii_m": [200.0, 200.0], "minima_m": (10.0, 10.0)}
    apart = separation_figures(hover("a-1", -25.0 - 100.0) + hover("a-2", 25.0 + 100.0), minima, two)
    assert apart["losses_of_separation"] == 0 and apart["closest_approach_m"] == 250.0
    close = hover("a-3", -200.0) + hover("a-4", -185.0)  # 15 m apart inside the first: no loss there
    across = separation_figures(hover("a-1", -60.0) + hover("a-2", 60.0) + close, minima, two)
    assert across["losses_of_separation"] == 1 and across["pairs_in_loss"] == ["a-1 & a-2"]
    assert across["closest_approach_m"] == 15.0
    one = {**two, "centres_xy_m": [[0.0, 0.0]], "radii_m": [200.0]}
    inside = separation_figures(hover("a-1", -60.0) + hover("a-2", 60.0), minima, one)
    assert inside["losses_of_separation"] == 0 and inside["closest_approach_m"] == 120.0


@settings(max_examples=120, deadline=None)
@given(tracks=st.lists(st.lists(_point, min_size=2, max_size=6), min_size=1, max_size=6),
       terminal=st.sampled_from(["none", "one", "two apart", "two close"]), scale=st.sampled_from([1.0, 0.3]),
       direct=st.booleans())
def test_the_indexed_checker_finds_what_every_pair_checked_alone_finds(tracks, terminal, scale, direct) -> None:
    """The checker's index (a k-d tree or a direct comparison over the pieces' parts, the terminal
    volumes' pieces in an index of their own) against every pair of airborne pieces checked one by one (the scalar
    encounter): the same losses, time in loss and closest approach, without terminal volumes, with
    one, and with two far apart (their pieces never paired across) or close together."""
    from gwangju_twin.agents.drones.audit import AIRBORNE_PHASES, _encounter

    rows, pieces = [], []
    for k, points in enumerate(tracks):
        t_s = np.cumsum([p[0] for p in points])
        track = [(f"{'ab'[k % 2]}-{k}", "drone", float(t), x * scale, y * scale, 0.0, state, 1.0, z)
                 for t, (_, x, y, z, state) in zip(t_s, points)]
        rows += track
        pieces += [(a[2], b[2], a[0], np.array(a[3:5] + (a[8],)), np.array(b[3:5] + (b[8],)))
                   for a, b in zip(track, track[1:]) if a[6] in AIRBORNE_PHASES and b[2] > a[2]]
    minima = {"a": (150.0, 30.0), "b": (100.0, 40.0)}
    centres = {"none": [], "one": [[0.0, 0.0]], "two apart": [[-500.0, 0.0], [500.0, 300.0]],
               "two close": [[-150.0, 0.0], [150.0, 0.0]]}[terminal]
    radii = [400.0] if terminal == "one" else [200.0] * len(centres)
    terminals = {"centres_xy_m": centres, "radii_m": radii, "minima_m": (10.0, 10.0)} if centres else None

    def volume(piece):  # the first terminal volume holding both ends, or None
        return next((k for k, (c, r) in enumerate(zip(centres, radii))
                     if all(np.hypot(*(p[:2] - c)) <= r + 0.05 for p in piece[3:5])), None)

    closest, losses = None, {}
    for n, a in enumerate(pieces):
        for b in pieces[n + 1:]:
            if a[2] == b[2] or min(a[1], b[1]) <= max(a[0], b[0]):
                continue
            both = volume(a) is not None and volume(a) == volume(b)
            h, v = (10.0, 10.0) if both else tuple(max(x, y) for x, y in zip(minima[a[2][0]], minima[b[2][0]]))
            distance, loss = _encounter(a, b, h - 1e-6, v - 1e-6)
            closest = distance if closest is None else min(closest, distance)
            if loss is not None:
                losses.setdefault(tuple(sorted((a[2], b[2]))), []).append(loss)
    from gwangju_twin.agents.drones import audit_index

    kept = audit_index.DIRECT_PAIRS
    audit_index.DIRECT_PAIRS = kept if direct else 0  # through the k-d tree too
    try:
        figures = separation_figures(rows, minima, terminals)
    finally:
        audit_index.DIRECT_PAIRS = kept
    assert figures["closest_approach_m"] == (None if closest is None else pytest.approx(round(closest, 1), abs=0.11))
    assert sorted(figures["pairs_in_loss"]) == sorted(f"{a} & {b}" for a, b in losses)[:10]
    seconds = sum(t1 - t0 for intervals in losses.values() for t0, t1 in intervals)  # pieces of a pair never overlap
    assert figures["time_in_loss_s"] == pytest.approx(round(seconds, 1), abs=0.11)


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(st.tuples(st.integers(0, 300).map(float), st.integers(1, 200).map(float),
                                 st.tuples(*[st.integers(-400, 400).map(float)] * 2, st.integers(0, 120).map(float)),
                                 st.tuples(*[st.integers(-400, 400).map(float)] * 2, st.integers(0, 120).map(float))),
                       min_size=2, max_size=25),
       near=st.sampled_from([(10.0, 10.0), (150.0, 30.0), (300.0, np.inf)]), hubs=st.integers(0, 2**25 - 1),
       cell_m=st.sampled_from([20.0, 100.0, 300.0]), direct=st.booleans())
def test_the_index_keeps_every_pair_of_boxes_that_close(pieces, near, hubs, cell_m, direct) -> None:
    """:func:`near_pairs` against every pair of pieces: each pair that is, at some common moment,
    nearer than both limits (horizontal on each axis, vertical) is kept, whatever the parts' size,
    through the k-d tree and through the direct comparison, and only pairs with a hub when hubs
    are given."""
    from gwangju_twin.agents.drones import audit_index

    t0 = np.array([p[0] for p in pieces])
    t1 = t0 + np.array([p[1] for p in pieces])
    p0, p1 = np.array([p[2] for p in pieces]), np.array([p[3] for p in pieces])
    hub = np.array([bool(hubs >> k & 1) for k in range(len(pieces))])
    kept = audit_index.DIRECT_PAIRS
    audit_index.DIRECT_PAIRS = kept if direct else 0
    try:
        found = {tuple(p) for p in audit_index.near_pairs(t0, t1, p0, p1, *near, hub=hub, cell_m=cell_m).tolist()}
        every = {tuple(p) for p in audit_index.near_pairs(t0, t1, p0, p1, *near, cell_m=cell_m).tolist()}
    finally:
        audit_index.DIRECT_PAIRS = kept
    limit = np.array([near[0], near[0], near[1]]) - 1e-6
    for i in range(len(pieces)):
        for j in range(i + 1, len(pieces)):
            lo, hi = max(t0[i], t0[j]), min(t1[i], t1[j])
            if hi <= lo or not (hub[i] or hub[j]):
                continue
            at = [[p0[k] + (p1[k] - p0[k]) * (s - t0[k]) / (t1[k] - t0[k]) for s in (lo, hi)] for k in (i, j)]
            start, change = at[0][0] - at[1][0], (at[0][1] - at[1][1]) - (at[0][0] - at[1][0])
            low, high = 0.0, 1.0  # the part of the common time where |start + change s| < limit on every axis
            for a, b, m in zip(start, change, limit):
                if b == 0:
                    low, high = (low, high) if abs(a) < m else (1.0, 0.0)
                else:
                    ends = sorted(((-m - a) / b, (m - a) / b))
                    low, high = max(low, ends[0]), min(high, ends[1])
            if low < high:
                assert (i, j) in found and (i, j) in every, (i, j)
    assert all(hub[i] or hub[j] for i, j in found)


def test_drones_are_in_the_results_and_the_audit_fails_a_run_without_deconfliction(helsinki_map, tmp_path: Path) -> None:
    runner.run(FREE_ZONE, tmp_path / "on", seed=1, area="helsinki_test")
    import geopandas as gpd
    import pandas as pd

    tracks = gpd.read_file(tmp_path / "on" / "trajectories.gpkg", layer="trajectories")
    drones = tracks[tracks["kind"] == "drone"]
    assert {"pad", "climb", "cruise", "descent", "landed"} <= set(drones["state"])
    assert drones["altitude_m"].max() > 60.0 and (drones.loc[drones["state"] == "pad", "altitude_m"] == 0).all()
    events = set(pd.read_csv(tmp_path / "on" / "events.csv")["event"])
    assert {"request", "takeoff", "descent", "landed", "delivered", "conflict", "resolution", "ground_hold"} <= events
    assert {c.name: c.status for c in audit(tmp_path / "on")}["drone_separation"] == "PASS"
    off = tmp_path / "off.toml"
    off.write_text(_text(FREE_ZONE, **BUSY, **OFF), encoding="utf-8")
    runner.run(off, tmp_path / "off", seed=1, area="helsinki_test")
    line = next(c for c in audit(tmp_path / "off") if c.name == "drone_separation")
    assert line.status == "FAIL" and " & " in line.figure


def test_the_air_layer_moves_with_the_area(helsinki_map) -> None:
    """cargo_link on the offline map: the drone flies the demo map's distance, not Gwangju's 18 km."""
    model = runner.build_model(CARGO, seed=1, area="helsinki_test")
    model.run_until(model.duration_s)
    kpis = model.kpis()["drones"]
    assert kpis["stand_in"] == {"bitgreen": "helsinki_test"}
    per_flight_km = kpis["flown_km"] / kpis["flights"]
    assert 0.5 < per_flight_km < 2.0
    service = model.services[0 if model.services[0].id == "drones" else -1]
    assert "helsinki_test_no_fly" in service.geofences  # the airport's stand-in geofence is checked there


def test_a_missing_stand_in_site_or_zone_is_one_line(helsinki_map, tmp_path: Path) -> None:
    text = _text(FREE_ZONE, **{'site = "wolchul_vertiport"': 'site = "seokgok_vertiport"',
                               'end = "wolchul_vertiport"': 'end = "seokgok_vertiport"'})
    with pytest.raises(TwinError, match=r"^vertiport site 'seokgok_vertiport' is not in area helsinki_test: add it"):
        runner.model_for(scenario.loads(text), {"cheomdan3": runner.build_model(
            FREE_ZONE, area="helsinki_test").world})


def test_a_drone_only_scenario_needs_no_road_map(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    result = runner.run(FREE_ZONE, tmp_path / "run", seed=1)
    assert result.summary["kpis"]["drones"]["deliveries"] > 50
    assert result.summary["kpis"]["drones"]["losses_of_separation"] == 0


def test_a_corridor_across_the_airport_geofence_is_refused() -> None:
    text = _text(FREE_ZONE, **{'end = "cheomdan3_vertiport"\nwidth': 'end = "cheomdan3_vertiport"\nvia = [[126.809, 35.126]]\nwidth'})
    with pytest.raises(RoutingError, match="^corridor park_to_cheomdan3 enters control zone gwangju_airport_ctr; route it around .* approval = true"):
        TwinModel(scenario.loads(text), _gwangju())


def _cargo_only(**replace: str) -> str:
    """cargo_link without the certification slice: the air part alone, on the real Gwangju places."""
    text = _text(CARGO, **replace)
    text = text[: text.index("# A slice of the certification center")]
    return "\n".join(line for line in text.splitlines() if not line.startswith("hands_to"))


def _cargo_model(**replace: str) -> TwinModel:
    return TwinModel(scenario.loads(_cargo_only(**replace)), World(load_area("bitgreen"), None))


AIRPORT = (126.809, 35.126)  # the aerodrome reference point (GWANGJU_FACTS.md); control zone 9.26 km


def test_the_cargo_corridor_goes_around_the_airport_control_zone_without_approval() -> None:
    service = _cargo_model().services[-1]
    line = service.corridors["cargo_link"]
    airport = shapely.Point(service.places.to_crs(*AIRPORT))
    straight = shapely.LineString([service.port_xy["cheomdan3_vertiport"], service.port_xy["bitgreen_vertiport"]])
    # the straight line's volume (500 m wide) would clip the 9.26 km zone; the detour keeps 250 m + 200 m off it
    assert straight.distance(airport) < 9260.0 + 250.0
    assert line.distance(airport) >= 9260.0 * np.cos(np.pi / 64) + 250.0 + 200.0 - 1.0  # 64-gon's inner radius
    assert service.kpis()["airspace"]["detours_km"]["cargo_link"] == pytest.approx(
        (line.length - straight.length) / 1000.0, abs=1e-3)
    assert service.kpis()["airspace"]["approved_crossings"] == {}


def test_with_approval_the_corridor_crosses_and_the_kpis_say_so() -> None:
    service = _cargo_model(**{"approval = false": "approval = true", 'width = "500 m"': 'width = "500 m"\n'
                              'via = [[126.809, 35.126]]'}).services[-1]
    crossing = service.kpis()["airspace"]["approved_crossings"]["cargo_link"]
    assert crossing["zone"] == "gwangju_airport_ctr"
    assert crossing["km_inside"] == pytest.approx(2 * 9.26, rel=0.01)  # in and out again through the centre


def test_a_corridor_leaving_the_free_zone_is_a_scenario_error() -> None:
    text = _text(FREE_ZONE, **{'id = "park_to_wolchul"\n': 'id = "park_to_wolchul"\nvia = [[126.95, 35.24]]\n'})
    with pytest.raises(RoutingError, match=r"^corridor park_to_wolchul leaves its operational volume "
                                           r"buk_gu_drone_free_zone \(\d+ m2 outside, up to \d+ m\)"):
        TwinModel(scenario.loads(text), _gwangju())


def test_the_airspace_audit_catches_a_drone_in_the_control_zone(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    runner.run(FREE_ZONE, tmp_path / "run", seed=1, until_s=12 * 3600.0)
    assert {c.name: c.status for c in audit(tmp_path / "run")}["drone_airspace"] == "PASS"
    import geopandas as gpd
    import pyproj

    path = tmp_path / "run" / "trajectories.gpkg"
    tracks = gpd.read_file(path, layer="trajectories")
    cruise = tracks.index[(tracks["kind"] == "drone") & (tracks["state"] == "cruise")][0]
    x, y = pyproj.Transformer.from_crs("EPSG:4326", tracks.crs, always_xy=True).transform(*AIRPORT)
    tracks.loc[cruise, "geometry"] = shapely.Point(x, y)  # one cruise fix over the airport
    tracks.to_file(path, layer="trajectories", driver="GPKG")
    check = next(c for c in audit(tmp_path / "run") if c.name == "drone_airspace")
    assert check.status == "FAIL" and "enters control zone gwangju_airport_ctr" in check.figure
    assert "leaves its operational volume" in check.figure


def test_cargo_deliveries_become_parts_at_the_certification_center(helsinki_world) -> None:
    model = _run(CARGO.read_text(encoding="utf-8"), helsinki_world)
    kpis = model.kpis()
    assert kpis["drones"]["deliveries"] > 10
    assert kpis["certification"]["parts_shipped"] == kpis["drones"]["deliveries"]
    assert kpis["drones"]["min_energy_fraction"] >= 0.2


def test_impossible_flights_and_bad_references_are_one_line() -> None:
    text = _text(FREE_ZONE, **{'energy = "1.2 kWh"': 'energy = "0.05 kWh"'})
    with pytest.raises(RoutingError, match="cannot fly .* and keep its reserve even when full"):
        _run(text, _gwangju())
    with pytest.raises(ScenarioError, match="corridor park_to_wolchul ends at 'nowhere', which is not a vertiport"):
        scenario.loads(_text(FREE_ZONE, **{'end = "wolchul_vertiport"\n\n[[drones.corridors]]':
                                           'end = "nowhere"\n\n[[drones.corridors]]'}))



@settings(max_examples=60, deadline=None)
@given(committed=st.lists(st.tuples(st.integers(min_value=0, max_value=900).map(float), STOPS,
                                    st.sampled_from([8.0, 15.0, 25.0])), min_size=1, max_size=6),
       candidate=st.tuples(st.integers(min_value=0, max_value=900).map(float), STOPS, st.sampled_from([8.0, 15.0])),
       delays=st.lists(st.integers(min_value=0, max_value=600).map(float), min_size=1, max_size=5))
def test_the_airspace_index_finds_exactly_the_conflicts_the_checker_sees(committed, candidate, delays) -> None:
    """The planner's time-indexed airspace against the audit's separation checker (which shares none
    of its code): pair by pair of airborne pieces, a committed flight conflicts with the candidate
    iff the checker finds both minima broken at once; a batch of departure slots answers as each
    slot alone would."""
    from gwangju_twin.agents.drones.airspace import GROUND_PHASES, Airspace
    from gwangju_twin.agents.drones.audit import _encounter

    airspace = Airspace()
    flights = [flight(f"d-{k}", start, stops, speed) for k, (start, stops, speed) in enumerate(committed)]
    for committed_flight in flights:
        airspace.commit(committed_flight)
    mine = flight("me-1", *candidate)

    def pieces(trajectory):
        return [(float(trajectory.t_s[i]), float(trajectory.t_s[i + 1]), trajectory.agent, trajectory.xyz_m[i],
                 trajectory.xyz_m[i + 1]) for i, phase in enumerate(trajectory.phases[:-1])
                if phase not in GROUND_PHASES and trajectory.t_s[i + 1] > trajectory.t_s[i]]

    def expected(delay_s: float) -> list[str]:
        shifted = mine.shifted(delay_s)
        return sorted({other.agent for other in flights for a in pieces(shifted) for b in pieces(other)
                       if min(a[1], b[1]) > max(a[0], b[0]) and _encounter(a, b, 150.0, 30.0)[1] is not None})

    shape = airspace.segments_of(mine)
    assert airspace.conflicts_with(mine) == expected(0.0)
    assert airspace.conflicts_at(mine.agent, [(shape, d) for d in delays]) == [expected(d) for d in delays]


def test_pads_sit_on_their_own_grid_spaced_from_the_controlling_dimension() -> None:
    """Four pads of 3 D (EB 105A: FATO 2 D + 0.5 D safety area each side) or the terminal minimum + D apart."""
    text = _text(FREE_ZONE, **{'site = "cheomdan3_vertiport"\npads = 2 ': 'site = "cheomdan3_vertiport"\npads = 4 ',
                               'size = "1.5 m"': 'size = "6 m"'})
    service = TwinModel(scenario.loads(text), _gwangju()).services[-1]
    port = service.vertiports["cheomdan3_vertiport"]
    assert port.pad_spacing_m == 18.0 and port.fato_m == 12.0 and port.tlof_m == 6.0
    gaps = np.hypot(*(port.pads_xy_m[:, None, :] - port.pads_xy_m[None, :, :]).T)
    assert sorted(np.round(gaps[np.triu_indices(4, 1)], 6)) == [18.0] * 4 + [round(18.0 * 2**0.5, 6)] * 2
    assert np.allclose(port.pads_xy_m.mean(axis=0), port.centre_xy_m)  # centred on the site
    for corridor, gate in port.gates_xy_m.items():  # each gate on its corridor, on the terminal boundary
        assert np.hypot(*(np.subtract(gate, port.centre_xy_m))) == pytest.approx(200.0, abs=1e-6)
        assert service.corridors[corridor].distance(shapely.Point(gate)) < 1e-6
    assert service.kpis()["airspace"]["vertiports"]["cheomdan3_vertiport"]["pad_spacing_m"] == 18.0


def test_a_terminal_radius_too_small_for_the_pads_is_one_line() -> None:
    text = _text(FREE_ZONE, **{'terminal_radius = "200 m"': 'terminal_radius = "5 m"'})
    with pytest.raises(TwinError, match=r"^drones.terminal_radius 5 m is too small for vertiport daechon_drone_park's "
                                        r"2 pads 11.5 m apart: it must be at least 17 m$"):
        TwinModel(scenario.loads(text), _gwangju())


def test_each_resolution_is_an_event_with_its_kind() -> None:
    model = _run(_text(FREE_ZONE, **BUSY), _gwangju())
    kpis = model.kpis()["drones"]
    details = [detail for _, _, event, detail in model.log.rows if event == "resolution"]
    kinds = {detail.split(":")[0] for detail in details}
    assert kinds <= set(kpis["resolutions"]) and len(details) == sum(kpis["resolutions"].values()) > 0
    assert kpis["resolutions"]["layer_change"] > 0  # a free layer is tried before slowing down or holding
    assert min(kpis["wait_by_cause_h"].values()) >= 0 and kpis["wait_by_cause_h"]["fleet"] > 0


@settings(max_examples=80, deadline=None)
@given(flights=st.lists(st.tuples(st.lists(st.floats(0.0, 900.0), min_size=1, max_size=13),
                                  st.floats(0.0, 5e3), st.floats(1e5, 4e6), st.floats(0.0, 2e5), st.integers(0, 2**32 - 1)),
                        min_size=1, max_size=12))
def test_the_batched_track_is_the_flight_by_flight_track_to_the_bit(flights) -> None:
    """:func:`track_columns` computes flights with equally many points as one array; every value is
    the double the point-by-point record gives (numpy's sum and cumulative sum of one flight)."""
    from gwangju_twin.agents.drones.service import track_columns
    from gwangju_twin.units import J_PER_KWH

    held = []
    for k, (steps, base, energy, used_j, seed) in enumerate(flights):
        t_s = np.cumsum([0.0, *steps])  # equal times too (steps of 0) and flights in no time at all
        xyz = np.random.default_rng(seed).uniform(-3000.0, 3000.0, (len(t_s), 3))
        held.append((f"d-{k}", t_s, xyz, tuple(f"p{i}" for i in range(len(t_s))), base, energy, used_j))
    expected = []
    for name, t_s, xyz, phases, base, energy, used_j in held:  # the record as it was kept point by point
        seconds = np.diff(t_s)
        used = np.concatenate([[0.0], np.cumsum(seconds / seconds.sum() * used_j)]) if seconds.sum() else np.zeros(len(t_s))
        flown = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xyz[:, :2], axis=0).T))])
        expected += [(name, "drone", float(t), float(x), float(y), base + float(f), phase, (energy - float(u)) / J_PER_KWH,
                      float(z)) for t, (x, y, z), phase, u, f in zip(t_s, xyz, phases, used, flown)]
    columns = track_columns(held)
    got = list(zip(*[c.tolist() if isinstance(c, np.ndarray) else c for c in columns]))
    assert got == expected
