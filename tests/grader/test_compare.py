"""grader.compare: strict, safe comparison of an answer with the reference's output."""

import fractions
import re

import numpy as np
import pytest
from wrong_submissions import ClaimsToBeAnArray

from grader.core import compare as cmp
from grader.core import results

OK, MISMATCH, WRONG_SHAPE = results.OK, results.MISMATCH, results.WRONG_SHAPE
NOT_FINITE, WRONG_TYPE = results.NOT_FINITE, results.WRONG_TYPE
TOL = 1e-5
V3 = np.array([1.0, 2.0, 3.0])
M23 = np.arange(6.0).reshape(2, 3)

def verdict(expected, answer, scalar=False, hidden=False):
    return cmp.compare(expected, answer, rtol=TOL, atol=TOL, scalar=scalar, hidden=hidden)


def _scalar(answer, want):
    """A row of the scalar table: the reference returned 3.0."""
    return (3.0, answer, True, want)


# ------------------------------------------------------------------ the table
COMPARISONS = {
    # exact and near matches: |got - want| <= atol + rtol * |want|
    "exact": (V3, V3.copy(), False, OK),
    "exact-2d": (M23, M23.copy(), False, OK),
    "inside-tolerance-at-1": (np.array([1.0]), np.array([1.0 + 1.99e-5]), False, OK),
    "beyond-tolerance-at-1": (np.array([1.0]), np.array([1.0 + 2.01e-5]), False, MISMATCH),
    "inside-tolerance-at-0": (np.array([0.0]), np.array([-0.99e-5]), False, OK),
    "beyond-tolerance-at-0": (np.array([0.0]), np.array([1.01e-5]), False, MISMATCH),
    "inside-tolerance-at-1000": (np.array([1000.0]), np.array([1000.01]), False, OK),
    "beyond-tolerance-at-1000": (np.array([1000.0]), np.array([1000.0101]), False, MISMATCH),
    "inside-tolerance-negative": (np.array([-1.0]), np.array([-1.0000199]), False, OK),
    "one-value-off": (V3, np.array([1.0, 2.5, 3.0]), False, MISMATCH),
    "float32-answer": (V3 / 7, (V3 / 7).astype(np.float32), False, OK),
    # shapes must be the reference's, no broadcasting
    "transposed": (M23, M23.T.copy(), False, WRONG_SHAPE),
    "flattened": (M23, M23.ravel(), False, WRONG_SHAPE),
    "extra-leading-axis": (V3, V3[np.newaxis, :], False, WRONG_SHAPE),
    "extra-trailing-axis": (V3, V3[:, np.newaxis], False, WRONG_SHAPE),
    "row-broadcasts-to-matrix": (np.ones((2, 3)), np.ones(3), False, WRONG_SHAPE),
    "number-broadcasts-to-array": (np.ones((2, 3)), 1.0, False, WRONG_SHAPE),
    "size-1-array-for-array": (np.ones(1), np.ones((1, 1)), False, WRONG_SHAPE),
    "too-short": (V3, V3[:2], False, WRONG_SHAPE),
    "empty-ok": (np.zeros((0, 3)), np.zeros((0, 3)), False, OK),
    "empty-transposed": (np.zeros((0, 3)), np.zeros((3, 0)), False, WRONG_SHAPE),
    # non-finite values where the reference is finite
    "nan": (V3, np.array([1.0, np.nan, 3.0]), False, NOT_FINITE),
    "inf": (V3, np.array([1.0, np.inf, 3.0]), False, NOT_FINITE),
    "minus-inf": (V3, np.array([-np.inf, 2.0, 3.0]), False, NOT_FINITE),
    "all-nan": (M23, np.full((2, 3), np.nan), False, NOT_FINITE),
    # not numeric data
    "none": (V3, None, False, WRONG_TYPE),
    "string": (V3, "1 2 3", False, WRONG_TYPE),
    "bytes": (V3, b"123", False, WRONG_TYPE),
    "dict": (V3, {"out": V3}, False, WRONG_TYPE),
    "set": (V3, {1.0, 2.0, 3.0}, False, WRONG_TYPE),
    "object-array": (V3, V3.astype(object), False, WRONG_TYPE),
    "complex-array": (V3, V3.astype(complex), False, WRONG_TYPE),
    "string-array": (V3, np.array(["1", "2", "3"]), False, WRONG_TYPE),
    "datetime-array": (V3, np.array(["2020-01-01"] * 3, dtype="datetime64[D]"), False, WRONG_TYPE),
    "ragged-list": (V3, [1.0, [2.0, 3.0]], False, WRONG_TYPE),
    "list-of-strings": (V3, ["1", "2", "3"], False, WRONG_TYPE),
    "generator": (V3, (x for x in V3), False, WRONG_TYPE),
    # lists, tuples, bools and ints are numbers
    "list-of-numbers": (V3, [1.0, 2.0, 3.0], False, OK),
    "nested-list": (M23, M23.tolist(), False, OK),
    "tuple-of-numbers": (V3, (1, 2, 3), False, OK),
    "list-wrong-shape": (V3, [1.0, 2.0], False, WRONG_SHAPE),
    "list-wrong-values": (V3, [1.0, 2.0, 4.0], False, MISMATCH),
    "bool-array": (np.array([1.0, 0.0, 1.0]), np.array([True, False, True]), False, OK),
    "bool-array-wrong": (np.array([1.0, 0.0, 1.0]), np.array([True, True, True]), False, MISMATCH),
    "int-array": (V3, np.array([1, 2, 3]), False, OK),
    "uint8-array": (V3, np.array([1, 2, 3], dtype=np.uint8), False, OK),
    "int-array-wrong": (V3, np.array([1, 2, 4]), False, MISMATCH),
    "masked-array-judged-by-its-data": (V3, np.ma.array([1.0, 2.0, 99.0], mask=[0, 0, 1]),
                                        False, MISMATCH),
}
SCALAR_COMPARISONS = {
    # a scalar reference accepts a Python/NumPy scalar or any size-1 array
    "python-float": _scalar(3.0, OK),
    "python-int": _scalar(3, OK),
    "np-float64": _scalar(np.float64(3.0), OK),
    "np-float32": _scalar(np.float32(3.0), OK),
    "0d-array": _scalar(np.array(3.0), OK),
    "1-element-array": _scalar(np.array([3.0]), OK),
    "1x1-array": _scalar(np.array([[3.0]]), OK),
    "one-element-list": _scalar([3.0], OK),
    "fraction": _scalar(fractions.Fraction(6, 2), OK),
    "wrong-number": _scalar(3.5, MISMATCH),
    "wrong-1-element-array": _scalar(np.array([2.0]), MISMATCH),
    "nan-scalar": _scalar(float("nan"), NOT_FINITE),
    "inf-scalar": _scalar(np.float64(np.inf), NOT_FINITE),
    "size-2-array": _scalar(np.array([3.0, 3.0]), WRONG_SHAPE),
    "empty-array": _scalar(np.array([]), WRONG_SHAPE),
    "none-for-scalar": _scalar(None, WRONG_TYPE),
    "string-for-scalar": _scalar("3.0", WRONG_TYPE),
    "complex-scalar": _scalar(3 + 0j, WRONG_TYPE),
}


