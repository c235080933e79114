"""Grading on a Dask cluster: the same verdicts as the local pool, whatever happens to a worker.

A ``LocalCluster`` of two worker processes (one thread each) grades the example
class plus ``zz_sleeps``, whose ``conv_matrix`` sleeps, so that a test can kill
the worker grading it. Workers are patched (another grader version, no sandbox)
by functions run on them, and repaired afterwards.
"""

import json
import os
import shutil
import signal
import sys
import threading
import time
from functools import partial
from pathlib import Path

import pytest

from grader.classgrade import cluster_check, cluster_results, runinfo
from grader.classgrade import distributed as dist
from grader.classgrade.class_folder import discover
from grader.classgrade.run import _grade_one, default_task_names
from grader.classgrade.sandbox import modes
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.submissions import Submission
from grader.core.results import SubmissionResult

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "submissions"
WEEK3 = default_task_names()  # this week's tasks, from their declarations
FAST = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=120)
GRADE = partial(_grade_one, limits=FAST, mode="bwrap")
SLEEPS = "zz_sleeps"
SLEEPING_CELL = "def conv_matrix(matrix, kernel):\n    import time\n    time.sleep(60)\n"


@pytest.mark.parametrize("spec, want", [
    ("tcp://10.0.0.5:8786", ("tcp://10.0.0.5:8786", 0)),
    ("tls://grading.example.org:8786", ("tls://grading.example.org:8786", 0)),
    ("tls://[::1]:8786", ("tls://[::1]:8786", 0)),
    ("local:3", ("", 3)),
    (" local:1 ", ("", 1)),
    ("local", ("", os.cpu_count() or 1)),
])
def test_parse_spec(spec, want):
    assert dist.parse_spec(spec) == want


@pytest.mark.parametrize("spec", ["local:0", "local:-1", "tcp://host", "10.0.0.5:8786", "lokal", "",
                                  "udp://host:8786", "tls://host:8786/path"])
def test_bad_spec_is_refused_naming_the_forms(spec):
    with pytest.raises(ValueError, match="tls://HOST:PORT or tcp://HOST:PORT"):
        dist.parse_spec(spec)


def test_a_shipped_submission_is_the_same_submission(tmp_path):
    original = Submission("ada", EXAMPLES / "ada_correct" / "assignment.ipynb",
                          (ROOT / "Blocks.py",))
    shipped = dist.Shipped.pack(original)
    copy = shipped.unpack(tmp_path)
    assert (copy.notebook.name, [p.name for p in copy.py_files]) == ("assignment.ipynb", ["Blocks.py"])
    assert copy.content_hash() == original.content_hash() == shipped.content_hash


def test_a_notebook_that_is_not_the_students_own_file_is_not_shipped(tmp_path):
    notebook = tmp_path / "assignment.ipynb"
    shutil.copyfile(EXAMPLES / "ada_correct" / "assignment.ipynb", notebook)
    os.link(notebook, tmp_path / "elsewhere.ipynb")
    refusal = dist.Shipped.pack(Submission("ada", notebook))
    assert refusal == ("the notebook could not be read: assignment.ipynb is not a regular file "
                       "of at most 20 MB")


def writes_an_executed_copy(submission, task_names, *, executed_dir):
    """A stand-in for the grade function: what ``--execute`` leaves in ``executed_dir``."""
    if executed_dir is not None:
        executed_dir.mkdir()
        (executed_dir / f"{submission.username}.ipynb").write_bytes(submission.notebook.read_bytes())
    return SubmissionResult(submission.username, submission.content_hash(), notes=(
        f"graded {','.join(task_names)} from {submission.notebook.parent.name}/",))


def test_a_worker_grades_from_its_own_copy_and_sends_back_the_executed_one(tmp_path):
    original = Submission("ada", EXAMPLES / "ada_correct" / "assignment.ipynb")
    shipped = dist.Shipped.pack(original)
    sent = {"username": "ada", "content_hash": shipped.content_hash, "task_names": ("conv_matrix",)}
    data = dist.grade_shipped(writes_an_executed_copy, shipped, ("conv_matrix",), True)
    result, copy = cluster_results.decode(data, **sent)
    assert result.notes == ("graded conv_matrix from submission/",)
    assert result.content_hash == original.content_hash()
    assert copy == ("ada.ipynb", original.notebook.read_bytes())
    data = dist.grade_shipped(writes_an_executed_copy, shipped, ("conv_matrix",), False)
    assert cluster_results.decode(data, **sent)[1] is None


