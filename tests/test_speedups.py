"""The speed-ups behind one switch: off, the process is left as it comes; on or off, the results are the same."""

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gwangju_twin import speedups
from gwangju_twin.clock import EventQueue


def _gc_seen_by_an_event() -> tuple[tuple[int, int, int], int]:
    clock, seen = EventQueue(), []
    clock.at(1.0, lambda: seen.append((gc.get_threshold(), gc.get_freeze_count())))
    clock.run_until(2.0)
    return seen[0]


def test_the_switch_turns_the_event_loops_collector_tuning_off_and_on() -> None:
    before = gc.get_threshold()
    try:
        speedups.disable()
        assert _gc_seen_by_an_event() == (before, gc.get_freeze_count())
        speedups.enable()
        threshold, frozen = _gc_seen_by_an_event()
        assert threshold[0] == max(before[0], speedups.YOUNG_COLLECTION_ALLOCATIONS) and frozen > 0
    finally:
        speedups.enable()
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0  # put back after the run


@pytest.mark.parametrize("switch", ["0", "1"])
def test_imports_follow_the_switch(switch: str) -> None:
    """Off: mesa is imported whole and pint probes for dask; on: neither (tests/test_architecture.py has more)."""
    code = ("import sys\nfrom gwangju_twin import model, units, speedups\nunits.to_si('3 mi/h', 'speed')\n"
            "import mesa\nprint(speedups.enabled(), '__getattr__' in vars(mesa), 'mesa.datacollection' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, speedups.ENV: switch})
    expected = "True True False" if switch == "1" else "False False True"
    assert done.stdout.strip() == expected


@pytest.mark.parametrize(("switch", "chosen", "expected"), [("1", None, "1"), ("1", "3", "3"), ("0", None, "None")])
def test_a_command_line_process_starts_one_blas_thread_unless_told(switch: str, chosen: str | None, expected: str) -> None:
    code = ("import os\nfrom gwangju_twin import speedups\nspeedups.process_start()\nimport numpy\n"
            "print(os.environ.get('OPENBLAS_NUM_THREADS'))")
    env = {key: value for key, value in os.environ.items() if key != speedups.BLAS_THREADS_ENV}
    env.update({speedups.ENV: switch, **({speedups.BLAS_THREADS_ENV: chosen} if chosen else {})})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == expected


@pytest.mark.parametrize(("switch", "chosen", "scanned"), [("1", None, False), ("1", "", True), ("0", None, True)])
def test_a_command_line_process_skips_pydantic_s_plug_in_scan_unless_told(switch: str, chosen: str | None,
                                                                          scanned: bool) -> None:
    """On, the models a run builds are built without pydantic reading every distribution's entry points
    (its plug-in table is never filled); a value the user set, even an empty one, is theirs."""
    code = ("import os\nfrom gwangju_twin import speedups\nspeedups.process_start()\nfrom gwangju_twin import scenario\n"
            "scenario.load(scenario.resolve('testbed_day'))\nfrom pydantic.plugin import _loader\n"
            "print(_loader._plugins is not None, repr(os.environ.get('PYDANTIC_DISABLE_PLUGINS')))")
    env = {key: value for key, value in os.environ.items() if key != speedups.PYDANTIC_PLUGINS_ENV}
    env.update({speedups.ENV: switch, **({speedups.PYDANTIC_PLUGINS_ENV: chosen} if chosen is not None else {})})
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, timeout=120)
    expected_value = chosen if chosen is not None else "__all__" if switch == "1" else None
    assert done.stdout.strip() == f"{scanned} {expected_value!r}"


@pytest.mark.parametrize("switch", ["0", "1"])
@pytest.mark.parametrize(("argv", "status", "said"), [(["scenarios", "list"], 0, "testbed_day"),
                                                     (["run", "no_such_scenario"], 2, "no such scenario")])
