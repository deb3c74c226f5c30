"""The README's example output is what the commands print today: each example is regenerated from a
real run and compared with the README, so a change of figures cannot leave the README behind.

To regenerate the README after a deliberate change: ``python tests/test_readme_examples.py --write``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
LINE_LIMIT = 150  # the README cuts longer lines with "..."
AUDIT_COMMAND = "$ twin audit results/testbed_day-seed1   # run with --area helsinki_test offline"


def _twin(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "gwangju_twin.cli", *args], capture_output=True, text=True,
                          timeout=600, env=env)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _cut(line: str) -> str:
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 3] + "..."


def audit_example() -> str:
    """``twin audit`` of ``testbed_day`` on the Helsinki test area, as the README shows it."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "testbed_day-seed1"
        _twin("run", "testbed_day", "--area", "helsinki_test", "--out", str(out))
        lines = _twin("audit", str(out)).splitlines()
    return "\n".join([AUDIT_COMMAND, *(_cut(line) for line in lines)])


def _readme_block(text: str, first_line: str) -> tuple[int, int]:
    """Start and end offsets of the fenced block that begins with ``first_line``."""
    start = text.index(first_line)
    return start, text.index("\n```", start)


def test_the_readme_audit_example_is_what_twin_audit_prints(helsinki_map) -> None:
    text = README.read_text(encoding="utf-8")
    start, end = _readme_block(text, AUDIT_COMMAND)
    assert text[start:end] == audit_example(), "README out of date: python tests/test_readme_examples.py --write"


def main() -> None:
    """Rewrite the README's examples from real runs (``--write``), or print them."""
    example = audit_example()
    if "--write" not in sys.argv:
        print(example)
        return
    text = README.read_text(encoding="utf-8")
    start, end = _readme_block(text, AUDIT_COMMAND)
    README.write_text(text[:start] + example + text[end:], encoding="utf-8")


if __name__ == "__main__":
    main()
