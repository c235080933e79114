"""Where a class is graded: a local process pool, or the workers of a Dask cluster.

Both yield one :class:`SubmissionResult` per ``(submission, task_names)`` pair as each
finishes; the grading process alone saves them. ``grade`` is ``grade(submission,
task_names, *, executed_dir)``. A Dask worker may be on another machine: it gets the
files' bytes (bounded, the student's own regular files) and writes them anew. Every
worker is checked before it gets work (:func:`check_workers`, then a plugin for those
that join or restart later). A worker that dies mid-submission costs a retry
elsewhere; a submission whose workers die on every try comes back not graded.
Who may connect is :mod:`.cluster_access`'s (TLS with the cluster's certificates); what a
worker sends back is bytes of :mod:`.cluster_results`' bounded format, checked by the client.
"""

from __future__ import annotations

import logging
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from grader.classgrade import cluster_results
from grader.classgrade.cluster_access import client_security, local_security, parse_spec
from grader.classgrade.cluster_check import (
    ALLOWED_FAILURES,
    RESOURCE,
    ClusterCheck,
    ClusterUnusable,
    check_workers,
)
from grader.classgrade.failures import not_graded
from grader.classgrade.sandbox.execute import MAX_EXECUTED_BYTES
from grader.classgrade.submissions import MAX_FILE_BYTES, Submission, read_regular_file
from grader.core.results import SubmissionResult

RETRIES = 1             # re-runs of a task that raised on its worker (a full scratch disk ...)
PY_FILE_BYTES = 1 << 20  # the largest .py file the sandbox's staging copies
CONNECT_SECONDS = 20.0  # to reach the scheduler
# A task's result arrives as raw bytes ("dask"); a pickled one is refused, never loaded.
DESERIALIZERS = ("dask", "msgpack", "error")

Grade = Callable[..., SubmissionResult]


def grade_in_pool(grade: Grade, todo: Iterable, *, jobs: int, executed_dir: Path | None = None,
                  initializer=None) -> Iterator[SubmissionResult]:
    """Grade ``todo`` (``(submission, task_names)`` pairs) in ``jobs`` local processes.

    Every submission is queued, and the processes started, before this returns.
    """
    pool = ProcessPoolExecutor(max_workers=jobs, initializer=initializer)
    futures = [pool.submit(grade, submission, names, executed_dir=executed_dir)
               for submission, names in todo]

    def completed():
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return completed()


@dataclass(frozen=True)
class Shipped:
    """A submission as bytes: ``(name, bytes)`` of its notebook (or None), .py files and
    other notebooks (each graded too, the best kept: :func:`grade_submission`).

    ``content_hash`` is the originals' (what the gradebook keys on).
    """

    username: str
    content_hash: str
    notebook: tuple[str, bytes] | None
    py_files: tuple[tuple[str, bytes], ...] = ()
    other_notebooks: tuple[tuple[str, bytes], ...] = ()

    @classmethod
    def pack(cls, submission: Submission) -> "Shipped | str":
        """The submission's bytes, or why its notebook cannot be sent."""
        notebook = None
        if submission.notebook is not None:
            data = read_regular_file(submission.notebook)
            if data is None:
                return (f"the notebook could not be read: {submission.notebook.name} is not a "
                        f"regular file of at most {MAX_FILE_BYTES >> 20} MB")
            notebook = (submission.notebook.name, data)
        py_files = tuple((path.name, data) for path in submission.py_files
                         if (data := read_regular_file(path, limit=PY_FILE_BYTES)) is not None)
        others = tuple((path.name, data) for path in submission.other_notebooks
                       if (data := read_regular_file(path)) is not None)
        return cls(submission.username, submission.content_hash(), notebook, py_files, others)

    def unpack(self, folder: Path) -> Submission:
        """The files written anew in ``folder`` (a fresh one), as a :class:`Submission`."""
        written = []
        for name, data in ([self.notebook] if self.notebook else []) + list(self.py_files):
            if Path(name).name != name or name.startswith("."):
                raise ValueError(f"{self.username}: file name {name!r} is not a plain name")
            (folder / name).write_bytes(data)
            written.append(folder / name)
        notebook = written.pop(0) if self.notebook else None
        others = []
        for name, data in self.other_notebooks:
            if Path(name).name != name or name.startswith(".") or (folder / name).exists():
                raise ValueError(f"{self.username}: file name {name!r} is not a plain name")
            (folder / name).write_bytes(data)
            others.append(folder / name)
        return Submission(self.username, notebook, tuple(written), tuple(others))


def grade_shipped(grade: Grade, shipped: Shipped, task_names: tuple[str, ...],
                  execute: bool) -> bytes:
    """On a worker: the result of ``shipped`` graded from a temporary folder (with the
    client's content hash) and the executed copy ``grade`` wrote, as
    :func:`cluster_results.encode` bytes."""
    with tempfile.TemporaryDirectory(prefix=f"automark-{shipped.username}-") as scratch:
        folder, executed = Path(scratch) / "submission", Path(scratch) / "executed"
        folder.mkdir()
        result = grade(shipped.unpack(folder), list(task_names),
                       executed_dir=executed if execute else None)
        name = f"{shipped.username}.ipynb"
        copy = read_regular_file(executed / name, limit=MAX_EXECUTED_BYTES) if execute else None
    if result.content_hash:
        result = replace(result, content_hash=shipped.content_hash)
    return cluster_results.encode(result, (name, copy) if copy is not None else None)


