"""One warm sandbox grades submission after submission: each must find it as a new one would
be, and nothing one submission does may reach the next (tests of sandbox/warm.py, zygote.py,
kit_code.py and uid_processes.py)."""

import os
import shutil
import tempfile
import textwrap
import threading
from pathlib import Path

import nbformat
import pytest

from grader.classgrade.sandbox import modes, processes, warm
from grader.classgrade.sandbox.limits import Limits
from grader.classgrade.sandbox.staging import preload_names
from grader.classgrade.submission import grade_submission
from grader.classgrade.submissions import Submission
from grader.core import results, tasks

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="a sandbox is reused only when the "
                               "code runs as a uid of its own, that is when grading as root")
FLATTEN = [tasks.get_task("flatten_forward")]
LIMITS = Limits(call_seconds=2, task_seconds=5, load_seconds=10, submission_seconds=60)


def submission(tmp_path, name, source, files=None):
    folder = tmp_path / name
    folder.mkdir()
    cell = nbformat.v4.new_code_cell("import os, sys, time\nimport numpy as np\n"
                                     + textwrap.dedent(source))
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), str(folder / "assignment.ipynb"))
    for file_name, text in (files or {}).items():
        (folder / file_name).write_text(textwrap.dedent(text), encoding="utf-8")
    return Submission(name, folder / "assignment.ipynb",
                      tuple(sorted(folder / n for n in (files or {}))))


def grade(tmp_path, sub, task_list=FLATTEN, limits=LIMITS):
    return grade_submission(sub, task_list, limits=limits, mode="bwrap", scratch=tmp_path)


def message(result, name="flatten_forward"):
    failure = result.task(name).first_failure
    return failure.message if failure else ""


CORRECT = """
def flatten_forward(x_input):
    return x_input.reshape(x_input.shape[0], -1)
"""

# Leaves all it can: files in /tmp, a System V shared memory segment, a daemon.
LEAVES_TRACES = """
import ctypes
def flatten_forward(x_input):
    if not os.path.exists("/tmp/left-behind"):   # once per function
        with open("/tmp/left-behind", "w") as handle:
            handle.write("secret")
        ctypes.CDLL(None).shmget(0x5eed, 4096, 0o1666)   # IPC_CREAT | 0666
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(60)
            os._exit(0)
    return x_input.reshape(x_input.shape[0], -1)
"""

# Looks for them, and says what it found in its exception (Python folders under /tmp, a
# clone's virtual environment, are bound inside it: those are the sandbox's own).
LOOKS_FOR_TRACES = """
import ctypes
def flatten_forward(x_input):
    found = [name for name in os.listdir("/tmp")          # but its own logs and code
             if not name.endswith(".log") and name != ".compiled" and name not in OWN]
    if ctypes.CDLL(None).shmget(0x5eed, 0, 0) != -1:
        found.append("shared memory")
    mine = [pid for pid in os.listdir("/proc") if pid.isdigit()
            and int(pid) != os.getpid() and os.stat(f"/proc/{pid}").st_uid == os.getuid()]
    found += [f"process {pid}" for pid in mine]
    raise ValueError(f"found {found}")
"""


@root_only
def test_one_sandbox_grades_one_submission_after_another(tmp_path):
    first = grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    sandbox = warm._local.sandbox
    pid = sandbox.process.pid
    second = grade(tmp_path, submission(tmp_path, "bob", CORRECT))
    assert first.task("flatten_forward").passed and second.task("flatten_forward").passed
    assert warm._local.sandbox is sandbox and sandbox.process.pid == pid
    assert sandbox.served >= 2


@root_only
def test_nothing_a_submission_leaves_reaches_the_next(tmp_path):
    left = grade(tmp_path, submission(tmp_path, "mallory", LEAVES_TRACES))
    assert left.task("flatten_forward").passed
    sandbox = warm._local.sandbox
    own = {folder.split("/")[2] for folder in modes.python_dirs_in_tmp()}
    looks = LOOKS_FOR_TRACES.replace("OWN]", f"{sorted(own)!r}]")   # a cell's assignments are not run
    looked = grade(tmp_path, submission(tmp_path, "trent", looks))
    assert warm._local.sandbox is sandbox  # the same sandbox, not a new one
    assert "ValueError: found []" in message(looked)


@root_only
def test_a_submission_out_of_time_costs_its_sandbox_and_only_that(tmp_path):
    grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    first = warm._local.sandbox
    hangs = """
    import signal
    def flatten_forward(x_input):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        while True:
            pass
    """
    limits = Limits(call_seconds=30, task_seconds=30, load_seconds=2, submission_seconds=4)
    stopped = grade(tmp_path, submission(tmp_path, "hal", hangs), limits=limits)
    assert not stopped.task("flatten_forward").passed
    assert "ran longer than 4 s" in " ".join(stopped.notes) + stopped.error
    assert not first.alive and not first.home.exists()
    after = grade(tmp_path, submission(tmp_path, "bob", CORRECT))
    assert after.task("flatten_forward").passed and warm._local.sandbox is not first


