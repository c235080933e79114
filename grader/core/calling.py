"""Call an untrusted function on AutoMark's cases and observe it: the one call path.

The notebook's checks run this module in the student's own process; class
grading copies this very file into the sandbox, where the worker imports it on
its own. It therefore imports only the standard library and NumPy.

AutoMark's calling convention: local cases are called with keyword arguments,
hidden cases positionally in ``arg_keys`` order. Every call gets copies of the
inputs and a time limit; its answer is read back as a plain float64 array
without calling a method of the answer object; inputs changed in place are
noticed; an exception is described with the student's own line.
"""

from __future__ import annotations

import errno
import inspect
import os
import signal
import sysconfig
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

CALL_SECONDS = 5.0    # one call of a student function
TASK_SECONDS = 20.0   # every case of one function, local and hidden together
MAX_MESSAGE = 600

# What one call did. The trusted side turns OK into a comparison verdict.
OK = "ok"
EXCEPTION = "exception"
TIMEOUT = "timeout"
NOT_IMPLEMENTED = "not_implemented"
WRONG_TYPE = "wrong_type"
CALL_STATUSES = (OK, EXCEPTION, TIMEOUT, NOT_IMPLEMENTED, WRONG_TYPE)

# Bound now: a submission may monkeypatch NumPy later.
_ndarray = np.ndarray
_generic = np.generic
_generic_item = np.generic.item
_asarray = np.asarray
_view = np.ndarray.view
_astype = np.ndarray.astype
_array_equal = np.array_equal
_float64 = np.float64
_NUMERIC_KINDS = "biuf"

_OWN_DIR = os.path.dirname(os.path.abspath(__file__))
_KIT_DIR = (os.path.dirname(_OWN_DIR)
            if os.path.basename(os.path.dirname(_OWN_DIR)) == "grader" else _OWN_DIR)
_LIBRARY_DIRS = tuple({*(os.path.abspath(p) for p in sysconfig.get_paths().values()),
                       os.path.abspath(os.path.dirname(os.__file__))})


class CallTimeout(BaseException):
    """Raised inside the student's function when its time is up."""


class AnswerTypeError(Exception):
    """The answer is not numeric data that can be compared."""


@dataclass(frozen=True)
class CallOutcome:
    """What one call did.

    Attributes:
        status: one of :data:`CALL_STATUSES`.
        answer: the answer as a new plain float64 ndarray (status ``ok`` only).
        message: why the call gave no usable answer, deterministic.
        mutated: names of the arguments the function changed in place.
        seconds: wall time of the call.
    """

    status: str
    answer: np.ndarray | None = None
    message: str = ""
    mutated: tuple[str, ...] = ()
    seconds: float = 0.0


def clean_text(value, limit: int = MAX_MESSAGE) -> str:
    """``value`` as printable text (newlines kept), at most ``limit`` characters."""
    text = "".join(ch if ch.isprintable() or ch == "\n" else "?" for ch in str(value))
    return text if len(text) <= limit else text[:limit] + " ..."


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
    """True for the kit's own files, the standard library and installed packages.

    In the kit that is everything under ``grader/``; in the sandbox, where this
    file sits beside the worker, only the files of that one folder (the
    student's files lie in a folder below it).
    """
    path = os.path.abspath(filename)
    if _KIT_DIR != _OWN_DIR and path.startswith(_KIT_DIR + os.sep):
        return True
    if os.path.dirname(path) == _OWN_DIR:
        return True
    return any(path.startswith(folder + os.sep) for folder in _LIBRARY_DIRS)


def student_line(error: BaseException) -> str:
    """``line 7 of conv_matrix: out[i, j] = ...`` for the innermost frame of the student's code."""
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if f.filename != "<string>" and not _is_library(f.filename)]
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
    text = clean_text(f"{type(error).__name__}: {detail}".rstrip(": "))
    where = student_line(error)
    return f"{text} ({clean_text(where, 200)})" if where else text


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


def copy_inputs(case_inputs: dict) -> dict:
    """Deep copy of a case: arrays and lists of arrays are copied."""
    def copy(value):
        if isinstance(value, _ndarray):
            return value.copy()
        if isinstance(value, list):
            return [copy(item) for item in value]
        return value
    return {name: copy(value) for name, value in case_inputs.items()}


def _changed(before, after) -> bool:
    if isinstance(before, _ndarray):
        return not (type(after) is _ndarray and after.shape == before.shape
                    and _array_equal(after, before, equal_nan=True))
    if isinstance(before, list):
        return (type(after) is not list or len(after) != len(before)
                or any(_changed(b, a) for b, a in zip(before, after)))
    return False