def verdicts(result) -> tuple:
    """What a gradebook row says: per task its state, first failure's kind, mistake, error."""
    return (result.content_hash, result.error, result.notes, tuple(
        (t.task, t.state, t.first_failure.kind if t.first_failure else None, t.mistake, t.error)
        for t in result.tasks))


def collect(results) -> dict:
    """``{username: result}``, refusing a username yielded twice."""
    found = {}
    for result in results:
        assert result.username not in found, f"{result.username} yielded twice"
        found[result.username] = result
    return found


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> list:
    """The example class and ``zz_sleeps``: ``[(submission, task names)]``."""
    folder = tmp_path_factory.mktemp("class")
    shutil.copytree(EXAMPLES, folder, dirs_exist_ok=True)
    notebook = json.loads((EXAMPLES / "ada_correct" / "assignment.ipynb").read_text())
    notebook["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {},
                              "outputs": [], "source": SLEEPING_CELL})
    (folder / SLEEPS).mkdir()
    (folder / SLEEPS / "assignment.ipynb").write_text(json.dumps(notebook))
    return [(submission, WEEK3) for submission in discover(folder)[0]]


@pytest.fixture(scope="module")
def pool_results(klass) -> dict:
    if not modes.bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    return collect(dist.grade_in_pool(GRADE, klass, jobs=2))


@pytest.fixture(scope="module")
def cluster():
    pytest.importorskip("distributed")
    import cloudpickle
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the helpers run on workers
    if not modes.bwrap_works():
        pytest.skip("bubblewrap is not usable here")
    try:
        with dist.open_cluster("local:2", mode="bwrap") as opened:
            yield opened
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def pretend_version(version):
    runinfo.__dict__.setdefault("real_grader_version", runinfo.grader_version)
    runinfo.grader_version = lambda: version


def restore_version():
    runinfo.grader_version = runinfo.__dict__.pop("real_grader_version", runinfo.grader_version)


def break_sandbox():
    modes.__dict__.setdefault("real_working_bwrap", modes._working_bwrap)
    modes._working_bwrap = lambda: "bwrap: No permissions to create new namespace (test)"


def repair_sandbox():
    modes._working_bwrap = modes.__dict__.pop("real_working_bwrap", modes._working_bwrap)


def both_workers(client) -> list:
    """The two workers' addresses, once both are up (one may be restarting after a kill)."""
    client.wait_for_workers(2, timeout=60)
    return sorted(client.nthreads())


def executing(dask_worker) -> list:
    return [str(task.key) for task in dask_worker.state.executing]


def executed(dask_worker) -> int:
    return dask_worker.state.executed_count


class Killer(threading.Thread):
    """Kills the worker process grading ``username`` once it has run ``after`` s, ``times`` times."""

    def __init__(self, client, username: str, times: int, after: float = 0.5):
        super().__init__(daemon=True)
        self.client, self.prefix, self.times, self.after = client, f"grade-{username}-", times, after
        self.killed, self.stop = [], threading.Event()

    def run(self):
        seen = {}
        while len(self.killed) < self.times and not self.stop.wait(0.1):
            alive = [address for address in self.client.nthreads() if address not in self.killed]
            busy = self.client.run(executing, workers=alive, on_error="ignore") if alive else {}
            now = time.monotonic()
            for address, keys in busy.items():
                if not any(key.startswith(self.prefix) for key in keys):
                    continue
                if now - seen.setdefault(address, now) >= self.after:
                    pid = self.client.run(os.getpid, workers=[address])[address]
                    os.kill(pid, signal.SIGKILL)
                    self.killed.append(address)


def grade_killing(cluster, todo, username, times) -> tuple[dict, list]:
    killer = Killer(cluster.client, username, times)
    killer.start()
    try:
        found = collect(dist.grade_on_cluster(GRADE, todo, cluster=cluster))
    finally:
        killer.stop.set()
        killer.join()
    return found, killer.killed