def test_without_a_uid_of_its_own_a_sandbox_serves_one_submission(tmp_path, monkeypatch):
    """Graded as an ordinary user the code shares the grader's uid: it could reach the
    zygote, so no sandbox outlives the submission it ran."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    assert result.task("flatten_forward").passed
    assert warm._local.sandbox is None or not warm._local.sandbox.alive


@root_only
def test_a_students_own_blocks_wins_over_the_compiled_kit(tmp_path):
    own = {"Blocks.py": """
        def helper(x_input):
            return x_input.reshape(x_input.shape[0], -1)
        MARK = "mine"
        """}
    uses = """
    from Blocks import helper, MARK
    def flatten_forward(x_input):
        assert MARK == "mine"
        return helper(x_input)
    """
    assert grade(tmp_path, submission(tmp_path, "ann", uses, own)).task("flatten_forward").passed


@root_only
def test_a_graded_function_from_the_compiled_kit_is_still_not_the_students(tmp_path):
    """The kit's modules come from code compiled once, under the staged file's name: a
    function taken from there is still recognised as the kit's."""
    borrowed = """
    def flatten_forward(x_input):
        return x_input.reshape(x_input.shape[0], -1)
    from Blocks import relu_forward as flatten_forward
    """
    result = grade(tmp_path, submission(tmp_path, "eve", borrowed))
    assert result.task("flatten_forward").error_kind == results.NOT_SUBMITTED


def test_each_grading_thread_has_a_uid_of_its_own():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(processes.sandbox_uid()))
               for _ in range(3)]
    for thread in threads:
        thread.start()
        thread.join()
    assert len(set(seen + [processes.sandbox_uid()])) == 4
    assert processes.sandbox_uid() == processes.sandbox_uid()


def test_a_sandbox_inherited_through_fork_is_never_used_nor_closed(tmp_path):
    class Inherited:
        owner, key, closed = os.getpid() + 1, None, False

        def close(self, why=""):
            self.closed = True
    inherited = Inherited()
    warm._local.sandbox = inherited
    try:
        sandbox = warm.sandbox_for("bwrap", 64, None, tmp_path)
        assert sandbox is not inherited and not inherited.closed
    finally:
        warm.close_sandbox()


def test_the_sandbox_preloads_what_the_kits_modules_import():
    names = preload_names()
    assert names[:3] == ["numpy", "matplotlib", "matplotlib.pyplot"]
    assert "urllib.request" in names and "gzip" in names
    assert not {"Blocks", "dataset_utils", "gradient_check", "__future__"} & set(names)


# ------------------------------------------------------------------ loading, in the first child
@pytest.mark.parametrize("statement, said", [
    ("""
     class Hangs:
         import signal
         signal.signal(signal.SIGALRM, signal.SIG_IGN)
         while True:
             pass
     """, "loading the code took longer than 3 s"),
    ("""
     class Dies:
         import signal
         os.kill(os.getpid(), signal.SIGKILL)
     """, "loading the code was killed by SIGKILL"),
])
def test_loading_that_hangs_or_dies_stops_every_function_saying_so(tmp_path, statement, said):
    limits = Limits(call_seconds=2, task_seconds=5, load_seconds=3, submission_seconds=60)
    result = grade(tmp_path, submission(tmp_path, "ann", CORRECT + textwrap.dedent(statement)),
                   task_list=FLATTEN + [tasks.get_task("maxpool_forward")], limits=limits)
    assert said in result.error
    assert [t.passed for t in result.tasks] == [False, False]
    assert all(said in t.error for t in result.tasks)


def test_a_process_started_while_loading_does_not_stretch_the_loading(tmp_path):
    """It inherits the first child's load pipe; loading still ends with the first record
    (here the function's calls take longer than loading may: 33 x 0.15 s > 3 s)."""
    helper = {"helper.py": """
        import os, time
        if os.fork() == 0:
            time.sleep(30)
            os._exit(0)
        """}
    slow = """
    def flatten_forward(x_input):
        time.sleep(0.15)
        return x_input.reshape(x_input.shape[0], -1)
    """
    limits = Limits(call_seconds=2, task_seconds=15, load_seconds=2, submission_seconds=60)
    result = grade(tmp_path, submission(tmp_path, "ann", "import helper\n" + textwrap.dedent(slow),
                                        helper), limits=limits)
    assert result.task("flatten_forward").passed and result.error == ""


@pytest.mark.parametrize("garbage", [b"not marshal", b"\xe9\x00\x00\x00\x00", b"[]"])
def test_later_functions_compile_afresh_when_the_first_ones_code_is_not_there(tmp_path, garbage):
    """The first function's child leaves its compiled statements for the others; a file
    the student put there first, of anything, only makes them compile from source."""
    plants = f"""
    class Plant:
        with open("/tmp/.compiled", "wb") as handle:
            handle.write({garbage!r})
    """
    both = FLATTEN + [tasks.get_task("maxpool_forward")]
    pool = """
    def maxpool_forward(x_input):
        h, w = x_input.shape
        return x_input.reshape(h // 2, 2, w // 2, 2).max(axis=(1, 3))
    """
    result = grade(tmp_path, submission(tmp_path, "ann", CORRECT + textwrap.dedent(pool)
                                        + textwrap.dedent(plants)), task_list=both)
    assert [t.passed for t in result.tasks] == [True, True]


