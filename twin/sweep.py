"""Running a sweep: local worker processes or a Dask cluster, every finished run committed at once.

* ``run_task`` is the one function workers run: build the world (cached per worker process),
  run the task's scenario and seed, return flat KPIs or the error it raised.
* :func:`run_sweep` skips runs the database already has, submits the rest, writes each result
  as it arrives, re-submits runs whose worker died (at most ``retries`` times, then records them
  as ``lost``), and on Ctrl-C stops and leaves the database ready to resume.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from gwangju_twin import __version__
from gwangju_twin.results_db import ResultsDB
from gwangju_twin.sweep_config import Sweep, Task, task_scenario

WORLD_CACHE: dict[str, Any] = {}  # worlds loaded in this process, kept for its next runs
SCHEDULER_TIMEOUT_S = 10
PARENT_POLL_S = 1.0  # how often a local worker checks that the sweep that started it is still alive


def flatten(kpis: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """``{"on_demand": {"wait_mean_s": 3.0}}`` to ``{"on_demand.wait_mean_s": 3.0}``: numbers only."""
    flat: dict[str, float] = {}
    for key, value in kpis.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{path}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            flat[path] = float(value)
    return flat


def map_used(model: Any) -> str:
    """Which map the run used: its areas' own, or which area's map stood in for which."""
    if model.stand_in:
        return "; ".join(f"map of {used} stands in for {ref}" for ref, used in sorted(model.stand_in.items()))
    return ", ".join(sorted({w.area.id for w in model.worlds.values()}))


def run_task(task: Task) -> dict[str, Any]:
    """Run one task in this process; never raises for a failing scenario."""
    from importlib.metadata import version

    from gwangju_twin.runner import model_for
    from gwangju_twin.world import scenario_worlds

    started = time.perf_counter()
    result: dict[str, Any] = {"key": task.key, "seed": task.seed, "params": task.params,
                              "versions": {"twin": __version__, "mesa": version("mesa")}}
    try:
        scenario = task_scenario(task)
        worlds = scenario_worlds(scenario.spec, override=task.area, cache=WORLD_CACHE)
        model = model_for(scenario, worlds, seed=task.seed, duration_s=task.until_s)
        model.headless = True  # read only at the end
        model.run_until(model.duration_s)
        result.update(status="ok", kpis=flatten(model.kpis()), map=map_used(model),
                      map_fingerprint=model.world.network.fingerprint if model.world.network else None)
        model.close()  # a worker runs model after model: let this one go
    except Exception as exc:  # noqa: BLE001 - a failing run is recorded, the sweep goes on
        result.update(status="error", error=f"{exc.__class__.__name__}: {exc}",
                      traceback=traceback.format_exc(limit=5))
    result["duration_s"] = time.perf_counter() - started
    return result


def exit_with_parent(parent_pid: int) -> None:
    """In a worker: end this process once the sweep that started it is gone (e.g. killed with SIGKILL).

    A killed parent cannot stop its pool, and the workers would otherwise live on; the sweep's
    database already holds every finished run, so a worker has nothing to save.
    """
    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


class LocalBackend:
    """Worker processes on this machine (spawned, as mesa requires)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=exit_with_parent, initargs=(os.getpid(),))

    def submit(self, task: Task) -> Any:
        try:
            return self._pool.submit(run_task, task)
        except cf.process.BrokenProcessPool:
            self._pool = self._new_pool()
            return self._pool.submit(run_task, task)

    def wait(self, futures: list[Any]) -> set[Any]:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return done

    @staticmethod
    def lost(exc: BaseException) -> bool:
        return isinstance(exc, cf.process.BrokenProcessPool)

    def close(self, cancel: bool = False) -> None:
        if cancel:
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=not cancel, cancel_futures=cancel)


class DaskBackend:
    """A Dask cluster: a LocalCluster on 127.0.0.1, or an existing scheduler."""

    def __init__(self, *, local_workers: int | None = None, scheduler: str | None = None, retries: int = 2) -> None:
        import dask
        from distributed import Client, LocalCluster

        self.cluster = None
        if scheduler is None:
            dask.config.set({"distributed.scheduler.allowed-failures": retries})
            self.cluster = LocalCluster(n_workers=local_workers or os.cpu_count() or 1, threads_per_worker=1,
                                        host="127.0.0.1", dashboard_address="127.0.0.1:0", processes=True)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s")
            except (OSError, TimeoutError, ValueError, TypeError) as exc:
                from gwangju_twin.errors import TwinError

                raise TwinError(f"--scheduler {scheduler}: no Dask scheduler answered within {SCHEDULER_TIMEOUT_S} s "
                                f"({exc.__class__.__name__}); start one with 'dask scheduler' or use --dask-local N") from None
        self.workers = max(len(self.client.scheduler_info()["workers"]), 1)

    def submit(self, task: Task) -> Any:
        return self.client.submit(run_task, task, key=f"run-{task.key}-{time.monotonic_ns()}", pure=False)

    def wait(self, futures: list[Any]) -> set[Any]:
        from distributed import wait

        return set(wait(futures, return_when="FIRST_COMPLETED").done)

    @staticmethod
    def lost(exc: BaseException) -> bool:
        from distributed import KilledWorker

        return isinstance(exc, KilledWorker)

    def close(self, cancel: bool = False) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def run_sweep(sweep: Sweep, db: ResultsDB, backend: Any, *,
              progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Run every task of ``sweep`` not yet in ``db``; returns counts by status for this call."""
    done_keys = db.finished()
    todo = deque(t for t in sweep.tasks if t.key not in done_keys)
    total, finished = len(todo), 0
    attempts: dict[str, int] = {}
    in_flight: dict[Any, Task] = {}
    counts = {"ok": 0, "error": 0, "lost": 0, "skipped": len(sweep.tasks) - total}
    try:
        while todo or in_flight:
            while todo and len(in_flight) < 2 * backend.workers:
                task = todo.popleft()
                attempts[task.key] = attempts.get(task.key, 0) + 1
                in_flight[backend.submit(task)] = task
            for future in backend.wait(list(in_flight)):
                task = in_flight.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - worker death or cluster trouble
                    if backend.lost(exc) and attempts[task.key] <= sweep.spec.retries:
                        todo.appendleft(task)
                        continue
                    result = {"key": task.key, "seed": task.seed, "params": task.params, "status": "lost",
                              "error": f"{exc.__class__.__name__}: {exc}"}
                db.record(sweep.spec.name, result, attempts[task.key])
                counts[result["status"]] += 1
                finished += 1
                if progress is not None:
                    progress(finished, total)
    except KeyboardInterrupt:
        backend.close(cancel=True)
        raise
    return counts
