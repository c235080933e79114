"""Call an untrusted function once, on copies of its inputs, and observe it.

Used in the student's own process (the notebook's checks): it catches what a
function can raise, bounds the time of each call where the platform allows,
notices inputs changed in place, and points at the student's own line when
something is raised. Class grading runs the same code inside a sandbox.
"""

from __future__ import annotations

import inspect
import os
import signal
import sysconfig
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from grader.inputs import copy_inputs

_GRADER_DIR = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = tuple({_GRADER_DIR, *(os.path.abspath(p) for p in sysconfig.get_paths().values()),
                       os.path.abspath(os.path.dirname(os.__file__))})
DEFAULT_TIME_LIMIT = 10.0
_array_equal = np.array_equal  # bound now: a submission may monkeypatch NumPy later


class CallTimeout(BaseException):
    """Raised inside the student's function when its time is up."""


@dataclass(frozen=True)
class CallOutcome:
    """What one call did: its answer, or what it raised; inputs it changed."""

    answer: object = None
    error: BaseException | None = None
    error_text: str = ""
    mutated: tuple[str, ...] = ()
    seconds: float = 0.0


@contextmanager
def time_limit(seconds: float | None):
    """Raise :class:`CallTimeout` in the block after ``seconds`` (main thread, POSIX only)."""
    usable = (seconds and hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        raise CallTimeout(f"still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _is_library(filename: str) -> bool:
    """True for the grader's own files, the standard library and installed packages."""
    path = os.path.abspath(filename)
    return any(path.startswith(folder + os.sep) for folder in _LIBRARY_DIRS)


def student_line(error: BaseException) -> str:
    """``line 7 of conv_matrix: out[i, j] = ...`` for the innermost frame of the student's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not _is_library(f.filename)]
    if not frames:
        return ""
    frame = frames[-1]
    code = f": {frame.line.strip()}" if frame.line else ""
    return f"line {frame.lineno} of {frame.name}{code}"


def describe_error(error: BaseException) -> str:
    """``IndexError: index 3 is out of bounds ... (line 7 of conv_matrix: ...)``."""
    try:
        detail = str(error)
    except Exception:  # noqa: BLE001 - a student's exception class may fail to print
        detail = "(its message could not be printed)"
    text = f"{type(error).__name__}: {detail}".rstrip(": ")
    where = student_line(error)
    return f"{text} ({where})" if where else text


def signature_problem(function, arg_names) -> str:
    """Why ``function`` cannot be called with these keyword arguments, or ``""``."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return ""
    try:
        signature.bind(**{name: None for name in arg_names})
    except TypeError:
        params = ", ".join(signature.parameters)
        return (f"{getattr(function, '__name__', 'the function')}({params}) cannot be called as "
                f"({', '.join(n + '=...' for n in arg_names)}): name its parameters "
                f"{', '.join(arg_names)}, in this order")
    return ""


def _changed(before, after) -> bool:
    if isinstance(before, np.ndarray):
        return not (isinstance(after, np.ndarray) and after.shape == before.shape
                    and _array_equal(after, before, equal_nan=True))
    if isinstance(before, list):
        return (not isinstance(after, list) or len(after) != len(before)
                or any(_changed(b, a) for b, a in zip(before, after)))
    return False


def call_once(function, case_inputs: dict, arg_order, *, positional: bool,
              seconds: float | None = DEFAULT_TIME_LIMIT) -> CallOutcome:
    """Call ``function`` on a copy of ``case_inputs``.

    Args:
        function: the student's function.
        case_inputs: ``{argument name: value}``; never modified.
        arg_order: argument names in ``arg_keys`` order.
        positional: pass the arguments by position (AutoMark's remote call)
            instead of by keyword (its local calls).
        seconds: time limit of the call, None for none.

    Returns:
        A :class:`CallOutcome`. KeyboardInterrupt is not caught.
    """
    given = copy_inputs(case_inputs)
    start = time.perf_counter()
    try:
        with time_limit(seconds):
            if positional:
                answer = function(*[given[name] for name in arg_order])
            else:
                answer = function(**{name: given[name] for name in arg_order})
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - untrusted code may raise anything
        return CallOutcome(error=error, error_text=describe_error(error),
                           seconds=time.perf_counter() - start)
    mutated = tuple(name for name in arg_order if _changed(case_inputs[name], given[name]))
    return CallOutcome(answer=answer, mutated=mutated, seconds=time.perf_counter() - start)
