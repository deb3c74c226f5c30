"""What a service plug-in gives the engine: the one contract between ``twin/`` and a service.

The engine knows no concrete service. A plug-in is registered under the entry-point group
:data:`GROUP` (``pyproject.toml``: ``NAME = "package.module:PLUGIN"``, the object itself or a
class to instantiate) and owns everything about its service:

* the scenario table it reads (:attr:`ServicePlugin.table`) and the pydantic model of that table
  (:attr:`ServicePlugin.config_model`): the scenario schema is assembled from the plug-ins;
* :meth:`ServicePlugin.build`: the services (the runtime objects with an ``id``, a ``kind`` and
  ``kpis()``) it makes for a model;
* what it needs from the world: the areas it works in, whether it needs roads;
* its key figures' metadata (:class:`Kpi`: unit, better direction, service level or not), used by
  the report, the design command and the exhibition's big numbers;
* its audit checks, which read only a results folder (:class:`AuditContext`);
* what the viewer draws for each of its services (:class:`ServiceView`);
* its SUMO export (:meth:`ServicePlugin.sumo_vehicles`).

Plug-ins are built in the order of their entry-point names (the number first), which fixes the
order of random draws.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from gwangju_twin.errors import TwinError

if TYPE_CHECKING:
    from gwangju_twin.model import TwinModel

GROUP = "gwangju_twin.services"

Better = Literal["lower", "higher"]


@dataclass(frozen=True)
class Kpi:
    """What one key figure of a service means.

    ``unit`` is a pint spelling ("s", "km", "h", "1" for a ratio, "count"); ``better`` says which
    way is good (``None``: neither, a descriptive count); ``service_level`` marks the figures a
    user states requirements on (rejection rate, on-time rate, lead time); ``label_en`` and
    ``label_ko`` name it for visitors; ``percent`` shows a ratio as a percentage.
    """

    unit: str
    better: Better | None = None
    service_level: bool = False
    label_en: str = ""
    label_ko: str = ""
    percent: bool = False


@runtime_checkable
class Service(Protocol):
    """A running part of a model: what the engine, the viewer and the results ask of it."""

    id: str
    kind: str

    def kpis(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Layer:
    """Something a service asks the viewer to draw, below or above the moving agents.

    ``kind`` is one of ``"lines"`` (polylines in metres, ``points`` is a list of (n, 2) arrays),
    ``"points"`` (``points`` is an (n, 2) array), ``"areas"`` (closed rings); ``labels`` runs
    beside ``points`` or ``lines`` (empty strings: no label); ``colour`` is an RGB triple.
    ``live`` layers are asked again every frame (swept streets, bin fill). ``colours`` (optional)
    gives each point its own colour (a state: a bin's fill); ``shape`` draws points as ``"dot"``,
    ``"ring"`` or ``"square"`` of ``size_px``; ``site_ids`` names the map sites the points are
    (the layer labels them, the map's own diamond and label step aside); ``priority`` orders the
    labels when space runs out (higher first).
    """

    name: str
    kind: Literal["lines", "points", "areas"]
    colour: tuple[int, int, int]
    points: Any
    labels: Sequence[str] = ()
    width_px: int = 2
    live: bool = False
    legend_en: str = ""
    legend_ko: str = ""
    colours: Sequence[tuple[int, int, int]] = ()
    shape: Literal["dot", "ring", "square"] = "dot"
    size_px: int = 6
    site_ids: Sequence[str] = ()
    priority: int = 0


@dataclass(frozen=True)
class Chart:
    """A time series the viewer charts: ``value()`` is read at each chart sample."""

    title_en: str
    title_ko: str
    unit: str
    value: Callable[[], float | None]


@dataclass(frozen=True)
class Mover:
    """How a moving agent in one state looks, for the legend and the sprite cache.

    ``kind`` and ``colour`` say what the agent is (the disc: a shuttle, a drone); ``core`` is the
    colour of the dot in its middle for the state (``None``: driving empty, a dark dot), named by
    ``state_en`` and ``state_ko`` in the legend.
    """

    kind: str
    colour: tuple[int, int, int]
    legend_en: str
    legend_ko: str
    core: tuple[int, int, int] | None = None
    state_en: str = ""
    state_ko: str = ""


@dataclass
class ServiceView:
    """What the viewer draws for one service; a plug-in fills it, the viewer never probes.

    ``positions(now_s)`` gives the moving agents as ``(agents, xy_m, states)``: the agents (for
    clicks and the follow camera), an (n, 2) array in the service's own area's metres, and a state
    name per agent (a key of ``movers``; a state that is not a key is drawn as ``default_state``'s
    mover with a dark core). ``altitudes_m(now_s)`` (drones) gives heights for the agents ``positions``
    returned, or ``None`` for ground vehicles.

    For visitors: ``caption_ko``/``caption_en`` say what the service does (from its config: nothing it
    does not have); ``headline_kpis`` are the keys of ``kpis()`` the panel shows (labelled by the
    plug-in's :class:`Kpi`), the first ``tiles`` of them as the exhibition's big numbers; ``charts``
    are sampled as the day goes. For the clock: ``active_s()`` gives the (start, end) seconds of
    the day the service works; ``busy_per_hour()`` 24 figures, how many agents it expects to move
    in each hour of the day (the exhibition opens in the busiest). ``describe(agent, now_s)`` gives
    the lines the viewer shows about an agent a user clicked.
    """

    service_id: str
    area_ref: str | None
    movers: Mapping[str, Mover]
    positions: Callable[[float], tuple[Sequence[Any], Any, Sequence[str]]]
    layers: Callable[[], Sequence[Layer]] = lambda: ()
    charts: Sequence[Chart] = ()
    caption_en: str = ""
    caption_ko: str = ""
    headline_kpis: Sequence[str] = ()
    altitudes_m: Callable[[float], Any] | None = None
    active_s: Callable[[], Sequence[tuple[float, float]]] = lambda: ()
    busy_per_hour: Callable[[], Sequence[float]] = lambda: ()
    default_state: str = ""
    tiles: int = 1
    describe: Callable[[Any, float], Sequence[str]] = lambda agent, now_s: ()


@dataclass(frozen=True)
class SumoVehicles:
    """A service's part of a SUMO export: the speed cap of each of its road vehicles (by name) whose
    recorded drives SUMO replays, and the fleets SUMO dispatches itself as taxis."""

    max_speed_mps: Mapping[str, float] = dataclasses.field(default_factory=dict)
    taxi_fleets: Sequence[Any] = ()


@dataclass(frozen=True)
class AuditContext:
    """What an audit check reads: a results folder, already parsed (``twin.audit.Record``)."""

    record: Any


AuditCheck = Callable[[Any], list[Any]]


class ServicePlugin:
    """Base class of service plug-ins: override what the service has; the defaults say "nothing".

    A plug-in is stateless: everything about one run lives in the services it builds.
    """

    name: str = ""
    kinds: tuple[str, ...] = ()  # the kinds of service it builds (``Service.kind``); empty: just ``name``
    table: str = ""
    config_model: type | None = None
    default: Any = None  # the table's value when a scenario leaves it out (None: the service is absent)
    zone_kinds: tuple[str, ...] = ()  # kinds of area file the service brings (airspace zones, say)
    reference_keys: tuple[str, ...] = ()  # keys of its table that name things, not figures (``twin facts``)
    sourced_ids: tuple[str, ...] = ()  # key prefixes whose ``id`` names a real thing from a source

    def build(self, model: TwinModel, config: Any) -> list[Service]:
        """The services this plug-in makes for ``model`` from its table ``config`` (possibly none)."""
        return []

    def present(self, config: Any) -> bool:
        """Whether the table, as given (or defaulted), makes any service run at all."""
        return config is not None

    def area_refs(self, config: Any) -> list[str]:
        """Areas (other than the scenario's own) the table's services work in."""
        return []

    def needs_roads(self, config: Any) -> bool:
        return False

    def kpi_meta(self, kind: str) -> Mapping[str, Kpi]:
        """Metadata of the key figures of a service of ``kind`` (keys as in its ``kpis()``)."""
        return {}

    def audit_checks(self) -> Sequence[AuditCheck]:
        """Checks over a results folder (``twin.audit.Record``): each returns ``twin.audit.Check`` rows."""
        return ()

    def view(self, service: Service) -> ServiceView | None:
        """What the viewer draws for ``service`` (``None``: nothing)."""
        return None

    def sumo(self, service: Service) -> SumoVehicles:
        return SumoVehicles()


@cache
def plugins() -> tuple[ServicePlugin, ...]:
    """Every registered plug-in, in the order of their entry-point names."""
    found = sorted(entry_points(group=GROUP), key=lambda entry: entry.name)
    if not found:
        raise TwinError(f"no services are registered under '{GROUP}': install the package (pip install .)")
    loaded = []
    for entry in found:
        plugin = entry.load()
        loaded.append(plugin() if isinstance(plugin, type) else plugin)
    return tuple(loaded)


def plugin_of(service: Service) -> ServicePlugin:
    """The plug-in that built ``service``."""
    for plugin in plugins():
        if service.kind in plugin_kinds(plugin):
            return plugin
    raise TwinError(f"service '{service.id}' of kind '{service.kind}' belongs to no registered plug-in")


def plugin_kinds(plugin: ServicePlugin) -> Iterable[str]:
    return plugin.kinds or (plugin.name,)


def area_kinds() -> tuple[str, ...]:
    """Every kind an area file may have: road areas, and the zone kinds the plug-ins bring."""
    return ("road_area", *dict.fromkeys(kind for plugin in plugins() for kind in plugin.zone_kinds))


def kpi_meta(kind: str) -> Mapping[str, Kpi]:
    """The key-figure metadata of a service kind, from whichever plug-in has it."""
    for plugin in plugins():
        if kind in plugin_kinds(plugin):
            return plugin.kpi_meta(kind)
    return {}


__all__ = ["GROUP", "AuditCheck", "AuditContext", "Chart", "Kpi", "Layer", "Mover", "Service", "ServicePlugin",
           "ServiceView", "SumoVehicles", "area_kinds", "kpi_meta", "plugin_of", "plugins"]
