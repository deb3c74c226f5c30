"""Reading TOML files into frozen, typed pydantic models with one-line errors.

Shared by area, scenario and sweep files. The first problem found is reported as
``FILE: key.path = value: what is allowed`` through a :class:`~twin.errors.ConfigError`
subclass; pydantic's own exceptions never leave this module.
"""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pydantic
from gwangju_twin import units
from gwangju_twin.errors import ConfigError
from pydantic import BaseModel, BeforeValidator, ConfigDict

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Base of every config object: unknown keys refused, values immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, populate_by_name=True, validate_default=True)


def quantity(kind: str, *, above: str | None = None, at_least: str | None = None, at_most: str | None = None) -> Any:
    """A float field written with a unit (``"5 km/h"``), held in SI, with limits said in units.

    ``above``, ``at_least`` and ``at_most`` are limits written like values (``"0 s"``).
    """

    def convert(value: Any) -> float:
        si = units.to_si(value, kind)
        if above is not None and not si > units.to_si(above, kind):
            raise ValueError(f"must be more than {above}")
        if at_least is not None and not si >= units.to_si(at_least, kind):
            raise ValueError(f"must be at least {at_least}")
        if at_most is not None and not si <= units.to_si(at_most, kind) * (1 + 1e-12):
            raise ValueError(f"must be at most {at_most}")
        return si

    return Annotated[float, BeforeValidator(convert)]


Window = Annotated[tuple[float, float], BeforeValidator(units.parse_window)]


def read_toml(path: Path, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """Parse a TOML file, turning I/O and syntax problems into one-line errors."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(str(path), "", None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(str(path), "", None, f"cannot be read ({exc.__class__.__name__})") from None
    return parse_toml(text, str(path), error)


def parse_toml(text: str, file: str, error: type[ConfigError] = ConfigError) -> dict[str, Any]:
    """Parse TOML text; ``file`` names it in errors."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(file, "", None, f"is not valid TOML ({exc})") from None
    except RecursionError:
        raise error(file, "", None, "is nested too deeply to be a scenario, area or sweep file") from None


def validate(model: type[M], data: Any, file: str, error: type[ConfigError] = ConfigError) -> M:
    """Validate ``data`` into ``model`` or raise ``error`` describing the first problem."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        allowed = _allowed(first)
        if first["type"] == "extra_forbidden":
            keys = _keys_at(model, first["loc"][:-1])
            allowed = f"unknown key; allowed here: {', '.join(keys)}" if keys else allowed
        key, value = _key_path(first["loc"], data), _value(first, data)
        if first["type"].startswith("union_tag"):
            tag = first.get("ctx", {}).get("discriminator", "").strip("'")
            key, value = f"{key}.{tag}", value.get(tag) if isinstance(value, dict) else None
            tags = ", ".join(repr(_tag(m)) for m in _candidates_at(model, first["loc"]))
            allowed = f"must be one of {tags}" if value is not None else f"required key is missing; one of {tags}"
        raise error(file, key, value, allowed) from None


def _key_path(loc: tuple[Any, ...], data: Any) -> str:
    """The location as the user's file spells it: pydantic's internal steps and union tags left out."""
    path, current = "", data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(part, int) and isinstance(current, list) and 0 <= part < len(current):
            path, current = path + f"[{part}]", current[part]
        elif isinstance(part, str) and isinstance(current, dict) and part in current:
            path, current = (f"{path}.{part}" if path else part), current[part]
        elif last and isinstance(part, str) and not _is_internal(part):
            path = f"{path}.{part}" if path else part
    return path


def _keys_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys a file may use at ``loc`` inside ``model`` (empty if it cannot be told)."""
    candidates = _candidates_at(model, loc)
    fields = getattr(candidates[0], "model_fields", None) if len(candidates) == 1 else None
    return sorted(f.alias or name for name, f in fields.items()) if fields else []


def _candidates_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[Any]:
    """The models that may stand at ``loc`` (several where a tagged union is not yet decided)."""
    candidates: list[Any] = [model]
    for part in loc:
        if isinstance(part, int) or _is_internal(part):
            continue
        tagged = [m for m in candidates if _tag(m) == part]
        if tagged:  # a union member chosen by its tag, e.g. service = "cleaning"
            candidates = tagged
            continue
        fields = getattr(candidates[0], "model_fields", None)
        field = next((f for name, f in (fields or {}).items() if (f.alias or name) == part), None)
        if field is None:
            return [None]
        candidates = _models_in(field.annotation) or [None]
    return candidates


def _tag(model: Any) -> Any:
    """The value of a union member's ``service: Literal[...]`` tag, if it has one."""
    field = getattr(model, "model_fields", {}).get("service")
    values = typing.get_args(field.annotation) if field is not None else ()
    return values[0] if len(values) == 1 else None


def _models_in(annotation: Any) -> list[Any]:
    """The pydantic models inside ``list[M]``, ``M | N``, ``Annotated[...]`` or ``dict[str, M]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _is_internal(part: str) -> bool:
    # pydantic names validator steps in locations ("function-before[...]", "tuple[float, float]").
    return "[" in part or part.startswith("function-")


def _value(error: Any, data: Any) -> Any:
    """The value as the user wrote it (not as converted), or None for a missing key."""
    if error["type"] == "missing":
        return None
    current = data
    for part in error["loc"]:
        if isinstance(part, str) and _is_internal(part):
            continue
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return error.get("input")
    return current


def _allowed(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
