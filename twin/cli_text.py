"""What the ``twin`` commands print and how they read their options: the consoles, tables that fit
the terminal, sizes, durations, area references, the progress bar.
"""

from __future__ import annotations

import math
import os
import re
import sys
from pathlib import Path

from gwangju_twin.errors import TwinError

# What rich would change in a line (``:name:`` emoji codes, tabs, control codes); other lines are written as they are.
_RICH_WOULD_CHANGE = re.compile(r":\S*?:")
_PLAIN_OPTIONS = {"highlight": False, "markup": False, "soft_wrap": True}


class _Console:
    """A rich console made on first use: a line rich would print unchanged (a plain ``str``, no emoji code, tab or
    control character, options as the console's) is written as it is, so a ``twin run`` that prints only such
    lines never imports rich (0.02-0.04 s of a cold start); anything else goes through rich."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._rich = None

    def _console(self):  # noqa: ANN202 - rich.console.Console, imported here
        if self._rich is None:
            from rich.console import Console

            # markup and highlighting off: text from files (a map's source, a query's rows) is printed as it is
            self._rich = Console(stderr=self._stderr, soft_wrap=True, markup=False, highlight=False)
        return self._rich

    def print(self, *objects: object, **options: object) -> None:
        if (len(objects) == 1 and type(objects[0]) is str and objects[0].isprintable()
                and not _RICH_WOULD_CHANGE.search(objects[0])
                and all(_PLAIN_OPTIONS.get(k, not v) == v for k, v in options.items())):
            stream = sys.stderr if self._stderr else sys.stdout
            stream.write(objects[0] + "\n")
            stream.flush()  # as rich does after each print to a file that is not a terminal
        else:
            self._console().print(*objects, **options)

    def __getattr__(self, name: str) -> object:
        return getattr(self._console(), name)


out = _Console(stderr=False)
err = _Console(stderr=True)


MIN_FRAME_PX, MAX_FRAME_PX = (320, 240), (7680, 4320)  # a small window to 8K
MAX_VIDEO_FRAMES = 1_000_000


def _frame_size(size: str) -> tuple[int, int]:
    width, sep, height = size.partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise TwinError(f"--size {size!r}: must be WIDTHxHEIGHT, such as 1920x1080")
    (low_w, low_h), (high_w, high_h) = MIN_FRAME_PX, MAX_FRAME_PX
    if not (low_w <= int(width) <= high_w and low_h <= int(height) <= high_h):
        raise TwinError(f"--size {size!r}: must be from {low_w}x{low_h} to {high_w}x{high_h}")
    return int(width), int(height)


def _quiet_pygame() -> None:
    """No pygame banner and, with no sound played, no audio device opened (ALSA errors on machines without one)."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


def _area_ref(area: str | None) -> str | None:
    """``--area``: an id as given; a relative path to an area file is taken from the current folder."""
    if area is not None and area.endswith(".toml") and not Path(area).is_absolute():
        return str(Path(area).absolute())
    return area


def _print_rows(columns: list[str], rows: list[tuple]) -> None:
    """A query's rows: a table if it fits the terminal, else one block of ``column: value`` lines per row."""
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]
    if sum(w + 3 for w in widths) + 1 <= out.width:
        from rich.table import Table  # here: only commands that print tables load it

        table = Table(*columns)
        for row in cells:
            table.add_row(*row)
        out.print(table, markup=False)
    else:
        import textwrap

        name_w = min(max((len(c) for c in columns), default=0), out.width // 2)
        value_w = max(out.width - name_w - 2, 20)
        for number, row in enumerate(cells, 1):
            out.print(f"-- row {number} --")
            for column, value in zip(columns, row, strict=True):
                pieces = textwrap.wrap(value, value_w, break_on_hyphens=False) or [""]
                out.print(f"{column[:name_w]:<{name_w}}  {pieces[0]}")
                for piece in pieces[1:]:
                    out.print(f"{'':<{name_w}}  {piece}")
    out.print(f"({len(rows)} rows)", highlight=False)


def _duration(text: str, units, option: str = "--until") -> float:  # noqa: ANN001 - the units module
    try:
        value = units.to_si(text, "duration")
    except ValueError as exc:
        raise TwinError(f"{option} {text!r}: {exc}") from None
    if not math.isfinite(value):
        raise TwinError(f"{option} {text!r}: must be a finite time")
    if value <= 0:
        raise TwinError(f"{option} {text!r}: must be more than 0 s")
    if option == "--until":
        from gwangju_twin import preflight

        preflight.duration(value, option)
    return value


class _progress:
    """A rich progress bar on a terminal; nothing when stderr is piped."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = None

    def __enter__(self):  # noqa: ANN204
        if not sys.stderr.isatty():
            return None
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                            TimeRemainingColumn(), console=err._console(), transient=True)
        self.bar.__enter__()
        task = self.bar.add_task(self.label, total=1.0, clock="")

        def update(now_s: float, end_s: float) -> None:
            day, rest = divmod(int(now_s), 86400)
            self.bar.update(task, completed=now_s / end_s, clock=f"day {day + 1} {rest // 3600:02d}:{rest % 3600 // 60:02d}")

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _print_kpis(kpis: dict) -> None:
    for service, figures in kpis.items():
        line = ", ".join(f"{k} {v}" for k, v in figures.items())
        out.print(f"  {service}: {line}", highlight=False)


def _say_failures(total: int, failures: list[tuple[str, int]]) -> None:
    """The runs of a sweep that failed: their distinct errors (first line), each with its count."""
    failed = sum(n for _, n in failures)
    err.print(f"{failed} of {total} runs failed ({len(failures)} distinct errors); the same command runs them again:")
    for first, n in failures:
        err.print(f"  {n} x {first}")


def command_app(app, args: list[str]):  # noqa: ANN001, ANN201 - typer.Typer
    """The app that runs ``args``: for ``twin run ...``, a group of that one command, so typer builds the options
    of ``run`` alone, not those of all twenty commands (0.01 s of a cold run); the same help, errors and exit."""
    if args[:1] != ["run"]:
        return app
    import typer

    lean = typer.Typer(help=app.info.help, no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
    lean.registered_commands = [command for command in app.registered_commands if command.name == "run"]
    lean.callback()(lambda: None)  # a group of one command, as ``twin`` is a group (without it typer makes run the app)
    return lean
