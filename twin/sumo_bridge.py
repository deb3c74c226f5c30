"""Replaying a twin run's trips in Eclipse SUMO, for the head-to-head benchmark and cross-checks.

SUMO (pip ``eclipse-sumo``, which carries ``sumo`` and ``netconvert``) gets the same roads the
twin imports: :func:`write_sumo_network` clips the OSM extract to the area with the twin's own
filter (:func:`twin.osm.clip_extract`) and builds SUMO's network from that file with netconvert.
The clipped file carries no node tags, so neither side has traffic lights.

A model built with ``record_drives=True`` remembers every shortest-path drive its vehicles
start. :func:`write_trips` turns those into SUMO trips between the same OSM junctions,
departing at the same instants, for a vehicle type capped at the same speed; SUMO routes them
itself. :func:`twin_figures` and :func:`sumo_figures` count trips and vehicle-km on each side.
"""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gwangju_twin.areas import Area
from gwangju_twin.errors import TwinError
from gwangju_twin.network import RoadNetwork
from gwangju_twin.osm import check_extract, clip_extract
from gwangju_twin.plugins import plugin_of

# SUMO's OSM type map opens service roads to delivery vehicles but not to cars: the shuttles are
# service vehicles, so they are of SUMO's "delivery" class.
SUMO_VEHICLE_CLASS = "delivery"
# Vehicle type (after id, class and maxSpeed): no driver imperfection (sigma 0), no speed spread; SUMO's
# default acceleration and deceleration for a small vehicle. Length and gap of a compact electric service
# vehicle (ASSUMPTION). An on-demand fleet's type adds its seats and SUMO's taxi device.
SUMO_VEHICLE_TYPE = {"accel": "2.6", "decel": "4.5", "sigma": "0", "speedFactor": "1", "speedDev": "0",
                     "length": "3.5", "minGap": "1.5"}
# SUMO's dispatcher for the taxi device that shares rides, as the twin's insertion dispatch does.
SUMO_TAXI_DISPATCH = "greedyShared"
NETCONVERT_OPTIONS = (
    "--no-internal-links",          # vehicles go node to node, as in the twin
    "--geometry.remove",            # SUMO's recommended OSM import: fewer, longer edges (faster for SUMO)
    "--keep-edges.components", "1",  # the largest connected part, as the twin keeps
    "--no-warnings",
)


@dataclass(frozen=True)
class TripFigures:
    """What one side drove: trips completed and vehicle-km."""

    trips: int
    vehicle_km: float
    km_by_service: dict[str, float] = field(default_factory=dict)  # a vehicle's service: its name up to the last '-'
    trips_by_service: dict[str, int] = field(default_factory=dict)


def sumo_binary(name: str) -> Path:
    """Path of a SUMO program (``sumo``, ``netconvert``) from the ``eclipse-sumo`` package."""
    try:
        import sumo
    except ImportError:
        raise TwinError("Eclipse SUMO is not installed; install it with: pip install eclipse-sumo") from None
    path = Path(sumo.SUMO_HOME) / "bin" / name
    if not path.is_file():
        raise TwinError(f"{path}: not found in the eclipse-sumo package")
    return path


def write_sumo_network(area: Area, extract: Path, out_dir: Path) -> Path:
    """Clip ``extract`` to ``area`` like the twin's import does and build ``AREA.net.xml`` with netconvert."""
    check_extract(extract)
    out_dir.mkdir(parents=True, exist_ok=True)
    osm_xml = out_dir / f"{area.id}.osm"
    clip_extract(extract, area, osm_xml)
    net_xml = out_dir / f"{area.id}.net.xml"
    _run([str(sumo_binary("netconvert")), "--osm-files", str(osm_xml), "-o", str(net_xml), *NETCONVERT_OPTIONS])
    return net_xml


def sumo_junctions(net_xml: Path) -> set[str]:
    """Ids of the (non-internal) junctions of a SUMO network: OSM node ids for an OSM import."""
    return {j.get("id") for j in ET.parse(net_xml).getroot().iter("junction") if j.get("type") != "internal"}


@dataclass(frozen=True)
class TaxiFleet:
    """An on-demand fleet for SUMO's taxi device: its vehicles wait at the depot from the start,
    each request is a person asking for a taxi ride at the same instant between the same
    junctions, and SUMO's own dispatcher (``greedyShared``: shared rides) decides who serves whom."""

    id: str
    vehicles: tuple[str, ...]
    depot: int
    max_speed_mps: float
    capacity: int
    requests: tuple[tuple[float, int, int], ...]  # (time s, origin node, destination node)
    waits_s: tuple[float | None, ...] = ()  # the twin's wait for each request's pick-up (None: not served)


