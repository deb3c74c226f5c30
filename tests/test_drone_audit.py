"""The air audit without gaps: each check passes on a real results folder and fails on a copy of it
doctored in one way (a drone at 400 m, energy at 0 kWh mid-flight, a jump, a missing take-off
event, a take-off off every pad, two drones on one pad or one path)."""

import shutil
from pathlib import Path

import pandas as pd
import pytest
import shapely
from gwangju_twin import runner, scenario
from gwangju_twin.audit import audit

FREE_ZONE = scenario.packaged()["drone_free_zone"]
CHECKS = ("drone_separation", "drone_airspace", "drone_altitude", "drone_energy", "drone_kinematics",
          "drone_flights", "drone_pads", "drone_paths")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """drone_free_zone, seed 1, half a day on the real Gwangju places (no road map needed)."""
    folder = tmp_path_factory.mktemp("drones") / "run"
    runner.run(FREE_ZONE, folder, seed=1, until_s=12 * 3600.0)
    return folder


def _copy(real_run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "doctored"
    shutil.copytree(real_run, target)
    return target


def _doctor_tracks(folder: Path, change) -> None:
    import geopandas as gpd

    path = folder / "trajectories.gpkg"
    tracks = gpd.read_file(path, layer="trajectories")
    change(tracks)
    tracks.to_file(path, layer="trajectories", driver="GPKG")


def _status(folder: Path) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.figure) for c in audit(folder)}


def _cruise_row(tracks) -> int:
    drones = tracks[(tracks["kind"] == "drone") & (tracks["state"] == "cruise")]
    return drones.index[len(drones) // 2]


def test_the_real_record_passes_every_air_check(real_run: Path) -> None:
    status = _status(real_run)
    assert all(status[name][0] == "PASS" for name in CHECKS), {n: status[n] for n in CHECKS}


def test_a_drone_cruising_at_400_m_fails_the_altitude_check(real_run: Path, tmp_path: Path) -> None:
    folder = _copy(real_run, tmp_path)
    _doctor_tracks(folder, lambda t: t.__setitem__("altitude_m", t["altitude_m"].where(t.index != _cruise_row(t),
                                                                                             400.0)))
    status, figure = _status(folder)["drone_altitude"]
    assert status == "FAIL" and "above the highest ceiling 150 m (highest 400 m)" in figure


def test_energy_at_zero_in_mid_flight_fails_the_energy_check(real_run: Path, tmp_path: Path) -> None:
    folder = _copy(real_run, tmp_path)
    _doctor_tracks(folder, lambda t: t.__setitem__("battery_kwh", t["battery_kwh"].where(t.index != _cruise_row(t),
                                                                                               0.0)))
    status, figure = _status(folder)["drone_energy"]
    assert status == "FAIL" and "1 points below the reserve" in figure and "0.000 kWh" in figure


def test_a_jump_fails_the_kinematics_check(real_run: Path, tmp_path: Path) -> None:
    folder = _copy(real_run, tmp_path)

    def jump(tracks) -> None:
        row = _cruise_row(tracks)
        point = tracks.loc[row, "geometry"]
        tracks.loc[row, "geometry"] = shapely.Point(point.x + 2000.0, point.y)

    _doctor_tracks(folder, jump)
    status, figure = _status(folder)["drone_kinematics"]
    assert status == "FAIL" and "too fast" in figure


def test_a_missing_takeoff_event_fails_the_flights_check(real_run: Path, tmp_path: Path) -> None:
    folder = _copy(real_run, tmp_path)
    events = pd.read_csv(folder / "events.csv", keep_default_na=False)
    first = events.index[events["event"] == "takeoff"][0]
    events.drop(index=first).to_csv(folder / "events.csv", index=False)
    status, figure = _status(folder)["drone_flights"]
    assert status == "FAIL" and f"{events.loc[first, 'agent']}: " in figure and "takeoff events" in figure


def test_a_takeoff_off_every_pad_fails_the_pads_check(real_run: Path, tmp_path: Path) -> None:
    folder = _copy(real_run, tmp_path)

    def off_pad(tracks) -> None:
        row = tracks.index[(tracks["kind"] == "drone") & (tracks["state"] == "pad")][0]
        point = tracks.loc[row, "geometry"]
        tracks.loc[row, "geometry"] = shapely.Point(point.x + 30.0, point.y)

    _doctor_tracks(folder, off_pad)
    status, figure = _status(folder)["drone_pads"]
    assert status == "FAIL" and "m from the nearest pad" in figure


def test_two_drones_on_one_pad_at_once_fail_the_pads_check(real_run: Path, tmp_path: Path) -> None:
    """A second drone's take-off moved onto the pad and into the minute another drone spins up on it."""
    folder = _copy(real_run, tmp_path)

    def crowd(tracks) -> None:
        pads = tracks[(tracks["kind"] == "drone") & (tracks["state"] == "pad")]
        first = pads.index[0]
        other = pads.index[pads["agent"] != pads.loc[first, "agent"]][0]
        climb = tracks.index[(tracks["agent"] == tracks.loc[other, "agent"]) & (tracks["t_s"] > tracks.loc[other, "t_s"])][0]
        tracks.loc[other, "geometry"] = tracks.loc[first, "geometry"]
        tracks.loc[other, "t_s"] = tracks.loc[first, "t_s"] + 10.0
        tracks.loc[climb, "t_s"] = max(tracks.loc[climb, "t_s"], tracks.loc[first, "t_s"] + 70.0)

    _doctor_tracks(folder, crowd)
    status, figure = _status(folder)["drone_pads"]
    assert status == "FAIL" and "0 off a pad" in figure and " overlapping (" in figure and " on daechon_drone_park pad 1 " in figure


def test_two_drones_on_one_departure_path_at_once_fail_the_paths_check(real_run: Path, tmp_path: Path) -> None:
    """A second drone's first departure moved onto the first departure's pad and path, 5 s behind it."""
    folder = _copy(real_run, tmp_path)

    def follow(tracks) -> None:
        drones = tracks[tracks["kind"] == "drone"].sort_values(["agent", "t_s"], kind="stable")
        rows = {agent: list(frame.index) for agent, frame in drones.groupby("agent")}

        def departure(row) -> list | None:  # pad, climb, over the pad, gate
            own = rows[tracks.loc[row, "agent"]]
            k = own.index(row)
            return own[k - 1:k + 3] if k >= 1 and k + 2 < len(own) else None

        climbs = [row for row in drones.sort_values("t_s", kind="stable").index
                  if tracks.loc[row, "state"] == "climb" and departure(row)]
        lead = departure(climbs[0])
        mine = next(departure(row) for row in climbs if tracks.loc[row, "agent"] != tracks.loc[lead[1], "agent"]
                    and rows[tracks.loc[row, "agent"]].index(row) == 1  # the drone's first flight
                    and tracks.loc[departure(row)[3], "geometry"].distance(tracks.loc[lead[3], "geometry"]) < 1.0)
        for source, target in zip(lead, mine):
            for column in ("geometry", "altitude_m"):
                tracks.loc[target, column] = tracks.loc[source, column]
            tracks.loc[target, "t_s"] = tracks.loc[source, "t_s"] + 5.0

    _doctor_tracks(folder, follow)
    status, figure = _status(folder)["drone_paths"]
    assert status == "FAIL" and " overlapping (" in figure and "on the departure path of daechon_drone_park" in figure
