"""mesa's ``Agent`` and ``Model`` without the rest of mesa: a run imports what it uses.

``import mesa`` runs mesa's package ``__init__``, which imports every part of mesa at once: the
data collector and batch runner (pandas, tqdm, asyncio, ssl) and the spaces (networkx,
scipy.spatial), about 0.6 s of a cold ``twin run`` that uses none of them. The twin's agents and
model need two modules, ``mesa.agent`` and ``mesa.model``, which import only numpy.

So the first import of this module registers mesa's package from its import spec *without*
running its ``__init__`` and imports those two modules under it. The package completes itself
the first time anything asks it for a name it does not have yet (``mesa.DataCollector``,
``from mesa import batch_run``, ``mesa.__version__``): mesa's own loader then runs the
``__init__`` as a plain ``import mesa`` would have, and it finds these same two modules, so
there is one ``Agent`` and one ``Model`` class either way. If mesa was imported whole before,
this module only hands out its classes.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType


def _package() -> ModuleType:
    """The ``mesa`` package: the one already imported, or one whose ``__init__`` waits until needed."""
    if "mesa" in sys.modules:
        return sys.modules["mesa"]
    spec = importlib.util.find_spec("mesa")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("mesa is not installed", name="mesa")
    package = importlib.util.module_from_spec(spec)

    def complete(name: str) -> object:
        del package.__dict__["__getattr__"]
        spec.loader.exec_module(package)  # mesa's __init__, as ``import mesa`` runs it
        return getattr(package, name)

    package.__dict__["__getattr__"] = complete
    sys.modules["mesa"] = package
    return package


def _import_model_module() -> ModuleType:
    """``mesa.model``, whose import names its logger after itself, without reading source files.

    ``mesa.model`` calls ``mesa_logging.create_module_logger()``, which finds the calling module
    with ``inspect.stack()``: that reads the source of every frame on the stack, about 30 ms of a
    cold ``twin run``. While ``mesa.model`` is imported, the call gets that same name, the
    caller's ``__name__``, from the frame directly; the logger is the one mesa would make.
    """
    if "mesa.model" in sys.modules:
        return sys.modules["mesa.model"]
    logging_module = importlib.import_module("mesa.mesa_logging")
    create = logging_module.create_module_logger

    def create_named(name: str | None = None):  # noqa: ANN202 - mesa's logger
        return create(sys._getframe(1).f_globals["__name__"] if name is None else name)

    logging_module.create_module_logger = create_named
    try:
        return importlib.import_module("mesa.model")
    finally:
        logging_module.create_module_logger = create


mesa = _package()
Agent = importlib.import_module("mesa.agent").Agent
AgentSet = importlib.import_module("mesa.agent").AgentSet
Model = _import_model_module().Model

__all__ = ["Agent", "AgentSet", "Model"]
