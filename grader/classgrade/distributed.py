"""Where a class is graded: a local process pool, or the workers of a Dask cluster.

Both yield one :class:`SubmissionResult` per ``(submission, task_names)`` pair as each
finishes; the grading process alone saves them. ``grade`` is ``grade(submission,
task_names, *, executed_dir)``. A Dask worker may be on another machine: it gets the
files' bytes (bounded, the student's own regular files) and writes them anew. Every
worker is checked before it gets work (:func:`check_workers`, then a plugin for those
that join or restart later). A worker that dies mid-submission costs a retry
elsewhere; a submission whose workers die on every try comes back crashed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

from grader.classgrade import runinfo
from grader.classgrade.sandbox import modes
from grader.classgrade.sandbox.execute import MAX_EXECUTED_BYTES
from grader.classgrade.submissions import MAX_FILE_BYTES, Submission, read_regular_file
from grader.core.results import SubmissionResult

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the optional extra (requirements-dask.txt) is not installed: the pool still works
    WorkerPlugin = object

ALLOWED_FAILURES = 2    # workers a submission may see die (local:N); one more and it is crashed
RETRIES = 1             # re-runs of a task that raised on its worker (a full scratch disk ...)
RESOURCE = "automark-grading"   # only workers that passed the check hold it
PY_FILE_BYTES = 1 << 20  # the largest .py file the sandbox's staging copies
WAIT_SECONDS = 60.0     # for a first worker to join a scheduler
CONNECT_SECONDS = 20.0  # to reach the scheduler
_SPEC = re.compile(r"(?:(?P<address>tcp://[^\s/]+:\d+)|local(?::(?P<n>\d+))?)")

Grade = Callable[..., SubmissionResult]


class VersionMismatch(ValueError):
    """A worker runs another version of the grader; the message names it and both versions."""


class ClusterUnusable(ValueError):
    """The cluster cannot grade (no Dask here, a scheduler without the kit, no usable worker)."""


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
    """A submission as bytes: ``(name, bytes)`` of its notebook (or None) and .py files.

    ``content_hash`` is the originals' (what the gradebook keys on).
    """

    username: str
    content_hash: str
    notebook: tuple[str, bytes] | None
    py_files: tuple[tuple[str, bytes], ...] = ()

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
        return cls(submission.username, submission.content_hash(), notebook, py_files)

    def unpack(self, folder: Path) -> Submission:
        """The files written anew in ``folder`` (a fresh one), as a :class:`Submission`."""
        written = []
        for name, data in ([self.notebook] if self.notebook else []) + list(self.py_files):
            if Path(name).name != name or name.startswith("."):
                raise ValueError(f"{self.username}: file name {name!r} is not a plain name")
            (folder / name).write_bytes(data)
            written.append(folder / name)
        notebook = written.pop(0) if self.notebook else None
        return Submission(self.username, notebook, tuple(written))


def grade_shipped(grade: Grade, shipped: Shipped, task_names: tuple[str, ...],
                  execute: bool) -> tuple[SubmissionResult, dict[str, bytes]]:
    """On a worker: the result of ``shipped`` graded from a temporary folder (with the
    client's content hash), and ``{name: bytes}`` of the executed copies ``grade`` wrote."""
    with tempfile.TemporaryDirectory(prefix=f"automark-{shipped.username}-") as scratch:
        folder, executed = Path(scratch) / "submission", Path(scratch) / "executed"
        folder.mkdir()
        result = grade(shipped.unpack(folder), list(task_names),
                       executed_dir=executed if execute else None)
        copies = {}
        for path in sorted(executed.iterdir()) if execute and executed.is_dir() else ():
            data = read_regular_file(path, limit=MAX_EXECUTED_BYTES)
            if data is not None and not path.name.startswith("."):
                copies[path.name] = data
    if result.content_hash:
        result = replace(result, content_hash=shipped.content_hash)
    return result, copies


@dataclass(frozen=True)
class WorkerReport:
    """A worker's address, grader version ("": it cannot run the kit), sandbox, problem."""

    address: str = ""
    version: str = ""
    sandbox: str = ""
    problem: str = ""


def worker_report(mode: str) -> WorkerReport:
    """Run on a worker: its grader version and whether its sandbox works."""
    try:
        sandbox, problem = modes.choose_sandbox(mode).describe(), ""
    except modes.SandboxUnavailable as error:
        sandbox, problem = "", str(error)
    return WorkerReport(version=runinfo.grader_version(), sandbox=sandbox, problem=problem)


class GradingGate(WorkerPlugin):
    """Gives a worker (a late or restarted one too) the resource if it has this grader and a sandbox."""

    def __init__(self, version: str, mode: str):
        self.version, self.mode = version, mode

    async def setup(self, worker) -> None:
        from distributed.core import Status

        report = await asyncio.to_thread(worker_report, self.mode)
        usable = report.version == self.version and not report.problem
        # Paused then resumed, the scheduler looks again at submissions waiting for a worker
        # (every other one died); a new resource alone does not make it look.
        running = worker.status == Status.running
        if running:
            worker.status = Status.paused
        try:
            await worker.set_resources(**{RESOURCE: 1 if usable else 0})
        finally:
            if running and worker.status == Status.paused:
                worker.status = Status.running


@dataclass(frozen=True)
class ClusterCheck:
    """The workers that grade, those that do not (with why), the scheduler's allowed failures."""

    usable: tuple[WorkerReport, ...]
    unusable: tuple[WorkerReport, ...] = ()
    allowed_failures: int = ALLOWED_FAILURES

    def lines(self) -> list[str]:
        return ([f"Dask worker {r.address}: grading ({r.sandbox})" for r in self.usable]
                + [f"Dask worker {r.address}: NOT USED: {r.problem}" for r in self.unusable])


def scheduler_failures(dask_scheduler) -> int:
    """Run on the scheduler, which unpickles every task: it needs the kit too."""
    return dask_scheduler.allowed_failures


def check_workers(client, *, mode: str, version: str | None = None) -> ClusterCheck:
    """Check the scheduler and every worker, then let only the usable workers grade.

    Raises:
        VersionMismatch: a worker's grader version differs (names each such worker).
        ClusterUnusable: the scheduler cannot import the kit, no worker joined within
            :data:`WAIT_SECONDS`, or none can grade.
    """
    version = version or runinfo.grader_version()
    try:
        failures = client.run_on_scheduler(scheduler_failures)
    except Exception as error:  # noqa: BLE001 - whatever unpickling raised there
        raise ClusterUnusable(f"the Dask scheduler cannot run the kit ({type(error).__name__}: "
                              f"{error}): start it with the kit on PYTHONPATH, like the workers") from None
    try:
        client.wait_for_workers(1, timeout=WAIT_SECONDS)
    except (TimeoutError, asyncio.TimeoutError):
        raise ClusterUnusable(f"no Dask worker joined {client.scheduler.address} within "
                              f"{WAIT_SECONDS:g} s: start `dask worker` on the grading machines") from None
    reports = []
    for address, said in sorted(client.run(worker_report, mode, on_error="return").items()):
        if not isinstance(said, WorkerReport):  # it could not import or run the kit
            said = WorkerReport(problem=f"cannot run the kit's grader ({type(said).__name__}: {said})")
        reports.append(replace(said, address=address))
    wrong = [r for r in reports if r.version and r.version != version]
    if wrong:
        raise VersionMismatch("; ".join(
            f"Dask worker {r.address} has grader version {r.version}, this grader is {version}"
            for r in wrong) + ": install the kit at the same version on every worker (same "
            "commit, make venv) and restart them")
    usable = tuple(r for r in reports if r.version == version and not r.problem)
    if not usable:
        raise ClusterUnusable("no Dask worker can grade: " + "; ".join(
            f"{r.address}: {r.problem}" for r in reports))
    client.register_plugin(GradingGate(version, mode), name="automark-grading-gate")
    return ClusterCheck(usable, tuple(r for r in reports if r not in usable), failures)


@dataclass(frozen=True)
class Cluster:
    """A Dask client and the check of its workers."""

    client: object
    check: ClusterCheck


def parse_spec(spec: str) -> tuple[str, int]:
    """``("tcp://host:8786", 0)``, or ``("", n_workers)`` for ``local[:N]``; else ValueError."""
    found = _SPEC.fullmatch(spec.strip())
    if not found or found["n"] == "0":
        raise ValueError(f"--dask takes tcp://HOST:PORT (a running scheduler), local or local:N "
                         f"(N >= 1 worker processes on this machine), got {spec!r}")
    return (found["address"], 0) if found["address"] else ("", int(found["n"] or os.cpu_count() or 1))


@contextmanager
def open_cluster(spec: str, *, mode: str = "bwrap", allowed_failures: int = ALLOWED_FAILURES,
                 log=None) -> Iterator[Cluster]:
    """Connect to ``spec``'s scheduler, or start a ``LocalCluster``, and check its workers.

    ``local:N`` has N worker processes of one thread each and allows ``allowed_failures``;
    a remote scheduler keeps its own (``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES``).
    One line per worker goes to ``log``. What was opened is closed on leaving.

    Raises:
        ValueError: a bad ``spec``; VersionMismatch, ClusterUnusable (:func:`check_workers`,
            or Dask is not installed); OSError: no scheduler there.
    """
    address, n_workers = parse_spec(spec)
    try:
        import dask
        import distributed
    except ImportError as error:
        raise ClusterUnusable(f"--dask needs Dask ({error}): install requirements-dask.txt "
                              "(make venv does)") from None
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        local = None if address else distributed.LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"}, silence_logs=logging.ERROR)
    client = None
    try:
        client = distributed.Client(address or local, timeout=CONNECT_SECONDS)
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
            result, copies = _outcome(future, shipped, names)
            for name, data in copies.items():  # through a temporary file: whole or absent
                executed_dir.mkdir(parents=True, exist_ok=True)
                (executed_dir / f".{name}.tmp").write_bytes(data)
                os.replace(executed_dir / f".{name}.tmp", executed_dir / name)
            yield result
    finally:
        if flying and client.status == "running":
            client.cancel([future for future, *_ in flying.values()])


def _outcome(future, shipped: Shipped, names) -> tuple[SubmissionResult, dict]:
    """A future's result, or a crashed one when its workers died on every try; RuntimeError
    for any other error (a worker's environment, not the student's code)."""
    from distributed import KilledWorker

    try:
        return future.result()
    except KilledWorker as error:
        message = (f"not graded: the Dask worker grading it died on each of "
                   f"{error.allowed_failures + 1} tries (killed by the system, out of memory, or "
                   "a machine's failure)")
    except Exception as error:
        raise RuntimeError(f"grading {shipped.username} on a Dask worker failed: "
                           f"{type(error).__name__}: {error}") from error
    return SubmissionResult.crashed(shipped.username, shipped.content_hash, message, names), {}
