"""Checks made before any work starts: every destination writable, every limit kept.

A run, a sweep, a video or an export that would fail when it writes is refused here, in one
line naming the path and the real cause, before a second is simulated or a frame rendered.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from gwangju_twin.errors import TwinError

SEED_LIMIT = 2**32  # seeds are in [0, 2**32): what numpy's and every worker's generators accept alike
MAX_RUN_S = 400 * 86400.0  # the longest run: the scenario files' own limit on ``duration``
# What a simulated day costs, measured on bitgreen_shuttles (1,000 d: 1.2 GB of memory, 215 MB of
# files); a busier scenario costs more, so these are the floor of an estimate.
MEMORY_PER_DAY_B = 1.2e9 / 1000
FILES_PER_DAY_B = 215e6 / 1000
MIN_FREE_B = 16 * 2**20  # a results folder needs at least this much room besides its estimate


def path_text(path: Path, option: str) -> None:
    """Refuse a path with a control character (a newline pasted into a command line)."""
    text = str(path)
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise TwinError(f"{option} {text!r}: the path holds a control character (a newline?); give a plain path")


def seed(value: int | None, option: str = "--seed") -> None:
    """Seeds are whole numbers in [0, 2**32)."""
    if value is not None and not 0 <= value < SEED_LIMIT:
        raise TwinError(f"{option} {value}: must be a whole number from 0 to {SEED_LIMIT - 1}")


def duration(duration_s: float | None, option: str = "--until") -> None:
    """A run no longer than :data:`MAX_RUN_S`, refused with what it would cost."""
    if duration_s is None or duration_s <= MAX_RUN_S:
        return
    days = duration_s / 86400.0
    raise TwinError(f"{option}: {days:,.4g} simulated days is more than the limit of {MAX_RUN_S / 86400:g} d; "
                    f"it would need at least {_size(days * MEMORY_PER_DAY_B)} of memory and write "
                    f"{_size(days * FILES_PER_DAY_B)} of results")


def memory(duration_s: float | None) -> None:
    """A run whose estimated memory is more than this machine has free is refused with the estimate."""
    need_b = (duration_s or 86400.0) / 86400.0 * MEMORY_PER_DAY_B
    try:
        free_b = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return  # no way to ask (not Linux): the run goes on
    if need_b > free_b:
        raise TwinError(f"--until: {duration_s / 86400.0:,.4g} simulated days would need at least {_size(need_b)} of "
                        f"memory and {_size(free_b)} is free; run a shorter time")


def _size(n_bytes: float) -> str:
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.3g} {unit}" if n_bytes < 1000 * scale else f"{n_bytes / scale:,.0f} {unit}"
    return f"{n_bytes / 1e3:.3g} kB"


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def writable_folder(folder: Path, what: str) -> None:
    """``folder`` (or the nearest folder above it that exists) accepts a new file: tried, not guessed
    (root ignores permission bits, a read-only mount or a full disk does not)."""
    base = _existing_ancestor(Path(folder))
    if not base.is_dir():
        raise TwinError(f"{folder}: {base} is a file, not a folder; choose another {what}")
    try:
        fd, name = tempfile.mkstemp(prefix=".twin-write-check-", dir=base)
    except OSError as exc:
        raise TwinError(f"{folder}: cannot write the {what} here ({_cause(exc)})") from None
    try:
        try:
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
        except OSError as exc:
            raise TwinError(f"{folder}: cannot write the {what} here ({_cause(exc)})") from None
    finally:
        os.close(fd)
        os.unlink(name)


def _cause(exc: OSError) -> str:
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "no space left on the device"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return exc.strerror or exc.__class__.__name__


def room(folder: Path, need_b: float, what: str) -> None:
    """At least ``need_b`` bytes free where ``folder`` will be written."""
    free_b = shutil.disk_usage(_existing_ancestor(Path(folder))).free
    if free_b < need_b + MIN_FREE_B:
        raise TwinError(f"{folder}: only {_size(free_b)} free on its disk; the {what} needs about "
                        f"{_size(need_b + MIN_FREE_B)}")


def output_file(target: Path, what: str, option: str = "--out") -> None:
    """A file to be written: a plain path, not a folder, in a writable folder."""
    path_text(target, option)
    if target.is_dir():
        raise TwinError(f"{target}: is a folder; give a file name for the {what}")
    writable_folder(target.parent, what)


def results_folder(out_dir: Path, *, force: bool = False, duration_s: float | None = None) -> None:
    """A results folder the run may write: a plain path, not the current folder, the twin's own
    (or new, or ``force``), writable, with room for the estimate."""
    from gwangju_twin.results import owned_files

    path_text(out_dir, "--out")
    absolute, here = out_dir.absolute().resolve(), Path.cwd().resolve()
    if absolute == here or absolute in here.parents:
        raise TwinError(f"--out {out_dir}: is the current folder or holds it, and a results folder is replaced "
                        "as a whole; run from another folder or give another --out")
    owned_files(out_dir, force=force)
    writable_folder(absolute.parent, "results folder")
    days = (duration_s or 86400.0) / 86400.0
    room(absolute.parent, days * FILES_PER_DAY_B, "results folder")
