"""Quantities with units, at the edges only.

Scenario files say ``"5 km/h"`` or ``"30 min"``; everything inside the twin is SI floats whose
names carry the unit (``speed_mps``, ``duration_s``). This module turns the former into the
latter with pint and says what was wrong when it cannot.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin import speedups

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


# The units scenario files use, with the factor pint gives each to the SI unit of its kind. With
# these, reading a scenario needs no pint at all (its import and registry are about 0.1 s of a
# cold ``twin run``); any other spelling goes to pint. pint converts a quantity by one
# multiplication by this same factor, so the fast path gives pint's floats to the last bit:
# tests/test_units.py checks every entry against pint, factor and products.
COMMON_UNITS: dict[str, tuple[str, float]] = {
    "m/s": ("speed", 1.0),
    "km/h": ("speed", 0.2777777777777778),
    "s": ("duration", 1.0),
    "min": ("duration", 60.0),
    "h": ("duration", 3600.0),
    "d": ("duration", 86400.0),
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "J": ("energy", 1.0),
    "Wh": ("energy", 3600.0),
    "kWh": ("energy", 3600000.0),
    "W": ("power", 1.0),
    "kW": ("power", 1000.0),
    "kWh/km": ("energy_per_length", 3600.0),
    "Wh/km": ("energy_per_length", 3.6),
    "kg": ("mass", 1.0),
    "t": ("mass", 1000.0),
    "/ s": ("rate", 1.0),
    "/s": ("rate", 1.0),
    "/ min": ("rate", 0.016666666666666666),
    "/ h": ("rate", 0.0002777777777777778),
    "/h": ("rate", 0.0002777777777777778),
    "/ d": ("rate", 1.1574074074074073e-05),
    "kg/s": ("mass_rate", 1.0),
    "kg/h": ("mass_rate", 0.0002777777777777778),
    "kg/d": ("mass_rate", 1.1574074074074073e-05),
}


_NUMBER_UNIT = re.compile(r"^\s*(?P<number>[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?)\s*(?P<unit>(1\s*/|/|[A-Za-z])[A-Za-z0-9_/ *^]*?)\s*$")


@lru_cache(maxsize=1)
def registry() -> pint.UnitRegistry:
    """One unit registry per process.

    Parsing pint's definitions costs about 0.3 s; pint caches the parsed registry in the user's
    cache folder, which brings that to 0.05 s. Where that folder cannot be written, parse anyway.
    pint is imported here, on the first quantity read, not when the twin is imported.
    """
    pint = speedups.import_pint()
    try:
        return pint.UnitRegistry(cache_folder=":auto:")
    except OSError:
        return pint.UnitRegistry(cache_folder=None)


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
    unit_text = match["unit"]
    common = COMMON_UNITS.get(unit_text)
    if common is not None and common[0] == kind:
        value = float(match["number"]) * common[1]
    else:
        value = _pint_si(match["number"], unit_text, si_unit, allowed)
    if not math.isfinite(value):
        raise ValueError(f"must be {allowed} (a finite number)")
    return float(value)


def _pint_si(number: str, unit_text: str, si_unit: str, allowed: str) -> float:
    """``number`` in ``unit_text`` converted by pint to ``si_unit``; a ValueError if pint cannot."""
    try:
        unit = registry().parse_units("1" + unit_text if unit_text.startswith("/") else unit_text)
        return float((float(number) * unit).to(si_unit).magnitude)
    except Exception:  # noqa: BLE001 - pint raises many types for text it cannot read; all mean "bad unit"
        raise ValueError(f"must be {allowed}") from None


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
