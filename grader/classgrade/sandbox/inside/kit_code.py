"""Runs INSIDE the sandbox: the kit's student modules, imported once by the zygote.

The kit's ``Blocks.py``, ``gradient_check.py`` and ``dataset_utils.py`` are
staged into a submission's folder when the student handed in none of their
own, and every function's child imported them again: a few milliseconds a
child. The zygote imports the kit's copies (``bin/kit/``, trusted code) once
with :func:`import_kit`, before any student code exists; a child whose
submission was given the kit's copy (the same bytes) then finds that module,
as its fork left it, through :func:`use_kit`. A student's own file of the same
name is imported from the student's folder as usual. A function defined in a
kit module has its code in :data:`FOLDER` (or in the staged copy), which is how
the worker tells that a student did not write it.
"""

import importlib.util
import os
import sys

FOLDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kit")
MODULES = {}  # module name: (source bytes, module), filled in by the zygote


def import_kit(folder=FOLDER):
    """Import every ``.py`` file in ``folder`` into :data:`MODULES` (not ``sys.modules``)."""
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if not name.endswith(".py"):
            continue
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            source = handle.read()
        spec = importlib.util.spec_from_file_location(name[:-3], path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # while it runs, as an import would have it
        try:
            spec.loader.exec_module(module)
        except Exception:  # noqa: BLE001 - a child that needs it imports it and says why
            continue
        finally:
            del sys.modules[spec.name]
        MODULES[spec.name] = (source, module)


def use_kit(code_dir, staged_files):
    """In a child: the kit modules staged in ``code_dir`` come from :data:`MODULES`."""
    for file_name in staged_files:
        entry = MODULES.get(file_name[:-3])
        if entry is None:
            continue
        try:
            with open(os.path.join(code_dir, file_name), "rb") as handle:
                same = handle.read() == entry[0]
        except OSError:
            same = False
        if same:
            sys.modules[file_name[:-3]] = entry[1]


def is_kit_file(path):
    """True for a file of :data:`FOLDER`."""
    return os.path.dirname(os.path.abspath(path)) == FOLDER
