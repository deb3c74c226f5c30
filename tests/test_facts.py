"""Every figure traced: the facts table is generated from the scenario files, complete, current, and
its seed citations point at lines that exist and hold the cited number."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from gwangju_twin import facts, scenario

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
PACKAGED = scenario.packaged()


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_no_default_figure_is_without_a_source_or_an_assumption(name: str) -> None:
    rows = facts.parameters(PACKAGED[name])
    assert rows, name
    missing = [f"{r.line}: {r.key}" for r in rows if r.kind == "missing"]
    assert missing == [], missing


def test_sources_are_traced_by_the_documented_rules(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        "[scenario]\nname = \"x\"\n\n"
        "# Waste collection (seed 000 line 45)\n"
        "[[shuttles.fleet]]\n"
        "id = \"waste\"  # ASSUMPTION: a fleet\n"
        "count = 1\n"
        "max_speed = \"5 km/h\"  # seed 000 line 45\n"
        "# public facts: the daily windows\n"
        "windows = [\n  \"10:00-12:00\",\n  \"14:00-16:00\",\n]\n"
        "\n[[certification.equipment]]\n"
        "id = \"laser\"\n"
        "units = 3\n", encoding="utf-8")
    rows = {r.key: r for r in facts.parameters(path)}
    assert rows["scenario.name"].kind == "not a figure"
    assert (rows["shuttles.fleet[waste].count"].via, rows["shuttles.fleet[waste].count"].kind) == ("item", "assumption")
    assert (rows["shuttles.fleet[waste].max_speed"].via, rows["shuttles.fleet[waste].max_speed"].kind) == ("own", "citation")
    windows = rows["shuttles.fleet[waste].windows"]
    assert (windows.via, windows.kind, windows.value) == ("above", "citation", '[ "10:00-12:00", "14:00-16:00", ]')
    # an equipment's name is a figure: invented, it must say so; here nothing says anything
    assert rows["certification.equipment[laser].id"].kind == "missing"
    assert rows["certification.equipment[laser].units"].kind == "missing"


def test_the_cli_check_fails_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("[certification]\nstaff = 6\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "facts", str(path), "--check", "--out",
                           str(tmp_path / "f.md")], capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "s.toml:2: certification.staff = 6: no source; add a comment citing a seed, the facts file, or ASSUMPTION: why"]


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
def test_docs_facts_is_the_generated_table() -> None:
    generated = facts.table(list(PACKAGED.values()), SEEDS)
    assert (REPO / "docs" / "facts.md").read_text(encoding="utf-8") == generated, \
        "docs/facts.md is stale: run 'twin facts --out docs/facts.md'"


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside the repository")
def test_seed_line_citations_point_at_the_figure() -> None:
    checked = 0
    for path in PACKAGED.values():
        for row in facts.parameters(path):
            if row.kind != "citation" or row.via != "own":
                continue
            for number, line in {m.groups() for m in facts.SEED_RE.finditer(row.source)}:
                if line is None:
                    continue
                name = facts.seed_file(number, SEEDS)
                assert name, (row.key, number)
                text = (SEEDS / name).read_text(encoding="utf-8").splitlines()
                assert int(line) <= len(text), (row.key, name, line)
                numbers = re.findall(r"\d+(?:\.\d+)?", row.value)
                if numbers and not row.value.startswith("["):
                    assert any(n in text[int(line) - 1] for n in numbers), (row.key, row.value, name, line)
                checked += 1
    assert checked >= 20