@pytest.mark.slow
@pytest.mark.sandbox
def test_two_workers_give_the_verdicts_of_the_local_pool(cluster, klass, pool_results):
    assert len(cluster.check.usable) == 2 and cluster.check.allowed_failures == cluster_check.ALLOWED_FAILURES
    assert cluster.client.scheduler.address.startswith("tls://127.0.0.1:")  # local:N too
    on_cluster = collect(dist.grade_on_cluster(GRADE, klass, cluster=cluster))
    assert sorted(on_cluster) == sorted(pool_results) == sorted(s.username for s, _ in klass)
    for username, result in pool_results.items():
        assert verdicts(on_cluster[username]) == verdicts(result), username
    assert on_cluster["ada_correct"].score({t: 1 for t in WEEK3}) == len(WEEK3)
    assert on_cluster[SLEEPS].task("conv_matrix").first_failure.kind == "timeout"


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_worker_killed_mid_submission_costs_a_retry_not_a_result(cluster, klass, pool_results):
    todo = [item for item in klass if item[0].username in (SLEEPS, "ada_correct", "ben_flipped_kernel")]
    found, killed = grade_killing(cluster, todo, SLEEPS, times=1)
    assert len(killed) == 1
    assert sorted(found) == sorted(s.username for s, _ in todo)
    for username, result in found.items():
        assert verdicts(result) == verdicts(pool_results[username]), username


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_submission_that_kills_every_worker_comes_back_crashed(cluster, klass, pool_results):
    todo = [item for item in klass if item[0].username == SLEEPS]
    found, killed = grade_killing(cluster, todo, SLEEPS, times=cluster_check.ALLOWED_FAILURES + 2)
    assert len(killed) == cluster_check.ALLOWED_FAILURES + 1  # then the scheduler gave up: no further try
    result = found[SLEEPS]
    assert result.error == ("not graded: the Dask worker grading it died on each of 3 tries "
                            "(killed by the system, out of memory, or a machine's failure)")
    assert result.content_hash == pool_results[SLEEPS].content_hash
    assert [t.state for t in result.tasks] == ["attempted"] * len(WEEK3)


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_worker_with_another_grader_version_is_refused(cluster):
    client = cluster.client
    workers = both_workers(client)
    client.run(pretend_version, "0123456789abcdef", workers=workers[1:])
    try:
        with pytest.raises(cluster_check.VersionMismatch) as refusal:
            cluster_check.check_workers(client, mode="bwrap")
    finally:
        client.run(restore_version, workers=workers[1:])
    assert str(refusal.value) == (
        f"Dask worker {workers[1]} has grader version 0123456789abcdef, this grader is "
        f"{runinfo.grader_version()}: install the kit at the same version on every worker (same "
        "commit, make venv) and restart them")


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_worker_without_a_sandbox_is_reported_and_gets_no_submission(cluster, klass):
    client = cluster.client
    good, bad = both_workers(client)
    client.run(break_sandbox, workers=[bad])
    try:
        check = cluster_check.check_workers(client, mode="bwrap")
        before = client.run(executed)
        todo = [item for item in klass if not item[0].username.startswith(("xx_", "zz_"))][:4]
        found = collect(dist.grade_on_cluster(GRADE, todo, cluster=cluster))
        after = client.run(executed)
        client.run(break_sandbox, workers=[good])
        with pytest.raises(cluster_check.ClusterUnusable,
                           match=f"no Dask worker can grade: {good}: .*; {bad}: "):
            cluster_check.check_workers(client, mode="bwrap")
    finally:
        client.run(repair_sandbox)
        cluster_check.check_workers(client, mode="bwrap")
    assert [r.address for r in check.usable] == [good] and [r.address for r in check.unusable] == [bad]
    assert check.lines()[1].startswith(f"Dask worker {bad}: NOT USED: no working sandbox: bwrap: No "
                                       "permissions to create new namespace (test)")
    assert len(found) == 4 and all(not r.error for r in found.values())
    assert after[bad] == before[bad] and after[good] == before[good] + 4


