"""Runs INSIDE the sandbox: the kit's student modules, compiled once by the zygote.

The kit's ``Blocks.py``, ``gradient_check.py`` and ``dataset_utils.py`` are
staged into a submission's folder when the student handed in none of their
own. Every function's child imports them again; compiling them each time cost
a few milliseconds a child. The zygote compiles the kit's copies (``bin/kit/``,
trusted code) once with :func:`compile_kit`; a child then imports a staged kit
module from that code through :func:`use_compiled`, under the staged file's
own name, exactly as if it had compiled it: a module whose staged bytes differ
from the kit's is compiled from its file as usual.
"""

import _imp
import importlib.machinery
import importlib.util
import os
import sys

COMPILED = {}  # module name: (source bytes, code), filled in by the zygote


def compile_kit(folder):
    """Compile every ``.py`` file in ``folder`` into :data:`COMPILED`."""
    for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as handle:
                source = handle.read()
            COMPILED[name[:-3]] = (source, compile(source, os.path.join(folder, name), "exec",
                                                   dont_inherit=True))


class _Loader(importlib.machinery.SourceFileLoader):
    def get_code(self, fullname):
        source, code = COMPILED[fullname]
        with open(self.path, "rb") as handle:
            if handle.read() != source:
                return super().get_code(fullname)
        _imp._fix_co_filename(code, self.path)
        return code


class _Finder:
    def __init__(self, code_dir, names):
        self.code_dir, self.names = code_dir, names

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.names:
            return None
        location = os.path.join(self.code_dir, name + ".py")
        return importlib.util.spec_from_file_location(name, location,
                                                      loader=_Loader(name, location))


def use_compiled(code_dir, staged_files):
    """In a child: import the kit modules staged in ``code_dir`` from the compiled code."""
    names = {name[:-3] for name in staged_files if name[:-3] in COMPILED}
    if names:
        sys.meta_path.insert(0, _Finder(code_dir, names))
