"""``grade`` writes OUT/similarity/pairs.csv too, and a failure there never fails grading."""

import csv

import pytest
from similarity_cases import CONV, rename, write_class

from grader.classgrade.similarity import run as similarity_run
from grader.cli import main


@pytest.fixture
def small_class(tmp_path):
    write_class(tmp_path / "subs", {"ann": {"conv_matrix": ("ann", CONV["four_loops"])},
                                    "bob": {"conv_matrix": ("ann", rename(CONV["four_loops"]))},
                                    "cat": {"conv_matrix": ("cat", CONV["im2col"])}})
    return tmp_path


def test_grading_a_class_writes_its_similar_pairs(small_class):
    assert main(["grade", str(small_class / "subs"), "--out", str(small_class / "out")]) == 0
    with open(small_class / "out" / "similarity" / "pairs.csv", newline="") as f:
        flagged = {(r["function"], r["student_a"], r["student_b"]) for r in csv.DictReader(f)
                   if r["flagged"] == "1"}
    assert ("conv_matrix", "ann", "bob") in flagged
    assert not [row for row in flagged if "cat" in row]


def test_a_similarity_failure_leaves_the_grades(small_class, monkeypatch, capfd):
    def broken(*args, **kwargs):
        raise RuntimeError("no similarity today")
    monkeypatch.setattr(similarity_run, "compare_class", broken)
    assert main(["grade", str(small_class / "subs"), "--out", str(small_class / "out")]) == 0
    assert (small_class / "out" / "gradebook.csv").read_text().count("\n") >= 4  # all three
    assert not (small_class / "out" / "similarity" / "pairs.csv").exists()
    assert "no similarity today" in capfd.readouterr().err