@pytest.mark.parametrize("expected, answer, scalar, want", list(COMPARISONS.values()),
                         ids=list(COMPARISONS))
def test_compare_array_reference(expected, answer, scalar, want):
    assert verdict(expected, answer, scalar).kind == want


@pytest.mark.parametrize("expected, answer, scalar, want", list(SCALAR_COMPARISONS.values()),
                         ids=list(SCALAR_COMPARISONS))
def test_compare_scalar_reference(expected, answer, scalar, want):
    assert verdict(expected, answer, scalar).kind == want


@pytest.mark.parametrize("kind, want", [(OK, True), (MISMATCH, False), (WRONG_TYPE, False)])
def test_comparison_passed(kind, want):
    assert cmp.Comparison(kind).passed is want


# ------------------------------------------------------------------ messages
@pytest.mark.parametrize("expected, answer, want", [
    (V3, V3[np.newaxis], "expected shape (3,), got (1, 3) (same number of elements, "
                         "arranged differently)"),
    (M23, M23.T.copy(), "expected shape (2, 3), got (3, 2) (same number of elements, "
                        "arranged differently)"),
    (V3, V3[:2], "expected shape (3,), got (2,)"),
    (np.ones((2, 3)), 1.0, "expected shape (2, 3), got ()"),
    (V3, np.array([1.0, 2.5, 3.0]), "1 of 3 values differ beyond the tolerance; largest error "
                                    "0.5 at index [1]: expected 2, got 2.5"),
    (M23, M23 + np.array([[0, 0, 0], [0, 0, -4.0]]), "1 of 6 values differ beyond the tolerance; "
                                                      "largest error 4 at index [1, 2]: "
                                                      "expected 5, got 1"),
    (V3, np.array([1.0, np.nan, 3.0]), "got nan at index [1] where a finite number was expected"),
    (M23, np.where(M23 == 4, np.inf, M23), "got inf at index [1, 1] where a finite number "
                                           "was expected"),
    (V3, None, "returned None: did you forget the `return` statement?"),
    (V3, V3.astype(complex), "returned complex numbers, expected real ones"),
    (V3, V3.astype(object), "returned an array of dtype object, expected numbers"),
    (V3, "abc", "returned a builtins.str, expected a NumPy array or a number"),
])
def test_message(expected, answer, want):
    assert verdict(expected, answer).message == want


