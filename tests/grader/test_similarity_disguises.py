"""Normalisation undoes what a copier changes cheaply, and keeps apart what differs."""

import pytest
from similarity_cases import (
    AUGASSIGN_SHIFTED,
    CONV,
    POOL,
    SUM_METHOD_ROWS,
    WHILE_COMPARE_FOUR,
    WHILE_FOUR_LOOPS,
    comments_and_spacing,
    dead_code,
    rename,
)

from grader.classgrade.similarity.fingerprint import fingerprint, kgram_hashes, winnow
from grader.classgrade.similarity.normalize import tokens


def texts(code: str) -> list[str]:
    return [text for text, _ in tokens(code)]


@pytest.mark.parametrize("disguise, original, disguised", [
    ("renamed", CONV["four_loops"], rename(CONV["four_loops"])),
    ("comments and spacing", CONV["manual_padding"], comments_and_spacing(CONV["manual_padding"])),
    ("for as while", CONV["four_loops"], WHILE_FOUR_LOOPS),
    ("while in an outer loop", POOL["compare_four"], WHILE_COMPARE_FOUR),
    ("a = a + b, operands swapped", CONV["shifted_windows"], AUGASSIGN_SHIFTED),
    ("x.sum() for np.sum(x)", CONV["helper_and_rows"], SUM_METHOD_ROWS),
    ("dead code", CONV["sliding_view"], dead_code(CONV["sliding_view"])),
    ("np.max(x) for x.max()", "def f(x):\n    return np.max(x, axis=0)\n",
     "def f(x):\n    return x.max(axis=0)\n"),
    ("b > a for a < b", "def f(a, b):\n    return a < b\n", "def f(a, b):\n    return b > a\n"),
    ("range(0, n)", "def f(n):\n    for i in range(0, n):\n        g(i)\n",
     "def f(n):\n    for i in range(n):\n        g(i)\n"),
    ("code after return, if False", "def f(x):\n    return x\n",
     "def f(x):\n    if False:\n        x = 2\n    return x\n    x = 3\n"),
])
def test_a_disguise_leaves_the_same_tokens(disguise, original, disguised):
    assert texts(original) == texts(disguised), disguise


@pytest.mark.parametrize("first, second", [
    (CONV["loop_a"], CONV["loop_d"]),
    (CONV["four_loops"], CONV["manual_padding"]),
    (POOL["loops"], POOL["compare_four"]),
    ("def f(x):\n    return x.sum(axis=0)\n", "def f(x):\n    return x.max(axis=0)\n"),
    ("def f(x):\n    debug = g()\n    if debug:\n        h(x)\n    return x\n",
     "def f(x):\n    return x\n"),  # a test that is not a constant is not dead code
])
def test_different_code_keeps_different_tokens(first, second):
    assert texts(first) != texts(second)


def test_code_that_does_not_parse_has_no_tokens():
    assert tokens("def f(:\n") == []


@pytest.mark.parametrize("hashes, window, want", [
    ([5, 3, 4, 9, 1, 7], 3, [1, 4]),
    ([2, 2, 2, 2], 2, [1, 2, 3]),   # the rightmost of equals
    ([8, 6], 4, [1]),               # shorter than a window: its smallest
    ([], 4, []),
])
def test_winnowing_keeps_each_windows_smallest(hashes, window, want):
    assert winnow(hashes, window) == want


def test_fingerprints_are_stable_and_carry_their_lines():
    code = CONV["four_loops"]
    first, second = fingerprint(tokens(code)), fingerprint(tokens(code))
    assert first.hashes == second.hashes and first.hashes
    lines = code.count("\n")
    assert all(1 <= low <= high <= lines for low, high in first.lines.values())


def test_kgrams_hash_each_run_of_k():
    assert len(kgram_hashes(list(range(20)), 12)) == 9
    assert kgram_hashes(list(range(5)), 12) == []
