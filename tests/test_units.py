"""Quantities with units: conversions are exact, anything else is a clear ValueError."""

import math

import pytest
from gwangju_twin import units
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("text", "kind", "si"),
    [("5 km/h", "speed", 5 / 3.6), ("1.2 m/s", "speed", 1.2), ("30 min", "duration", 1800.0),
     ("2 h", "duration", 7200.0), ("1.5 km", "length", 1500.0), ("20 kWh", "energy", 7.2e7),
     ("0.15 kWh/km", "energy_per_length", 540.0), ("4.5 t", "mass", 4500.0), ("0.05 / h", "rate", 0.05 / 3600)],
)
def test_converts_to_si(text: str, kind: str, si: float) -> None:
    assert units.to_si(text, kind) == pytest.approx(si, rel=1e-12)


@pytest.mark.parametrize("text", ["5 km", "5", "km/h", "5 km/h + 3 m/s", "(((", "5 furlongz", "1e999 m/s", 5, None, True])
def test_refuses_what_is_not_a_speed(text: object) -> None:
    with pytest.raises(ValueError, match="must be a speed"):
        units.to_si(text, "speed")


def test_windows() -> None:
    assert units.parse_window("10:00-12:00") == (36000.0, 43200.0)
    assert units.parse_window("18:00-24:00") == (64800.0, 86400.0)
    for bad in ("12:00-10:00", "10-12", "25:00-26:00", "10:00", 10):
        with pytest.raises(ValueError, match="time"):
            units.parse_window(bad)


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.lists(st.integers())))
def test_any_input_gives_a_float_or_a_value_error(value: object) -> None:
    try:
        result = units.to_si(value, "duration")
    except ValueError as exc:
        assert "must be" in str(exc)
    else:
        assert math.isfinite(result)


@pytest.mark.parametrize("unit_text", sorted(units.COMMON_UNITS))
def test_each_common_unit_is_pints_factor_for_its_kind(unit_text: str) -> None:
    kind, factor = units.COMMON_UNITS[unit_text]
    si_unit, allowed = units.KINDS[kind]
    assert units._pint_si("1", unit_text, si_unit, allowed) == factor
    for other in set(units.KINDS) - {kind}:  # a unit of another kind is refused, not converted
        with pytest.raises(ValueError, match="must be"):
            units.to_si(f"1 {unit_text}", other)


@given(
    st.sampled_from(sorted(units.COMMON_UNITS)),
    st.one_of(st.floats(min_value=0, max_value=1e6), st.integers(min_value=0, max_value=10**6).map(float),
              st.decimals(min_value=0, max_value=1000, places=2).map(float)),
)
def test_the_common_units_give_pints_floats_to_the_last_bit(unit_text: str, number: float) -> None:
    kind, _ = units.COMMON_UNITS[unit_text]
    si_unit, allowed = units.KINDS[kind]
    assert units.to_si(f"{number!r} {unit_text}", kind) == units._pint_si(repr(number), unit_text, si_unit, allowed)
