"""Every process-wide trick the twin plays for speed, in one module, behind one switch.

None of them changes what a run computes (``tests/test_speedups.py`` runs scenarios with the switch
on and off and compares ``events.csv`` and ``summary.json`` byte for byte); each touches state that
belongs to the whole process or to another library, so a program that embeds the twin may want
none of them:

* **garbage collection while events run** (:func:`events_running`): the objects that existed before
  are frozen out of the cyclic collector and young collections run less often; with thousands of
  agents the collector's passes over long-lived state cost a third of a run (benchmarks/scaling.py);
* **garbage collection of a short command-line process** (:func:`process_start`, :func:`process_exit`):
  a higher first-generation threshold while a cold ``twin run`` builds its long-lived objects (0.1 s;
  100,000 allocations, as while events run: a warm 50-shuttle day then collects nothing before its
  first event, where 20,000 made two young collections of 5-10 ms each, and it found no cyclic
  garbage there), and a freeze at exit, which spares the interpreter's last collections a walk over
  all of them (0.3 s); and once the command has finished with its exit status, non-daemon threads
  joined, ``atexit`` handlers run and the standard streams flushed, the process ends without
  tearing down the 600-odd modules it imported one by one (0.02 s of CPU, more of wall time);
* **one BLAS thread in a command-line process** (:func:`process_start`): numpy's and SciPy's
  OpenBLAS each start a pool of threads, one per core, when they are imported, which cost a cold
  run 0.03-0.05 s of CPU; the twin's arrays are small (OpenBLAS splits only large products among
  threads), and results are the same either way. ``OPENBLAS_NUM_THREADS`` = 1 unless the user set it; processes the command
  starts (sweep workers) inherit it, one process per core being the sweep's parallelism;
* **pydantic without its plug-in scan in a command-line process** (:func:`process_start`): the first
  model pydantic builds reads the entry points of every installed distribution for its ``pydantic``
  plug-in group (observability hooks, such as logfire's), 0.01 s of a cold run; the twin's schemas
  use none. ``PYDANTIC_DISABLE_PLUGINS`` = ``__all__`` unless the user set it (any value, even empty);
* **pint without its dask probe** (:func:`import_pint`): pint imports dask when it is installed,
  0.1-0.2 s of every cold start, though the twin hands pint no dask arrays;
* **mesa without its package ``__init__``** (:func:`import_mesa`): ``import mesa`` imports all of mesa
  (pandas, tqdm, networkx, scipy), 0.6 s of a cold run that needs ``mesa.agent`` and ``mesa.model``
  only; and ``mesa.model``'s logger and its logged ``Model.__init__`` named without reading the
  source of every frame on the stack (``inspect.stack()``, ``inspect.getouterframes()``: 30 ms each);
* **SciPy's sparse-graph routines without their package ``__init__``** (:func:`csgraph_function`):
  ``scipy.sparse.csgraph`` imports ``scipy.sparse.linalg`` and ``scipy.linalg`` for its Laplacian,
  about a third of SciPy's share of a cold start, though a run needs only Dijkstra and the matching;
  and **numpy's test, masked-array and Fortran-wrapper packages left unloaded while SciPy clones
  numpy** (:func:`scipy_sparse`): SciPy's array-API layer fetches every name numpy has, which loads
  ``numpy.testing`` and ``numpy.f2py`` (with ``unittest`` and ``charset_normalizer``), which no run uses,
  and ``numpy.ma``, which only runs that take percentiles use (``np.percentile`` asks it for a name:
  it completes itself then; a loop-only run never does);
* **SciPy's k-d tree without ``scipy.spatial``'s package ``__init__``** (:func:`kd_tree`): the drone
  separation figures need ``cKDTree`` alone, not Qhull, the distance metrics or the rotations;
* **models let go by mesa** (:func:`forget_model`): mesa 3.3 keeps every model it numbered agents for
  in a class-level dict (``mesa.Agent._ids``); a process that builds model after model (the
  exhibition loop, a sweep worker) would grow by one model each time.

The switch: the environment variable ``TWIN_SPEEDUPS`` (``0`` turns everything off; unset or ``1``:
on, the default, as the command line uses it), or :func:`disable` / :func:`enable` at run time. The
import-time tricks (mesa, pint, SciPy's sparse graphs) follow the switch as it is when ``gwangju_twin.model`` and the first
quantity are imported; the others follow it on every call.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

ENV = "TWIN_SPEEDUPS"

# Allocations between young garbage collections while events run (Python's default is 700).
YOUNG_COLLECTION_ALLOCATIONS = 100_000
# The first-generation threshold of a command-line process (benchmarks/RESULTS.md has the figures).
GC_FIRST_GENERATION_THRESHOLD = 100_000
BLAS_THREADS_ENV = "OPENBLAS_NUM_THREADS"
PYDANTIC_PLUGINS_ENV = "PYDANTIC_DISABLE_PLUGINS"

_enabled = os.environ.get(ENV, "1").strip() != "0"


def enabled() -> bool:
    """True if the speed-ups are on."""
    return _enabled


def enable() -> None:
    """Turn the speed-ups on (the default)."""
    global _enabled
    _enabled = True


def disable() -> None:
    """Turn the speed-ups off: the process's garbage collector, pint and mesa as they come."""
    global _enabled
    _enabled = False


