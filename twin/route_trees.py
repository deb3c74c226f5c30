"""Shortest-path trees kept on disk, so that a run whose destinations were routed before imports no SciPy.

A tree toward a destination (:meth:`twin.network.RoadNetwork.toward`: distances and predecessors of
every node) depends only on the network's routing content (its digest), SciPy's version and the code
that asks (``twin/network.py``, this file). Each tree is one ``.npy`` file of
``$TWIN_CACHE_DIR/routes/DIGEST-STAMP/``: the distances and the predecessors as float64 (exact for
both), read back bit for bit. A folder holds at most :data:`KEPT_BYTES` of trees; beyond, trees are
worked out and not kept. Files are replaced atomically but not flushed to the disk (4 ms a tree): a
file a crash left damaged is worked out again, as is any file that is not a whole tree; a cache folder
that cannot be written leaves runs as they would be without it.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from gwangju_twin.fileio import atomic_path, cache_dir

if TYPE_CHECKING:
    from gwangju_twin.network import RoadNetwork

KEPT_BYTES = 64 * 2**20  # trees kept on disk per network, at most

_counted: dict[Path, int] = {}  # trees in a folder, counted once a process


@functools.cache
def _stamp() -> str:
    """What a kept tree was worked out with: SciPy's version and the code of the network and of this file."""
    from gwangju_twin.memo import library_version

    content = hashlib.sha256(library_version("scipy").encode())
    for source in (Path(__file__).with_name("network.py"), Path(__file__)):
        content.update(source.read_bytes())
    return content.hexdigest()[:16]


def folder(network: RoadNetwork) -> Path:
    """Where ``network``'s trees are kept."""
    return cache_dir() / "routes" / f"{network.digest()[:32]}-{_stamp()}"


def kept(network: RoadNetwork, target: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The tree toward ``target`` as :func:`keep` kept it: (distances, int32 predecessors), or None."""
    try:
        both = np.load(folder(network) / f"{target}.npy", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if both.shape != (2, network.node_count) or both.dtype != np.float64:
        return None
    return both[0], both[1].astype(np.int32)


def keep(network: RoadNetwork, target: int, dist: np.ndarray, pred: np.ndarray) -> None:
    """Keep the tree toward ``target`` on disk, while its folder has room."""
    where = folder(network)
    try:
        if where not in _counted:
            _counted[where] = len(os.listdir(where)) if where.is_dir() else 0
        if (_counted[where] + 1) * 16 * max(network.node_count, 1) > KEPT_BYTES:
            return
        with atomic_path(where / f"{target}.npy", durable=False) as tmp, tmp.open("wb") as handle:
            np.save(handle, np.stack([dist, pred.astype(np.float64)]))
        _counted[where] += 1
    except OSError:
        pass  # the next run works this tree out again
