"""Scenario files: every shipped one validates; every malformed one gets one clear line."""

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from gwangju_twin import scenario
from gwangju_twin.agents.shuttles.config import SHUTTLE_SPEED_CAP_MPS
from gwangju_twin.errors import ScenarioError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = scenario.packaged()["bitgreen_shuttles"]


def test_packaged_scenarios_validate_and_name_their_area() -> None:
    found = scenario.packaged()
    assert {"bitgreen_shuttles", "cheomdan3_shuttles", "certification_center"} <= set(found)
    for path in found.values():
        loaded = scenario.load(path)
        assert loaded.spec.scenario.area in {"bitgreen", "cheomdan3"}
        for fleet in loaded.spec.shuttles.fleet:
            assert fleet.max_speed_mps <= SHUTTLE_SPEED_CAP_MPS


def test_figures_cite_sources_and_assumptions_say_so() -> None:
    for path in scenario.packaged().values():
        text = path.read_text(encoding="utf-8")
        assert "GWANGJU_FACTS.md" in text and "ASSUMPTION" in text
        speed_lines = [line for line in text.splitlines() if line.strip().startswith("max_speed")]
        assert all("#" in line for line in speed_lines)


def test_defaults_are_the_real_operation() -> None:
    fleet = scenario.loads(_edit(BASE, lambda d: d["shuttles"]["fleet"][0].pop("windows"))).spec.shuttles.fleet[0]
    assert fleet.windows_s == [(36000.0, 43200.0), (50400.0, 57600.0)]
    assert fleet.max_speed_mps == pytest.approx(5 / 3.6)


def _edit(path: Path, change) -> str:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    change(data)
    return _dump(data)


def _dump(data: dict) -> str:
    """Minimal TOML writer for the shapes scenarios use (tables, arrays of tables, scalars, lists)."""
    lines: list[str] = []

    def value(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return str(v) if not hasattr(v, "isoformat") else v.isoformat()

    def table(prefix: str, body: dict) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict) and not _tables(v)}
        lines.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in body.items():
            if isinstance(v, dict):
                lines.append(f"[{prefix}{k}]")
                table(f"{prefix}{k}.", v)
            elif _tables(v):
                for item in v:
                    lines.append(f"[[{prefix}{k}]]")
                    table(f"{prefix}{k}.", item)

    table("", data)
    return "\n".join(lines) + "\n"