@contextmanager
def events_running() -> Iterator[None]:
    """While events run: freeze what exists out of the cyclic collector, collect the young less often.

    Both are restored afterwards, so garbage is still collected.
    """
    if not _enabled:
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(thresholds[0], YOUNG_COLLECTION_ALLOCATIONS), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def process_start() -> None:
    """A command-line process begins: collect the young less often while it builds its long-lived state,
    let numpy's and SciPy's OpenBLAS start one thread, not a pool (unless the user chose a number), and
    pydantic skip its plug-in scan (unless the user said otherwise)."""
    if _enabled:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(GC_FIRST_GENERATION_THRESHOLD, older, oldest)
        if "numpy" not in sys.modules:  # read by OpenBLAS when numpy (and SciPy) load it
            os.environ.setdefault(BLAS_THREADS_ENV, "1")
        os.environ.setdefault(PYDANTIC_PLUGINS_ENV, "__all__")  # read by pydantic whenever it builds a model


def command_line_process(command: Callable[[], None]) -> None:
    """Run ``command``, a command-line process's work, as a short process: :func:`process_start` first,
    :func:`process_exit` with its exit status after (``SystemExit``'s, or 0 if it returns)."""
    process_start()
    status: int | None = None
    try:
        command()
        status = 0
    except SystemExit as exc:
        status = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else None
        raise
    finally:
        process_exit(status)


def process_exit(status: int | None = None) -> None:
    """A command-line process ends: spare the exit's collections a walk over every object it made and,
    when the command finished with exit status ``status``, the teardown of every module it imported."""
    if not _enabled:
        return
    gc.freeze()
    if status is None:  # a traceback, or an exit message: the interpreter says it, as it would have
        return
    for thread in threading.enumerate():  # what the interpreter's exit does that anyone could notice
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # noqa: SLF001 - the handlers the interpreter would run, once
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # a closed pipe: the interpreter reports it as it would have
    os._exit(status)


def forget_model(model: Any) -> None:
    """Drop ``model`` from mesa's class-level agent numbering so it can be freed."""
    if _enabled:
        importlib.import_module("mesa.agent").Agent._ids.pop(model, None)


def import_pint() -> ModuleType:
    """pint, imported without its optional dask support (dask itself stays importable)."""
    if not _enabled or "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # type: ignore[assignment]  # makes pint's ``import dask`` raise ImportError
    try:
        import pint
    finally:
        del sys.modules["dask"]
    return pint


def import_mesa() -> tuple[ModuleType, ModuleType]:
    """``mesa.agent`` and ``mesa.model``, with mesa's package ``__init__`` waiting until something needs it.

    The package is registered from its import spec *without* running its ``__init__``; it completes
    itself the first time anything asks it for a name it does not have yet (``mesa.DataCollector``,
    ``from mesa import batch_run``, ``mesa.__version__``): mesa's own loader then runs the
    ``__init__`` as a plain ``import mesa`` would have, and it finds these same two modules, so there
    is one ``Agent`` and one ``Model`` class either way. Switched off, this is ``import mesa``.
    """
    if not _enabled:
        importlib.import_module("mesa")
        return importlib.import_module("mesa.agent"), importlib.import_module("mesa.model")
    _lazy_package()
    return importlib.import_module("mesa.agent"), _import_model_module()


NUMPY_UNUSED = ("numpy.f2py", "numpy.testing", "numpy.ma")  # loaded by SciPy's clone of numpy; until used


