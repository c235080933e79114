"""``python -m grader similarity`` on a labelled class: copies flagged, honest work not."""

import csv

import pytest
from similarity_cases import CONV, expected_pairs, labelled_class, rename, write_class

from grader.classgrade.run import default_task_names
from grader.classgrade.similarity.archive import ArchiveError, load_archive
from grader.classgrade.similarity.compare import THRESHOLD
from grader.cli import main

NEW_HONEST = """
def conv_matrix(matrix, kernel):
    rows, cols = matrix.shape
    half_r, half_c = kernel.shape[0] // 2, kernel.shape[1] // 2
    result = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            acc = 0.0
            for u in range(-half_r, half_r + 1):
                for v in range(-half_c, half_c + 1):
                    if 0 <= r + u < rows and 0 <= c + v < cols:
                        acc += matrix[r + u, c + v] * kernel[u + half_r, v + half_c]
            result[r, c] = acc
    return result
"""
FUNCTIONS = default_task_names()  # this week's tasks, from their declarations


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """The labelled class, compared once: (students, {(function, pair): row}, out folder)."""
    folder = tmp_path_factory.mktemp("similarity")
    students, _ = labelled_class()
    write_class(folder / "class", students)
    status = main(["similarity", str(folder / "class"), "--out", str(folder / "out"),
                   "--save-archive", str(folder / "2023.json"), "--label", "2023"])
    assert status == 0
    with open(folder / "out" / "similarity" / "pairs.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return students, rows, folder


def flagged(rows, function):
    return {frozenset((r["student_a"], r["student_b"])) for r in rows
            if r["function"] == function and r["flagged"] == "1"}


def test_the_csv_has_the_issues_header_and_scores_in_0_1(compared):
    _, rows, folder = compared
    header = (folder / "out" / "similarity" / "pairs.csv").read_text().splitlines()[0]
    assert header == "function,student_a,student_b,similarity,flagged"
    assert rows and all(0 <= float(r["similarity"]) <= 1 for r in rows)
    assert all(r["flagged"] == str(int(float(r["similarity"]) >= THRESHOLD)) for r in rows)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_copy_is_flagged_and_nothing_else(compared, function):
    students, rows, _ = compared
    assert flagged(rows, function) == expected_pairs(students, function)


@pytest.mark.parametrize("disguise", ["renamed", "comments", "reordered", "while", "augassign",
                                      "sum_method", "dead_code", "partial", "common_loop", "all"])
def test_each_disguised_copier_is_flagged(compared, disguise):
    _, rows, _ = compared
    who = next(s for s in labelled_class()[1] if labelled_class()[1][s] == disguise)
    assert any(who in pair for function in FUNCTIONS for pair in flagged(rows, function))


@pytest.mark.parametrize("who", ["s12_untouched", "s13_minimal", "s14_minimal"])
def test_students_who_filled_the_stubs_minimally_are_in_no_pair(compared, who):
    _, rows, _ = compared
    assert not [r for r in rows if who in (r["student_a"], r["student_b"])]


def test_the_five_obvious_double_loops_are_not_copies(compared):
    _, rows, _ = compared
    loops = {f"s{n:02d}_loop_{c}" for n, c in zip(range(7, 12), "abcde")}
    assert not [p for p in flagged(rows, "conv_matrix") if p <= loops]


def test_the_old_templates_blur_makes_nobody_similar(compared):
    _, rows, _ = compared
    assert not [r for r in rows if r["function"] == "box_blur" and r["student_a"][:3] in
                {"s07", "s08", "s09", "s10", "s11"} and r["student_b"][:3] in
                {"s07", "s08", "s09", "s10", "s11"}]


def test_a_partial_copy_is_flagged_per_function_not_as_a_whole(compared):
    _, rows, _ = compared
    pair = frozenset(("c08_partial", "s05_helper_and_rows"))
    assert pair in flagged(rows, "conv_matrix")
    assert pair not in flagged(rows, "*")


def test_the_archive_keeps_fingerprints_only_and_finds_a_copy_a_year_later(compared, tmp_path):
    students, _, folder = compared
    text = (folder / "2023.json").read_text()
    assert "padded" not in text and "def " not in text  # no code is kept
    archived = load_archive(folder / "2023.json")
    assert {s.cohort for s in archived} == {"2023"}
    write_class(tmp_path / "class", {
        "new_copier": {"conv_matrix": ("", rename(CONV["four_loops"]))},
        "new_honest": {"conv_matrix": ("", NEW_HONEST)}})
    assert main(["similarity", str(tmp_path / "class"), "--out", str(tmp_path / "out"),
                 "--archive", str(folder / "2023.json")]) == 0
    with open(tmp_path / "out" / "similarity" / "pairs.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    found = flagged(rows, "conv_matrix")
    assert frozenset(("new_copier", "2023/s03_four_loops")) in found
    assert frozenset(("new_copier", "2023/c01_renamed")) in found
    assert frozenset(("new_copier", "2023/s03_four_loops")) in flagged(rows, "*")
    assert not [pair for pair in found if "new_honest" in pair]
    assert not [r for r in rows if r["student_a"].startswith("2023/")]  # this class comes first


@pytest.mark.parametrize("content, why", [
    ("{", "not an archive written by --save-archive"),
    ('{"format": "other"}', "not an archive written by --save-archive"),
    ('{"format": "automark-similarity-archive", "version": 1, "k": 3, "window": 4}',
     "other fingerprint settings"),
])
def test_a_file_that_is_not_an_archive_is_refused_with_why(tmp_path, content, why):
    path = tmp_path / "a.json"
    path.write_text(content)
    with pytest.raises(ArchiveError, match=why):
        load_archive(path)


def test_a_missing_folder_is_an_error_naming_it(tmp_path, capsys):
    assert main(["similarity", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 1
    assert "nowhere" in capsys.readouterr().err