def test_message_counts_every_value_beyond_the_tolerance():
    got = M23.copy()
    got[0, 1] += 1.0
    got[1, 0] += 2.0
    comparison = verdict(M23, got)
    assert comparison.message.startswith("2 of 6 values differ beyond the tolerance")
    assert comparison.max_error == pytest.approx(2.0)
    assert "at index [1, 0]" in comparison.message


def test_message_names_the_largest_error_and_its_index():
    comparison = verdict(np.array([1e6, 0.0]), np.array([1e6 + 10.5, 1.0]))
    assert comparison.max_error == pytest.approx(10.5)
    assert "largest error 10.5 at index [0]" in comparison.message


def test_mismatch_reports_max_error():
    assert verdict(V3, V3 + np.array([0.1, -0.3, 0.2])).max_error == pytest.approx(0.3)
    assert verdict(V3, V3).max_error == 0.0


SECRET = np.array([123.456, 234.567, 345.678])


@pytest.mark.parametrize("answer", [
    SECRET + np.array([0.0, 0.0, 1.0]),
    SECRET * 1.5,
    np.where([False, True, False], np.nan, SECRET),
    SECRET[np.newaxis],
], ids=["one-off", "scaled", "nan", "wrong-shape"])
def test_hidden_never_shows_the_expected_values(answer):
    comparison = verdict(SECRET, answer, hidden=True)
    assert not comparison.passed
    for value in ("123.45", "123.46", "234.56", "234.57", "345.67", "345.68"):
        assert value not in comparison.message
    assert not re.search(r"expected -?\d", comparison.message)


def test_hidden_mismatch_still_says_how_far_and_where():
    comparison = verdict(np.array([123.456, 7.0]), np.array([123.456, 9.5]), hidden=True)
    assert comparison.message == ("1 of 2 values differ beyond the tolerance; "
                                  "for example at index [1]")


