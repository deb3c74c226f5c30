"""The project's error hierarchy.

Every error a user can cause (a bad scenario file, a missing map, a site that does not snap
to the road network) is one of these. The CLI prints ``str(error)`` as one line and exits
non-zero; anything else reaching the top is a bug and keeps its traceback.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base of every user-facing error; its message is one complete line."""


class ConfigError(TwinError):
    """A TOML file is malformed: names the file, the key path, the value and what is allowed."""

    def __init__(self, file: str, key: str, value: object, allowed: str) -> None:
        self.file, self.key, self.value, self.allowed = file, key, value, allowed
        where = f"{file}: {key}" if key else file
        shown = "" if value is None else f" = {_short(value)}"
        super().__init__(" ".join(f"{where}{shown}: {allowed}".split()))


class ScenarioError(ConfigError):
    """A scenario or sweep file is malformed."""


class MapError(TwinError):
    """A map is missing, unreadable or cannot be built."""


class RoutingError(TwinError):
    """A place does not snap to the road network or cannot be reached from where it must be."""


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
