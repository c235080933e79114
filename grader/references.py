"""The bridge to ``solutions/``: reference implementations by task name.

Only the instructor's kit has this module and ``solutions/``; the student kit
built by ``make release`` ships neither (its checks use precomputed vectors).
"""

from __future__ import annotations

from typing import Callable


def reference_for(name: str) -> Callable:
    """The reference implementation of task ``name``.

    Raises:
        LookupError: when ``solutions/`` is not installed (the student kit) or
            has no such function.
    """
    try:
        import solutions
    except ImportError:
        raise LookupError("this kit has no reference implementations; its checks use the "
                          "test vectors in grader/vectors/") from None
    try:
        return getattr(solutions, name)
    except AttributeError:
        raise LookupError(f"solutions/ has no reference for {name!r}") from None


def mistakes_for(name: str) -> tuple:
    """The known wrong variants of task ``name`` (``grader.classgrade.mistakes``)."""
    from grader.classgrade.mistakes import mistakes_for as declared
    return declared(name)