def to_plain_array(answer) -> np.ndarray:
    """The answer as a new, plain float64 ndarray, without calling its methods.

    Types are read with ``type()``, which an object cannot fake (``isinstance``
    trusts ``__class__``). Arrays and subclasses are viewed through the base
    ``ndarray``; Python numbers are read through the base types' own slots;
    only plain lists and tuples are converted element by element.

    Raises:
        AnswerTypeError: for None, strings, objects, complex numbers ...
    """
    if answer is None:
        raise AnswerTypeError("returned None: did you forget the `return` statement?")
    kind_of = type(answer)
    try:
        if issubclass(kind_of, _ndarray):
            plain = _view(answer, _ndarray)
        elif issubclass(kind_of, _generic):
            plain = _asarray(_generic_item(answer))
        elif issubclass(kind_of, float):
            plain = _asarray(float.__float__(answer))
        elif issubclass(kind_of, int):
            plain = _asarray(int.__int__(answer))
        elif kind_of in (Fraction, Decimal):
            plain = _asarray(float(answer))
        elif kind_of in (list, tuple):
            plain = _asarray(answer)
        else:
            raise AnswerTypeError(f"returned a {kind_of.__module__}.{kind_of.__qualname__}, "
                                  "expected a NumPy array or a number")
    except AnswerTypeError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the elements of a list do
        raise AnswerTypeError(f"returned a {kind_of.__name__} that is not a regular array of "
                              f"numbers ({type(error).__name__})") from None
    kind = plain.dtype.kind
    if kind == "c":
        raise AnswerTypeError("returned complex numbers, expected real ones")
    if kind not in _NUMERIC_KINDS:
        raise AnswerTypeError(f"returned an array of dtype {plain.dtype}, expected numbers")
    return _astype(plain, _float64, copy=True)


def _error_outcome(error: BaseException, limits: dict) -> tuple[str, str]:
    """Status and message for what a call raised."""
    if isinstance(error, CallTimeout):
        return TIMEOUT, f"{error}: look for a loop that never ends or work that grows too fast"
    if isinstance(error, NotImplementedError):
        return NOT_IMPLEMENTED, f"raised {describe_error(error)}"
    if isinstance(error, SystemExit):
        return EXCEPTION, "called exit(): a graded function must return"
    if isinstance(error, MemoryError) and limits.get("memory_mb"):
        return EXCEPTION, (f"MemoryError: used more than the memory allowed "
                           f"({limits['memory_mb']} MB)")
    if isinstance(error, OSError) and error.errno == errno.EFBIG and limits.get("output_mb"):
        where = student_line(error)
        return EXCEPTION, (f"wrote more than the output allowed ({limits['output_mb']} MB): "
                           "a print in a loop?" + (f" ({where})" if where else ""))
    return EXCEPTION, f"raised {describe_error(error)}"


def call_once(function, case_inputs: dict, arg_order, *, positional: bool,
              seconds: float | None = CALL_SECONDS, limits: dict | None = None) -> CallOutcome:
    """Call ``function`` once on a copy of ``case_inputs``.

    Args:
        function: the student's function.
        case_inputs: ``{argument name: value}``; never modified.
        arg_order: argument names in ``arg_keys`` order.
        positional: pass the arguments by position (a hidden case) instead of
            by keyword (a local case).
        seconds: time limit of the call, None for none.
        limits: the sandbox's limits (``memory_mb``, ``output_mb``), to name them in messages.

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
        status, message = _error_outcome(error, limits or {})
        return CallOutcome(status, message=message, seconds=time.perf_counter() - start)
    seconds_used = time.perf_counter() - start
    mutated = tuple(name for name in arg_order if _changed(case_inputs[name], given[name]))
    try:
        plain = to_plain_array(answer)
    except AnswerTypeError as error:
        return CallOutcome(WRONG_TYPE, message=str(error), mutated=mutated, seconds=seconds_used)
    return CallOutcome(OK, answer=plain, mutated=mutated, seconds=seconds_used)


def call_cases(function, cases: list, arg_order, *, n_local: int,
               call_seconds: float = CALL_SECONDS, task_seconds: float = TASK_SECONDS,
               limits: dict | None = None, on_outcome=None) -> list[CallOutcome]:
    """Call ``function`` on every case, AutoMark's way; stop at the first timeout.

    Args:
        function: the student's function.
        cases: input dicts; the first ``n_local`` are local cases (keyword
            calls), the rest hidden ones (positional calls in ``arg_order``).
        arg_order: argument names in ``arg_keys`` order.
        n_local: how many of ``cases`` are local.
        call_seconds: time limit of one call.
        task_seconds: time limit of all calls together.
        limits: the sandbox's limits, named in messages.
        on_outcome: ``on_outcome(index, outcome)`` after each call (the sandbox
            sends each answer on at once, so a later crash loses nothing).

    Returns:
        One :class:`CallOutcome` per case called, in order.
    """
    problem = signature_problem(function, arg_order) if n_local else ""
    deadline = time.monotonic() + task_seconds
    outcomes = []
    for index, case_inputs in enumerate(cases):
        positional = index >= n_local
        remaining = deadline - time.monotonic()
        if problem and not positional:
            outcome = CallOutcome(EXCEPTION, message=problem)
        elif remaining <= 0:
            outcome = CallOutcome(TIMEOUT, message=task_timeout_message(task_seconds))
        else:
            outcome = call_once(function, case_inputs, arg_order, positional=positional,
                                seconds=min(call_seconds, remaining), limits=limits)
            if outcome.status == TIMEOUT and call_seconds > remaining:
                outcome = CallOutcome(TIMEOUT, message=task_timeout_message(task_seconds),
                                      seconds=outcome.seconds)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(index, outcome)
        if outcome.status == TIMEOUT:
            break  # one endless call is enough; do not wait for the others
    return outcomes


def task_timeout_message(task_seconds: float) -> str:
    """Why a function's remaining cases did not run."""
    return (f"did not finish its cases within {task_seconds:g} s (a loop that never ends, "
            "or work that grows too fast)")


def not_submitted_message(name: str, file_name: str) -> str:
    """Why a graded function from the kit's own ``file_name`` (Blocks.py) does not count:
    the same words in the notebook's check and in class grading."""
    return (f"{name} was not submitted: it comes from the kit's {file_name}, not from your "
            f"notebook or files (hand in your own {file_name} to have it graded)")
