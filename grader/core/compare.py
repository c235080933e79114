"""Compare a student's answer with the reference's, strictly and safely.

Like AutoMark this uses the ``np.allclose`` rule |got - want| <= atol +
rtol * |want|, but it also demands the reference's shape (AutoMark let a
wrongly shaped answer pass by broadcasting), refuses NaN and inf where the
reference is finite, and never calls a method of the student's object: the
answer is first turned into a plain float64 array through the base
``ndarray`` type. The NumPy functions used are bound at import time, so a
submission that later monkeypatches ``np.allclose`` or ``np.abs`` cannot
change a verdict.

Where the math allows two answers (ReLU's gradient at x == 0 is any value
between 0 and grad_output), the task gives a second acceptable output, the
``alternative``; each value then passes when it is close to either output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grader.core import results
from grader.core.calling import AnswerTypeError, to_plain_array

_ndarray = np.ndarray
_asarray = np.asarray
_absolute = np.absolute
_subtract = np.subtract
_multiply = np.multiply
_add = np.add
_greater = np.greater
_isfinite = np.isfinite
_logical_and = np.logical_and
_logical_not = np.logical_not
_minimum = np.minimum
_argmax = np.ndarray.argmax
_any = np.ndarray.any
_sum = np.ndarray.sum
_astype = np.ndarray.astype
_unravel = np.unravel_index


@dataclass(frozen=True)
class Comparison:
    """Verdict of one comparison: a case-result kind, a message, the largest error."""

    kind: str
    message: str = ""
    max_error: float | None = None  # the largest distance to an acceptable value

    @property
    def passed(self) -> bool:
        return self.kind == results.OK


def _where(index, shape) -> str:
    if not shape:
        return ""
    return " at index [" + ", ".join(str(int(i)) for i in _unravel(index, shape)) + "]"


def _too_far(got, want, rtol, atol):
    """``(|got - want|, where it exceeds atol + rtol * |want|)``, elementwise."""
    error = _asarray(_absolute(_subtract(got, want)))
    allowed = _asarray(_add(atol, _multiply(rtol, _absolute(want))))
    return error, _asarray(_greater(error, allowed))


def compare(expected, answer, *, rtol: float, atol: float, scalar: bool,
            hidden: bool = False, alternative=None) -> Comparison:
    """Compare ``answer`` with ``expected``.

    Args:
        expected: the reference's output (ndarray or float).
        answer: whatever the student's function returned.
        rtol, atol: tolerances of the ``np.allclose`` rule.
        scalar: the reference returns a scalar; then a Python or NumPy scalar
            or any size-1 array is accepted.
        hidden: do not reveal expected values in the message (remote cases).
        alternative: None, or a second acceptable output of the shape of
            ``expected``; each value may then be close to either. A mismatch
            still reports the largest error against ``expected``.

    Returns:
        A :class:`Comparison`.

    Raises:
        ValueError: if ``alternative`` and ``expected`` differ in shape.
    """
    want = _astype(_asarray(expected), np.float64, copy=True)
    other = None if alternative is None else _astype(_asarray(alternative), np.float64, copy=True)
    if other is not None and other.shape != want.shape:
        raise ValueError(f"the alternative output has shape {other.shape}, "
                         f"the expected one {want.shape}")
    try:
        got = to_plain_array(answer)
    except AnswerTypeError as error:
        return Comparison(results.WRONG_TYPE, str(error))
    if scalar:
        if got.size != 1:
            return Comparison(results.WRONG_SHAPE,
                              f"expected a single number, got an array of shape {got.shape}")
        got, want = got.reshape(()), want.reshape(())
        other = None if other is None else other.reshape(())
    elif got.shape != want.shape:
        hint = " (same number of elements, arranged differently)" if got.size == want.size else ""
        return Comparison(results.WRONG_SHAPE,
                          f"expected shape {want.shape}, got {got.shape}{hint}")
    bad_values = _asarray(_logical_and(_logical_not(_isfinite(got)), _isfinite(want)))
    if _any(bad_values):
        index = int(_argmax(bad_values))
        value = got.reshape(-1)[index]
        return Comparison(results.NOT_FINITE, f"got {value}{_where(index, got.shape)} "
                          "where a finite number was expected")
    error, too_far = _too_far(got, want, rtol, atol)
    nearest = error
    if other is not None:
        other_error, too_far_from_other = _too_far(got, other, rtol, atol)
        too_far = _asarray(_logical_and(too_far, too_far_from_other))
        nearest = _asarray(_minimum(error, other_error))
    max_error = float(nearest.max()) if nearest.size else 0.0
    if not _any(too_far):
        return Comparison(results.OK, max_error=max_error)
    # The largest error against the expected output among the values beyond the tolerance.
    index = int(_argmax(_asarray(_multiply(error, too_far))))
    n_bad, n_all = int(_sum(too_far)), too_far.size
    where = _where(index, got.shape)
    if hidden:
        detail = f"for example{where}" if where else "the value differs"
    else:
        wanted = want.reshape(-1)[index]
        also = None if other is None else other.reshape(-1)[index]
        accepted = f"{wanted:.6g}"
        if also is not None and also != wanted:
            accepted += f" (or {also:.6g})"
        detail = (f"largest error {error.reshape(-1)[index]:.6g}{where}: "
                  f"expected {accepted}, got {got.reshape(-1)[index]:.6g}")
    return Comparison(results.MISMATCH,
                      f"{n_bad} of {n_all} values differ beyond the tolerance; {detail}",
                      max_error=max_error)
