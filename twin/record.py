"""What a run remembers: an event log and agent trajectories, as plain rows until written."""

from __future__ import annotations

import pandas as pd


class EventLog:
    """Discrete events in the order they happened: ``(t_s, agent, event, detail)``."""

    COLUMNS = ("t_s", "agent", "event", "detail")

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, str, str]] = []

    def add(self, t_s: float, agent: str, event: str, detail: str = "") -> None:
        self.rows.append((t_s, agent, event, detail))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.COLUMNS))


class Tracks:
    """Positions of moving agents at the instants they reach a node.

    Rows are ``(agent, kind, t_s, x_m, y_m, odometer_m, state, battery_kwh)``; ``odometer_m`` is
    the distance the agent has driven so far, so speeds can be checked exactly from recorded data;
    ``battery_kwh`` is what its battery holds then (NaN for what has none, e.g. a parts truck).

    Between two points an agent moves at constant speed along its edge, so these points are
    enough to replay (and to check) every movement.
    """

    COLUMNS = ("agent", "kind", "t_s", "x_m", "y_m", "odometer_m", "state", "battery_kwh")

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.rows: list[tuple[str, str, float, float, float, float, str, float]] = []

    def add(self, agent: str, kind: str, t_s: float, x_m: float, y_m: float, odometer_m: float, state: str,
            battery_kwh: float = float("nan")) -> None:
        if self.enabled:
            self.rows.append((agent, kind, t_s, x_m, y_m, odometer_m, state, battery_kwh))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=list(self.COLUMNS))
