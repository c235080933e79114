"""Runs INSIDE the sandbox: a warm parent that grades submissions one after another.

Started once by the trusted side (:mod:`.warm`), it imports what every
submission's code would import, once, before any student code exists: NumPy,
matplotlib (Agg backend, pyplot, its font list staged from the grader's cache)
and the standard modules the kit's student modules use. Then, for each line on
stdin naming a folder staged in its spool, it forks that submission's
supervisor (``worker.run_submission``), which forks the child that calls the
functions from this warm state: no child imports NumPy again. (Android starts its apps the
same way; it calls such a parent a zygote.)

A submission gets what a new sandbox would give it, from the kernel
(``isolation.py``): its supervisor is the init of a PID namespace of its own, in
network, IPC and mount namespaces of its own with a fresh, empty /tmp, and in a
memory cgroup of its own when the trusted side bound one in. When the init
ends, the kernel kills everything the submission started. The end of each
submission is sent as a chunk b"S": how its init ended, and whether it was
fresh: every namespace was had and, after it, its cgroup could be removed (the
kernel's word that it is empty) and no process of its uid is left. The trusted
side hands a sandbox another submission only then, and only when the student's
code ran as a uid of its own. This process never runs student code and never
imports from a student's folder.

    python zygote.py SPOOL SETTINGS_JSON
    settings: {"preload": [modules], "fresh_tmp_mb": N, "keep": [Python folders under /tmp],
               "cgroup": the sandbox's cgroup folder or "", "cgroup_version": 1 | 2}
"""

import ctypes
import gc
import json
import os
import re
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I: bin/ is not on the path
import isolation  # noqa: E402
import kit_code  # noqa: E402
import task_child  # noqa: E402
import uid_processes  # noqa: E402
import wire  # noqa: E402
import worker  # noqa: E402

CGROUP_INSIDE = "/sandbox/cgroup"  # the sandbox's cgroup folder, bound in by the trusted side
PR_SET_CHILD_SUBREAPER = 36
FOLDER = re.compile(r"[0-9]{1,12}")
FRESH, NOT_FRESH, CRASHED = 0, 1, 3  # the supervisor's exit codes


def preload(names):
    """Import ``names`` (and matplotlib's pyplot on Agg) from the installation only."""
    here, cache = os.path.dirname(os.path.abspath(__file__)), os.environ.get("MPLCONFIGDIR")
    for name in os.listdir(here) if cache and os.path.isdir(cache) else ():
        if name.startswith("fontlist-") and name.endswith(".json"):
            with open(os.path.join(here, name), "rb") as source, \
                    open(os.path.join(cache, name), "wb") as target:
                target.write(source.read())
    for name in names:
        try:
            __import__(name)
            if name == "matplotlib":
                sys.modules["matplotlib"].use("Agg")
        except Exception:  # noqa: BLE001 - not installed: a child that needs it says so
            pass


def warm_up():
    """Take NumPy's common paths once (random numbers, BLAS, ufuncs, reductions, padding).

    Each first use sets up memory (the random generators' alone touch about 7 MB);
    done here, before any fork, it is shared, and a child's first use copies little.
    """
    np = sys.modules.get("numpy")
    if np is None:
        return
    rng = np.random.default_rng(0)
    matrix = rng.standard_normal((8, 8))
    np.random.seed(0)
    np.random.rand(2)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(matrix, 1), (3, 3))
    for result in (matrix @ matrix, np.einsum("ij,jk->ik", matrix, matrix), windows.sum(axis=(2, 3)),
                   np.tensordot(matrix, matrix, axes=1), np.maximum(matrix, 0), np.exp(matrix),
                   np.log(np.abs(matrix) + 1), matrix.reshape(4, 16).T.copy()):
        result.max(axis=0).sum()
    np.allclose(matrix, matrix.copy())
    np.argmax(matrix, axis=1)


def grade_one(folder, settings, number, own_pid_ns):
    """Grade the submission staged in ``folder`` as the init of a world of its own.

    Returns:
        How its init ended (a dict), with ``fresh``: True only when it had every namespace
        and, after it, the kernel shows nothing of it alive (its cgroup could be removed,
        no process of its uid is left).
    """
    with open(os.path.join(folder, "io", "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    run_as, memory_mb = manifest.get("run_as"), manifest["limits"]["memory_mb"]
    cgroup = None
    if settings.get("cgroup"):
        try:
            cgroup = isolation.SubmissionCgroup(settings["cgroup"], settings["cgroup_version"],
                                                f"s{number}", memory_mb)
        except OSError:
            cgroup = None
    own_namespace = own_pid_ns is not None and isolation.new_pid_namespace()
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = CRASHED
        try:
            if own_pid_ns is not None:
                os.close(own_pid_ns)   # the zygote's namespace is not the submission's to hold
            if own_namespace:
                failed = isolation.enter_fresh_world(
                    cgroup, settings.get("fresh_tmp_mb", 0), settings.get("keep", ()),
                    hide=[CGROUP_INSIDE] if settings.get("cgroup") == CGROUP_INSIDE else [])
                if failed:   # its /proc would not be its own: never run so
                    raise RuntimeError(f"the submission's namespaces could not be made: {failed}")
            worker.run_submission(os.path.join(folder, "code"), os.path.join(folder, "io"))
            code = FRESH if own_namespace else NOT_FRESH
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    if own_namespace:
        isolation.back_to_own_pid_namespace(own_pid_ns)
    _, status = os.waitpid(pid, 0)
    left = False
    if isinstance(run_as, int) and run_as > 0:
        left = not uid_processes.kill_all_of(run_as)
    uid_processes.reap()
    # a sandbox with a cgroup folder proves the submission gone by removing its cgroup
    emptied = cgroup.remove() if cgroup is not None else not settings.get("cgroup")
    ended = worker.ending(status)
    return {**ended, "fresh": ended.get("code") == FRESH and emptied and not left}


def main(argv):
    spool, settings = argv[1], json.loads(argv[2])
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
    try:
        own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY)
    except OSError:
        own_pid_ns = None
    preload(settings.get("preload", ()))
    kit_code.import_kit()
    warm_up()
    gc.freeze()  # what is here now stays put: the children's collections never touch it
    os.chdir(spool)
    while True:
        line = sys.stdin.buffer.readline()
        name = line.strip().decode("ascii", "replace")
        if not FOLDER.fullmatch(name):
            return  # the trusted side closed the pipe (or said something else): done
        ended = grade_one(os.path.join(spool, name), settings, name, own_pid_ns)
        task_child.write_all(1, wire.encode_chunk(b"S", 0, json.dumps(ended).encode()))


if __name__ == "__main__":
    main(sys.argv)