# ------------------------------------------------------------------ a second acceptable output
# ReLU's gradient on x = [-1, 0, 2, 0] with grad_output = [3, -4, 5, 6]: the reference
# gives 0 at x == 0, the other subgradient convention gives grad_output there.
KINK_WANT = np.array([0.0, 0.0, 5.0, 0.0])
KINK_ALT = np.array([0.0, -4.0, 5.0, 6.0])
ALTERNATIVES = {
    # each value passes when it is close to the expected OR the alternative output
    "zero-at-the-kink": (np.array([0.0, 0.0, 5.0, 0.0]), OK),
    "grad-output-at-the-kink": (np.array([0.0, -4.0, 5.0, 6.0]), OK),
    "conventions-mixed-elementwise": (np.array([0.0, -4.0, 5.0, 0.0]), OK),
    "inside-tolerance-of-the-alternative": (np.array([0.0, -4.0 + 4e-5, 5.0, 6.0]), OK),
    "beyond-tolerance-of-both": (np.array([0.0, -4.0 + 6e-5, 5.0, 6.0]), MISMATCH),
    "nan-at-the-kink": (np.array([0.0, np.nan, 5.0, 0.0]), NOT_FINITE),
    "inf-at-the-kink": (np.array([0.0, -np.inf, 5.0, 0.0]), NOT_FINITE),
    "wrong-at-the-kink": (np.array([0.0, 7.0, 5.0, 0.0]), MISMATCH),
    "halfway-at-the-kink": (np.array([0.0, -2.0, 5.0, 0.0]), MISMATCH),
    "wrong-away-from-the-kink": (np.array([0.0, 0.0, 4.0, 0.0]), MISMATCH),
    "shape-still-checked": (np.array([[0.0, 0.0, 5.0, 0.0]]), WRONG_SHAPE),
}


@pytest.mark.parametrize("answer, want", list(ALTERNATIVES.values()), ids=list(ALTERNATIVES))
def test_compare_with_an_alternative(answer, want):
    comparison = cmp.compare(KINK_WANT, answer, rtol=TOL, atol=TOL, scalar=False,
                             alternative=KINK_ALT)
    assert comparison.kind == want


@pytest.mark.parametrize("answer, want", [
    (np.array([0.0, -4.0, 5.0, 6.0]), MISMATCH),   # grad_output at the kink
    (np.array([0.0, 0.0, 5.0, 0.0]), OK),
], ids=["grad-output-at-the-kink", "zero-at-the-kink"])
def test_without_an_alternative_only_the_expected_output_passes(answer, want):
    assert verdict(KINK_WANT, answer).kind == want


@pytest.mark.parametrize("answer, hidden, want", [
    (np.array([0.0, 7.0, 5.0, 0.0]), False,
     "1 of 4 values differ beyond the tolerance; largest error 7 at index [1]: "
     "expected 0 (or -4), got 7"),
    # index 1 is nearer its alternative (1) than index 3 (3), but further from the
    # expected value (5 against 3): the message names the largest error against expected
    (np.array([0.0, -5.0, 5.0, 3.0]), False,
     "2 of 4 values differ beyond the tolerance; largest error 5 at index [1]: "
     "expected 0 (or -4), got -5"),
    (np.array([0.0, 0.0, 9.0, 0.0]), False,   # the alternative equals the expected value there
     "1 of 4 values differ beyond the tolerance; largest error 4 at index [2]: "
     "expected 5, got 9"),
    (np.array([0.0, 7.0, 5.0, 0.0]), True,
     "1 of 4 values differ beyond the tolerance; for example at index [1]"),
    (np.array([0.0, np.nan, 5.0, 0.0]), False,
     "got nan at index [1] where a finite number was expected"),
], ids=["at-the-kink", "largest-against-expected", "away-from-the-kink", "hidden", "nan"])
def test_message_with_an_alternative(answer, hidden, want):
    comparison = cmp.compare(KINK_WANT, answer, rtol=TOL, atol=TOL, scalar=False,
                             hidden=hidden, alternative=KINK_ALT)
    assert comparison.message == want


@pytest.mark.parametrize("answer, want", [
    (np.array([0.0, -4.0, 5.0, 6.0]), 0.0),    # exactly the alternative
    (np.array([0.0, -5.0, 5.0, 3.0]), 3.0),    # the largest distance to the nearer output
], ids=["alternative", "mismatch"])
def test_max_error_is_the_distance_to_the_nearer_acceptable_value(answer, want):
    comparison = cmp.compare(KINK_WANT, answer, rtol=TOL, atol=TOL, scalar=False,
                             alternative=KINK_ALT)
    assert comparison.max_error == pytest.approx(want)


@pytest.mark.parametrize("answer, want", [(3.0, OK), (4.0, OK), (3.5, MISMATCH)])
def test_scalar_with_an_alternative(answer, want):
    assert cmp.compare(3.0, answer, rtol=TOL, atol=TOL, scalar=True, alternative=4.0).kind == want


