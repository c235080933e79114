"""The packages student code gets when graded: declared, not whatever the venv holds.

A student's ``box_blur`` that called ``scipy.ndimage`` passed or failed depending on
whether ``make bench`` had installed SciPy into the same virtual environment. Graded code
now sees the standard library, the student kit's packages (:data:`STUDENT_PACKAGES`, what
``requirements.txt`` of the student kit installs for the functions: NumPy and matplotlib),
the packages the instructor allows (``--packages`` or ``packages`` in ``course.toml``), and
what those depend on. In bubblewrap every other entry of a ``site-packages`` folder is
simply not there (:func:`bwrap_site_binds`): the guarantee is the file system's, not an
import hook's. A load note or error naming a module graded code lacks says so
(:func:`explain`).
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import re
from dataclasses import dataclass
from functools import lru_cache

STUDENT_PACKAGES = ("numpy", "matplotlib")
EXECUTE_PACKAGES = ("nbformat", "nbclient", "ipykernel")  # grade --execute runs a kernel
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_MISSING = re.compile(r"No module named '([A-Za-z0-9_]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Environment:
    """What graded code may import.

    Attributes:
        packages: the distributions provided (canonical names), dependencies included.
        asked: the packages asked for (the student kit's and the instructor's).
        entries: ``{site-packages folder: (entry names)}`` to show inside the sandbox.
    """

    packages: tuple[str, ...]
    asked: tuple[str, ...]
    entries: tuple[tuple[str, tuple[str, ...]], ...]

    def describe(self) -> str:
        return ", ".join(self.asked)


def _requirements(dist) -> list[str]:
    """Names of the distributions ``dist`` needs (no extras; markers of this machine)."""
    from packaging.requirements import InvalidRequirement, Requirement
    needed = []
    for text in dist.requires or ():
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            needed.append(requirement.name)
    return needed


@lru_cache(maxsize=8)
def grading_environment(extra: str = "", execute: bool = False) -> Environment:
    """The environment for ``extra`` (comma-separated package names) on this installation.

    Args:
        extra: the instructor's packages (``Limits.packages``).
        execute: for ``grade --execute``, which runs the whole notebook in a kernel: the
            kernel's packages too (:data:`EXECUTE_PACKAGES`).

    Raises:
        ValueError: a package asked for is not installed here (names it and what to do).
    """
    asked = [*STUDENT_PACKAGES, *(EXECUTE_PACKAGES if execute else ()),
             *(name.strip() for name in extra.split(",") if name.strip())]
    found, todo = {}, list(asked)
    while todo:
        name = _canonical(todo.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            if name in map(_canonical, asked):
                raise ValueError(f"package {name!r} is not installed here: install it in the "
                                 "grader's environment (pip install) or leave it out of "
                                 "--packages / course.toml") from None
            continue  # an optional dependency not installed: nothing to show either
        found[name] = dist
        todo += _requirements(dist)
    folders = {}
    for dist in found.values():
        folder = os.path.realpath(str(dist.locate_file("")))
        tops = {str(path).split("/")[0] for path in dist.files or ()}
        folders.setdefault(folder, set()).update(
            top for top in tops if top not in ("..", "__pycache__") and top)
    entries = tuple((folder, tuple(sorted(names))) for folder, names in sorted(folders.items()))
    return Environment(tuple(sorted(found)), tuple(dict.fromkeys(asked)), entries)


def is_site_folder(folder: str) -> bool:
    """A folder installed packages live in (its entries are shown one by one)."""
    return os.path.basename(folder.rstrip("/")) in ("site-packages", "dist-packages")


def bwrap_site_binds(folder: str, environment: Environment) -> list[str]:
    """bubblewrap arguments that bind the environment's entries of ``folder`` (a site folder,
    made an empty tmpfs just before) back into it, read-only."""
    arguments = []
    for name in dict(environment.entries).get(os.path.realpath(folder), ()):
        path = os.path.join(folder, name)
        if os.path.lexists(path):
            arguments += ["--ro-bind", path, path]
    return arguments


def explain(message: str, environment: Environment) -> str:
    """``message`` with a word on the module graded code lacks, when it names one."""
    match = _MISSING.search(message)
    if not match:
        return message
    return (f"{message} ({match.group(1)} is not available to grading: graded code gets the "
            f"standard library, {environment.describe()} and your own files)")
