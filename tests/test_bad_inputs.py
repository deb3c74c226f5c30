"""Bad inputs and faults, as a table: every one is ONE line naming the real cause, a non-zero exit,
before any work starts, and nothing of the user's is changed.

Each case is (id, command line, exit status, a fragment of the one line). The commands run
in-process through the real entry point (:func:`twin.cli.run_command`), against one real results
folder (with a user's own file in it), one real sweep database, the real map cache and a real map
bundle, shared by the whole module; after every case all of them are byte-identical and the work
folder holds nothing new. Cases that need a read-only place use a read-only bind mount (root
ignores permission bits); where mounting is impossible they are skipped, saying why.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from gwangju_twin import cli, mapbundle, mapcache, runner, scenario
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep import run_task
from gwangju_twin.sweep_config import SweepSpec, expand

BITGREEN = scenario.packaged()["bitgreen_shuttles"]
HELSINKI_AREA = Path(__file__).parents[1] / "maps" / "areas" / "helsinki_test.toml"
RUN = ["run", "bitgreen_shuttles", "--area", "helsinki_test", "--until", "2 h"]

# Scenario files with one mistake each: (id, text replaced in bitgreen_shuttles.toml, replacement, fragment).
SCENARIO_EDITS = [
    ("duration_zero", 'duration = "24 h"', 'duration = "0 s"', "duration"),
    ("duration_huge", 'duration = "24 h"', 'duration = "1e9 d"', "at most 400 d"),
    ("duration_nan", 'duration = "24 h"', 'duration = "nan h"', "duration"),
    ("duration_unit", 'duration = "24 h"', 'duration = "24 kg"', "duration"),
    ("duration_number", 'duration = "24 h"', "duration = 24", "duration"),
    ("seed_negative", "seed = 1", "seed = -1", "scenario.seed"),
    ("seed_2_32", "seed = 1", "seed = 4294967296", "scenario.seed"),
    ("seed_text", "seed = 1", 'seed = "one"', "scenario.seed"),
    ("start_far_future", "start_date = 2026-04-01", "start_date = 9999-12-31", "start_date"),
    ("start_far_past", "start_date = 2026-04-01", "start_date = 0001-01-01", "start_date"),
    ("start_not_date", "start_date = 2026-04-01", 'start_date = "April"', "start_date"),
    ("step_zero", 'step = "60 s"', 'step = "0 s"', "step"),
    ("step_two_days", 'step = "60 s"', 'step = "2 d"', "step"),
    ("name_upper", 'name = "bitgreen_shuttles"', 'name = "Bitgreen"', "scenario.name"),
    ("unknown_key", 'step = "60 s"', 'step = "60 s"\nstpe = "60 s"', "unknown key"),
    ("area_empty", 'area = "bitgreen"', 'area = ""', "scenario.area"),
    ("fleet_count_negative", "count = 2                      # ASSUMPTION: fleet size", "count = -1 #", "count"),
    ("fleet_count_text", "count = 2                      # ASSUMPTION: fleet size", 'count = "two" #', "count"),
    ("fleet_speed_negative", 'max_speed = "5 km/h"           # seed 000 line 45: 5 km/h or less',
     'max_speed = "-5 km/h"', "max_speed"),
    ("fleet_speed_unit", 'max_speed = "5 km/h"           # seed 000 line 45: 5 km/h or less',
     'max_speed = "5 kg"', "max_speed"),
    ("fleet_service_unknown", 'service = "cleaning"', 'service = "teleport"', "service"),
    ("fleet_window_bad", 'windows = ["10:00-12:00", "14:00-16:00"]  # public facts: the real',
     'windows = ["25:00-26:00"]  #', "windows"),
    ("capacity_zero", "capacity = 4 ", "capacity = 0 ", "capacity"),
    ("max_detour_text", "max_detour = 1.5", 'max_detour = "far"', "max_detour"),
    ("demand_negative", "demand_scale = 1.0", "demand_scale = -1.0", "demand_scale"),
    ("chargers_negative", "chargers = 2 ", "chargers = -2 ", "chargers"),
    ("power_unit", 'power = "7 kW"', 'power = "7 km"', "power"),
    ("rate_unit", 'disengagement_rate = "0.2 / h"', 'disengagement_rate = "0.2 kg"', "disengagement_rate"),
    ("snap_negative", 'snap_distance = "150 m"', 'snap_distance = "-150 m"', "snap_distance"),
    ("toml_syntax", "[shuttles.charging]", "[shuttles.charging", "not valid TOML"),
    ("toml_duplicate", "[shuttles.charging]", "[shuttles]\n[shuttles.charging]", "not valid TOML"),
    ("toml_nested", "[shuttles.charging]", "deep = " + "[" * 5000 + "]" * 5000 + "\n[shuttles.charging]",
     "nested too deeply"),
]

# Area files with one mistake each (the packaged helsinki_test.toml, edited): (id, old, new, fragment).
AREA_EDITS = [
    ("polygon_nan", "[[24.937, 60.1655]", "[[nan, 60.1655]", "polygon"),
    ("polygon_inf", "[[24.937, 60.1655]", "[[inf, 60.1655]", "polygon"),
    ("polygon_two_points", "polygon = [[24.937, 60.1655], [24.952, 60.1655], [24.952, 60.178], [24.937, 60.178], "
     "[24.937, 60.1655]]", "polygon = [[24.937, 60.1655], [24.952, 60.1655]]", "polygon"),
    ("crs_unknown", 'crs = "EPSG:32635"', 'crs = "EPSG:999999"', "crs"),
    ("crs_degrees", 'crs = "EPSG:32635"', 'crs = "EPSG:4326"', "crs"),
    ("id_bad", 'id = "helsinki_test"', 'id = "Helsinki Test"', "id"),
    ("kind_unknown", 'kind = "road_area"', 'kind = "ocean"', "kind"),
    ("site_lat_text", "lat = 60.17028", 'lat = "north"', "lat"),
    ("toml_syntax", 'kind = "road_area"', 'kind = "road_area', "not valid TOML"),
    # the same id with half the outline: the cached map was built from another definition
    ("half_outline", "[24.952, 60.1655], [24.952, 60.178]", "[24.9445, 60.1655], [24.9445, 60.178]",
     "changed (outline, clip, CRS or road rule) since its map was cached"),
]

# Sweep files with one mistake each: (id, text of the [sweep] table, fragment).
SWEEP_BASE = 'name = "bad"\nscenario = "{scenario}"\narea = "helsinki_test"\nuntil = "2 h"\n'
SWEEP_EDITS = [
    ("seeds_empty", "seeds = []", "sweep.seeds"),
    ("seeds_negative", "seeds = [-1, 2]", "sweep.seeds"),
    ("seeds_2_32", "seeds = [4294967296]", "sweep.seeds"),
    ("seeds_2_64_minus", "seeds = [9223372036854775807]", "sweep.seeds"),
    ("seed_range_negative", "seeds = { from = -1, count = 3 }", "sweep.seeds"),
    ("seed_range_zero", "seeds = { from = 0, count = 0 }", "sweep.seeds"),
    ("seed_range_past_limit", "seeds = { from = 4294967295, count = 2 }", "sweep.seeds"),
    ("seeds_text", 'seeds = "many"', "sweep.seeds"),
    ("retries_negative", "retries = -1", "sweep.retries"),
    ("until_huge", 'until_extra = 1\n', "unknown key"),
    ("steps_zero", '[sweep.parameters]\n"shuttles.fleet.on_demand.demand_scale" = { from = 1, to = 2, steps = 0 }',
     "steps"),
    ("parameter_unknown_item", '[sweep.parameters]\n"shuttles.fleet.nobody.count" = [1, 2]', "no item with id"),
    ("parameter_bad_value", '[sweep.parameters]\n"shuttles.fleet.on_demand.count" = [-1]', "count"),
    ("objective_bad", 'objectives = { "x" = "most" }', "objectives"),
]


def _digest(path: Path) -> dict[str, str]:
    """Every file under ``path`` (or ``path`` itself) with its sha256."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def _mount_read_only(folder: Path) -> str | None:
    """Bind-mount ``folder`` read-only; None if done, else why not."""
    if shutil.which("mount") is None:
        return "no mount command"
    try:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True, capture_output=True, timeout=30)
        subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], check=True, capture_output=True, timeout=30)
    except (subprocess.CalledProcessError, OSError) as exc:
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)
        return f"mounting read-only is not possible here ({exc})"
    try:
        (folder / "probe").write_text("x")
    except OSError:
        return None
    (folder / "probe").unlink()
    subprocess.run(["umount", str(folder)], capture_output=True, timeout=30)
    return "a read-only bind mount is writable here (no mount namespace rights)"


