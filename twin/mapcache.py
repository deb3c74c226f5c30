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
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gwangju_twin.errors import MapError
from gwangju_twin.fileio import atomic_path, atomic_write_text
from gwangju_twin.network import RoadNetwork

if TYPE_CHECKING:
    import networkx as nx

CACHE_ENV = "TWIN_CACHE_DIR"


def cache_dir() -> Path:
    """The cache root: ``$TWIN_CACHE_DIR`` or ``~/.cache/gwangju-twin``."""
    root = os.environ.get(CACHE_ENV) or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "gwangju-twin"
    return Path(root)


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


def save(graph: nx.MultiDiGraph, area_id: str, source: str) -> MapInfo:
    """Write ``graph`` to the cache atomically and return its description."""
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
        return MapInfo(**json.loads(meta.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise MapError(f"{meta}: damaged cache entry ({exc}); fetch or import area '{area_id}' again") from None


def cached() -> list[MapInfo]:
    """Every cached map, by area id."""
    folder = cache_dir() / "maps"
    found = (info(p.stem) for p in sorted(folder.glob("*.json"))) if folder.is_dir() else ()
    return [entry for entry in found if entry is not None]


def _checked(area_id: str) -> tuple[Path, MapInfo]:
    """The cached GraphML and its description, refusing a missing or changed map in one line."""
    entry = info(area_id)
    if entry is None:
        raise MapError(
            f"no road network cached for area '{area_id}' in {cache_dir()}; run "
            f"'twin maps fetch {area_id}' (online) or 'twin maps import {area_id} FILE.osm.pbf' (offline)"
        )
    graphml, _ = _paths(area_id)
    if fingerprint(graphml) != entry.fingerprint:
        raise MapError(f"{graphml}: changed since it was cached; fetch or import area '{area_id}' again")
    return graphml, entry


def load(area_id: str) -> tuple[nx.MultiDiGraph, MapInfo]:
    """The cached graph of ``area_id``; a missing map is one line naming the commands to run."""
    import osmnx as ox

    graphml, entry = _checked(area_id)
    return ox.load_graphml(graphml), entry


def load_network(area_id: str, crs: str) -> tuple[RoadNetwork, MapInfo]:
    """The compiled network of ``area_id``: from its ``.network.npz`` if that matches the map, else compiled now."""
    graphml, entry = _checked(area_id)
    compiled = _compiled_path(area_id)
    if compiled.is_file():
        try:
            network = RoadNetwork.load_npz(compiled)
        except (OSError, ValueError, KeyError):
            network = None  # damaged or from another version: compile again below
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


BUNDLE_MANIFEST = "twin-maps.json"


def export_bundle(target: Path, area_ids: list[str] | None = None) -> list[MapInfo]:
    """Pack cached maps (all, or ``area_ids``) into one ``.tar.gz`` for a machine without internet,
    with a manifest of each file's sha256."""
    import tarfile

    entries = cached() if not area_ids else [e for a in area_ids if (e := info(a)) is not None]
    missing = sorted(set(area_ids or []) - {e.area for e in entries})
    if missing:
        raise MapError(f"no cached map for {', '.join(missing)} in {cache_dir()}; fetch or import it first")
    if not entries:
        raise MapError(f"no maps cached in {cache_dir()} to export")
    files = {}
    for entry in entries:
        graphml, _ = _checked(entry.area)
        files[f"{entry.area}.graphml"] = fingerprint(graphml)
    manifest = {"format": 1, "maps": [e.__dict__ for e in entries], "sha256": files}
    with atomic_path(target) as tmp:
        with tarfile.open(tmp, "w:gz") as bundle:
            for entry in entries:
                graphml, meta = _paths(entry.area)
                bundle.add(graphml, arcname=graphml.name)
                bundle.add(meta, arcname=meta.name)
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            member = tarfile.TarInfo(BUNDLE_MANIFEST)
            member.size = len(data)
            import io

            bundle.addfile(member, io.BytesIO(data))
    return entries


def import_bundle(source: Path) -> list[MapInfo]:
    """Unpack a bundle made by :func:`export_bundle` into the cache after checking every checksum;
    nothing is written if any file is missing or differs."""
    import tarfile
    import tempfile

    if not source.is_file():
        raise MapError(f"{source}: file not found")
    try:
        with tarfile.open(source, "r:gz") as bundle, tempfile.TemporaryDirectory(prefix="twin-maps-") as tmp:
            names = set(bundle.getnames())
            if BUNDLE_MANIFEST not in names:
                raise MapError(f"{source}: not a map bundle made by 'twin maps export' (no {BUNDLE_MANIFEST})")
            bundle.extractall(tmp, filter="data")
            manifest = json.loads((Path(tmp) / BUNDLE_MANIFEST).read_text(encoding="utf-8"))
            entries = [MapInfo(**m) for m in manifest["maps"]]
            for name, digest in manifest["sha256"].items():
                path = Path(tmp) / name
                if not path.is_file() or fingerprint(path) != digest:
                    raise MapError(f"{source}: {name} is missing or damaged (checksum differs); export it again")
            folder = cache_dir() / "maps"
            folder.mkdir(parents=True, exist_ok=True)
            for entry in entries:
                for name in (f"{entry.area}.graphml", f"{entry.area}.json"):
                    with atomic_path(folder / name) as target:
                        target.write_bytes((Path(tmp) / name).read_bytes())
                _compiled_path(entry.area).unlink(missing_ok=True)
    except (tarfile.TarError, OSError, ValueError, KeyError, TypeError) as exc:
        raise MapError(f"{source}: not a readable map bundle ({exc.__class__.__name__})") from None
    return entries
