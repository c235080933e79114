"""Which workers of a Dask cluster may grade: the kit at this version and a working sandbox.

:func:`check_workers` asks every worker (and the scheduler, which must import the kit)
before any work is sent; :class:`GradingGate` asks again each worker that joins or
restarts later. Only the usable ones hold :data:`RESOURCE`, which every grading task needs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from grader.classgrade import runinfo
from grader.classgrade.sandbox import modes

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the optional extra (requirements-dask.txt) is not installed: the pool still works
    WorkerPlugin = object

ALLOWED_FAILURES = 2    # workers a submission may see die (local:N); one more and it is crashed
RESOURCE = "automark-grading"   # only workers that passed the check hold it
WAIT_SECONDS = 60.0     # for a first worker to join a scheduler


class VersionMismatch(ValueError):
    """A worker runs another version of the grader; the message names it and both versions."""


class ClusterUnusable(ValueError):
    """The cluster cannot grade (no Dask here, a scheduler without the kit, no usable worker)."""


@dataclass(frozen=True)
class WorkerReport:
    """A worker's address, grader version ("": it cannot run the kit), sandbox, problem."""

    address: str = ""
    version: str = ""
    sandbox: str = ""
    problem: str = ""


    @classmethod
    def read(cls, address: str, said) -> "WorkerReport":
        """The report a worker sent (plain strings, as :func:`worker_report` makes them)."""
        names = ("version", "sandbox", "problem")
        if isinstance(said, dict) and set(said) == set(names) \
                and all(isinstance(said[name], str) and len(said[name]) <= 4096 for name in names):
            return cls(address, **said)
        return cls(address, problem=f"cannot run the kit's grader ({type(said).__name__}: "
                                    f"{str(said)[:200]})")


def worker_report(mode: str) -> dict[str, str]:
    """Run on a worker: its grader version and whether its sandbox works, as strings (the
    client loads no pickled object from a worker)."""
    try:
        sandbox, problem = modes.choose_sandbox(mode).describe(), ""
    except modes.SandboxUnavailable as error:
        sandbox, problem = "", str(error)
    return {"version": runinfo.grader_version(), "sandbox": sandbox, "problem": problem}


class GradingGate(WorkerPlugin):
    """Gives a worker (a late or restarted one too) the resource if it has this grader and a sandbox."""

    def __init__(self, version: str, mode: str):
        self.version, self.mode = version, mode

    async def setup(self, worker) -> None:
        from distributed.core import Status

        report = await asyncio.to_thread(worker_report, self.mode)
        usable = report["version"] == self.version and not report["problem"]
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
    reports = [WorkerReport.read(address, said) for address, said
               in sorted(client.run(worker_report, mode, on_error="return").items())]
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
