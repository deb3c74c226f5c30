"""Drones: flight times by hand, wind, deconfliction that holds over many seeds, geofences, energy."""

import numpy as np
import pyproj
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.drones import TAKEOFF_PAD_S, find_site
from twin import scenario
from twin.errors import RoutingError, ScenarioError
from twin.model import TwinModel

FREE_ZONE = scenario.packaged()["drone_free_zone"]
CARGO = scenario.packaged()["cargo_link"]


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


def test_flight_time_is_climb_cruise_descent(helsinki_world) -> None:
    model, drone = _one_flight(helsinki_world, 'wind = { speed = "0 m/s" }')
    flight = drone.flight
    to_m = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:32652", always_xy=True)
    a, b = (np.array(to_m.transform(*find_site(s))) for s in ("daechon_drone_park", "cheomdan3_vertiport"))
    length_m = float(np.hypot(*(b - a)))
    assert 3000 < length_m < 4000

    def expected_s(altitude_m: float) -> float:
        return TAKEOFF_PAD_S + altitude_m / 3.0 + length_m / (54 / 3.6) + altitude_m / 2.0

    # Out in the forward layer (floor + 1/4 of the band), requested at 01:00, delivered on landing:
    delivered = [t for t, _, event, _ in model.log.rows if event == "delivered"]
    assert delivered == [pytest.approx(3600.0 + expected_s(60.0 + 0.25 * 90.0), rel=1e-9)]
    # home again in the backward layer (floor + 3/4 of the band):
    assert flight.passes[0].leg.key == ("park_to_cheomdan3", -1)
    assert flight.landed_s - flight.takeoff_s == pytest.approx(expected_s(60.0 + 0.75 * 90.0), rel=1e-9)


def test_tailwind_shortens_the_cruise(helsinki_world) -> None:
    _, calm = _one_flight(helsinki_world, 'wind = { speed = "0 m/s" }')
    cruise_calm = sum(p.t_out - p.t_in for p in calm.flight.passes)
    leg = calm.flight.passes[0].leg
    dx, dy = leg.xy_m[-1] - leg.xy_m[0]
    towards = np.degrees(np.arctan2(dx, dy)) % 360  # track bearing
    _, pushed = _one_flight(helsinki_world, f'wind = {{ speed = "5 m/s", from_deg = {(towards + 180) % 360} }}')
    cruise_pushed = sum(p.t_out - p.t_in for p in pushed.flight.passes)
    assert cruise_pushed == pytest.approx(cruise_calm * 15.0 / 20.0, rel=1e-6)  # 15 m/s airspeed + 5 m/s


# Heavy traffic: ten drones at the park, three times the parcels, four pads at Cheomdan 3 (so up to
# four drones may fly the same corridor towards it at once).
BUSY = {"drones = { parcel_multicopter = 4 }": "drones = { parcel_multicopter = 10 }",
        'id = "parcels_out"': 'id = "parcels_out"\nscale = 3.0',
        'site = "cheomdan3_vertiport"\npads = 1 ': 'site = "cheomdan3_vertiport"\npads = 4 '}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**31), gust=st.floats(min_value=0.0, max_value=4.0))
def test_no_loss_of_separation_with_deconfliction(helsinki_world, seed: int, gust: float) -> None:
    text = _text(FREE_ZONE, **{'gust_sd = "1.5 m/s"': f'gust_sd = "{gust} m/s"', **BUSY})
    kpis = _run(text, helsinki_world, seed).kpis()["drones"]
    assert kpis["deliveries"] > 50
    assert kpis["losses_of_separation"] == 0
    assert kpis["conflicts_resolved"] == kpis["conflicts_detected"]
    assert kpis["min_energy_fraction"] >= 0.2  # never below the reserve


def test_without_deconfliction_the_same_traffic_loses_separation(helsinki_world) -> None:
    busy = {**BUSY, 'gust_sd = "1.5 m/s"': 'gust_sd = "3 m/s"'}
    on = _run(_text(FREE_ZONE, **busy), helsinki_world).kpis()["drones"]
    off = _run(_text(FREE_ZONE, **busy, **{"strategic = true\ntactical = true": "strategic = false\ntactical = false"}),
               helsinki_world).kpis()["drones"]
    assert on["losses_of_separation"] == 0
    assert off["losses_of_separation"] > 0
    assert off["holding_h"] < on["holding_h"]  # deconfliction costs waiting time


def test_a_corridor_across_the_airport_geofence_is_refused(helsinki_world) -> None:
    text = _text(CARGO, **{"via = [[126.80, 35.215], [126.735, 35.17]]": "via = [[126.809, 35.126]]"})
    with pytest.raises(RoutingError, match="^corridor cargo_link crosses geofence gwangju_airport_ctr; route it"):
        TwinModel(scenario.loads(text), helsinki_world)


def test_cargo_deliveries_become_parts_at_the_certification_center(helsinki_world) -> None:
    model = _run(CARGO.read_text(encoding="utf-8"), helsinki_world)
    kpis = model.kpis()
    assert kpis["drones"]["deliveries"] > 10
    assert kpis["certification"]["parts_shipped"] == kpis["drones"]["deliveries"]
    assert kpis["drones"]["min_energy_fraction"] >= 0.2


def test_impossible_flights_and_bad_references_are_one_line(helsinki_world) -> None:
    text = _text(FREE_ZONE, **{'energy = "1.2 kWh"': 'energy = "0.05 kWh"'})
    with pytest.raises(RoutingError, match="cannot fly .* and keep its reserve even when full"):
        _run(text, helsinki_world)
    with pytest.raises(ScenarioError, match="corridor park_to_wolchul ends at 'nowhere', which is not a vertiport"):
        scenario.loads(_text(FREE_ZONE, **{'end = "wolchul_vertiport"\n\n[[drones.corridors]]':
                                           'end = "nowhere"\n\n[[drones.corridors]]'}))
