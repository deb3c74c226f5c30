"""The shape of the code: one installed namespace, layers that import only downward, no circles.

Layers, lowest first: the engine (``twin/``, installed as ``gwangju_twin``), the agents
(``agents/`` as ``gwangju_twin.agents``), the visualiser (``viz/`` as ``gwangju_twin.viz``) and the
composition root, ``gwangju_twin.cli``, which alone may import any of them. Read from the source
with ``ast``: every import counts, also inside functions; ``if TYPE_CHECKING:`` imports count for
direction but not for circles (they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).parent.parent
FOLDERS = {"twin": "gwangju_twin", "agents": "gwangju_twin.agents", "viz": "gwangju_twin.viz"}
COMPOSITION_ROOT = "gwangju_twin.cli"


def _layer(module: str) -> int:
    if module == COMPOSITION_ROOT:
        return 3
    if module.startswith("gwangju_twin.viz"):
        return 2
    if module.startswith("gwangju_twin.agents"):
        return 1
    return 0


def _modules() -> dict[str, Path]:
    found = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, bool]]:
    """``(module imported, only for type checking)`` for every import of the project's own modules."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in modules else node.module
                     for alias in node.names]
        for name in names:
            if name.startswith("gwangju_twin"):
                while name not in modules and "." in name:
                    name = name.rsplit(".", 1)[0]
                found.append((name, id(node) in typing_only))
    return found


def test_layers_import_only_downward_and_nothing_imports_in_a_circle() -> None:
    modules = _modules()
    assert len(modules) > 40 and COMPOSITION_ROOT in modules
    upward, graph = [], nx.DiGraph()
    for module, path in modules.items():
        for imported, typing_only in _imports(path, modules):
            if imported == module:
                continue
            if _layer(module) < 3 and _layer(imported) > _layer(module):
                upward.append(f"{module} -> {imported}")
            if not typing_only:
                graph.add_edge(module, imported)
    assert not upward, f"imports from a lower layer to a higher one: {upward}"
    cycles = list(nx.simple_cycles(graph))
    assert not cycles, f"import circles: {cycles[:5]}"


