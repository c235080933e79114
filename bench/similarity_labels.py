"""The labelled pairs of the similarity section, and how a tool's scores are judged on them.

The class is the tests' (``tests/grader/similarity_cases.py``): honest students, copiers
each in one disguise, students who only filled the stubs minimally, short code that the task
forces, and a function from an older template. A pair of students is a candidate for a
function when both wrote it; it is a copy when the labels give both one origin.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from itertools import combinations

from bench.kit import ROOT

CASES = ROOT / "tests" / "grader"


def cases():
    """The module ``similarity_cases`` (the labelled class's builders)."""
    if str(CASES) not in sys.path:
        sys.path.insert(0, str(CASES))
    import similarity_cases
    return similarity_cases


@dataclass(frozen=True)
class Labelled:
    """One candidate pair for one function.

    Attributes:
        function: the graded function.
        pair: the two students' names.
        copy: whether the labels say one copied the other.
        disguise: the copier's disguise for a copy (``"renamed"``, ...); for another pair
            with a copier in it, that copier's disguise; else ``""``.
    """

    function: str
    pair: frozenset
    copy: bool
    disguise: str


def by_function(students: dict, function: str) -> dict:
    """``{who: {function: (origin, source)}}`` for the students whose code defines ``function``.

    The class's labels are per piece of code, and one piece may define two graded functions
    (``flatten_forward`` and ``flatten_grad_input``): each is labelled with the piece's origin.
    """
    defines = re.compile(rf"^\s*def {re.escape(function)}\(", re.MULTILINE)
    return {who: {function: piece} for who, code in students.items() for piece in code.values()
            if defines.search(piece[1])}


def labelled_pairs(students: dict, disguises: dict, functions) -> list[Labelled]:
    """Every candidate pair of ``students`` (``{who: {function: (origin, source)}}``)."""
    found = []
    for function in functions:
        writers = by_function(students, function)
        copies = cases().expected_pairs(writers, function)
        for a, b in combinations(sorted(writers), 2):
            pair = frozenset((a, b))
            disguise = disguises.get(a) or disguises.get(b) or ""
            found.append(Labelled(function, pair, pair in copies, disguise))
    return found


@dataclass(frozen=True)
class Judged:
    """How one tool's scores separate copies from the rest on some of the labelled pairs.

    Attributes:
        auc: ROC AUC (ties count one half); None without a copy or without another pair.
        precision: flagged copies / flagged pairs (None: nothing flagged).
        recall: flagged copies / copies (None: no copy).
        false_flags: flagged pairs that are not copies / pairs that are not copies.
        copies, others: how many pairs of each kind were judged.
    """

    auc: float | None
    precision: float | None
    recall: float | None
    false_flags: float | None
    copies: int
    others: int

    def text(self) -> str:
        """``"AUC 0.998 P 1.00 R 0.93 FF 0.0%"``."""
        def num(value, digits):
            return "-" if value is None else f"{value:.{digits}f}"
        ff = "-" if self.false_flags is None else f"{100 * self.false_flags:.1f}%"
        return (f"AUC {num(self.auc, 3)} P {num(self.precision, 2)} R {num(self.recall, 2)} "
                f"FF {ff}")

    def to_dict(self) -> dict:
        return {"auc": self.auc, "precision": self.precision, "recall": self.recall,
                "false_flags": self.false_flags, "copies": self.copies, "others": self.others}


def roc_auc(positives: list[float], negatives: list[float]) -> float | None:
    """The chance that a copy scores above another pair (a tie counts one half)."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def judge(labelled: list[Labelled], scores: dict, flagged, *, auc_against=None) -> Judged:
    """Judge ``scores`` (``{(function, pair): 0..1}``, a missing pair scores 0) on ``labelled``.

    Args:
        labelled: the pairs judged.
        scores: the tool's similarity per pair.
        flagged: ``score -> bool``, the tool's own threshold.
        auc_against: the other pairs the copies are ranked against for the AUC (default: the
            pairs of ``labelled`` that are not copies). Per disguise, the copies of one disguise
            are ranked against every pair of the class that is not a copy.
    """
    def score(item):
        return scores.get((item.function, item.pair), 0.0)

    copies = [score(item) for item in labelled if item.copy]
    others = [score(item) for item in labelled if not item.copy]
    against = others if auc_against is None else [score(i) for i in auc_against if not i.copy]
    hits = sum(map(flagged, copies))
    false = sum(map(flagged, others))
    return Judged(
        auc=roc_auc(copies, against),
        precision=hits / (hits + false) if hits + false else None,
        recall=hits / len(copies) if copies else None,
        false_flags=false / len(others) if others else None,
        copies=len(copies), others=len(others))
