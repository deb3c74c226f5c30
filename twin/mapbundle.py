"""Map bundles: cached maps packed into one ``.tar.gz`` for a machine without internet, and unpacked there.

A bundle holds each map's GraphML and ``.json`` and a manifest (``twin-maps.json``) with every
file's sha256. Checksums a bundle lists about itself prove nothing against a bundle made to
deceive, so an import checks by content too: in a staging folder every map is loaded, its
fingerprint recomputed and its counts and road length compared with what its ``.json`` claims;
only then is anything in the cache replaced. Text from a bundle is never printed as it is.
"""

from __future__ import annotations

import io
import json
import math
import tarfile
import tempfile
import zlib
from pathlib import Path

from gwangju_twin import mapcache
from gwangju_twin.errors import MapError
from gwangju_twin.fileio import atomic_path

BUNDLE_MANIFEST = "twin-maps.json"
BUNDLE_FORMAT = 2  # 2: the .json files are checksummed too
ROAD_KM_TOLERANCE = 0.001


def export_bundle(target: Path, area_ids: list[str] | None = None) -> list[mapcache.MapInfo]:
    """Pack cached maps (all, or ``area_ids``) into one ``.tar.gz`` with a manifest of each file's sha256."""
    entries = mapcache.cached() if not area_ids else [e for a in area_ids if (e := mapcache.info(a)) is not None]
    missing = sorted(set(area_ids or []) - {e.area for e in entries})
    if missing:
        raise MapError(f"no cached map for {', '.join(missing)} in {mapcache.cache_dir()}; fetch or import it first")
    if not entries:
        raise MapError(f"no maps cached in {mapcache.cache_dir()} to export")
    files = {}
    for entry in entries:
        graphml, meta = mapcache._checked(entry.area)  # noqa: SLF001 - the cache's own check of a map
        files[graphml.name] = mapcache.fingerprint(graphml)
        files[f"{entry.area}.json"] = mapcache.fingerprint(graphml.with_suffix(".json"))
    manifest = {"format": BUNDLE_FORMAT, "maps": [e.__dict__ for e in entries], "sha256": files}
    with atomic_path(target) as tmp:
        with tarfile.open(tmp, "w:gz") as bundle:
            folder = mapcache.cache_dir() / "maps"
            for name in files:
                bundle.add(folder / name, arcname=name)
            data = json.dumps(manifest, indent=2, ensure_ascii=False).encode()
            member = tarfile.TarInfo(BUNDLE_MANIFEST)
            member.size = len(data)
            bundle.addfile(member, io.BytesIO(data))
    return entries


def import_bundle(source: Path) -> list[mapcache.MapInfo]:
    """Unpack a bundle made by :func:`export_bundle` into the cache after checking every file by checksum
    and every map by content; nothing is written if anything is missing, damaged or false."""
    if not source.is_file():
        raise MapError(f"{source}: file not found")
    with tempfile.TemporaryDirectory(prefix="twin-maps-") as tmp:
        staging = Path(tmp)
        _unpack(source, staging)
        entries = _checked_entries(source, staging)
        for entry in entries:
            _check_content(source, staging, entry)
        folder = mapcache.cache_dir() / "maps"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for entry in entries:
                with atomic_path(folder / f"{entry.area}.graphml") as target:
                    target.write_bytes((staging / f"{entry.area}.graphml").read_bytes())
                with atomic_path(folder / f"{entry.area}.json") as target:
                    target.write_text(json.dumps(entry.__dict__, indent=2, ensure_ascii=False), encoding="utf-8")
                (folder / f"{entry.area}.network.npz").unlink(missing_ok=True)
        except OSError as exc:
            raise MapError(f"{folder}: cannot write the map cache ({exc.strerror or exc})") from None
    return entries