def _bundle_variant(source: Path, target: Path, edit) -> None:  # noqa: ANN001 - edit(name, data) -> data | None
    """A copy of bundle ``source`` with members changed by ``edit`` (None drops a member)."""
    with tarfile.open(source) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = edit(member.name, src.extractfile(member).read())
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))


def _reseal(manifest: bytes, files: dict[str, bytes]) -> bytes:
    """A bundle manifest whose checksums agree with ``files``: what a bundle made to deceive carries."""
    data = json.loads(manifest)
    for name, content in files.items():
        data["sha256"][name] = "sha256:" + hashlib.sha256(content).hexdigest()
    return json.dumps(data).encode()


def _make_bundles(bed: Path, bundle: Path) -> None:
    with tarfile.open(bundle) as src:
        members = {m.name: src.extractfile(m).read() for m in src.getmembers()}
    garbage = b"\x00garbage graph\x00"
    fake_json = json.loads(members["helsinki_test.json"])
    fake_json.update(road_length_km=99999.0, source="<script>alert(1)</script>\x1b[31m")
    fake_json_bytes = json.dumps(fake_json).encode()
    variants = {
        "truncated": None,
        "garbage_graph": lambda n, d: garbage if n.endswith(".graphml") else _reseal(d, {"helsinki_test.graphml": garbage})
        if n == mapbundle.BUNDLE_MANIFEST else d,
        "tampered_json": lambda n, d: fake_json_bytes if n == "helsinki_test.json" else _reseal(
            d, {"helsinki_test.json": fake_json_bytes}) if n == mapbundle.BUNDLE_MANIFEST else d,
        "tampered_json_unsealed": lambda n, d: fake_json_bytes if n == "helsinki_test.json" else d,
        "no_manifest": lambda n, d: None if n == mapbundle.BUNDLE_MANIFEST else d,
        "bad_manifest": lambda n, d: b"{not json" if n == mapbundle.BUNDLE_MANIFEST else d,
        "no_graph": lambda n, d: None if n.endswith(".graphml") else d,
        "manifest_format": lambda n, d: d.replace(b'"format": 2', b'"format": 99') if n == mapbundle.BUNDLE_MANIFEST else d,
        "manifest_traversal": lambda n, d: d.replace(b'"area": "helsinki_test"', b'"area": "../../evil"')
        if n == mapbundle.BUNDLE_MANIFEST else d,
        "edited_graph": lambda n, d: d.replace(b"residential", b"residentiaL", 1) if n.endswith(".graphml") else d,
    }
    for name, edit in variants.items():
        if edit is not None:
            _bundle_variant(bundle, bed / f"bundle_{name}.tar.gz", edit)
    data = bundle.read_bytes()
    (bed / "bundle_truncated.tar.gz").write_bytes(data[: len(data) // 2])
    (bed / "bundle_not_gzip.tar.gz").write_text("just text\n")


def _make_files(bed: Path) -> None:
    text = BITGREEN.read_text(encoding="utf-8")
    (bed / "scenarios").mkdir()
    for name, old, new, _ in SCENARIO_EDITS:
        assert old in text, name
        (bed / "scenarios" / f"{name}.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    area_text = HELSINKI_AREA.read_text(encoding="utf-8")
    (bed / "areas").mkdir()
    for name, old, new, _ in AREA_EDITS:
        assert old in area_text, name
        (bed / "areas" / f"{name}.toml").write_text(area_text.replace(old, new, 1), encoding="utf-8")
    (bed / "sweeps").mkdir()
    for name, table, _ in SWEEP_EDITS:
        body = SWEEP_BASE.format(scenario=BITGREEN.as_posix())
        if "seeds" not in table:
            body += "seeds = [1]\n"
        body += table.replace("[sweep.parameters]", "\n[sweep.parameters]") + "\n"
        (bed / "sweeps" / f"{name}.toml").write_text("[sweep]\n" + body, encoding="utf-8")
    (bed / "plain.txt").write_text("a file, not a folder\n")
    (bed / "garbage.duckdb").write_bytes(b"not a database at all" * 100)
    (bed / "garbage.osm.pbf").write_bytes(b"\x00\x01 not an extract")
    (bed / "nontwin").mkdir()
    (bed / "nontwin" / "manifest.json").write_text("{}")
    (bed / "nontwin" / "src").mkdir()
    (bed / "nontwin" / "src" / "app.js").write_text("x")
    damaged = {"bad_manifest": ("manifest.json", b"{oops"), "bad_events": ("events.csv", b'a,"b\n1,2,3,4,5\n"'),
               "bad_gpkg": ("trajectories.gpkg", None), "bad_summary": ("summary.json", b"[1, 2")}
    for name, (file, data) in damaged.items():
        shutil.copytree(bed / "earlier", bed / name)
        target = bed / name / file
        target.write_bytes(data if data is not None else target.read_bytes()[:5000])


@pytest.fixture(scope="module")
def bed(helsinki_map, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The shared world: results, a sweep database, the cache, bundles and bad files; and the read-only place."""
    bed = tmp_path_factory.mktemp("bad-inputs")
    runner.run(BITGREEN, bed / "earlier", area="helsinki_test", until_s=2 * 3600.0)
    (bed / "earlier" / "notes.txt").write_text("my notes\n")
    plan = expand(SweepSpec.model_validate({"name": "small", "scenario": str(BITGREEN), "until": "2 h",
                                            "seeds": [1, 2]}), "<test>", area="helsinki_test")
    db = ResultsDB(bed / "small.duckdb")
    for task in plan.tasks:
        db.record("small", run_task(task), 1)
    db.refresh_view()
    db.close()
    mapbundle.export_bundle(bed / "maps.tar.gz", ["helsinki_test"])
    _make_bundles(bed, bed / "maps.tar.gz")
    _make_files(bed)
    (bed / "ro").mkdir()
    (bed / "ro" / "inside").mkdir()
    why_not = _mount_read_only(bed / "ro")
    yield {"path": bed, "read_only": why_not}
    if why_not is None:
        subprocess.run(["umount", str(bed / "ro")], capture_output=True, timeout=30)


def _state(bed: Path) -> dict:
    cache = mapcache.cache_dir() / "maps"
    return {"listing": sorted(p.name for p in bed.iterdir()), "earlier": _digest(bed / "earlier"),
            "db": _digest(bed / "small.duckdb"), "cache": _digest(cache), "nontwin": _digest(bed / "nontwin")}


def run_cli(argv: list[str]) -> int:
    try:
        cli.run_command(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


CASES: list[tuple[str, list[str], int, str]] = [
    # seeds, durations and other ranges
    ("seed_negative", [*RUN, "--seed", "-1"], 2, "--seed -1: must be a whole number from 0 to 4294967295"),
    ("seed_2_32", [*RUN, "--seed", "4294967296"], 2, "--seed 4294967296"),
    ("seed_2_64", [*RUN, "--seed", str(2**64)], 2, "--seed"),
    ("seed_text", [*RUN, "--seed", "abc"], 2, "Invalid value for '--seed'"),
    ("until_1e9_days", ["run", "bitgreen_shuttles", "--area", "helsinki_test", "--until", "1e9 d"], 2,
     "more than the limit of 400 d; it would need at least 1.2 PB of memory"),
    ("until_401_days", ["run", "bitgreen_shuttles", "--area", "helsinki_test", "--until", "401 d"], 2, "limit of 400 d"),
    ("until_zero", ["run", "bitgreen_shuttles", "--until", "0 s"], 2, "more than 0 s"),
    ("until_negative", ["run", "bitgreen_shuttles", "--until", "-5 h"], 2, "--until '-5 h'"),
    ("until_nan", ["run", "bitgreen_shuttles", "--until", "nan h"], 2, "--until 'nan h'"),
    ("until_inf", ["run", "bitgreen_shuttles", "--until", "inf h"], 2, "--until 'inf h'"),
    ("until_unit", ["run", "bitgreen_shuttles", "--until", "5 parsec"], 2, "--until '5 parsec'"),
    ("until_empty", ["run", "bitgreen_shuttles", "--until", ""], 2, "--until ''"),
    ("until_mass", ["run", "bitgreen_shuttles", "--until", "5 kg"], 2, "--until '5 kg'"),
    ("sumo_seed", ["sumo", "bitgreen_shuttles", "--extract", "x.osm", "--seed", "-3"], 2, "--seed -3"),
    ("view_seed", ["view", "bitgreen_shuttles", "--seed", "-1"], 2, "--seed -1"),
    ("view_size_zero", ["view", "bitgreen_shuttles", "--size", "0x0"], 2, "--size '0x0': must be from"),
    ("view_size_huge", ["view", "bitgreen_shuttles", "--size", "100000x100000"], 2, "--size '100000x100000'"),
    ("view_size_text", ["view", "bitgreen_shuttles", "--size", "big"], 2, "must be WIDTHxHEIGHT"),
    ("view_speed_zero", ["view", "bitgreen_shuttles", "--speed", "0"], 2, "Invalid value for '--speed'"),
    ("record_size_zero", ["record", "bitgreen_shuttles", "v.mp4", "--size", "0x0"], 2, "--size '0x0'"),
    ("record_size_huge", ["record", "bitgreen_shuttles", "v.mp4", "--size", "100000x100000"], 2, "must be from"),
    ("record_size_odd", ["record", "bitgreen_shuttles", "v.mp4", "--size", "1921x1080"], 2, "must be even for H.264 video"),
    ("record_size_negative", ["record", "bitgreen_shuttles", "v.mp4", "--size", "-1x-1"], 2, "WIDTHxHEIGHT"),
    ("record_not_mp4", ["record", "bitgreen_shuttles", "v.avi"], 2, "must be an .mp4 file"),
    ("record_fps_zero", ["record", "bitgreen_shuttles", "v.mp4", "--fps", "0"], 2, "Invalid value for '--fps'"),
    ("record_length_zero", ["record", "bitgreen_shuttles", "v.mp4", "--length", "0 s"], 2, "--length '0 s'"),
    ("record_length_huge", ["record", "bitgreen_shuttles", "v.mp4", "--length", "1e9 h"], 2, "frames, more than"),
    ("record_seed", ["record", "bitgreen_shuttles", "v.mp4", "--seed", "-1"], 2, "--seed -1"),
    ("record_into_folder", ["record", "bitgreen_shuttles", "earlier"], 2, "must be an .mp4 file"),
    # results folders: never onto what the twin did not write
    ("out_not_twin", [*RUN, "--out", "nontwin"], 2, "was not written by the twin (no twin manifest.json)"),
    ("out_is_file", [*RUN, "--out", "plain.txt"], 2, "exists and is not a folder"),
    ("out_newline", [*RUN, "--out", "res\nults"], 2, "control character"),
    ("out_tab", [*RUN, "--out", "res\tults"], 2, "control character"),
    ("out_current", [*RUN, "--out", "."], 2, "is the current folder or holds it"),
    ("out_parent", [*RUN, "--out", ".."], 2, "is the current folder or holds it"),
    ("out_in_file", [*RUN, "--out", "plain.txt/sub"], 2, "is a file, not a folder"),
    ("out_damaged_src", [*RUN, "--out", "nontwin/src"], 2, "was not written by the twin"),
    ("demo_not_twin", ["demo", "--offline", "--out", "nontwin"], 2, "was not written by the twin"),
    ("demo_newline", ["demo", "--offline", "--out", "a\nb"], 2, "control character"),
    ("demo_current", ["demo", "--offline", "--out", "."], 2, "current folder"),
    ("sumo_out_newline", ["sumo", "bitgreen_shuttles", "--extract", "x.osm", "--out", "a\nb"], 2, "control character"),
    ("view_record_newline", ["view", "bitgreen_shuttles", "--record", "a\nb"], 2, "control character"),
    ("view_screenshot_folder", ["view", "bitgreen_shuttles", "--screenshot", "earlier"], 2, "is a folder"),
    # scenarios, areas and references
    ("scenario_unknown", ["run", "no_such_scenario"], 2, "no_such_scenario"),
    ("scenario_missing_file", ["run", "missing/scenario.toml"], 2, "missing/scenario.toml"),
    ("scenario_is_folder", ["run", "earlier"], 2, "earlier"),
    ("validate_missing", ["scenarios", "validate", "missing.toml"], 2, "missing.toml"),
    ("area_unknown", ["run", "bitgreen_shuttles", "--area", "atlantis"], 2, "unknown area 'atlantis'"),
    ("area_missing_file", ["run", "bitgreen_shuttles", "--area", "some/dir/area.toml"], 2, "some/dir/area.toml: file not found"),
    ("no_map_offline_hint", ["run", "bitgreen_shuttles"], 2, "--area helsinki_test"),
    ("area_new_bad_bbox", ["areas", "new", "x", "--bbox", "1,2,3"], 2, "bbox"),
    ("area_new_bbox_range", ["areas", "new", "x", "--bbox", "200,0,201,1", "--out", "ro"], 2, "bbox"),
    ("maps_import_unknown_area", ["maps", "import", "atlantis", "garbage.osm.pbf"], 2, "unknown area 'atlantis'"),
    ("maps_import_missing_extract", ["maps", "import", "helsinki_test", "missing.osm.pbf"], 2, "missing.osm.pbf"),
    ("maps_import_garbage_extract", ["maps", "import", "helsinki_test", "garbage.osm.pbf"], 2, "garbage.osm.pbf"),
    ("maps_import_not_extract", ["maps", "import", "helsinki_test", "plain.txt"], 2, "plain.txt"),
    # sweeps
    ("sweep_seeds_zero", ["sweep", "--scenario", "bitgreen_shuttles", "--seeds", "0"], 2, "--seeds 0: must be from 1"),
    ("sweep_seeds_negative", ["sweep", "--scenario", "bitgreen_shuttles", "--seeds", "-5"], 2, "--seeds -5"),
    ("sweep_workers_zero", ["sweep", "--scenario", "bitgreen_shuttles", "--workers", "0"], 2, "--workers 0"),
    ("sweep_param_form", ["sweep", "--scenario", "bitgreen_shuttles", "--param", "nonsense"], 2, "must be PATH=V1,V2"),
    ("sweep_param_unknown", ["sweep", "--scenario", "bitgreen_shuttles", "--param", "shuttles.fleet.nobody.count=1"],
     2, "no item with id 'nobody'"),
    ("sweep_param_bad_value", ["sweep", "--scenario", "bitgreen_shuttles", "--param",
                               "shuttles.fleet.on_demand.count=-1"], 2, "count"),
    ("sweep_nothing", ["sweep"], 2, "give a SWEEP_FILE"),
    ("sweep_missing_file", ["sweep", "missing_sweep.toml"], 2, "missing_sweep.toml: file not found"),
    ("sweep_not_toml", ["sweep", "plain.txt"], 2, "not valid TOML"),
    ("sweep_db_folder", ["sweep", "--scenario", "bitgreen_shuttles", "--area", "helsinki_test", "--db", "earlier"],
     2, "is a folder"),
    ("sweep_db_garbage", ["sweep", "--scenario", "bitgreen_shuttles", "--area", "helsinki_test", "--db",
                          "garbage.duckdb"], 2, "not a readable results database"),
    ("sweep_db_newline", ["sweep", "--scenario", "bitgreen_shuttles", "--db", "a\nb.duckdb"], 2, "control character"),
    ("sweep_db_in_file", ["sweep", "--scenario", "bitgreen_shuttles", "--db", "plain.txt/x.duckdb"], 2,
     "is a file, not a folder"),
    # results databases: read-only for everything but the sweep
    ("query_drop", ["results", "query", "small.duckdb", "DROP TABLE runs CASCADE"], 2, "read-only"),
    ("query_delete", ["results", "query", "small.duckdb", "DELETE FROM runs"], 2, "read-only"),
    ("query_insert", ["results", "query", "small.duckdb", "INSERT INTO runs (run_key) VALUES ('x')"], 2, "read-only"),
    ("query_update", ["results", "query", "small.duckdb", "UPDATE runs SET status = 'ok'"], 2, "read-only"),
    ("query_create", ["results", "query", "small.duckdb", "CREATE TABLE x (a INT)"], 2, "read-only"),
    ("query_alter", ["results", "query", "small.duckdb", "ALTER TABLE runs ADD COLUMN z INT"], 2, "read-only"),
    ("query_syntax", ["results", "query", "small.duckdb", "SELEC 1"], 2, "query failed"),
    ("query_unknown_table", ["results", "query", "small.duckdb", "SELECT * FROM nothing"], 2, "query failed"),
    ("query_missing_db", ["results", "query", "missing.duckdb", "SELECT 1"], 2, "no such results database"),
    ("query_garbage_db", ["results", "query", "garbage.duckdb", "SELECT 1"], 2, "not a readable results database"),
    ("query_folder", ["results", "query", "earlier", "SELECT 1"], 2, "no such results database"),
    ("query_text_file", ["results", "query", "plain.txt", "SELECT 1"], 2, "not a readable results database"),
    ("export_missing_db", ["results", "export", "missing.duckdb", "x.parquet"], 2, "no such results database"),
    ("export_into_folder", ["results", "export", "small.duckdb", "earlier"], 2, "is a folder"),
    ("export_newline", ["results", "export", "small.duckdb", "a\nb.parquet"], 2, "control character"),
    ("export_in_file", ["results", "export", "small.duckdb", "plain.txt/x.parquet"], 2, "is a file, not a folder"),
    ("export_garbage_db", ["results", "export", "garbage.duckdb", "x.parquet"], 2, "not a readable results database"),
    ("report_missing_db", ["report", "missing.duckdb"], 2, "no such results database"),
    ("report_out_folder", ["report", "small.duckdb", "--out", "earlier"], 2, "is a folder"),
    ("report_out_newline", ["report", "small.duckdb", "--out", "a\nb.html"], 2, "control character"),
    ("report_garbage_db", ["report", "garbage.duckdb", "--out", "r.html"], 2, "garbage.duckdb"),
    # facts
    ("facts_missing_file", ["facts", "missing.toml"], 2, "missing.toml: no such scenario file"),
    ("facts_out_folder", ["facts", "--out", "earlier"], 2, "is a folder"),
    ("facts_out_newline", ["facts", "--out", "a\nb.md"], 2, "control character"),
    ("facts_out_in_file", ["facts", "--out", "plain.txt/f.md"], 2, "is a file, not a folder"),
    # map bundles: checked by content, never printed raw
    ("bundle_missing", ["maps", "import-cache", "missing.tar.gz"], 2, "missing.tar.gz: file not found"),
    ("bundle_truncated", ["maps", "import-cache", "bundle_truncated.tar.gz"], 2, "truncated or damaged archive"),
    ("bundle_not_gzip", ["maps", "import-cache", "bundle_not_gzip.tar.gz"], 2, "truncated or damaged archive"),
    ("bundle_garbage_graph", ["maps", "import-cache", "bundle_garbage_graph.tar.gz"], 2,
     "is not the map its description names"),
    ("bundle_tampered_json", ["maps", "import-cache", "bundle_tampered_json.tar.gz"], 2,
     "helsinki_test.json differs from the bundle's manifest"),
    ("bundle_tampered_json_unsealed", ["maps", "import-cache", "bundle_tampered_json_unsealed.tar.gz"], 2,
     "helsinki_test.json is missing or damaged (checksum differs)"),
    ("bundle_no_manifest", ["maps", "import-cache", "bundle_no_manifest.tar.gz"], 2, "no twin-maps.json"),
    ("bundle_bad_manifest", ["maps", "import-cache", "bundle_bad_manifest.tar.gz"], 2, "not readable JSON"),
    ("bundle_no_graph", ["maps", "import-cache", "bundle_no_graph.tar.gz"], 2, "helsinki_test.graphml is missing"),
    ("bundle_format", ["maps", "import-cache", "bundle_manifest_format.tar.gz"], 2, "not a map bundle manifest"),
    ("bundle_traversal", ["maps", "import-cache", "bundle_manifest_traversal.tar.gz"], 2, "must be a-z, 0-9 and _"),
    ("bundle_edited_graph", ["maps", "import-cache", "bundle_edited_graph.tar.gz"], 2, "checksum differs"),
    ("bundle_is_folder", ["maps", "import-cache", "earlier"], 2, "file not found"),
    ("export_unknown_map", ["maps", "export", "out.tar.gz", "atlantis"], 2, "no cached map for atlantis"),
    ("export_bundle_folder", ["maps", "export", "earlier"], 2, "is a folder"),
    ("export_bundle_newline", ["maps", "export", "a\nb.tar.gz"], 2, "control character"),
    ("export_bundle_in_file", ["maps", "export", "plain.txt/m.tar.gz"], 2, "is a file, not a folder"),
    # audit: a damaged results folder is one line
    ("audit_missing", ["audit", "missing_folder"], 2, "no manifest.json"),
    ("audit_file", ["audit", "plain.txt"], 2, "no manifest.json"),
    ("audit_not_twin", ["audit", "nontwin"], 2, "no summary.json"),
    ("audit_bad_manifest", ["audit", "bad_manifest"], 2, "a damaged results folder"),
    ("audit_bad_events", ["audit", "bad_events"], 2, "a damaged results folder"),
    ("audit_bad_gpkg", ["audit", "bad_gpkg"], 2, "a damaged results folder"),
    ("audit_bad_summary", ["audit", "bad_summary"], 2, "a damaged results folder"),
    # command-line mistakes
    ("no_such_command", ["teleport"], 2, "No such command 'teleport'"),
    ("missing_argument", ["run"], 2, "Missing argument 'SCENARIO'"),
    ("unknown_option", ["run", "bitgreen_shuttles", "--sed", "1"], 2, "No such option"),
    ("query_missing_sql", ["results", "query", "small.duckdb"], 2, "Missing argument"),
]
CASES += [(f"scenario_{name}", ["scenarios", "validate", f"scenarios/{name}.toml"], 2, fragment)
          for name, _, _, fragment in SCENARIO_EDITS]
CASES += [(f"run_scenario_{name}", ["run", f"scenarios/{name}.toml", "--area", "helsinki_test"], 2, fragment)
          for name, _, _, fragment in SCENARIO_EDITS]
CASES += [(f"area_{name}", [*RUN, "--area", f"areas/{name}.toml"], 2, fragment) for name, _, _, fragment in AREA_EDITS]
CASES += [(f"sweep_{name}", ["sweep", f"sweeps/{name}.toml", "--db", "new.duckdb"], 2, fragment)
          for name, _, fragment in SWEEP_EDITS]

# Cases in a read-only place (a read-only bind mount), or with the cache made unusable.
READ_ONLY_CASES: list[tuple[str, list[str], int, str]] = [
    ("ro_run_out", [*RUN, "--out", "ro/results"], 2, "cannot write the results folder here (read-only file system)"),
    ("ro_run_default_out", [*RUN], 2, "read-only file system"),
    ("ro_demo", ["demo", "--offline"], 2, "read-only file system"),
    ("ro_sweep_default_db", ["sweep", "--scenario", "bitgreen_shuttles", "--area", "helsinki_test", "--seeds", "1"],
     2, "cannot write the results database here (read-only file system)"),
    ("ro_results_export", ["results", "export", "../small.duckdb", "x.parquet"], 2, "read-only file system"),
    ("ro_facts", ["facts", "--out", "facts.md"], 2, "read-only file system"),
    ("ro_maps_export", ["maps", "export", "maps.tar.gz"], 2, "read-only file system"),
    ("ro_record", ["record", "bitgreen_shuttles", "video.mp4", "--area", "helsinki_test"], 2, "read-only file system"),
    ("ro_report", ["report", "../small.duckdb", "--out", "r.html"], 2, "read-only file system"),
    ("ro_view_screenshot", ["view", "bitgreen_shuttles", "--screenshot", "s.png"], 2, "read-only file system"),
    ("ro_sumo", ["sumo", "bitgreen_shuttles", "--extract", "x.osm", "--out", "sumo"], 2, "read-only file system"),
    ("ro_areas_new", ["areas", "new", "kista", "--bbox", "17.93,59.39,17.97,59.41", "--out", "."], 2,
     "read-only file system"),
]
CACHE_CASES: list[tuple[str, list[str], str, str]] = [  # (id, command, cache, fragment)
    ("cache_is_file_import_cache", ["maps", "import-cache", "../maps.tar.gz"], "file", "is a file, not a folder"),
    ("cache_is_file_import", ["maps", "import", "helsinki_test", "../garbage.osm.pbf"], "file", "is a file, not a folder"),
    ("cache_read_only_import_cache", ["maps", "import-cache", "../maps.tar.gz"], "ro",
     "cannot write the map cache here (read-only file system)"),
    ("cache_read_only_import", ["maps", "import", "helsinki_test", "../garbage.osm.pbf"], "ro", "read-only file system"),
    ("cache_read_only_fetch", ["maps", "fetch", "helsinki_test"], "ro", "read-only file system"),
    ("cache_empty_run", ["run", "bitgreen_shuttles", "--area", "helsinki_test", "--out", "../x"], "empty",
     "no road network cached for area 'helsinki_test'"),
]


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.mark.parametrize(("argv", "code", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_input_is_one_line_and_changes_nothing(bed, argv, code, fragment, monkeypatch, capsys) -> None:
    monkeypatch.chdir(bed["path"])
    before = _state(bed["path"])
    assert run_cli(argv) == code
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("error: ") and fragment in line, line
    assert _state(bed["path"]) == before


@pytest.mark.parametrize(("argv", "code", "fragment"), [c[1:] for c in READ_ONLY_CASES],
                         ids=[c[0] for c in READ_ONLY_CASES])
def test_a_read_only_destination_is_named_before_any_work(bed, argv, code, fragment, monkeypatch, capsys) -> None:
    if bed["read_only"] is not None:
        pytest.skip(bed["read_only"])
    monkeypatch.chdir(bed["path"] / "ro")
    before = _state(bed["path"])
    assert run_cli(argv) == code
    line = _one_line(capsys.readouterr().err)
    assert fragment in line, line
    assert _state(bed["path"]) == before


@pytest.mark.parametrize(("argv", "cache", "fragment"), [c[1:] for c in CACHE_CASES], ids=[c[0] for c in CACHE_CASES])
def test_an_unusable_cache_gives_the_real_cause(bed, argv, cache, fragment, monkeypatch, capsys) -> None:
    if cache == "ro" and bed["read_only"] is not None:
        pytest.skip(bed["read_only"])
    place = {"file": bed["path"] / "plain.txt", "ro": bed["path"] / "ro", "empty": bed["path"] / "ro" / "inside"}[cache]
    monkeypatch.setenv("TWIN_CACHE_DIR", str(place))
    monkeypatch.chdir(bed["path"] / "nontwin")
    before = _state(bed["path"])
    assert run_cli(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert fragment in line, line
    assert _state(bed["path"]) == before


def test_a_locked_database_is_named_as_locked(bed, monkeypatch, capsys) -> None:
    """Another process (a sweep) holds the database: query, export and a second sweep say so."""
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"con = duckdb.connect({str(bed['path'] / 'small.duckdb')!r})\n"
                               "print('held', flush=True)\ntime.sleep(120)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.chdir(bed["path"])
        for argv in (["results", "query", "small.duckdb", "SELECT 1"], ["results", "export", "small.duckdb", "x.parquet"],
                     ["sweep", "--scenario", "bitgreen_shuttles", "--area", "helsinki_test", "--seeds", "1", "--db",
                      "small.duckdb"]):
            assert run_cli(argv) == 2
            line = _one_line(capsys.readouterr().err)
            assert f"small.duckdb: is locked by process {holder.pid}" in line, line
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def test_the_table_has_150_cases() -> None:
    assert len(CASES) + len(READ_ONLY_CASES) + len(CACHE_CASES) + 3 >= 150
