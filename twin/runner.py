"""Headless runs: scenario in, results folder out, reproducibly."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gwangju_twin import preflight
from gwangju_twin import scenario as scenario_io
from gwangju_twin.memo import Memo, installed_versions
from gwangju_twin.model import TwinModel
from gwangju_twin.results import write_results
from gwangju_twin.world import World, scenario_worlds

PACKAGES = ("gwangju-twin", "mesa", "osmnx", "networkx", "numpy", "scipy", "shapely", "geopandas", "pyproj",
            "pandas", "pydantic", "pint", "osmium")
CHUNKS = 200
# What platform.platform() said on this machine: it runs `uname -p` in a new process (5-20 ms of a run's wall time)
_PLATFORMS = Memo("platforms.json", (), keep_at_most=100)


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the summary written to disk and the model, for callers that want more."""

    summary: dict[str, Any]
    model: TwinModel


def build_model(
    scenario_path: Path | scenario_io.Scenario, *, seed: int | None = None, until_s: float | None = None,
    area: str | None = None, worlds: dict[str, World] | None = None, record_drives: bool = False,
) -> TwinModel:
    """Load a scenario (a file, or one read already) and the worlds of its areas, and make the model
    (the same for every entry point).

    ``area`` moves the whole scenario to another area; ``worlds`` reuses worlds loaded before.
    """
    scenario = scenario_path if isinstance(scenario_path, scenario_io.Scenario) else scenario_io.load(scenario_path)
    if worlds is None:
        worlds = scenario_worlds(scenario.spec, override=area, relative_to=scenario.file.parent)
    return model_for(scenario, worlds, seed=seed, duration_s=until_s, record_drives=record_drives)


def model_for(scenario: scenario_io.Scenario, worlds: dict[str, World], **options: Any) -> TwinModel:
    """A model of ``scenario`` in ``worlds`` (by area reference, as :func:`twin.world.load_worlds` gives)."""
    return TwinModel(scenario, worlds[scenario.spec.scenario.area], worlds=worlds, **options)


def simulate(model: TwinModel, progress: Callable[[float, float], None] | None = None) -> dict[str, Any]:
    """Run ``model`` to its end; ``progress(now_s, end_s)`` is called between chunks."""
    end_s = model.duration_s
    model.headless = True  # only progress (the clock's time) is read until the end
    for chunk in range(1, CHUNKS + 1):
        model.run_until(end_s * chunk / CHUNKS)
        if progress is not None:
            progress(model.now_s, end_s)
    return summarize(model)


def summarize(model: TwinModel) -> dict[str, Any]:
    """The run's summary: identical for identical scenario, map and seed."""
    return {
        "scenario": model.scenario.name,
        "area": model.world.area.id,
        **({"areas": {ref: w.area.id for ref, w in model.worlds.items()}} if len(model.worlds) > 1 else {}),
        **({"stand_in": {ref: f"map of {used} stands in for {ref}" for ref, used in model.stand_in.items()}}
           if model.stand_in else {}),
        "seed": model.seed_used,
        "simulated_s": model.now_s,
        "kpis": model.kpis(),
    }


def run(
    scenario_path: Path | scenario_io.Scenario, out_dir: Path, *, seed: int | None = None, until_s: float | None = None,
    area: str | None = None, progress: Callable[[float, float], None] | None = None, force: bool = False,
) -> RunResult:
    """Run a scenario headless and write its results folder.

    The folder is checked first (the twin's own or new, writable, with room): a run that could not
    be written is refused before it starts. ``force`` writes into a folder the twin did not write,
    keeping its other files.
    """
    started = time.perf_counter()
    preflight.seed(seed)
    preflight.duration(until_s)
    preflight.memory(until_s)
    preflight.results_folder(Path(out_dir), force=force, duration_s=until_s)
    model = build_model(scenario_path, seed=seed, until_s=until_s, area=area)
    preflight.duration(model.duration_s, "the scenario's duration")
    summary = simulate(model, progress)
    meta = model.scenario.spec.scenario
    write_results(
        out_dir,
        summary=summary,
        manifest=manifest(model, wall_s=time.perf_counter() - started),
        events=model.log.rows,
        event_columns=model.log.COLUMNS,
        tracks=model.tracks.view(model.now_s) if model.tracks.rows else None,
        track_columns=model.tracks.COLUMNS,
        crs=model.world.area.crs,
        start=dt.datetime.combine(meta.start_date, dt.time()),
        force=force,
    )
    return RunResult(summary, model)


def manifest(model: TwinModel, wall_s: float) -> dict[str, Any]:
    """Everything needed to reproduce a run exactly."""
    world, scenario = model.world, model.scenario
    return {
        "scenario_file": str(scenario.file),
        "scenario_sha256": hashlib.sha256(scenario.text.encode()).hexdigest(),
        "scenario_text": scenario.text,
        "seed": model.seed_used,
        "duration_s": model.duration_s,
        "area": world.area.id,
        "area_file": str(world.area.file),
        "map": _map_entry(world),
        "maps": {ref: _map_entry(w) for ref, w in model.worlds.items()},
        "trajectories": _trajectories_note(model),
        "reproduce": f"twin run {scenario.file} --seed {model.seed_used} --until '{model.duration_s} s'"
                     + ("" if world.area.id == scenario.spec.scenario.area else f" --area {world.area.file}"),
        "python": sys.version.split()[0],
        "platform": platform_name(),
        "packages": installed_versions(PACKAGES),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "wall_s": round(wall_s, 3),
    }


def platform_name() -> str:
    """``platform.platform()``, as it said it before for the same kernel (``os.uname()``), C library and Python."""
    libc = os.confstr("CS_GNU_LIBC_VERSION") if "CS_GNU_LIBC_VERSION" in getattr(os, "confstr_names", {}) else None
    kernel = list(os.uname()) if hasattr(os, "uname") else list(platform.uname()[:5])
    machine = [*kernel, libc, sys.version, sys.executable]
    return _PLATFORMS.answer("platform", machine, platform.platform)


def _trajectories_note(model: TwinModel) -> str:
    """Whether trajectories.gpkg was written, and if not, why (so no reader mistakes its absence for no movement)."""
    if not model.tracks.enabled:
        return "not written: the scenario sets record_trajectories = false"
    if not model.tracks.rows:
        return "not written: nothing in this run moves on recorded tracks"
    return f"trajectories.gpkg: {len(model.tracks.rows)} points"


def _map_entry(world: World) -> dict[str, Any]:
    info = world.map_info
    if world.network is None:
        return {"area": world.area.id, "fingerprint": None, "source": "no road map: this scenario needs none"}
    return {
        "area": world.area.id,
        "fingerprint": world.network.fingerprint,
        "source": info.source if info else "in-memory",
        "nodes": world.network.node_count,
        "edges": world.network.edge_count,
    }