def test_the_engine_runs_and_stays_headless_without_naming_a_service() -> None:
    """A run imports no visualiser, and the engine's model names no concrete service (they are plugged in)."""
    source = (ROOT / "twin" / "model.py").read_text(encoding="utf-8")
    assert "agents" not in source
    code = ("import sys; from gwangju_twin.plugins import plugins; "
            "print([p.name for p in plugins()], 'pygame' in sys.modules, 'gwangju_twin.viz' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "['shuttles', 'drones', 'certification'] False False", done.stderr


@pytest.mark.slow
def test_the_wheel_installs_one_import_package(tmp_path: Path) -> None:
    """Nothing with a generic name (agents, maps, viz, scenarios) lands in site-packages."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("gwangju_twin-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {"gwangju_twin", wheel.name.split("-py3")[0] + ".dist-info"}
    for data in ("gwangju_twin/maps/areas/bitgreen.toml", "gwangju_twin/maps/areas/helsinki_test.toml",
                 "gwangju_twin/scenarios/testbed_day.toml", "gwangju_twin/agents/drones/plugin.py"):
        assert data in names


def test_ruff_finds_nothing() -> None:
    """The project's lint rules (pyproject.toml, [tool.ruff]) over every folder of code."""
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "twin", "agents", "viz", "tests",
                           "benchmarks"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_run_imports_only_the_mesa_it_uses_and_mesa_stays_whole() -> None:
    """Building a model pulls in neither pandas, networkx's spaces nor scipy.spatial through mesa or pint's dask;
    a later ``import mesa`` is the whole package, with the same Agent and Model classes and mesa.model's logger."""
    code = (
        "import sys\n"
        "from gwangju_twin import mesa_core, model, units\n"
        "units.to_si('5 km/h', 'speed'), units.to_si('3 mi/h', 'speed')  # the table, then pint\n"
        "from mesa import mesa_logging\n"
        "logger = mesa_logging._module_loggers['mesa.model']\n"
        "print(logger.name, mesa_logging.create_module_logger.__qualname__)\n"
        "heavy = sorted(m for m in ('pandas', 'scipy.spatial', 'dask', 'tqdm', 'mesa.datacollection') if m in sys.modules)\n"
        "import mesa\n"
        "from mesa import DataCollector, batch_run\n"
        "print(heavy, mesa.Agent is mesa_core.Agent, mesa.Model is model.Model, mesa.__version__, 'dask' in sys.modules)\n"
        "import dask\n"
        "print(dask.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    logger, first, second = done.stdout.splitlines()
    assert logger == "MESA.mesa.model create_module_logger"  # the logger mesa names; mesa's function put back
    assert first.startswith("[] True True 3.3") and first.endswith("False"), first
    assert second == "dask"  # pint was kept from dask, nobody else is


def _code_texts(path: Path) -> list[tuple[int, str]]:
    """The code of a module as ``(line, text)``: identifiers and attribute names, import paths (relative
    ones included) and string literals that are not docstrings. Comments and docstrings are prose."""
    import tokenize

    tree = ast.parse(path.read_text(encoding="utf-8"))
    doc_lines = {line for node in ast.walk(tree)
                 if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                 and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
                 and isinstance(node.body[0].value.value, str)
                 for line in range(node.body[0].lineno, node.body[0].end_lineno + 1)}
    with path.open("rb") as source:
        return [(token.start[0], token.string.lower()) for token in tokenize.tokenize(source.readline)
                if token.type == tokenize.NAME or (token.type == tokenize.STRING and token.start[0] not in doc_lines)]


def test_no_engine_module_names_a_service() -> None:
    """The engine (``twin/``) never names a registered service: not its plug-in, table, kinds or folder,
    in identifiers, imports (relative ones too) or strings (comments and docstrings are prose)."""
    import re

    from gwangju_twin.plugins import plugins

    words: set[str] = set()
    for plugin in plugins():
        for name in (plugin.name, plugin.table, *plugin.kinds, *type(plugin).__module__.split(".")[2:-1]):
            words |= {name.lower(), name.lower().removesuffix("s")}  # drones, drone
    words -= {"operations", "operation", "loop"}  # kinds with everyday names; their services have other names too
    assert {"shuttles", "shuttle", "drones", "drone", "certification", "cleaning", "waste", "on_demand"} <= words
    pattern = re.compile(r"(?<![a-z0-9])(" + "|".join(sorted(words, key=len, reverse=True)) + r")(?![a-z0-9])")
    named = sorted({f"{path.relative_to(ROOT)}:{line} {found}" for path in sorted((ROOT / "twin").rglob("*.py"))
                    for line, text in _code_texts(path) for found in pattern.findall(text)})
    assert not named, f"engine modules that name a service: {named[:20]} ({len(named)} in all)"


MODULE_LINES, CLASS_LINES, FUNCTION_LINES = 450, 300, 50


def test_modules_classes_and_functions_stay_readable_in_one_sitting() -> None:
    """No module of the engine, the services or the viewer over 450 lines, no class over 300, no function over 50."""
    too_long = []
    for folder in ("twin", "agents", "viz"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            where = path.relative_to(ROOT)
            if len(source.splitlines()) > MODULE_LINES:
                too_long.append(f"{where}: {len(source.splitlines())} lines")
            for node in ast.walk(ast.parse(source)):
                limit = (CLASS_LINES if isinstance(node, ast.ClassDef) else
                         FUNCTION_LINES if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None)
                if limit is not None and node.end_lineno - node.lineno + 1 > limit:
                    too_long.append(f"{where}:{node.lineno} {node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long


def test_the_readme_architecture_table_names_every_module() -> None:
    """A newcomer finds each concern from the README: every module of the engine, the services and the
    viewer is named in its row of the architecture table, and the table names no module that is gone."""
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Architecture"):]
    rows = {match[0]: match[1] for match in re.findall(r"^\| `([a-z/]+)/` \| [^|]* \| (.*) \|$", section, re.M)}
    missing, gone = [], []
    for folder in ("twin", "agents/shuttles", "agents/drones", "agents/certification", "viz"):
        named = set(re.findall(r"`([a-z_]+)\.py`", rows.get(folder, "")))
        present = {p.stem for p in (ROOT / folder).glob("*.py") if p.stem != "__init__"}
        missing += [f"{folder}/{m}.py" for m in sorted(present - named)]
        gone += [f"{folder}/{m}.py" for m in sorted(named - present)]
    assert not missing and not gone, f"not in the README's table: {missing}; in it but gone: {gone}"