def taxi_fleets(model: Any) -> list[TaxiFleet]:
    """The fleets a model's plug-ins give SUMO as taxis (each plug-in says which of its services are)."""
    return [fleet for service in model.services for fleet in plugin_of(service).sumo(service).taxi_fleets]


def write_trips(
    drives: Iterable[Sequence], network: RoadNetwork, routes_xml: Path,
    max_speed_mps: float | dict[str, float], junctions: set[str] | None = None,
    taxis: Sequence[TaxiFleet] = (), skip_missing: bool = False,
) -> int:
    """Write the twin's drives as SUMO trips (sorted by departure, as SUMO requires); return how many.

    ``max_speed_mps`` is one cap for all, or each vehicle's cap by name (one SUMO type per cap).
    Drives that start and end at the same node move nothing and are left out. With ``junctions``,
    a drive from or to a node SUMO's network lacks is refused by name, or left out with
    ``skip_missing`` (the benchmark then compares both sides without it; see :func:`twin_figures`).
    ``taxis``: on-demand fleets whose drives are not replayed: their vehicles and requests go to
    SUMO's taxi device instead (persons whose ``personTrip`` asks for a taxi).
    """
    def known(*nodes: int) -> bool:
        return junctions is None or all(str(network.osm_ids[n]) in junctions for n in nodes)

    taxi_vehicles = {name for fleet in taxis for name in fleet.vehicles}
    trips = sorted((t_s, vehicle, a, b) for t_s, vehicle, a, b, *_ in drives
                   if a != b and vehicle not in taxi_vehicles and (not skip_missing or known(a, b)))
    caps = max_speed_mps if isinstance(max_speed_mps, dict) else {vehicle: max_speed_mps for _, vehicle, _, _ in trips}
    types = {speed: f"cap_{speed * 3.6:.2f}_kmh" for speed in sorted(set(caps.values()))}
    vehicle_types = [_vehicle_type(name, speed) for speed, name in types.items()]
    entries: list[tuple[float, int, ET.Element]] = []  # (depart, order, element): SUMO reads departures in order
    for i, (t_s, vehicle, a, b) in enumerate(trips):
        start, end = str(network.osm_ids[a]), str(network.osm_ids[b])
        if not known(a, b):
            missing = start if not known(a) else end
            raise TwinError(f"OSM node {missing} (a trip end of {vehicle}) is not a junction of SUMO's network")
        entries.append((t_s, len(entries), ET.Element("trip", {
            "id": f"{vehicle}.{i}", "type": types[caps[vehicle]], "depart": f"{t_s:.2f}", "fromJunction": start,
            "toJunction": end, "departSpeed": "max", "arrivalPos": "max"})))
    for fleet in taxis:
        vehicle_types.append(_vehicle_type(f"taxi_{fleet.id}", fleet.max_speed_mps, taxi_seats=fleet.capacity))
        entries += [(t_s, len(entries) + k, element) for k, (t_s, element) in enumerate(_taxi_entries(fleet, network, known))]
    _write_xml(routes_xml, "routes", [*vehicle_types, *(element for _, _, element in sorted(entries))])
    return len(trips)


def _vehicle_type(type_id: str, max_speed_mps: float, *, taxi_seats: int | None = None) -> ET.Element:
    """A ``vType``: the twin's vehicle at ``max_speed_mps``; with ``taxi_seats``, a taxi of that many seats."""
    vehicle_type = ET.Element("vType", {"id": type_id, "vClass": SUMO_VEHICLE_CLASS, "maxSpeed": f"{max_speed_mps:.6f}",
                                        **SUMO_VEHICLE_TYPE})
    if taxi_seats is not None:
        vehicle_type.set("personCapacity", str(taxi_seats))
        ET.SubElement(vehicle_type, "param", {"key": "has.taxi.device", "value": "true"})
    return vehicle_type


def _taxi_entries(fleet: TaxiFleet, network: RoadNetwork, known: Callable[..., bool]) -> list[tuple[float, ET.Element]]:
    """A fleet's taxis waiting at the depot from the start, and each request SUMO's network can serve as a
    person asking for a taxi ride, with their departures."""
    depot = str(network.osm_ids[fleet.depot])
    entries = [(0.0, ET.Element("trip", {"id": name, "type": f"taxi_{fleet.id}", "depart": "0.00",
                                         "fromJunction": depot, "toJunction": depot, "line": "taxi"}))
               for name in fleet.vehicles]
    for i, (t_s, origin, destination) in enumerate(fleet.requests):
        if origin == destination or not known(origin, destination):
            continue
        person = ET.Element("person", {"id": f"{fleet.id}.request{i + 1}", "depart": f"{t_s:.2f}"})
        ET.SubElement(person, "personTrip", {"fromJunction": str(network.osm_ids[origin]),
                                             "toJunction": str(network.osm_ids[destination]), "modes": "taxi"})
        entries.append((t_s, person))
    return entries


