"""A service is a plug-in: a toy service that lives outside the package (tests/data/toy_plugin),
registered as an entry point at test time, runs through `twin run`, `twin audit`, a sweep and the
SUMO export with no change to the package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

TOY = Path(__file__).parent / "data" / "toy_plugin"


@pytest.fixture(scope="module")
def toy_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment where the toy is installed: its module and a dist-info naming its entry point."""
    site = tmp_path_factory.mktemp("site")
    shutil.copytree(TOY / "toy_carts", site / "toy_carts")
    info = site / "toy_carts-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-carts\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text("[gwangju_twin.services]\n90_carts = toy_carts:PLUGIN\n", encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(site)}


def _twin(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_without_the_toy_its_table_is_refused(tmp_path: Path, helsinki_map: object) -> None:
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "scenarios", "validate", str(TOY / "toy.toml")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "carts" in done.stderr and "Traceback" not in done.stderr


def test_a_toy_service_runs_and_is_audited(toy_env: dict[str, str], tmp_path: Path, helsinki_map: object) -> None:
    _twin(toy_env, "run", str(TOY / "toy.toml"), "--out", str(tmp_path / "run"), cwd=tmp_path)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    trips = summary["kpis"]["carts"]["trips"]
    assert trips > 0
    audited = _twin(toy_env, "audit", str(tmp_path / "run"), cwd=tmp_path).stdout
    assert f"PASS cart_trips: {trips} of {trips} arrivals on the tracks" in audited


def test_a_toy_service_is_swept(toy_env: dict[str, str], tmp_path: Path, helsinki_map: object) -> None:
    db = tmp_path / "toy.duckdb"
    _twin(toy_env, "sweep", "--scenario", str(TOY / "toy.toml"), "--param", "carts.count=1,3", "--seeds", "1",
          "--workers", "1", "--db", str(db), cwd=tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute('SELECT "carts.count", "carts.carts" FROM results ORDER BY 1').fetchall()
    assert [(int(count), int(carts)) for count, carts in rows] == [(1, 1), (3, 3)]


def test_a_toy_service_goes_to_sumo(toy_env: dict[str, str], tmp_path: Path, helsinki_map: object,
                                    ) -> None:
    from conftest import HELSINKI_PBF

    said = _twin(toy_env, "sumo", str(TOY / "toy.toml"), "--extract", str(HELSINKI_PBF), "--out",
                 str(tmp_path / "sumo"), cwd=tmp_path).stdout
    trips = int(said.split(" trips")[0].split()[-1])
    assert trips > 0 and "carts-" in (tmp_path / "sumo" / "trips.rou.xml").read_text(encoding="utf-8")