def test_a_command_line_process_ends_as_the_interpreter_would_end_it(switch: str, argv: list[str], status: int, said: str,
                                                                   tmp_path: Path) -> None:
    """On, the process ends without tearing its modules down; its exit status, its output, its atexit
    handlers and a thread still writing are the same as when the interpreter ends it (off)."""
    code = ("import atexit, sys, threading, time\nfrom pathlib import Path\nfrom gwangju_twin import cli\n"
            f"folder = Path({str(tmp_path)!r})\n"
            "atexit.register(lambda: (folder / 'atexit').write_text('ran'))\n"
            "threading.Thread(target=lambda: (time.sleep(0.3), (folder / 'thread').write_text('done'))).start()\n"
            f"sys.argv = ['twin', *{argv!r}]\ncli.main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, speedups.ENV: switch})
    assert done.returncode == status
    assert said in (done.stdout if status == 0 else done.stderr)
    assert (tmp_path / "atexit").read_text() == "ran" and (tmp_path / "thread").read_text() == "done"


@pytest.mark.parametrize("switch", ["0", "1"])
def test_mesa_s_model_logs_under_the_same_names_either_way(switch: str) -> None:
    """On, ``mesa.model`` is imported without reading the stack's source; its logger and the class its
    ``__init__``'s log line names are the ones mesa makes itself (switch off), and ``inspect`` is put back."""
    code = ("import inspect\nfrom gwangju_twin import mesa_core\nimport mesa.model as m, mesa.mesa_logging as ml\n"
            "names = [c.cell_contents for c in m.Model.__init__.__closure__ if isinstance(c.cell_contents, str)]\n"
            "print(m._mesa_logger.name, names, ml.inspect is inspect)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, speedups.ENV: switch})
    assert done.stdout.strip() == "MESA.mesa.model ['Model'] True"


@pytest.mark.parametrize("switch", ["0", "1"])
def test_scipys_sparse_graphs_come_without_scipy_linalg_and_numpys_test_packages_until_asked(switch: str) -> None:
    """On: routing (its ``dijkstra`` asked for) loads neither ``scipy.linalg`` nor ``numpy.testing``/``numpy.f2py``/``numpy.ma``; asked for later, they
    are whole and the package hands out the same ``dijkstra``. Off: all of it is loaded up front."""
    code = ("import sys\nfrom gwangju_twin import network\nnetwork.dijkstra\n"
            "early = [m in sys.modules for m in ('scipy.linalg', 'numpy.testing._private', 'numpy.f2py.f2py2e', "
            "'numpy.ma.core')]\n"
            "from scipy.sparse.csgraph import dijkstra, laplacian\nimport numpy as np\n"
            "np.testing.assert_equal(np.zeros(2), np.zeros(2))\n"
            "assert np.percentile(np.arange(5.0), 50) == 2.0 and np.ma.masked_array([1, 2], [0, 1]).sum() == 1\n"
            "print(early, dijkstra is network.dijkstra, callable(laplacian), callable(np.f2py.run_main))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, speedups.ENV: switch})
    expected = ("[False, False, False, False] True True True" if switch == "1"
                else "[True, True, True, True] True True True")
    assert done.stdout.strip() == expected


@pytest.mark.parametrize("switch", ["1", "0"])
def test_the_k_d_tree_comes_without_the_rest_of_scipy_spatial(switch: str) -> None:
    """The drone checker's k-d tree is SciPy's own class; with the switch on, ``scipy.spatial``'s
    ``__init__`` (Qhull, the distance metrics) has not run, and the package completes itself on the
    first name it lacks; off, the plain import."""
    code = ("import sys\nfrom gwangju_twin import speedups\ntree = speedups.kd_tree()\n"
            "early = 'scipy.spatial.distance' in sys.modules\n"
            "from scipy.spatial import cKDTree, distance\n"
            "print(early, tree is cKDTree, distance.euclidean([0, 0], [3, 4]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env={**os.environ, speedups.ENV: switch})
    assert done.stdout.strip() == ("False True 5.0" if switch == "1" else "True True 5.0")


@pytest.mark.slow
@pytest.mark.parametrize(("name", "until"), [("certification_center", "21 d"), ("bitgreen_shuttles", "24 h"),
                                             ("cargo_link", "2 d")])
def test_results_are_byte_identical_with_the_switch_on_and_off(name: str, until: str, helsinki_map,
                                                               tmp_path: Path) -> None:
    outputs = {}
    for switch in ("1", "0"):
        out = tmp_path / switch
        done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", "run", name, "--area", "helsinki_test",
                               "--seed", "2", "--until", until, "--out", str(out)], capture_output=True, text=True,
                              timeout=300, env={**os.environ, speedups.ENV: switch})
        assert done.returncode == 0, done.stderr
        outputs[switch] = {f: (out / f).read_bytes() for f in ("events.csv", "summary.json")}
    assert len(outputs["1"]["events.csv"].splitlines()) > 10
    assert outputs["1"] == outputs["0"]
