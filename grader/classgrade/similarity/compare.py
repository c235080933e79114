"""Score every pair of students per function, through an index of fingerprints.

Only pairs that share a fingerprint are ever looked at (the index gives them), so a class
costs the number of shared fingerprints, not the square of its size. A pair's similarity
for one function is the share of the smaller code's fingerprints found in the other's, both
without the course's code and without what many students share
(:mod:`~grader.classgrade.similarity.boilerplate`): 1 when one student's own code for the
function is all in the other's. A code left with fewer than :data:`MIN_FINGERPRINTS`
fingerprints is too short to tell a copy from what the task forces, and is not compared.
The whole-submission score (function ``*``) is the same over all functions together.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations

from grader.classgrade.similarity.boilerplate import shared_hashes

THRESHOLD = 0.75         # flagged at or above this similarity
MIN_FINGERPRINTS = 10    # fewer left after boilerplate: too short to compare
REPORTED_FROM = 0.2      # pairs below this similarity are left out of pairs.csv
MAX_SHARING = 200        # a fingerprint in more codes than this pairs nobody (it is shared code)
WHOLE = "*"


@dataclass(frozen=True)
class Student:
    """One student's fingerprinted code.

    Attributes:
        who: the username; ``label/username`` for a student of an archived class.
        cohort: ``""`` for the class being compared, else the archive's label (its year).
        functions: ``{function: Fingerprints}`` of the graded functions the student wrote.
        code: ``{function: the code compared}``, for the evidence (empty for an archive that
            keeps only fingerprints).
    """

    who: str
    cohort: str
    functions: dict
    code: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    """Two students' similarity for one function (or ``*``, the whole submission).

    Attributes:
        function: the graded function, or ``*``.
        student_a, student_b: ``who`` of each (``student_a`` is in the class compared).
        similarity: 0..1 (see the module's docstring).
        flagged: ``similarity >= threshold``.
        shared: how many fingerprints they share.
    """

    function: str
    student_a: str
    student_b: str
    similarity: float
    flagged: bool
    shared: int


def own_code(students: list[Student]) -> list[Student]:
    """The students with what many students of one cohort share removed from everyone's code.

    Shared code is found in each cohort on its own (this class, each archived year), and what
    is shared code in one cohort is removed from all, so two cohorts are compared on the same
    footing.
    """
    by_cohort: dict[str, list[Student]] = defaultdict(list)
    for student in students:
        by_cohort[student.cohort].append(student)
    common: dict[str, set] = defaultdict(set)
    for group in by_cohort.values():
        for name in {name for student in group for name in student.functions}:
            common[name] |= shared_hashes(s.functions[name].hashes for s in group
                                          if name in s.functions)
    return [Student(s.who, s.cohort, {name: prints.without(common[name])
                                      for name, prints in s.functions.items()}, s.code)
            for s in students]


def score_pairs(students: list[Student], *, threshold: float = THRESHOLD,
                min_fingerprints: int = MIN_FINGERPRINTS,
                reported_from: float = REPORTED_FROM) -> list[Pair]:
    """Every pair with a similarity of at least ``reported_from``, highest first.

    ``students`` are as :func:`own_code` left them. Two students of one archived cohort
    are not compared with each other.
    """
    sets: dict[str, dict[int, frozenset]] = defaultdict(dict)
    for number, student in enumerate(students):
        whole = set()
        for name, prints in student.functions.items():
            if len(prints.hashes) >= min_fingerprints:
                sets[name][number] = prints.hashes
                whole |= {hash((name, h)) for h in prints.hashes}
        if whole:
            sets[WHOLE][number] = frozenset(whole)
    pairs = []
    for name, by_student in sets.items():
        for (a, b), shared in _shared_counts(by_student).items():
            first, second = students[a], students[b]
            if first.cohort and second.cohort:
                continue  # two archived students: not this class's business
            if first.cohort:
                first, second = second, first
            similarity = shared / min(len(by_student[a]), len(by_student[b]))
            if similarity >= reported_from:
                pairs.append(Pair(name, first.who, second.who, round(similarity, 4),
                                  similarity >= threshold, shared))
    return sorted(pairs, key=lambda p: (p.function == WHOLE, p.function, -p.similarity,
                                        p.student_a, p.student_b))


def _shared_counts(by_student: dict[int, frozenset]) -> dict[tuple[int, int], int]:
    """``{(a, b): fingerprints a and b share}`` for every pair sharing one, a < b."""
    index: dict[int, list[int]] = defaultdict(list)
    for number, hashes in by_student.items():
        for h in hashes:
            index[h].append(number)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    for holders in index.values():
        if 1 < len(holders) <= MAX_SHARING:
            for pair in combinations(sorted(holders), 2):
                counts[pair] += 1
    return counts