def test_an_alternative_of_another_shape_is_a_grader_error():
    with pytest.raises(ValueError, match=r"has shape \(3,\), the expected one \(4,\)"):
        cmp.compare(KINK_WANT, KINK_WANT, rtol=TOL, atol=TOL, scalar=False, alternative=V3)


# ------------------------------------------------------------------ plain arrays
def test_to_plain_array_makes_a_new_float64_ndarray():
    answer = np.array([1, 2, 3], dtype=np.int32)
    plain = cmp.to_plain_array(answer)
    assert type(plain) is np.ndarray and plain.dtype == np.float64
    plain[0] = 99
    assert answer[0] == 1


class Tagged(np.ndarray):
    """A harmless ndarray subclass."""


def test_to_plain_array_strips_a_subclass():
    plain = cmp.to_plain_array(np.ndarray.view(np.array([[1.0, 2.0]]), Tagged))
    assert type(plain) is np.ndarray and plain.shape == (1, 2)


# ------------------------------------------------------------------ lying objects
class LyingArray(np.ndarray):
    """An ndarray whose every Python-level hook claims to equal anything."""

    __array_priority__ = 1e9

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    def __array_ufunc__(self, ufunc, method, *args, **kwargs):
        return False if ufunc in (np.greater, np.not_equal) else True

    def __array_function__(self, func, types, args, kwargs):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.zeros(3)

    def __float__(self):
        return 3.0

    def __abs__(self):
        return np.zeros(self.shape)

    def __sub__(self, other):
        return np.zeros(self.shape)

    __rsub__ = __sub__

    def all(self, *args, **kwargs):
        return True

    def any(self, *args, **kwargs):
        return False

    def max(self, *args, **kwargs):
        return 0.0

    def sum(self, *args, **kwargs):
        return 0

    def argmax(self, *args, **kwargs):
        return 0

    def view(self, *args, **kwargs):
        return self

    def astype(self, *args, **kwargs):
        return self

    def copy(self, *args, **kwargs):
        return self

    def reshape(self, *args, **kwargs):
        return self

    def tolist(self):
        return [1.0, 2.0, 3.0]

    @property
    def dtype(self):
        return np.dtype(np.float64)


class RaisingArray(np.ndarray):
    """An ndarray whose Python-level hooks raise."""

    def _boom(self, *args, **kwargs):
        raise RuntimeError("the student's object refuses")

    __eq__ = __ne__ = __bool__ = __float__ = __abs__ = __sub__ = __rsub__ = _boom
    all = any = max = sum = argmax = view = astype = copy = reshape = tolist = _boom
    __array__ = _boom

    def __array_ufunc__(self, *args, **kwargs):
        raise RuntimeError("no ufuncs")

    def __array_function__(self, *args, **kwargs):
        raise RuntimeError("no array functions")


@pytest.mark.parametrize("cls", [LyingArray, RaisingArray])
@pytest.mark.parametrize("data, want", [
    (V3, OK),
    (V3 + 1.0, MISMATCH),
    (np.array([1.0, 2.0, 3.001]), MISMATCH),
    (V3[np.newaxis], WRONG_SHAPE),
    (np.array([1.0, np.nan, 3.0]), NOT_FINITE),
    (np.array([1, 2, 3]), OK),
    (np.array([1 + 1j, 2, 3]), WRONG_TYPE),
], ids=["right", "off-by-one", "slightly-off", "wrong-shape", "nan", "int", "complex"])
def test_ndarray_subclass_is_judged_by_its_real_data(cls, data, want):
    answer = np.ndarray.view(np.array(data), cls)
    assert verdict(V3, answer).kind == want


class EqualsEverything:
    """Not an array at all; claims to equal anything and converts to garbage."""

    shape = (3,)
    dtype = np.dtype(np.float64)

    def __eq__(self, other):
        return True

    def __array__(self, dtype=None, copy=None):
        return np.array([9.0, 9.0, 9.0])

    def __float__(self):
        return 1.0

    def __len__(self):
        return 3

    def __getitem__(self, index):
        return V3[index]


class ConvertsToTheAnswer(EqualsEverything):
    def __array__(self, dtype=None, copy=None):
        return V3.copy()