def _write_xml(path: Path, root_tag: str, children: Iterable[ET.Element]) -> None:
    """Write ``<root_tag>`` with ``children``, one to a line, as SUMO reads it."""
    root = ET.Element(root_tag)
    root.extend(children)
    if len(root):
        root.text = "\n    "
        for child in root:
            child.tail = "\n    "
        root[-1].tail = "\n"
    path.write_text(ET.tostring(root, encoding="unicode") + "\n", encoding="utf-8")


def sumo_options(net_xml: Path, routes_xml: Path, tripinfo_xml: Path, end_s: float, *,
                 taxis: bool = False) -> dict[str, str]:
    """SUMO's options for driving the trips until ``end_s`` in one-second steps and writing trip info
    (with ``taxis``, also dispatching the taxi fleets' requests)."""
    options = {
        "net-file": str(net_xml), "route-files": str(routes_xml), "junction-taz": "true", "begin": "0",
        "end": f"{end_s:g}", "step-length": "1", "tripinfo-output": str(tripinfo_xml), "seed": "1",
    }
    if taxis:  # persons still waiting or riding at the end are written too: every request is counted
        options["device.taxi.dispatch-algorithm"] = SUMO_TAXI_DISPATCH
        options["tripinfo-output.write-unfinished"] = "true"
    return options


def sumo_command(net_xml: Path, routes_xml: Path, tripinfo_xml: Path, end_s: float, *, meso: bool = False,
                 taxis: bool = False) -> list[str]:
    """The ``sumo`` command that drives the trips headless until ``end_s`` and writes trip info.

    ``meso``: SUMO's mesoscopic mode (queues per edge segment, no car-following or lane changes),
    the level of detail the twin works at; SUMO then reports its own simulation time on stdout."""
    options = sumo_options(net_xml, routes_xml, tripinfo_xml, end_s, taxis=taxis)
    if meso:
        options["mesosim"] = "true"
    return [str(sumo_binary("sumo")), *(part for key, value in options.items() for part in (f"--{key}", value)),
            "--no-step-log", "--no-warnings", "--duration-log.statistics", "true"]


def sumo_loop_s(stdout: str) -> float | None:
    """SUMO's own simulation time, from the first ``Duration:`` line of its statistics (``5.94s``
    or ``750ms``), or None when it printed none."""
    for line in stdout.splitlines():
        text = line.strip()
        if text.startswith("Duration:"):
            value = text.split(":", 1)[1].strip()
            scale = 1e-3 if value.endswith("ms") else 1.0
            try:
                return float(value.rstrip("ms")) * scale
            except ValueError:
                return None
    return None


def sumo_figures(tripinfo_xml: Path) -> TripFigures:
    """Trips SUMO completed and the km they drove (``routeLength`` of every arrived trip; taxis,
    which are never done, are counted by :func:`sumo_rides` instead)."""
    infos = [i for i in ET.parse(tripinfo_xml).getroot().iter("tripinfo")
             if not i.get("vType", "").startswith("taxi_") and float(i.get("arrival", "-1")) >= 0]
    return _figures([(info.get("id").rsplit(".", 1)[0], float(info.get("routeLength")) / 1000.0)
                     for info in infos])  # trip ids are VEHICLE.N


@dataclass(frozen=True)
class RideFigures:
    """What an on-demand service did for its riders: requests, rides completed, mean wait for pick-up."""

    requests: int
    served: int
    wait_mean_s: float | None  # None: nobody was picked up


def sumo_rides(tripinfo_xml: Path) -> RideFigures:
    """Taxi requests and completed rides from SUMO's person infos (a ride not done has arrival -1)."""
    persons = list(ET.parse(tripinfo_xml).getroot().iter("personinfo"))
    rides = [ride for person in persons for ride in person.iter("ride") if float(ride.get("arrival", "-1")) >= 0]
    waits = [float(ride.get("waitingTime")) for ride in rides]
    return RideFigures(len(persons), len(rides), sum(waits) / len(waits) if waits else None)


def twin_rides(model: Any, junctions: set[str] | None = None) -> RideFigures:
    """The same figures for the twin's on-demand fleets (requests SUMO could be given, with ``junctions``)."""
    ids = model.world.network.osm_ids
    asked = [wait_s for fleet in taxi_fleets(model) for (_, origin, destination), wait_s in zip(fleet.requests, fleet.waits_s)
             if origin != destination and (junctions is None or {str(ids[origin]), str(ids[destination])} <= junctions)]
    waits = [wait_s for wait_s in asked if wait_s is not None]
    return RideFigures(len(asked), len(waits), sum(waits) / len(waits) if waits else None)


