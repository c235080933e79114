"""What a Google-style docstring says about a class's attributes, for every command line
that takes its help from a settings class (``grade``'s limits, ``serve``'s settings)."""

from __future__ import annotations

import inspect
import re


def attribute_docs(cls) -> dict[str, str]:
    """``{name: description}`` from the ``Attributes:`` section of ``cls``'s docstring.

    A description may run on over lines indented deeper than its name; the section ends at
    the first line indented less.
    """
    docs: dict[str, str] = {}
    section = inspect.cleandoc(cls.__doc__ or "").partition("Attributes:\n")[2]
    name = None
    for line in section.splitlines():
        entry = re.match(r"    (\w+): (.*)", line)
        if entry:
            name, docs[entry[1]] = entry[1], entry[2]
        elif name and line.startswith("        "):
            docs[name] += " " + line.strip()
        elif line.strip():
            break
    return docs
