"""The trusted side of memory per submission: a memory cgroup for each warm sandbox.

``--memory-mb`` bounds every process's address space (``RLIMIT_AS``), but a submission may
start up to ``--max-processes`` of them: only a cgroup bounds them together. Graded as root
on a machine with a writable memory controller, each warm sandbox gets a folder of its own
in the memory hierarchy (:func:`make_sandbox_cgroup`), bound into the sandbox; inside, the
zygote makes one child cgroup per submission with the submission's limit, puts the
submission's init in it before anything runs, checks it is empty after (the kernel's word
that nothing of the submission lives) and removes it (``inside/isolation.py``).

Both hierarchies are handled:

* cgroup v2 (``memory.max``): a folder under ``automark/`` at the top of the unified tree,
  where the memory controller can be delegated to children;
* cgroup v1 (``memory.limit_in_bytes``, and ``memory.memsw.limit_in_bytes`` where swap is
  accounted): a folder under this process's own memory cgroup.

Where neither can be written (an ordinary user without delegation, a container without a
writable cgroup file system), :func:`find_hierarchy` returns None and the limit stays per
process: docs/security.md says what that bounds.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
V2_FOLDER = "automark"   # under the unified tree's top
_names = itertools.count()


@dataclass(frozen=True)
class Hierarchy:
    """Where this machine lets the grader make memory cgroups.

    Attributes:
        version: 1 or 2.
        parent: the folder the sandboxes' cgroups are made in.
    """

    version: int
    parent: Path


def _own_paths(text: str) -> dict:
    """``{controller: path}`` from ``/proc/self/cgroup`` (``""`` names the v2 hierarchy)."""
    found = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                found[controller] = parts[2]
    return found


def _writable_folder(folder: Path) -> bool:
    try:
        probe = folder / f"automark-probe-{os.getpid()}"
        probe.mkdir()
        probe.rmdir()
        return True
    except OSError:
        return False


def _v2_parent() -> Path | None:
    """``/sys/fs/cgroup/automark`` with the memory controller delegated to its children."""
    top = CGROUP_ROOT
    try:
        if "memory" not in (top / "cgroup.controllers").read_text().split():
            return None
        if "memory" not in (top / "cgroup.subtree_control").read_text().split():
            (top / "cgroup.subtree_control").write_text("+memory")
        parent = top / V2_FOLDER
        parent.mkdir(exist_ok=True)
        (parent / "cgroup.subtree_control").write_text("+memory")
    except OSError:
        return None
    return parent if _writable_folder(parent) else None


def _v1_parent() -> Path | None:
    memory = CGROUP_ROOT / "memory"
    try:
        own = _own_paths(Path("/proc/self/cgroup").read_text()).get("memory")
    except OSError:
        return None
    if own is None or not (memory / "memory.limit_in_bytes").exists():
        return None
    parent = memory / own.lstrip("/")
    return parent if parent.is_dir() and _writable_folder(parent) else None


@lru_cache(maxsize=1)
def find_hierarchy() -> Hierarchy | None:
    """The memory hierarchy the grader can use here, or None (see the module's docstring)."""
    if os.geteuid() != 0 or not CGROUP_ROOT.is_dir():
        return None
    parent = _v2_parent()
    if parent is not None:
        return Hierarchy(2, parent)
    parent = _v1_parent()
    return Hierarchy(1, parent) if parent is not None else None


def make_sandbox_cgroup() -> tuple[Path, int] | None:
    """A new, empty cgroup folder for one warm sandbox, and the hierarchy's version; or None."""
    found = find_hierarchy()
    if found is None:
        return None
    folder = found.parent / f"automark-{os.getpid()}-{next(_names)}"
    try:
        folder.mkdir()
        if found.version == 2:
            (folder / "cgroup.subtree_control").write_text("+memory")
    except OSError:
        remove_cgroup(folder)
        return None
    return folder, found.version


def _tasks(folder: Path) -> list[int]:
    try:
        return [int(pid) for pid in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def remove_cgroup(folder: Path, seconds: float = 5.0) -> bool:
    """Kill whatever is left in ``folder`` and its children, then remove them all; True if gone."""
    deadline = time.monotonic() + seconds
    children = sorted((p for p in folder.glob("**/") if p != folder),
                      key=lambda p: len(p.parts), reverse=True) if folder.is_dir() else []
    for cgroup in [*children, folder]:
        while cgroup.exists():
            for pid in _tasks(cgroup):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                cgroup.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.01)
    return True