def _tables(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["shuttles"]["fleet"][0].update(max_speed="7 km/h"),
         "<f>: shuttles.fleet[0].max_speed = '7 km/h': must be at most 5 km/h"),
        (lambda d: d["shuttles"]["fleet"][1].update(count=-2),
         "<f>: shuttles.fleet[1].count = -2: Input should be greater than or equal to 0"),
        (lambda d: d["shuttles"]["fleet"][0].update(max_speed="5 kmh"),
         "<f>: shuttles.fleet[0].max_speed = '5 kmh': must be a speed such as \"5 km/h\" or \"1.2 m/s\""),
        (lambda d: d["shuttles"]["fleet"][0].update(max_speed=5),
         "<f>: shuttles.fleet[0].max_speed = 5: must be a speed"),
        (lambda d: d["scenario"].update(durration="2 h"),
         "<f>: scenario.durration = '2 h': unknown key; allowed here: area, description, duration,"),
        (lambda d: d["shuttles"]["fleet"][0].update(colour="red"),
         "<f>: shuttles.fleet[0].colour = 'red': unknown key; allowed here: area, count, depot, energy, id, max_speed, polygon, service, streets, windows"),
        (lambda d: d["scenario"].pop("area"), "<f>: scenario.area: required key is missing"),
        (lambda d: d["shuttles"]["fleet"][0].update(service="teleport"),
         "<f>: shuttles.fleet[0].service = 'teleport': must be one of 'loop', 'cleaning', 'waste', 'on_demand'"),
        (lambda d: d["shuttles"]["fleet"][0].pop("service"),
         "<f>: shuttles.fleet[0].service: required key is missing; one of 'loop', 'cleaning', 'waste', 'on_demand'"),
        (lambda d: d["shuttles"]["charging"].update(chargers=0) if "charging" in d["shuttles"] else
         d["shuttles"].update(charging={"chargers": 0}),
         "<f>: shuttles.charging.chargers = 0: Input should be greater than or equal to 1"),
        (lambda d: d["scenario"].update(seed="one"), "<f>: scenario.seed = 'one': Input should be a valid integer"),
        (lambda d: d["shuttles"]["fleet"][0].update(windows=["12:00-10:00"]),
         "<f>: shuttles.fleet[0].windows[0] = '12:00-10:00': must be a time window whose end is after its start"),
        (lambda d: d["shuttles"]["fleet"][0].update(windows=["14:00-16:00", "10:00-12:00"]),
         "<f>: shuttles.fleet[0].windows = ['14:00-16:00', '10:00-12:00']: windows must be in time order"),
        (lambda d: d["scenario"].update(duration="-1 h"),
         "<f>: scenario.duration = '-1 h': must be more than 0 s"),
    ],
)
def test_bad_values_name_file_key_value_and_rule(tmp_path: Path, change, message: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit(BASE, change), encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        scenario.load(bad)
    assert str(info.value).startswith(message.replace("<f>", str(bad))), str(info.value)
    assert "\n" not in str(info.value)


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.toml"
    bad.write_text("[scenario\nname = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken.toml: is not valid TOML \(.*line 1"):
        scenario.load(bad)
    with pytest.raises(ScenarioError, match="missing.toml: file not found"):
        scenario.load(tmp_path / "missing.toml")


def test_a_results_folder_named_like_a_scenario_does_not_hide_it(tmp_path: Path, monkeypatch) -> None:
    """`twin run testbed_day` run twice from one folder: the first run's results/testbed_day folder, or
    a folder called testbed_day, is not a scenario file."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "testbed_day").mkdir()
    assert scenario.resolve("testbed_day") == scenario.packaged()["testbed_day"]


def test_cli_validate_prints_one_line_and_exits_non_zero(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit(BASE, lambda d: d["shuttles"]["fleet"][0].update(max_speed="7 km/h")), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "scenarios", "validate", str(BASE), str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout.strip() == f"{BASE}: ok"
    assert done.stderr.strip().splitlines() == [
        f"error: {bad}: shuttles.fleet[0].max_speed = '7 km/h': must be at most 5 km/h"
    ]
    assert "Traceback" not in done.stderr


def test_cli_run_with_bad_scenario_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_edit(BASE, lambda d: d["shuttles"]["fleet"][1].update(count=-1)), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "run", str(bad), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {bad}: shuttles.fleet[1].count = -1: Input should be greater than or equal to 0"]


# Values that are wrong in many ways: wrong types, bad units, out of range, odd text.
WILD = st.one_of(
    st.integers(min_value=-10**20, max_value=10**20), st.floats(allow_nan=True), st.booleans(),
    st.text(max_size=12), st.sampled_from(["7 km/h", "-3 km/h", "5 furlong", "1e400 s", "10:00-09:00", "", "NaN m/s"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(data: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_malformed_scenarios_get_only_the_clear_error(tmp_path: Path, data: st.DataObject) -> None:
    """Replace, delete or add a value anywhere in a valid scenario: the loader answers with
    a ScenarioError naming the file, or accepts the file; it never raises anything else."""
    doc = tomllib.loads(BASE.read_text(encoding="utf-8"))
    path = data.draw(st.sampled_from(_paths(doc)))
    parent = doc
    for part in path[:-1]:
        parent = parent[part]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[path[-1]] = data.draw(WILD)
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.text(min_size=1, max_size=8).filter(str.isidentifier))] = data.draw(WILD)
    file = tmp_path / "fuzz.toml"
    try:
        text = _dump(doc)
    except TypeError:
        return
    file.write_text(text, encoding="utf-8")
    try:
        scenario.load(file)
    except ScenarioError as exc:
        assert str(exc).startswith(str(file)) and "\n" not in str(exc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_gets_only_the_clear_error(text: str) -> None:
    try:
        scenario.loads(text, "fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml") and "\n" not in str(exc)
