"""scaleq's independent pieces of work on a Dask cluster.

Inside one machine scaleq runs in parallel with OpenMP. Beyond it, work that splits into
independent pieces — the instances and t values of an experiment, the problems of a batch —
runs on `dask.distributed <https://distributed.dask.org>`_ (the optional extra
``pip install "scaleq[distributed]"``); scaleq schedules nothing itself. Each piece runs the
in-process code on a worker, and no result of scaleq depends on the thread count, so a
cluster's results are bit-identical to the in-process ones.

Every ``scheduler`` argument (and ``--scheduler`` of the commands that take it) is one of:

* ``None`` or ``"in-process"`` (the default): no Dask; the pieces run here, in order;
* ``"local"``: a ``distributed.LocalCluster`` on this machine for the duration of the call,
  ``workers`` worker processes (default: one per core) of one thread each, each worker's
  OpenMP team of one thread (``OMP_NUM_THREADS=1``) so that workers do not oversubscribe;
* an address such as ``"tcp://10.0.0.5:8786"`` (anything ``distributed.Client`` accepts): an
  existing cluster, started with ``dask scheduler`` / ``dask worker`` or a deployment package
  (dask-jobqueue for SLURM/PBS, dask-kubernetes, ...); its workers need scaleq installed;
* a ``distributed.Client`` (Python only): that client, left open.

Examples
--------
>>> from scaleq.distributed import map_pieces
>>> map_pieces(abs, [-1, 2, -3])                      # in-process: no Dask needed
[1, 2, 3]
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

IN_PROCESS = (None, "in-process")
_INSTALL = 'the scheduler needs dask.distributed: pip install "scaleq[distributed]" (or pass scheduler=None)'


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(_INSTALL) from exc
    return distributed


def is_in_process(scheduler: object) -> bool:
    """Whether ``scheduler`` means "no Dask" (``None`` or ``"in-process"``).

    Examples
    --------
    >>> is_in_process(None), is_in_process("local")
    (True, False)
    """
    _check(scheduler)
    return scheduler in IN_PROCESS


def _check(scheduler: object) -> None:
    if scheduler is None or isinstance(scheduler, str):
        if isinstance(scheduler, str) and not scheduler.strip():
            raise ValueError('scheduler must be "in-process", "local" or a Dask scheduler address, got ""')
        return
    if type(scheduler).__name__ == "Client" and type(scheduler).__module__.startswith("distributed"):
        return
    raise TypeError(
        'scheduler must be None, "in-process", "local", a Dask scheduler address such as '
        f'"tcp://host:8786", or a distributed.Client; got {type(scheduler).__name__}'
    )


@contextlib.contextmanager
def connect(scheduler: object = None, *, workers: int | None = None, timeout: float = 10.0) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` for the duration of a ``with`` block, or
    ``None`` in-process; several :func:`map_pieces` calls can then share one cluster.

    ``"local"`` starts a ``LocalCluster`` of ``workers`` processes (default: one per core)
    and shuts it down on exit; an address connects (waiting at most ``timeout`` seconds) and
    disconnects on exit; a ``Client`` is used as it is and left open.

    Examples
    --------
    >>> with connect(None) as client:
    ...     print(client)
    None
    """
    _check(scheduler)
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if workers is not None and scheduler != "local":
        raise ValueError("workers applies to scheduler='local' only; an existing cluster has its own workers")
    if scheduler in IN_PROCESS:
        yield None
        return
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken by another cluster
            env={"OMP_NUM_THREADS": "1"},
        )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = distributed.Client(scheduler, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise OSError(
            f"could not reach the Dask scheduler at {scheduler!r} within {timeout:g} s ({exc}); "
            "start one with `dask scheduler` and `dask worker ADDRESS`, or use scheduler='local'"
        ) from exc
    with client:
        yield client


def map_pieces(
    fn: Callable[[Any], Any],
    pieces: Sequence[Any],
    *,
    scheduler: object = None,
    workers: int | None = None,
    progress: Any = None,
) -> list[Any]:
    """``[fn(p) for p in pieces]``, in-process or as one Dask task per piece.

    ``fn`` must be importable on the workers (a module-level function of scaleq or of a
    package they have) and its pieces picklable. Results come back in the order of
    ``pieces``; a piece's exception is raised here, with its own type. ``progress`` (a tqdm
    bar or anything with ``update(1)``) advances as pieces finish.

    Examples
    --------
    >>> map_pieces(len, ["ab", "c"], scheduler="in-process")
    [2, 1]
    """
    pieces = list(pieces)
    with connect(scheduler, workers=workers) as client:
        if client is None:
            out = []
            for p in pieces:
                out.append(fn(p))
                if progress is not None:
                    progress.update(1)
            return out
        # pieces travel to the workers directly, not inside the task graph through the scheduler.
        # hash=False gives each call its own keys: with content-hashed keys a piece equal to
        # one of the previous call's reused a key whose release was still on its way to the
        # scheduler, and its task failed with "lost dependencies"
        scattered = client.scatter(pieces, hash=False)
        futures = client.map(fn, scattered, pure=False)
        try:
            for _ in _distributed().as_completed(futures):
                if progress is not None:
                    progress.update(1)
            return client.gather(futures)
        finally:
            client.cancel(futures + scattered)


def total_threads(client: Any) -> int:
    """The number of worker threads of ``client``'s cluster (1 in-process): how many pieces
    a batch splits into is a multiple of it.

    Examples
    --------
    >>> total_threads(None)
    1
    """
    if client is None:
        return 1
    return max(1, sum(client.nthreads().values()))