def _unpack(source: Path, staging: Path) -> None:
    try:
        with tarfile.open(source, "r:gz") as bundle:
            names = bundle.getnames()
            if BUNDLE_MANIFEST not in names:
                raise MapError(f"{source}: not a map bundle made by 'twin maps export' (no {BUNDLE_MANIFEST})")
            bundle.extractall(staging, filter="data")
    except (EOFError, zlib.error, tarfile.ReadError) as exc:
        raise MapError(f"{source}: truncated or damaged archive ({exc.__class__.__name__}); copy or export "
                       "it again") from None
    except tarfile.TarError as exc:
        raise MapError(f"{source}: refused: {mapcache.printable(str(exc))}") from None
    except OSError as exc:
        raise MapError(f"{source}: cannot be unpacked ({exc.strerror or exc.__class__.__name__}) in "
                       f"{staging.parent}") from None


def _checked_entries(source: Path, staging: Path) -> list[mapcache.MapInfo]:
    """The bundle's maps, its manifest well formed and every listed file present with its checksum."""
    try:
        manifest = json.loads((staging / BUNDLE_MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MapError(f"{source}: {BUNDLE_MANIFEST} is not readable JSON ({exc.__class__.__name__})") from None
    if not (isinstance(manifest, dict) and manifest.get("format") in (1, BUNDLE_FORMAT)
            and isinstance(manifest.get("maps"), list) and isinstance(manifest.get("sha256"), dict)):
        raise MapError(f"{source}: {BUNDLE_MANIFEST} is not a map bundle manifest (format, maps, sha256)")
    entries = [mapcache.map_info(m, f"{source}: {BUNDLE_MANIFEST}") for m in manifest["maps"]]
    if not entries:
        raise MapError(f"{source}: the bundle holds no maps")
    digests = manifest["sha256"]
    for entry in entries:
        wanted = [f"{entry.area}.graphml"] + ([f"{entry.area}.json"] if manifest["format"] >= 2 else [])
        for name in wanted:
            path = staging / name
            if not isinstance(digests.get(name), str) or not path.is_file() or mapcache.fingerprint(path) != digests[name]:
                raise MapError(f"{source}: {name} is missing or damaged (checksum differs); export it again")
        if manifest["format"] >= 2:
            stored = mapcache.map_info(_json(source, staging / f"{entry.area}.json"), f"{source}: {entry.area}.json")
            if stored != entry:
                raise MapError(f"{source}: {entry.area}.json differs from the bundle's manifest; export it again")
    return entries


def _json(source: Path, path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MapError(f"{source}: {path.name} is not readable JSON ({exc.__class__.__name__})") from None


def _check_content(source: Path, staging: Path, entry: mapcache.MapInfo) -> None:
    """Load the map and compare its fingerprint, counts and road length with what its description claims."""
    import osmnx as ox

    graphml = staging / f"{entry.area}.graphml"
    if mapcache.fingerprint(graphml) != entry.fingerprint:
        raise MapError(f"{source}: {entry.area}.graphml is not the map its description names (fingerprint differs)")
    try:
        graph = ox.load_graphml(graphml)
    except Exception as exc:  # noqa: BLE001 - whatever a damaged GraphML raises, it is no map
        raise MapError(f"{source}: {entry.area}.graphml does not load as a road map "
                       f"({exc.__class__.__name__}); export it again") from None
    road_km = mapcache._road_length_m(graph) / 1000.0  # noqa: SLF001 - the same measure the cache recorded
    counts = (graph.number_of_nodes(), mapcache.road_edges(graph))
    if counts != (entry.nodes, entry.edges) or not math.isclose(road_km, entry.road_length_km,
                                                                abs_tol=ROAD_KM_TOLERANCE):
        raise MapError(f"{source}: {entry.area}: the map has {counts[0]} nodes, {counts[1]} edges and "
                       f"{road_km:.1f} km of road, not the {entry.nodes}, {entry.edges} and "
                       f"{entry.road_length_km:.1f} km its description claims; export it again")
