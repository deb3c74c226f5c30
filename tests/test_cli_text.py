"""The command line's consoles print every line as rich prints it, byte for byte, and load rich only for
the lines rich would change (emoji codes, tabs, control characters) or for what only rich draws (tables)."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from gwangju_twin import cli_text
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

OPTIONS = st.fixed_dictionaries({}, optional={"highlight": st.booleans(), "markup": st.booleans(),
                                              "soft_wrap": st.booleans(), "emoji": st.booleans()})
# paths, figures, Korean names, colons (rich's emoji codes), brackets (its markup), tabs and control characters
TEXT = st.text(st.sampled_from([*"ab :/[]()_-.,'{}", "\t", "\r", "\x1b", "\x07", "\u00a0", "\u200b", "광", "中", "é"]),
               max_size=40) | st.sampled_from([":smile:", "a :+1: b", "x:y:z", "[bold]x[/bold]", "a" * 300,
                                                "results in results/광주-seed1", "  loop: served 3, wait_s 1.5"])


def _printed(console: object, stderr: bool, text: str, options: dict) -> str:
    captured = io.StringIO()
    saved = sys.stdout, sys.stderr
    try:
        if stderr:
            sys.stderr = captured
        else:
            sys.stdout = captured
        console.print(text, **options)
    finally:
        sys.stdout, sys.stderr = saved
    return captured.getvalue()


@settings(max_examples=300, deadline=None)
@given(text=TEXT, options=OPTIONS, stderr=st.booleans())
def test_every_line_is_printed_as_rich_prints_it(text: str, options: dict, stderr: bool) -> None:
    rich = Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False)
    ours = cli_text._Console(stderr=stderr)
    assert _printed(ours, stderr, text, options) == _printed(rich, stderr, text, options)


@pytest.mark.parametrize(("line", "loads_rich"), [("results in results/x-seed1", False),
                                                   ("  loop: vehicles 2, wait_by_cause_h {'a': 0.1}", False),
                                                   ("a :smile: here", True), ("tab\there", True)])
def test_rich_is_loaded_only_for_a_line_it_would_change(line: str, loads_rich: bool) -> None:
    code = (f"import sys\nfrom gwangju_twin.cli_text import out, err\nout.print({line!r}, highlight=False)\n"
            f"err.print({line!r})\nprint('rich' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert done.stdout.splitlines()[-1] == str(loads_rich)
    assert _printed(Console(soft_wrap=True, markup=False, highlight=False), False, line, {}) in done.stdout


def test_the_progress_bar_draws_on_a_terminal_through_rich(tmp_path) -> None:  # noqa: ANN001
    """On a terminal the bar is rich's, on the error console (made for it): drawn, updated and cleared."""
    import pty

    code = ("import sys\nfrom gwangju_twin import cli_text\nwith cli_text._progress('day') as update:\n"
            "    update(43200.0, 86400.0)\nprint(update is not None, 'rich.progress' in sys.modules)")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([sys.executable, "-c", code], stderr=follower, stdout=subprocess.PIPE, text=True,
                              timeout=60)
        drawn = os.read(leader, 65536).decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert done.returncode == 0 and done.stdout.split() == ["True", "True"]
    assert "day 1 12:00" in drawn


@pytest.mark.parametrize("args", [["run", "--help"], ["run"], ["run", "x", "--bogus"], ["run", "x", "--seed", "abc"],
                                  ["run", "x", "--until"], ["run", "a", "b"], ["run", "-h"]])
def test_twin_run_s_own_app_says_what_the_whole_app_says(args: list[str]) -> None:
    """``twin run ...`` is parsed by a group of that one command: the same help, usage errors and exit status."""
    from gwangju_twin import cli
    from typer.testing import CliRunner

    lean = cli_text.command_app(cli.app, args)
    assert lean is not cli.app and [c.name for c in lean.registered_commands] == ["run"]
    whole, alone = (CliRunner().invoke(app, args, prog_name="twin", env={"COLUMNS": "100"}) for app in (cli.app, lean))
    assert (alone.exit_code, alone.output) == (whole.exit_code, whole.output)
    assert whole.exit_code in (0, 2) and whole.output
    assert cli_text.command_app(cli.app, ["scenarios", "list"]) is cli.app
