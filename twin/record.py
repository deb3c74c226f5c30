"""What a run remembers: an event log and agent trajectories, as plain rows until written."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from itertools import compress
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class EventLog:
    """Discrete events in the order they happened: ``(t_s, agent, event, detail)``."""

    COLUMNS = ("t_s", "agent", "event", "detail")

    def __init__(self) -> None:
        self.rows: list[tuple[float, str, str, str]] = []

    def add(self, t_s: float, agent: str, event: str, detail: str = "") -> None:
        self.rows.append((t_s, agent, event, detail))

    def frame(self) -> pd.DataFrame:
        import pandas as pd  # here: a run pays pandas' import only when it writes or analyses

        return pd.DataFrame(self.rows, columns=list(self.COLUMNS))


class Tracks:
    """Positions of moving agents at the instants they reach a node.

    Rows are ``(agent, kind, t_s, x_m, y_m, odometer_m, state, battery_kwh, altitude_m)``;
    ``odometer_m`` is the distance the agent has driven (or flown, horizontally) so far, so speeds
    can be checked exactly from recorded data; ``battery_kwh`` is the energy it holds then (NaN for
    what has none, e.g. a parts truck); ``altitude_m`` is a drone's height above ground (NaN on roads).
    A drone's state is its flight phase (pad, climb, cruise, transition, descent, landed).

    Between two points an agent moves at constant speed along its edge, so these points are
    enough to replay (and to check) every movement.
    """

    COLUMNS = ("agent", "kind", "t_s", "x_m", "y_m", "odometer_m", "state", "battery_kwh", "altitude_m")
    # Kept as references: the names, and the two columns that are often NaN (the shared default NaN
    # object, so that rows compare equal as they did when rows were tuples).
    _REFERENCES = ("agent", "kind", "state", "battery_kwh", "altitude_m")

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        # Kept by column: time, position and odometer in arrays of doubles (8 bytes each), the rest as
        # references. A row as a tuple of boxed floats took about 250 bytes; this about 100 (a day of
        # 5,000 vehicles records over 600,000 points: benchmarks/scaling.py).
        self._columns: list[list | array] = [[] if name in self._REFERENCES else array("d") for name in self.COLUMNS]
        self._appends = [column.append for column in self._columns]
        self._waiting: list[Callable[[], None]] = []  # owners holding points not yet added (:meth:`later`)

    @property
    def rows(self) -> Sequence[tuple[str, str, float, float, float, float, str, float, float]]:
        """Every recorded row, in the order recorded (a read-only view)."""
        self._settle()
        return _Rows(self._columns)

    def add(self, agent: str, kind: str, t_s: float, x_m: float, y_m: float, odometer_m: float, state: str,
            battery_kwh: float = float("nan"), altitude_m: float = float("nan")) -> None:
        if self._waiting:
            self._settle()
        if self.enabled:
            a = self._appends
            a[0](agent), a[1](kind), a[2](t_s), a[3](x_m), a[4](y_m), a[5](odometer_m), a[6](state)
            a[7](battery_kwh), a[8](altitude_m)

    def extend(self, agent: Sequence[str], kind: Sequence[str], t_s: Sequence[float], x_m: Sequence[float],
               y_m: Sequence[float], odometer_m: Sequence[float], states: Sequence[str], battery_kwh: Sequence[float],
               altitude_m: Sequence[float]) -> None:
        """Many points at once, as :meth:`add` would add them one by one: every column a sequence
        of one length (numpy arrays of doubles are copied as they are)."""
        self._settle()
        if not self.enabled:
            return
        columns = self._columns
        for k, values in ((0, agent), (1, kind), (6, states)):
            columns[k].extend(values)
        for k, values in ((2, t_s), (3, x_m), (4, y_m), (5, odometer_m)):
            columns[k].frombytes(np.ascontiguousarray(values, dtype=float).tobytes())
        for k, values in ((7, battery_kwh), (8, altitude_m)):
            columns[k].extend(np.asarray(values, dtype=float).tolist())

    def later(self, settle: Callable[[], None]) -> None:
        """``settle`` holds points recorded now and adds them (with :meth:`extend`) when it is
        called: before anything else is added, and before any row is read, so the rows keep the
        order they were recorded in. One owner waits at a time (another's are settled first)."""
        if settle not in self._waiting:
            self._settle()
            self._waiting.append(settle)

    def _settle(self) -> None:
        while self._waiting:
            self._waiting.pop()()

    def arrays(self, until_s: float = float("inf")) -> dict[str, np.ndarray]:
        """The rows up to ``until_s`` by column (:attr:`COLUMNS`): numbers as doubles, the rest as objects."""
        self._settle()
        keep = np.frombuffer(self._columns[2], dtype=float) <= until_s if len(self._columns[2]) else np.zeros(0, bool)
        out = {}
        for name, column in zip(self.COLUMNS, self._columns):
            values = np.frombuffer(column, dtype=float) if isinstance(column, array) else _objects(column)
            out[name] = values[keep]
        return out

    def until(self, until_s: float = float("inf")) -> list[tuple]:
        """The rows up to ``until_s`` (planned flights and truck drives are booked ahead of time)."""
        self._settle()
        return [r for r in zip(*self._columns) if r[2] <= until_s]

    def view(self, until_s: float = float("inf")) -> Sequence[tuple]:
        """:meth:`until` without a tuple per row: the rows up to ``until_s`` kept column by column
        (their ``columns``, lists of the same values), made into tuples only as they are read. The
        results writer takes the columns as they are (a day of 1,000 drones: 0.2 s less)."""
        self._settle()
        keep = np.frombuffer(self._columns[2], dtype=float) <= until_s if len(self._columns[2]) else np.zeros(0, bool)
        flags = keep.tolist()
        return _Rows([np.frombuffer(column, dtype=float)[keep].tolist() if isinstance(column, array)
                      else list(compress(column, flags)) for column in self._columns])

    def frame(self, until_s: float = float("inf")) -> pd.DataFrame:
        """:meth:`until` as a table."""
        import pandas as pd

        return pd.DataFrame(self.until(until_s), columns=list(self.COLUMNS))


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class _Rows(Sequence):
    """The rows of :class:`Tracks` as tuples, made as they are read."""

    def __init__(self, columns: list) -> None:
        self._columns = columns

    @property
    def columns(self) -> list:
        """The values column by column (read only)."""
        return self._columns

    def __len__(self) -> int:
        return len(self._columns[0])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(zip(*(column[index] for column in self._columns)))
        return tuple(column[index] for column in self._columns)

    def __iter__(self) -> Iterator[tuple]:
        return zip(*self._columns)
