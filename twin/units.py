"""Quantities with units, at the edges only.

Scenario files say ``"5 km/h"`` or ``"30 min"``; everything inside the twin is SI floats whose
names carry the unit (``speed_mps``, ``duration_s``). This module turns the former into the
latter with pint and says what was wrong when it cannot.
"""

from __future__ import annotations

import math
import re
import sys
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pint

# The SI unit every kind of quantity is converted to, and how a user may write it.
KINDS: dict[str, tuple[str, str]] = {
    "speed": ("m/s", "a speed such as \"5 km/h\" or \"1.2 m/s\""),
    "duration": ("s", "a duration such as \"90 s\", \"30 min\" or \"2 h\""),
    "length": ("m", "a length such as \"250 m\" or \"1.5 km\""),
    "energy": ("J", "an energy such as \"20 kWh\""),
    "power": ("W", "a power such as \"3 kW\""),
    "energy_per_length": ("J/m", "an energy per distance such as \"0.15 kWh/km\""),
    "mass": ("kg", "a mass such as \"200 kg\" or \"4.5 t\""),
    "rate": ("1/s", "a rate such as \"0.05 / h\""),
    "mass_rate": ("kg/s", "a fill rate such as \"4 kg/h\""),
}


_NUMBER_UNIT = re.compile(r"^\s*(?P<number>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>(1\s*/|/|[A-Za-z])[A-Za-z0-9_/ *^]*?)\s*$")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """One unit registry per process.

    Parsing pint's definitions costs about 0.3 s; pint caches the parsed registry in the user's
    cache folder, which brings that to 0.05 s. Where that folder cannot be written, parse anyway.
    pint is imported here, on the first quantity read, not when the twin is imported.
    """
    pint = _import_pint()
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except OSError:
        return pint.UnitRegistry(cache_folder=None)


def _import_pint():  # noqa: ANN202 - the pint module
    """Import pint without its optional dask support: the twin hands pint no dask arrays.

    pint probes for dask at import and, when it is installed (the sweep's cluster brings it),
    imports it: 0.1-0.2 s of every cold start. With dask not yet imported, the probe is told it
    is absent; dask itself stays importable for everything else.
    """
    if "pint" in sys.modules or "dask" in sys.modules:
        import pint

        return pint
    sys.modules["dask"] = None  # type: ignore[assignment]  # makes ``import dask`` raise ImportError
    try:
        import pint
    finally:
        del sys.modules["dask"]
    return pint


def to_si(text: object, kind: str) -> float:
    """Convert ``text`` such as ``"5 km/h"`` to the SI float of ``kind``.

    Raises
    ------
    ValueError
        With a message saying what is allowed; the scenario loader adds file and key.
    """
    si_unit, allowed = KINDS[kind]
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"must be {allowed} (a string with a unit)")
    match = _NUMBER_UNIT.match(text)
    if match is None:
        raise ValueError(f"must be {allowed}")
    try:
        unit_text = match["unit"]
        unit = registry().parse_units("1" + unit_text if unit_text.startswith("/") else unit_text)
        value = (float(match["number"]) * unit).to(si_unit).magnitude
    except Exception:  # noqa: BLE001 - pint raises many types for text it cannot read; all mean "bad unit"
        raise ValueError(f"must be {allowed}") from None
    if not math.isfinite(value):
        raise ValueError(f"must be {allowed} (a finite number)")
    return float(value)


def parse_clock(text: str) -> float:
    """``"10:30"`` to seconds after midnight; ``"24:00"`` is allowed as the end of a day."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError("must be a time of day HH:MM")
    h, m = int(hours), int(minutes)
    if h > 24 or m > 59 or (h == 24 and m):
        raise ValueError("must be a time of day between 00:00 and 24:00")
    return h * 3600.0 + m * 60.0


def parse_window(text: object) -> tuple[float, float]:
    """``"10:00-12:00"`` to ``(36000.0, 43200.0)`` seconds after midnight."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ValueError('must be a time window such as "10:00-12:00"')
    start, end = (parse_clock(part.strip()) for part in text.split("-"))
    if end <= start:
        raise ValueError('must be a time window whose end is after its start, such as "10:00-12:00"')
    return start, end

DAY_S = 86400.0
WEEK_S = 7 * DAY_S
J_PER_KWH = 3.6e6


def poisson_times_s(rng: np.random.Generator, mean_count: float, start_s: float, end_s: float) -> np.ndarray:
    """Arrival instants of a Poisson process over ``[start_s, end_s)`` expecting ``mean_count`` arrivals, sorted.

    One helper for every demand in the twin (rides, parcels, parts), so they draw alike: the count,
    then the instants, uniformly.
    """
    return np.sort(rng.uniform(start_s, end_s, rng.poisson(mean_count)))
