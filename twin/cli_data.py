"""The ``twin`` commands about files and data: areas, maps, scenarios, results databases, reports,
the facts table and the audit (registered on the app by :mod:`twin.cli`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from gwangju_twin.cli_text import _area_ref, _print_rows, err, out
from gwangju_twin.errors import TwinError

maps_app = typer.Typer(help="Road networks: fetch online, import offline, list the cache.", no_args_is_help=True)
scenarios_app = typer.Typer(help="Scenario files: list and validate.", no_args_is_help=True)
results_app = typer.Typer(help="Sweep results databases: query and export.", no_args_is_help=True)
areas_app = typer.Typer(help="Area files: list and start new ones.", no_args_is_help=True)


@areas_app.command("list")
def areas_list() -> None:
    """Show the known areas and zones: packaged ones and those in $TWIN_AREA_PATH."""
    from gwangju_twin.areas import area_files, load_area

    wide = out.width >= 160  # the file column only where it fits beside the ids a user must type
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("km2", justify="right", no_wrap=True)
    table.add_column("name", overflow="fold")
    if wide:
        table.add_column("file", overflow="fold")
    for area_id, file in area_files().items():
        area = load_area(area_id)
        row = [area_id, area.spec.kind, f"{area.polygon_m.area / 1e6:.2f}", f"{area.spec.name_en} · {area.spec.name_ko}"]
        table.add_row(*row, *([str(file)] if wide else []))
    out.print(table, markup=False)


@areas_app.command("new")
def areas_new(
    area_id: Annotated[str, typer.Argument(metavar="ID", help="The new area's id (a-z, 0-9, _).")],
    bbox: Annotated[str, typer.Option(help="WEST,SOUTH,EAST,NORTH in degrees (WGS84).")],
    name_en: Annotated[str | None, typer.Option(help="English name.")] = None,
    name_ko: Annotated[str | None, typer.Option(help="Korean name.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write ID.toml in.")] = Path("."),
) -> None:
    """Write a skeleton area file from a name and a bounding box, ready to edit (see the README)."""
    from gwangju_twin import preflight
    from gwangju_twin.areas import new_area_text

    target = out_dir / f"{area_id}.toml"
    if target.exists():
        raise TwinError(f"{target}: already exists; choose another id or --out folder")
    text = new_area_text(area_id, bbox, name_en=name_en, name_ko=name_ko)
    preflight.output_file(target, "area file")
    out_dir.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    out.print(f"wrote {target}; add sites, then: TWIN_AREA_PATH={out_dir} twin maps import {area_id} FILE.osm.pbf",
              highlight=False)


@maps_app.command("fetch")
def maps_fetch(
    area: str,
    timeout: Annotated[float, typer.Option(help="Overpass timeout, seconds.")] = 180.0,
    overpass_url: Annotated[str | None, typer.Option(
        help="Overpass API to ask (default: $TWIN_OVERPASS_URL, else osmnx's).")] = None,
) -> None:
    """Download AREA's road network from OpenStreetMap (needs internet) into the cache."""
    from gwangju_twin import mapcache, osm
    from gwangju_twin.areas import load_area

    spec = load_area(_area_ref(area))
    mapcache.check_writable()
    _say_saved(mapcache.save(osm.fetch_graph(spec, timeout_s=timeout, overpass_url=overpass_url), spec.id,
                             "overpass (osmnx)", area=spec))


@maps_app.command("import")
def maps_import(area: str, extract: Path) -> None:
    """Clip a local .osm / .osm.bz2 / .osm.pbf EXTRACT to AREA, offline, into the cache."""
    from gwangju_twin import mapcache, osm
    from gwangju_twin.areas import load_area

    spec = load_area(_area_ref(area))
    mapcache.check_writable()
    _say_saved(mapcache.save(osm.import_graph(spec, extract), spec.id, f"import {extract.name}", area=spec))


def _say_saved(info) -> None:  # noqa: ANN001 - a MapInfo
    outside = "" if info.outside_share is None else f"; {info.outside_share:.1%} of the source's road length lay outside the area"
    out.print(f"cached {info.area}: {info.nodes} nodes, {info.edges} edges, {info.road_length_km:.1f} km of road{outside}",
              highlight=False, markup=False)


@maps_app.command("export")
def maps_export(
    target: Annotated[Path, typer.Argument(metavar="FILE.tar.gz", help="The bundle to write.")],
    areas: Annotated[list[str] | None, typer.Argument(help="Areas to pack (default: every cached map).")] = None,
) -> None:
    """Pack cached maps into one file, with checksums, to carry to a machine without internet."""
    from gwangju_twin import mapbundle, preflight

    preflight.output_file(target, "map bundle", "FILE.tar.gz")
    entries = mapbundle.export_bundle(target, areas)
    out.print(f"wrote {target}: {', '.join(e.area for e in entries)}", highlight=False)


