"""Answers of a library, kept per installed version of it, so that a run asked the same again needs no import.

Some answers a run needs come from a library whose import costs more than the rest of the run's start
(pyproj's projections, networkx's graph algorithms on a plan's small graphs). They depend only on the
exact inputs, the library's version and the twin's code that asks. A :class:`Memo` keeps them in one
JSON file of ``$TWIN_CACHE_DIR``: every answer under its kind and a key (the sha256 of the inputs'
canonical JSON), the whole file under the versions of the libraries and the digest of the source files
whose code the answers depend on. A later run with the same versions and code reads the very answer the
library gave (JSON keeps ints, strings and floats exactly) and imports nothing; any other file (missing,
unreadable, of another version or code) is worked out afresh and rewritten atomically. A cache folder
that cannot be written leaves runs as they would be without it, computing every time. At most
``keep_at_most`` answers are kept: beyond, answers are computed and not kept.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from gwangju_twin.fileio import atomic_write_text, cache_dir


def key_of(inputs: Any) -> str:
    """The sha256 (hex) of ``inputs`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def library_version(name: str) -> str:
    """The installed version of distribution ``name``; ``"unknown"`` if it is not installed."""
    version = installed_versions((name,))[name]
    return "unknown" if version == "not installed" else version


def installed_versions(packages: Sequence[str]) -> dict[str, str]:
    """The installed version of each package (``"not installed"`` if it is not).

    Read from the names of the ``NAME-VERSION.dist-info`` folders on ``sys.path`` (the wheel
    format's rule), the first folder of a name winning as for imports, listed once a process; a
    package no such folder names is asked of ``importlib.metadata``, which parses each package's
    metadata file (13 packages: 10 ms of a cold run).
    """
    found = _dist_info_versions()
    return {name: found.get(_normal(name)) or _version(name) for name in packages}


@functools.cache
def _dist_info_versions() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            project, _, version = name.removesuffix(".dist-info").partition("-")
            if name.endswith(".dist-info") and version:
                found.setdefault(_normal(project), version)
    return found


def _normal(project: str) -> str:
    return re.sub(r"[-_.]+", "_", project).lower()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


class Memo:
    """One memo file: answers of ``libraries`` (distribution names) asked by the code in ``sources``.

    Parameters
    ----------
    file_name : str
        The file's name in the cache folder.
    libraries : tuple of str
        The distributions whose answers are kept; another installed version of any empties the memo.
    sources : iterable of Path
        Source files of the twin whose code shapes the answers; another content of any empties the memo.
    keep_at_most : int
        Answers kept at most, over all kinds.
    """

    def __init__(self, file_name: str, libraries: tuple[str, ...], *, sources: Iterable[Path] = (),
                 keep_at_most: int = 2_000) -> None:
        self.file_name, self.libraries, self.keep_at_most = file_name, libraries, keep_at_most
        self.sources = tuple(sources)
        self._data: dict | None = None
        self._path: Path | None = None

    @property
    def path(self) -> Path:
        return cache_dir() / self.file_name

    def stamp(self) -> dict[str, str]:
        """What the kept answers were worked out with: library versions and the sources' sha256."""
        stamp = {name: library_version(name) for name in self.libraries}
        for source in self.sources:
            stamp[source.name] = hashlib.sha256(source.read_bytes()).hexdigest()
        return stamp

    def kind(self, kind: str) -> dict[str, Any]:
        """The answers kept of ``kind`` (key -> answer); changes to it are kept by :meth:`save`."""
        return self._read()["answers"].setdefault(kind, {})

    def size(self) -> int:
        """How many answers are kept, over all kinds."""
        return sum(map(len, self._read()["answers"].values()))

    def answer(self, kind: str, inputs: Any, compute: Callable[[], Any]) -> Any:
        """The answer for ``inputs`` of ``kind``: the kept one, else ``compute()`` (which imports its
        library itself), kept if there is room. Either way the answer is read back from JSON, so that a
        run gives the same whether it computed or read it."""
        answers, key = self.kind(kind), key_of(inputs)
        if key in answers:
            return answers[key]
        answer = json.loads(json.dumps(compute()))
        if self.size() < self.keep_at_most:
            answers[key] = answer
            self.save()
        return answer

    def save(self) -> None:
        """Write the memo atomically; a cache folder that cannot be written is left as it is."""
        try:
            atomic_write_text(self.path, json.dumps(self._read(), indent=1, sort_keys=True) + "\n")
        except OSError:
            pass  # the next run works these answers out again

    def _read(self) -> dict:
        """The memo, read once a process per cache folder: empty if missing, unreadable or stamped otherwise."""
        path = self.path
        if self._data is not None and self._path == path:
            return self._data
        stamp = self.stamp()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not (isinstance(data, dict) and data.get("stamp") == stamp and isinstance(data.get("answers"), dict)
                and all(isinstance(kept, dict) for kept in data["answers"].values())):
            data = {"stamp": stamp, "answers": {}}
        self._data, self._path = data, path
        return data
