"""Where a sweep's shards run: in this process, in a local process pool, or on Ray.

Every executor has ``map(fn, items, on_result=None) -> list`` (results in the order of
``items``; ``on_result(i)`` is called as item ``i`` finishes) and ``workers``, the number of
shards worth making. The task function must be importable (a module-level function) for the
process pool and Ray; a sweep passes bars as a :class:`~houseedge.research.sweep.StoreBars`
reference so workers read the store by path instead of receiving pickled frames.

Ray is an optional extra (``houseedge[ray]``), imported only when a :class:`RayExecutor` is
used. It connects to the running Ray instance (``ray.init()`` beforehand for a cluster or
custom resources), else starts a local one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from houseedge.errors import ConfigError

__all__ = [
    "Executor",
    "InProcessExecutor",
    "LocalProcessExecutor",
    "RayExecutor",
    "executor_named",
]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs a function over items and returns the results in the items' order."""

    @property
    def workers(self) -> int:
        """Return how many tasks can run at once (shards worth making)."""
        ...

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_result: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Return ``[fn(item) for item in items]``, calling ``on_result(i)`` as each ends."""
        ...


@dataclass(frozen=True)
class InProcessExecutor:
    """Run every item here, one after the other (the default).

    Examples
    --------
    >>> InProcessExecutor().map(abs, [-1, 2, -3])
    [1, 2, 3]
    """

    @property
    def workers(self) -> int:
        """Return 1."""
        return 1

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_result: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Return ``[fn(item) for item in items]``."""
        out: list[R] = []
        for i, item in enumerate(items):
            out.append(fn(item))
            if on_result is not None:
                on_result(i)
        return out


@dataclass(frozen=True)
class LocalProcessExecutor:
    """Run the items in a pool of ``max_workers`` spawned processes (spawn-safe).

    ``fn`` and the items are pickled: ``fn`` must be importable from a module.

    Examples
    --------
    >>> LocalProcessExecutor(max_workers=2).map(abs, [-1, 2, -3])
    [1, 2, 3]
    """

    max_workers: int | None = None

    @property
    def workers(self) -> int:
        """Return the pool size (default: the machine's CPU count)."""
        return self.max_workers or multiprocessing.cpu_count()

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_result: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Return ``[fn(item) for item in items]`` computed in the pool."""
        if not items:
            return []
        out: dict[int, R] = {}
        context = multiprocessing.get_context("spawn")  # no forked Polars thread pools
        size = min(self.workers, len(items))
        with ProcessPoolExecutor(max_workers=size, mp_context=context) as pool:
            futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for future in as_completed(futures):
                i = futures[future]
                out[i] = future.result()
                if on_result is not None:
                    on_result(i)
        return [out[i] for i in range(len(items))]


@dataclass(frozen=True)
class RayExecutor:
    """Run each item as a Ray task (one CPU each), on the connected Ray cluster.

    ``address`` is passed to ``ray.init`` when Ray is not initialised yet (None: a local
    instance). Results come back in the items' order.
    """

    address: str | None = None
    num_cpus: int | None = None

    @property
    def workers(self) -> int:
        """Return the cluster's CPUs (or ``num_cpus``)."""
        if self.num_cpus:
            return self.num_cpus
        ray = self._ray()
        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _ray(self) -> Any:
        try:
            import ray  # optional extra: houseedge[ray]
        except ImportError as error:
            msg = "the Ray executor needs Ray: pip install 'houseedge[ray]'"
            raise ConfigError(msg) from error
        if not ray.is_initialized():
            # Library boundary: ray.init's ``**kwargs`` are untyped upstream (ray 2.x stubs).
            ray.init(  # pyright: ignore[reportUnknownMemberType]
                address=self.address, num_cpus=self.num_cpus, include_dashboard=False
            )
        return ray

    def map(
        self,
        fn: Callable[[T], R],
        items: Sequence[T],
        on_result: Callable[[int], None] | None = None,
    ) -> list[R]:
        """Return ``[fn(item) for item in items]`` computed as Ray tasks."""
        if not items:
            return []
        ray = self._ray()
        task = ray.remote(num_cpus=1)(fn)
        refs = [task.remote(item) for item in items]
        where = {ref: i for i, ref in enumerate(refs)}
        pending = list(refs)
        out: dict[int, R] = {}
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                out[where[ref]] = ray.get(ref)
                if on_result is not None:
                    on_result(where[ref])
        return [out[i] for i in range(len(items))]


def executor_named(name: str, workers: int | None = None) -> Executor:
    """Return the executor called ``inprocess``, ``process`` or ``ray``.

    Examples
    --------
    >>> executor_named("process", 2)
    LocalProcessExecutor(max_workers=2)
    """
    if name == "inprocess":
        return InProcessExecutor()
    if name == "process":
        return LocalProcessExecutor(workers)
    if name == "ray":
        return RayExecutor(num_cpus=workers)
    raise ConfigError(f"--executor {name!r}: expected inprocess, process or ray")
