"""Runs INSIDE the sandbox: a warm parent that grades submissions one after another.

Started once by the trusted side (:mod:`.warm`), it imports what every
submission's code would import, once, before any student code exists: NumPy,
matplotlib (Agg backend, pyplot, its font list staged from the grader's cache)
and the standard modules the kit's student modules use. Then, for each line on
stdin naming a folder staged in its spool, it forks that submission's
supervisor (``worker.run_submission``), which forks one child per function from
this warm state: no child imports NumPy again. (Android starts its apps the
same way; it calls such a parent a zygote.)

A submission gets what a new sandbox would give it. Its supervisor first enters
mount and IPC namespaces of its own with a fresh, empty /tmp (bubblewrap), so
nothing one submission leaves in /tmp or in System V IPC reaches the next;
once it has ended, every process of its uid is killed, and orphans are reaped
here. The end of each submission is sent as a chunk b"S": how its supervisor
ended, and whether its namespaces were fresh. The trusted side hands a sandbox
another submission only then, and only when the student's code ran as a uid of
its own. This process never runs student code and never imports from a
student's folder.

    python zygote.py SPOOL SETTINGS_JSON
    settings: {"preload": [modules], "fresh_tmp_mb": N, "keep": [Python folders under /tmp]}
"""

import ctypes
import gc
import json
import os
import re
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # -I: bin/ is not on the path
import kit_code  # noqa: E402
import task_child  # noqa: E402
import uid_processes  # noqa: E402
import wire  # noqa: E402
import worker  # noqa: E402

CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_MOVE = 1, 2, 4, 32, 4096, 8192
MS_REC, MS_PRIVATE = 1 << 14, 1 << 18
STAGE = "/sandbox/fresh"  # where each submission's /tmp is built before it is moved over /tmp
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


def fresh_namespaces(tmp_mb, keep=()):
    """Enter IPC (and with ``tmp_mb``, mount) namespaces of our own, with a new /tmp.

    The new /tmp is built aside, in :data:`STAGE`: the Python folders in ``keep`` (a kit
    or virtual environment under /tmp, bound inside the sandbox's /tmp) are bound into
    it again, read-only, and then it is moved over /tmp.

    Returns:
        True when every step worked (root, or a capable user namespace).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC | (CLONE_NEWNS if tmp_mb else 0)) != 0:
        return False
    if not tmp_mb:
        return True
    options = f"size={tmp_mb << 20},mode=1777".encode()
    if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0 or \
            libc.mount(b"tmpfs", STAGE.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, options) != 0:
        return False
    for folder in keep:
        target = (STAGE + folder[len("/tmp"):]).encode()
        try:
            os.makedirs(target, mode=0o755, exist_ok=True)
        except OSError:
            return False
        if libc.mount(folder.encode(), target, None, MS_BIND | MS_REC, None) != 0 or \
                libc.mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None) != 0:
            return False
    return libc.mount(STAGE.encode(), b"/tmp", None, MS_MOVE, None) == 0


def grade_one(folder, settings):
    """Fork the supervisor of the submission staged in ``folder``; how it ended (a dict)."""
    with open(os.path.join(folder, "io", "manifest.json"), encoding="utf-8") as handle:
        run_as = json.load(handle).get("run_as")
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = CRASHED
        try:
            fresh = fresh_namespaces(settings.get("fresh_tmp_mb", 0), settings.get("keep", ()))
            worker.run_submission(os.path.join(folder, "code"), os.path.join(folder, "io"))
            code = FRESH if fresh else NOT_FRESH
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if isinstance(run_as, int) and run_as > 0:
        uid_processes.kill_all_of(run_as)
    uid_processes.reap()
    ended = worker.ending(status)
    return {**ended, "fresh": ended.get("code") == FRESH}


def main(argv):
    spool, settings = argv[1], json.loads(argv[2])
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)
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
        ended = grade_one(os.path.join(spool, name), settings)
        task_child.write_all(1, wire.encode_chunk(b"S", 0, json.dumps(ended).encode()))


if __name__ == "__main__":
    main(sys.argv)