def test_the_first_functions_child_leaves_its_compiled_code_for_the_others(tmp_path):
    checks = """
    import marshal, types
    def maxpool_forward(x_input):
        with open("/tmp/.compiled", "rb") as handle:
            chunks = marshal.loads(handle.read())
        assert all(isinstance(code, types.CodeType) for chunk in chunks for _, code in chunk)
        raise ValueError(f"{sum(len(chunk) for chunk in chunks)} statements")
    """
    both = FLATTEN + [tasks.get_task("maxpool_forward")]
    result = grade(tmp_path, submission(tmp_path, "ann", CORRECT + textwrap.dedent(checks)),
                   task_list=both)
    assert result.task("flatten_forward").passed
    assert "ValueError: 5 statements" in message(result, "maxpool_forward")  # 3 imports, 2 defs


@root_only
def test_a_sandbox_that_ended_between_submissions_is_replaced_without_a_verdict_lost(tmp_path):
    grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    ended = warm._local.sandbox
    os.killpg(ended.process.pid, 9)
    ended.process.wait()   # seen as ended: the next submission gets a new sandbox at once
    assert not ended.alive
    assert grade(tmp_path, submission(tmp_path, "bob", CORRECT)).task("flatten_forward").passed
    assert warm._local.sandbox is not ended


@root_only
def test_a_sandbox_found_ended_when_given_a_submission_is_replaced(tmp_path, monkeypatch):
    grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    ended = warm._local.sandbox
    os.killpg(ended.process.pid, 9)
    real_poll, calls = ended.process.poll, []

    def poll_late():  # its end is not seen when the submission is given to it
        calls.append(1)
        return None if len(calls) == 1 else real_poll()
    monkeypatch.setattr(ended.process, "poll", poll_late)
    result = grade(tmp_path, submission(tmp_path, "bob", CORRECT))
    assert result.task("flatten_forward").passed and result.error == ""


@root_only
def test_python_folders_under_tmp_stay_importable_in_each_fresh_tmp(tmp_path, monkeypatch):
    """A kit or virtual environment under /tmp (a CI's fresh clone) is bound inside the
    sandbox's /tmp; each submission's new /tmp keeps it: a module that the student's code
    imports first (nothing imported it before) still loads from there."""
    site = Path(tempfile.mkdtemp(prefix="automark-site-", dir="/tmp"))
    try:
        (site / "marker_module.py").write_text("VALUE = 42\n", encoding="utf-8")
        site.chmod(0o755)
        (site / "marker_module.py").chmod(0o644)
        real = modes._python_dirs
        monkeypatch.setattr(modes, "_python_dirs", lambda hide=None: real(hide) + [str(site)])
        source = f"""
        def flatten_forward(x_input):
            sys.path.append({str(site)!r})
            import marker_module
            assert marker_module.VALUE == 42
            return x_input.reshape(x_input.shape[0], -1)
        """
        result = grade(tmp_path, submission(tmp_path, "ann", source))
        assert result.task("flatten_forward").passed, message(result)
    finally:
        shutil.rmtree(site)


def test_plain_mode_grades_through_the_same_warm_path(tmp_path, monkeypatch):
    """--sandbox plain starts the zygote as a plain subprocess (here as if graded by an
    ordinary user, so each submission gets its own): the same supervisor, the same verdicts."""
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    result = grade_submission(submission(tmp_path, "ann", CORRECT), FLATTEN, limits=LIMITS,
                              mode="plain", scratch=tmp_path)
    assert result.task("flatten_forward").passed and result.error == ""
    assert result.sandbox == "plain"


@root_only
def test_a_sandbox_that_dies_during_a_submission_gives_no_verdict(tmp_path):
    """The zygote ended mid-submission (not the student's doing: it is root inside, out of the
    code's reach): the grader failed, so the submission is not graded (no 0), and the next
    one gets a new sandbox."""
    from grader.classgrade.sandbox.runner import SandboxFailed
    grade(tmp_path, submission(tmp_path, "ann", CORRECT))
    sandbox = warm._local.sandbox
    slow = """
    def flatten_forward(x_input):
        time.sleep(0.5)
        return x_input.reshape(x_input.shape[0], -1)
    """
    killer = threading.Timer(1.0, lambda: os.killpg(sandbox.process.pid, 9))
    killer.start()
    try:
        with pytest.raises(SandboxFailed, match="the sandbox ended"):
            grade(tmp_path, submission(tmp_path, "bob", slow))
    finally:
        killer.cancel()
    assert grade(tmp_path, submission(tmp_path, "cat", CORRECT)).task("flatten_forward").passed
    assert warm._local.sandbox is not sandbox