def twin_figures(model: Any, junctions: set[str] | None = None, exclude: set[str] = frozenset()) -> TripFigures:
    """Trips the twin completed (non-empty drives that arrived) and their km, from a run with ``record_drives``.

    ``junctions``: only drives whose ends SUMO's network has; ``exclude``: vehicles not replayed (taxis)."""
    if model.drives is None:
        raise TwinError("the model was built without record_drives=True")
    ids = model.world.network.osm_ids
    done = [(vehicle, a, b) for _, vehicle, a, b, end_s in model.drives if a != b and end_s is not None
            and vehicle not in exclude and (junctions is None or {str(ids[a]), str(ids[b])} <= junctions)]
    network = model.world.network
    return _figures([(vehicle, network.distance_m(a, b) / 1000.0) for vehicle, a, b in done])


def _figures(trips: list[tuple[str, float]]) -> TripFigures:
    """Totals of ``(vehicle, km)`` trips, and per service (a vehicle's name up to its last '-')."""
    km_by_service: dict[str, float] = {}
    trips_by_service: Counter[str] = Counter()
    for vehicle, km in trips:
        service = vehicle.rsplit("-", 1)[0]
        km_by_service[service] = km_by_service.get(service, 0.0) + km
        trips_by_service[service] += 1
    return TripFigures(len(trips), sum(km for _, km in trips), km_by_service, dict(trips_by_service))


def check_exportable(model: Any, extract: Path) -> None:
    """Refuse, in one line and before any simulating, a run :func:`export_run` could not write."""
    if model.drives is None:
        raise TwinError("the model was built without record_drives=True")
    areas = {world.area.id for world in model.worlds.values()}
    if len(areas) > 1:
        raise TwinError(f"the scenario spans {len(areas)} areas ({', '.join(sorted(areas))}); SUMO export "
                        "takes one: run it with --area AREA")
    check_extract(extract)


@dataclass(frozen=True)
class Routes:
    """What :func:`write_routes` wrote: the replayed trips' figures, the drives left out, the
    taxi requests, and whether SUMO must dispatch taxis."""

    figures: TripFigures
    left_out: int  # drives with an end SUMO's network lacks (where the area cuts a road)
    rides: RideFigures  # the twin's rides among the requests SUMO was given
    taxis: bool


def write_routes(model: Any, net_xml: Path, routes_xml: Path) -> Routes:
    """Write a finished run (``record_drives``) for SUMO: every drive replayed as a trip at its
    vehicle's cap, on-demand fleets as taxis, drives SUMO's network cannot take left out and counted."""
    junctions = sumo_junctions(net_xml)
    caps = {name: cap for service in model.services
            for name, cap in plugin_of(service).sumo(service).max_speed_mps.items()}
    taxis = taxi_fleets(model)
    write_trips(model.drives, model.world.network, routes_xml, caps, junctions, taxis=taxis, skip_missing=True)
    replayed = {name for fleet in taxis for name in fleet.vehicles}
    written = twin_figures(model, junctions, exclude=replayed)
    return Routes(written, twin_figures(model, exclude=replayed).trips - written.trips, twin_rides(model, junctions),
                  bool(taxis))


def export_run(model: Any, extract: Path, out_dir: Path) -> tuple[Path, Routes]:
    """Write SUMO's network, the trips of a finished run (``record_drives``) and ``run.sumocfg``.

    ``sumo -c run.sumocfg`` (or ``sumo-gui``) then drives what the twin drove, its on-demand
    fleets as SUMO taxis serving the same requests. One area only: SUMO's network is built from
    that area's extract. Returns the configuration and what :func:`write_routes` wrote.
    """
    check_exportable(model, extract)
    net_xml = write_sumo_network(model.world.area, extract, out_dir)
    routes_xml = out_dir / "trips.rou.xml"
    routes = write_routes(model, net_xml, routes_xml)
    options = sumo_options(Path(net_xml.name), Path(routes_xml.name), Path("tripinfo.xml"), model.duration_s,
                           taxis=routes.taxis)
    config = out_dir / "run.sumocfg"
    _write_xml(config, "configuration", (ET.Element(key, {"value": value}) for key, value in options.items()))
    return config, routes


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = (done.stderr or done.stdout).strip().splitlines()
        raise TwinError(f"{Path(command[0]).name} failed: {message[-1] if message else done.returncode}")