@dataclass(frozen=True)
class Cluster:
    """A Dask client and the check of its workers."""

    client: object
    check: ClusterCheck


@contextmanager
def open_cluster(spec: str, *, mode: str = "bwrap", allowed_failures: int = ALLOWED_FAILURES,
                 log=None, certs=None, insecure: bool = False) -> Iterator[Cluster]:
    """Connect to ``spec``'s scheduler, or start a ``LocalCluster``, and check its workers.

    ``local:N`` has N worker processes of one thread each, credentials made for it in
    memory, and allows ``allowed_failures``; a remote scheduler keeps its own
    (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES``). ``tls://`` connects with the
    client's certificate of ``certs`` (:func:`cluster_access.client_security`); ``tcp://``
    only to this machine's loopback, unless ``insecure``. One line per worker goes to
    ``log``. What was opened is closed on leaving.

    Raises:
        ValueError: a bad ``spec``, ``tcp://`` to another machine without ``insecure``,
            missing credentials; VersionMismatch, ClusterUnusable (:func:`check_workers`,
            or Dask is not installed); OSError: no scheduler there, or it refused us.
    """
    address, n_workers = parse_spec(spec)
    try:
        import dask
        import distributed
    except ImportError as error:
        raise ClusterUnusable(f"--dask needs Dask ({error}): install requirements-dask.txt "
                              "(make venv does)") from None
    security = client_security(address, certs=certs, insecure=insecure) if address else local_security()
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        local = None if address else distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR,
            security=security, host="127.0.0.1")
    client = None
    try:
        client = distributed.Client(address or local, timeout=CONNECT_SECONDS, security=security,
                                    deserializers=DESERIALIZERS)
        cluster = Cluster(client, check_workers(client, mode=mode))
        for line in cluster.check.lines() if log is not None else ():
            print(line, file=log)
        yield cluster
    finally:
        for opened in (client, local):
            if opened is not None:
                opened.close()


def grade_on_cluster(grade: Grade, todo: Iterable, *, cluster: Cluster,
                     executed_dir: Path | None = None) -> Iterator[SubmissionResult]:
    """Grade ``todo`` (``(submission, task_names)`` pairs) on ``cluster``'s checked workers.

    Each pair yields exactly once. As many are in flight as the cluster has threads (a
    worker that dies makes every task queued on it suspect). Executed copies are written
    to ``executed_dir`` by the client.

    Raises:
        RuntimeError: grading raised on a worker (after :data:`RETRIES`), or the scheduler
            dropped a submission. The results saved so far stay; the next run grades the rest.
    """
    from distributed import as_completed as completing

    client, pending, flying, done = cluster.client, iter(todo), {}, completing()
    try:
        while True:
            window = max(1, sum(client.nthreads().values()))
            while len(flying) < window and (item := next(pending, None)) is not None:
                shipped = Shipped.pack(item[0])
                if isinstance(shipped, str):
                    yield SubmissionResult.crashed(item[0].username, item[0].content_hash(),
                                                   shipped, item[1])
                    continue
                future = client.submit(grade_shipped, grade, shipped, tuple(item[1]),
                                       executed_dir is not None, pure=False, retries=RETRIES,
                                       resources={RESOURCE: 1},
                                       key=f"grade-{shipped.username}-{os.urandom(6).hex()}")
                flying[future.key] = (future, shipped, item[1])
                done.add(future)
            if not flying:
                return
            future, shipped, names = flying.pop(next(done).key)
            result, executed = _outcome(client, future, shipped, names)
            if executed is not None and executed_dir is not None:
                cluster_results.write_executed(executed_dir, executed)
            yield result
    finally:
        if flying and client.status == "running":
            client.cancel([future for future, *_ in flying.values()])


def _outcome(client, future, shipped: Shipped, names) -> tuple[SubmissionResult, tuple | None]:
    """A future's checked result and executed copy; not graded when its workers died on
    every try or it sent back anything but the kit's format; RuntimeError for any other
    error (a worker's environment, not the student's code)."""
    from distributed import KilledWorker

    try:
        return cluster_results.decode(_fetched(future), username=shipped.username,
                                      content_hash=shipped.content_hash, task_names=names)
    except cluster_results.ForgedResult as error:
        workers = ", ".join(sorted(client.who_has([future]).get(future.key, ()))) or "?"
        message = (f"the Dask worker {workers} sent back what is not a result of the kit "
                   f"({error}): check that worker; the next run grades this submission again")
    except KilledWorker as error:
        message = (f"not graded: the Dask worker grading it died on each of "
                   f"{error.allowed_failures + 1} tries (killed by the system, out of memory, or "
                   "a machine's failure)")
    except Exception as error:
        raise RuntimeError(f"grading {shipped.username} on a Dask worker failed: "
                           f"{type(error).__name__}: {error}") from error
    return not_graded(shipped.username, shipped.content_hash, message, names), None


def _fetched(future):
    """The finished task's value; ForgedResult when Dask could not load it (a pickle)."""
    try:
        return future.result()
    except Exception as error:
        if future.status != "finished":  # the task raised, or its workers died
            raise
        raise cluster_results.ForgedResult(f"a value Dask could not load as bytes ("
                                           f"{type(error).__name__})") from None
