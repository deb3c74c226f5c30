"""Answers of a library kept per installed version (twin/memo.py): the kept answer is the library's, to the bit.

The covering walk of the real Helsinki sweepers and the drones' routes are checked against networkx
worked out afresh; a damaged memo is worked out again and rewritten, a cache that cannot be written
still runs, and a real ``twin run`` from a cold cache and a warm one writes the same events.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from gwangju_twin import memo, runner, scenario
from gwangju_twin.agents.drones import places
from gwangju_twin.agents.shuttles import arc_routing

MEMO_FILES = ("covering_plans.json", "drone_paths.json", "projections.json")


def _fresh(monkeypatch, cache: Path) -> None:
    """Point the memos at ``cache`` (a new process would read them from there)."""
    monkeypatch.setenv("TWIN_CACHE_DIR", str(cache))


def _sweeper_plan_inputs() -> tuple[object, list[int], int]:
    """The network, streets and depot of testbed_day's sweeper fleet on the Helsinki map."""
    model = runner.build_model(scenario.resolve("testbed_day"), area="helsinki_test")
    service = next(s for s in model.services if s.kind == "cleaning")
    return model.world.network, sorted(service.required), service.depot.node


def test_the_kept_covering_plan_is_networkx_s_from_a_cold_and_a_warm_cache(helsinki_map, tmp_path, monkeypatch):
    net, required, depot = _sweeper_plan_inputs()
    exact = [arc_routing.cover_walk(net, required, depot), *arc_routing.covering_bound_m(net, required, depot)]
    assert len(exact[0]) >= len(required) > 0
    _fresh(monkeypatch, tmp_path)
    cold = arc_routing.covering_plan(net, required, depot)
    kept = json.loads((tmp_path / "covering_plans.json").read_text())
    assert kept["stamp"]["networkx"] == nx.__version__ and len(kept["answers"]["cover"]) == 1
    warm = memo.Memo("covering_plans.json", arc_routing._PLANS.libraries, sources=arc_routing._PLANS.sources)
    key = memo.key_of({"network": net.digest(), "required": required, "depot": depot})
    assert list(cold) == exact == warm.kind("cover")[key]


def test_the_kept_detour_is_networkx_s(tmp_path, monkeypatch) -> None:
    """Two square zones between the ends: the detour goes round, as networkx's shortest path does."""
    import shapely

    zones = [shapely.box(400, -300, 600, 100), shapely.box(400, 200, 600, 600)]
    _fresh(monkeypatch, tmp_path)
    cold = places.detour_m((0.0, 0.0), (1000.0, 0.0), zones, 50.0)
    warm = places.detour_m((0.0, 0.0), (1000.0, 0.0), zones, 50.0)
    (_, path), = json.loads((tmp_path / "drone_paths.json").read_text())["answers"]["shortest_path"].items()
    assert cold == warm and len(cold) == len(path) - 2 >= 2
    flown = shapely.LineString([(0.0, 0.0), *cold, (1000.0, 0.0)])
    assert not flown.intersects(shapely.union_all([z.buffer(49.0) for z in zones]))  # round both: they touch
    assert 2 * ((450 - 0) ** 2 + 350 ** 2) ** 0.5 < flown.length < 2 * 450 + 2 * 350 + 200


def test_a_damaged_or_foreign_memo_is_worked_out_again_and_rewritten(tmp_path, monkeypatch) -> None:
    _fresh(monkeypatch, tmp_path)
    calls: list[int] = []

    def square() -> float:
        calls.append(1)
        return 0.1 * 3

    for content in ("{not json", json.dumps({"stamp": {"networkx": "0.0"}, "answers": {"k": {}}}), None):
        if content is not None:
            (tmp_path / "t.json").write_text(content)
        kept = memo.Memo("t.json", ("networkx",))
        assert kept.answer("k", {"x": 3}, square) == 0.1 * 3
        assert json.loads((tmp_path / "t.json").read_text()) == {
            "stamp": {"networkx": nx.__version__}, "answers": {"k": {memo.key_of({"x": 3}): 0.30000000000000004}}}
    assert len(calls) == 2  # the third read the second's answer back
    assert memo.key_of({"b": [1.5], "a": "x"}) == memo.key_of({"a": "x", "b": [1.5]})


def test_a_cache_that_cannot_be_written_computes_every_time(tmp_path, monkeypatch) -> None:
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("")
    _fresh(monkeypatch, blocked)
    calls: list[int] = []
    kept = memo.Memo("t.json", ("networkx",))
    for _ in range(2):
        assert kept.answer("k", [1], lambda: calls.append(1) or [2, "b"]) == [2, "b"]
    assert blocked.read_text() == "" and len(calls) == 1  # kept in the process, never on disk
    assert memo.Memo("t.json", ("networkx",)).answer("k", [1], lambda: calls.append(1) or [2, "b"]) == [2, "b"]
    assert len(calls) == 2


def test_a_full_memo_computes_without_keeping(tmp_path, monkeypatch) -> None:
    _fresh(monkeypatch, tmp_path)
    kept = memo.Memo("t.json", ("networkx",), keep_at_most=2)
    assert [kept.answer("k", n, lambda n=n: n * n) for n in range(4)] == [0, 1, 4, 9]
    assert kept.size() == 2 and len(json.loads((tmp_path / "t.json").read_text())["answers"]["k"]) == 2


def _run(cache: Path, out: Path) -> set[str]:
    command = [sys.executable, "-X", "importtime", "-m", "gwangju_twin.cli", "run", "testbed_day", "--area",
               "helsinki_test", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TWIN_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.slow
def test_a_run_from_a_cold_memo_and_a_warm_one_writes_the_same_events(helsinki_map, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(os.environ["TWIN_CACHE_DIR"], cache, ignore=shutil.ignore_patterns(*MEMO_FILES))
    cold, warm = _run(cache, tmp_path / "cold"), _run(cache, tmp_path / "warm")
    assert {"networkx", "pyproj"} <= cold and not {"networkx", "pyproj"} & warm
    for name in ("events.csv", "summary.json"):
        assert (tmp_path / "cold" / name).read_bytes() == (tmp_path / "warm" / name).read_bytes()