@maps_app.command("import-cache")
def maps_import_cache(source: Annotated[Path, typer.Argument(metavar="FILE.tar.gz")]) -> None:
    """Unpack a bundle made by 'twin maps export' into this machine's cache, checksums verified."""
    from gwangju_twin import mapbundle, mapcache

    if not source.is_file():
        raise TwinError(f"{source}: file not found")
    mapcache.check_writable()
    for entry in mapbundle.import_bundle(source):
        _say_saved(entry)


@maps_app.command("list")
def maps_list() -> None:
    """Show the cached road networks."""
    from gwangju_twin import mapcache

    entries = mapcache.cached()
    if not entries:
        out.print(f"no maps cached in {mapcache.cache_dir()}; run 'twin maps fetch AREA' or 'twin maps import AREA FILE'")
        return
    from rich.table import Table

    table = Table("area", "nodes", "edges", "road km", "source", "created")
    for e in entries:
        table.add_row(e.area, str(e.nodes), str(e.edges), f"{e.road_length_km:.1f}", mapcache.printable(e.source),
                      mapcache.printable(e.created))
    out.print(table, markup=False)


@scenarios_app.command("list")
def scenarios_list() -> None:
    """Show the scenarios shipped with the twin."""
    from gwangju_twin import scenario
    from rich.table import Table

    table = Table("name", "area", "file")
    for name, path in scenario.packaged().items():
        loaded = scenario.load(path)
        table.add_row(name, loaded.spec.scenario.area, str(path))
    out.print(table)


@scenarios_app.command("validate")
def scenarios_validate(files: list[Path]) -> None:
    """Check scenario FILES; prints one line per file, exits 2 if any is invalid."""
    from gwangju_twin import scenario

    bad = 0
    for file in files:
        try:
            scenario.load(file)
            out.print(f"{file}: ok", highlight=False)
        except TwinError as exc:
            bad += 1
            err.print(f"error: {exc}", highlight=False, markup=False)
    if bad:
        raise typer.Exit(2)


@results_app.command("query")
def results_query(db_path: Path, sql: str) -> None:
    """Run SQL on a sweep database (tables: runs; view: results) and print a table."""
    from gwangju_twin.results_db import ResultsDB

    db = ResultsDB(db_path, read_only=True)
    db.refresh_view()
    columns, rows = db.query(sql)
    db.close()
    _print_rows(columns, rows)


@results_app.command("export")
def results_export(db_path: Path, target: Path) -> None:
    """Write the results view of a sweep database to a Parquet file."""
    from gwangju_twin import preflight
    from gwangju_twin.results_db import ResultsDB

    preflight.output_file(target, "Parquet file", "TARGET")
    db = ResultsDB(db_path, read_only=True)
    db.refresh_view()
    db.export_parquet(target)
    db.close()
    out.print(f"wrote {target}", highlight=False)


def report(db_path: Path, out_file: Annotated[Path | None, typer.Option("--out")] = None) -> None:
    """Write an HTML report of a sweep: each KPI against each parameter, best configurations."""
    from gwangju_twin import preflight
    from gwangju_twin.report import write_report

    target = out_file or db_path.with_suffix(".html")
    if not db_path.is_file():
        raise TwinError(f"{db_path}: no such results database")
    preflight.output_file(target, "report")
    write_report(db_path, target)
    out.print(f"wrote {target}", highlight=False)


def facts(
    files: Annotated[list[Path] | None, typer.Argument(help="Scenario files (default: the packaged ones).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the table here (Markdown).")] = None,
    seeds: Annotated[Path, typer.Option(help="The seed articles, to name the file of each cited seed.")] = Path(
        "../shared/seeds"),
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if a figure has no source or ASSUMPTION.")] = False,
) -> None:
    """Every figure of the scenario files with its source (seed, facts or ASSUMPTION), as a table."""
    from gwangju_twin import facts as facts_table
    from gwangju_twin import scenario as scenario_io
    from gwangju_twin.fileio import atomic_write_text

    if out_file is not None:
        from gwangju_twin import preflight

        preflight.output_file(out_file, "facts table")
    paths = files or list(scenario_io.packaged().values())
    for path in paths:
        if not path.is_file():
            raise TwinError(f"{path}: no such scenario file")
    text = facts_table.table(paths, seeds)
    if out_file is None:
        out.print(text, highlight=False, markup=False)
    else:
        atomic_write_text(out_file, text)
        out.print(f"wrote {out_file}", highlight=False)
    missing = [p for path in paths for p in facts_table.parameters(path) if p.kind == "missing"]
    for p in missing:
        err.print(f"{p.file}:{p.line}: {p.key} = {p.value}: no source; add a comment citing a seed, the facts "
                  "file, or ASSUMPTION: why", highlight=False, markup=False)
    if check and missing:
        raise typer.Exit(1)


def audit(results_dir: Annotated[Path, typer.Argument(metavar="RESULTS_DIR", help="A folder written by 'twin run'.")]) -> None:
    """Recompute RESULTS_DIR's safety and quality figures from its files alone; exit 1 on any FAIL."""
    from gwangju_twin.audit import audit as audit_folder

    checks = audit_folder(results_dir)
    for check in checks:
        out.print(check.line(), highlight=False)
    if any(check.status == "FAIL" for check in checks):
        raise typer.Exit(1)