@pytest.mark.slow
@pytest.mark.sandbox
def test_grade_class_on_a_local_cluster_gives_the_pools_gradebook(tmp_path):
    """The whole run, through grade_class: --dask local:2 and the local pool agree."""
    import os
    import shutil

    from grader.classgrade.run import grade_class
    from grader.classgrade.sandbox.limits import Limits
    from grader.client import paths
    folder = tmp_path / "subs"
    for name in ("ada_correct", "ben_flipped_kernel", "ivy_untouched"):
        shutil.copytree(paths.KIT_ROOT / "examples" / "submissions" / name, folder / name)
    limits = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=120)
    runs = {where: grade_class(submissions_dir=folder, out_dir=tmp_path / where, limits=limits,
                               jobs=2, dask="local:2" if where == "dask" else None,
                               log=open(os.devnull, "w"))
            for where in ("pool", "dask")}
    states = {where: {user: [(t.task, t.state, t.mistake) for t in result.tasks]
                      for user, result in run.results.items()} for where, run in runs.items()}
    assert states["dask"] == states["pool"] and len(states["pool"]) == 3


class RunsOnLoad:
    """A pickle that writes ``path`` when loaded: it must never be loaded on the client."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "unpickled on the client"))


def forged(kind: str, mark: str, result, executed=None):
    """A compromised worker's ``cluster_results.encode``: what it sends back instead."""
    full = SubmissionResult(result.username, result.content_hash, sandbox="bwrap")
    if kind == "a pickle":
        return RunsOnLoad(mark)
    if kind == "an object":
        return full
    header = {"format": cluster_results.FORMAT, "result": full.to_dict(), "executed": None}
    if kind == "another student":
        header["result"]["username"] = "zz_someone_else"
    elif kind == "wrong types":
        header["result"]["seconds"] = "0.1"
    raw = json.dumps(header).encode()
    size = 1 << 40 if kind == "oversized" else len(raw)
    return size.to_bytes(8, "big") + raw


def install_forger(kind: str, mark: str):
    cluster_results.__dict__.setdefault("real_encode", cluster_results.encode)
    cluster_results.encode = partial(forged, kind, mark)


def remove_forger():
    cluster_results.encode = cluster_results.__dict__.pop("real_encode", cluster_results.encode)


@pytest.mark.slow
@pytest.mark.sandbox
@pytest.mark.parametrize("kind, want", [
    ("a pickle", "a value Dask could not load as bytes (TypeError)"),
    ("an object", "a value Dask could not load as bytes (TypeError)"),
    ("another student", "a result for 'zz_someone_else' (content "),
    ("wrong types", "the result: seconds is a str"),
    ("oversized", "a header of 1099511627776 bytes (at most 4194304"),
])
def test_a_forged_result_from_a_worker_is_not_graded_and_never_loaded(cluster, kind, want, tmp_path):
    from grader.classgrade.failures import is_not_graded
    client, mark = cluster.client, tmp_path / "mark"
    todo = [(Submission("ada", EXAMPLES / "ada_correct" / "assignment.ipynb"), ["conv_matrix"])]
    client.run(install_forger, kind, str(mark))
    try:
        found = collect(dist.grade_on_cluster(writes_an_executed_copy, todo, cluster=cluster))
    finally:
        client.run(remove_forger)
    result = found["ada"]
    assert is_not_graded(result) and result.content_hash == todo[0][0].content_hash()
    assert result.error.startswith("not graded: the Dask worker tls://127.0.0.1:")
    assert f"sent back what is not a result of the kit ({want}" in result.error
    assert result.error.endswith("check that worker; the next run grades this submission again")
    assert not mark.exists()


@pytest.mark.slow
@pytest.mark.sandbox
def test_a_local_cluster_listens_on_loopback_only_and_speaks_tls(cluster):
    import ipaddress

    import psutil
    processes = [psutil.Process()] + psutil.Process().children(recursive=True)
    listening = [(c.laddr.ip, c.laddr.port) for p in processes
                 for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert len(listening) >= 4  # the scheduler, its dashboard, two nannies, two workers
    assert [ip for ip, _ in listening if not ipaddress.ip_address(ip).is_loopback] == []
    info = cluster.client.scheduler_info()
    assert [a for a in [info["address"], *info["workers"]] if not a.startswith("tls://127.0.0.1:")] == []