def scipy_sparse() -> ModuleType:
    """``scipy.sparse``, with :data:`NUMPY_UNUSED` registered as packages that complete themselves on first use.

    They are registered as :func:`import_mesa`'s mesa is: without running their ``__init__`` until
    anything asks one of them for a name, when it runs as a plain import would have. Switched off,
    this is ``import scipy.sparse``.
    """
    if _enabled and "scipy.sparse" not in sys.modules:
        importlib.import_module("numpy")
        for name in NUMPY_UNUSED:
            _lazy_package(name)
    return importlib.import_module("scipy.sparse")


def csgraph_function(name: str, module: str) -> Any:
    """``scipy.sparse.csgraph``'s function ``name``, from its submodule ``module`` (e.g. ``_shortest_path``).

    The package is registered *without* running its ``__init__`` (which imports ``scipy.sparse.linalg``
    and ``scipy.linalg``) and completes itself, as :func:`import_mesa`'s mesa does, the first time
    anything asks it for a name it does not have; the function is the one ``from scipy.sparse.csgraph
    import name`` gives. Switched off, or if a SciPy keeps the function elsewhere, that plain import.
    """
    return _from_submodule("scipy.sparse.csgraph", module, name)


def kd_tree() -> type:
    """SciPy's ``cKDTree``, from ``scipy.spatial._ckdtree`` without ``scipy.spatial``'s package
    ``__init__`` (Qhull, the distance metrics and the rotations: 0.15 s of a cold run whose drone
    figures need the tree alone); the class is the one ``from scipy.spatial import cKDTree`` gives.
    Switched off, or if a SciPy keeps it elsewhere, that plain import."""
    return _from_submodule("scipy.spatial", "_ckdtree", "cKDTree")


def _from_submodule(package_name: str, module: str, name: str) -> Any:
    """``name`` from ``package_name.module``, the package registered without its ``__init__``
    (:func:`_lazy_package`) when the speed-ups are on."""
    scipy_sparse()
    if _enabled:
        _lazy_package(package_name)
        try:
            return getattr(importlib.import_module(f"{package_name}.{module}"), name)
        except (ImportError, AttributeError):
            pass
    return getattr(importlib.import_module(package_name), name)


def _lazy_package(name: str = "mesa") -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"{name} is not installed", name=name)
    package = importlib.util.module_from_spec(spec)

    def complete(attribute: str) -> object:
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)  # the package's __init__, as a plain import runs it
        return getattr(package, attribute)

    package.__dict__["__getattr__"] = complete
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:  # as the import system binds a subpackage to its parent
        setattr(sys.modules[parent], child, package)
    return package


def _import_model_module() -> ModuleType:
    """``mesa.model``, whose import names its logger and its logged methods' class, without reading source files.

    ``mesa.model`` calls ``mesa_logging.create_module_logger()``, which finds the calling module
    with ``inspect.stack()``, and decorates ``Model.__init__`` with ``method_logger``, which finds
    the class being defined with ``inspect.getouterframes()``: both read the source of every frame
    on the stack and look up the module of each (30-40 ms of a cold run). While ``mesa.model`` is
    imported, the first gets the same name, the caller's ``__name__``, from the frame directly, and
    the second sees :class:`_FramesWithoutSource` for ``inspect``, whose frames carry the same
    function names without their source lines; the logger and the decorator are the ones mesa would make.
    """
    if "mesa.model" in sys.modules:
        return sys.modules["mesa.model"]
    logging_module = importlib.import_module("mesa.mesa_logging")
    create, inspect_module = logging_module.create_module_logger, logging_module.inspect

    def create_named(name: str | None = None):  # noqa: ANN202 - mesa's logger
        return create(sys._getframe(1).f_globals["__name__"] if name is None else name)

    logging_module.create_module_logger = create_named
    logging_module.inspect = _FramesWithoutSource(inspect_module)
    try:
        return importlib.import_module("mesa.model")
    finally:
        logging_module.create_module_logger, logging_module.inspect = create, inspect_module


class _FramesWithoutSource:
    """``inspect`` as mesa's logging module uses it, but ``getouterframes`` reads no source (context None)."""

    def __init__(self, inspect_module: ModuleType) -> None:
        self._inspect = inspect_module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inspect, name)

    def getouterframes(self, frame: Any, context: int = 1) -> list[Any]:
        frames = []
        while frame is not None:
            code = frame.f_code
            frames.append(self._inspect.FrameInfo(frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
            frame = frame.f_back
        return frames