@pytest.mark.parametrize("answer", [EqualsEverything(), ConvertsToTheAnswer()],
                         ids=["garbage", "right-values"])
def test_arbitrary_object_is_rejected(answer):
    comparison = verdict(V3, answer)
    assert comparison.kind == WRONG_TYPE
    assert "EqualsEverything" in comparison.message or "ConvertsToTheAnswer" in comparison.message


def test_list_holding_a_lying_object_never_passes():
    assert not verdict(V3, [EqualsEverything()]).passed


class ClaimsToBeAFloat:
    """Lies about its class (float) and converts to the expected number."""

    @property
    def __class__(self):
        return float

    def __float__(self):
        return 3.0


class FloatThatLies(float):
    """A float (7.0) whose __float__ says 3.0."""

    def __float__(self):
        return 3.0


class ListThatLies(list):
    """A list of garbage whose __array__ returns the expected values."""

    def __array__(self, dtype=None, copy=None):
        return V3.copy()


class ListThatRaises(list):
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("the student's list refuses")


@pytest.mark.parametrize("expected, answer, scalar", [
    pytest.param(V3, ClaimsToBeAnArray(), False, id="claims-ndarray"),
    pytest.param(3.0, ClaimsToBeAFloat(), True, id="claims-float"),
    pytest.param(3.0, FloatThatLies(7.0), True, id="float-subclass-lies"),
    pytest.param(V3, ListThatLies([9.0, 9.0, 9.0]), False, id="list-subclass-lies"),
    pytest.param(V3, ListThatRaises([1.0, 2.0, 3.0]), False, id="list-subclass-raises"),
])
def test_object_lying_about_its_type_never_passes_nor_crashes(expected, answer, scalar):
    assert not verdict(expected, answer, scalar).passed


# ------------------------------------------------------------------ monkeypatched NumPy
def _liars(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isclose", lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool))
    monkeypatch.setattr(np, "abs", lambda x, *a, **k: np.zeros(np.shape(x)))
    monkeypatch.setattr(np, "absolute", lambda x, *a, **k: np.zeros(np.shape(x)))
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda x, *a, **k: np.ones(np.shape(x), dtype=bool))
    monkeypatch.setattr(np, "any", lambda *a, **k: False)
    monkeypatch.setattr(np, "all", lambda *a, **k: True)
    monkeypatch.setattr(np, "greater", lambda a, b, *r, **k: np.zeros(np.shape(a), dtype=bool))


@pytest.mark.parametrize("answer, want", [
    (V3.copy(), OK),
    (V3 + 1.0, MISMATCH),
    (np.array([1.0, np.nan, 3.0]), NOT_FINITE),
    (V3[np.newaxis], WRONG_SHAPE),
    (V3.astype(object), WRONG_TYPE),
])
def test_monkeypatched_numpy_does_not_change_the_verdict(monkeypatch, answer, want):
    with monkeypatch.context() as patched:
        _liars(patched)
        assert np.allclose(V3, V3 + 100) is True  # the liars are in place
        kind = verdict(V3, answer).kind
    assert kind == want
    assert not np.allclose(V3, V3 + 1)  # and restored


@pytest.mark.parametrize("answer, want", [
    (KINK_ALT.copy(), OK),
    (np.array([0.0, 7.0, 5.0, 0.0]), MISMATCH),
    (np.array([0.0, np.nan, 5.0, 0.0]), NOT_FINITE),
], ids=["alternative", "wrong-at-the-kink", "nan-at-the-kink"])
def test_monkeypatched_numpy_does_not_bend_the_alternative(monkeypatch, answer, want):
    with monkeypatch.context() as patched:
        _liars(patched)
        patched.setattr(np, "minimum", lambda a, b, *r, **k: np.zeros(np.shape(a)))
        patched.setattr(np, "logical_and", lambda a, b, *r, **k: np.zeros(np.shape(a), dtype=bool))
        kind = cmp.compare(KINK_WANT, answer, rtol=TOL, atol=TOL, scalar=False,
                           alternative=KINK_ALT).kind
    assert kind == want
