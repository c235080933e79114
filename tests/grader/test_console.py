"""grader.classgrade.console: the progress of a class run (tqdm's bar on a terminal, plain
lines in a log) and the final class table, whose long statuses end at a word."""

import io
import re

import pytest

from grader.classgrade.console import ProgressBar, class_table, shorten
from grader.classgrade.run import ClassRun
from grader.client.roster import Student
from grader.core.results import SubmissionResult

POINTS = {"conv_matrix": 1.0, "box_blur": 1.0}


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("text, width, want", [
    ("graded", 70, "graded"),
    ("not gradable: the notebook could not be read", 30, "not gradable: the notebook..."),
    ("not gradable: the notebook, could not", 30, "not gradable: the notebook..."),
    ("a" * 40, 20, "a" * 17 + "..."),                      # no word fits: cut, still marked
    ("one " + "b" * 40, 20, "one " + "b" * 13 + "..."),    # a word too short to keep
])
def test_shorten(text, width, want):
    assert shorten(text, width) == want
    assert len(shorten(text, width)) <= width


def test_the_class_table_ends_a_long_status_at_a_word():
    error = "the notebook could not be read: " + " ".join(f"word{i}" for i in range(40))
    run = ClassRun(students=(Student("ada"), Student("ben"), Student("cy")), points=POINTS,
                   results={"ada": SubmissionResult.crashed("ada", "h", error, tuple(POINTS)),
                            "ben": SubmissionResult("ben", "h2")})
    lines = class_table(run, width=100).splitlines()
    assert len(lines) == 2 + 3
    status = lines[2].split("  ")[-1]
    assert status.endswith("...") and status[:-3] == status[:-3].rstrip()
    assert re.search(r"word\d+\.\.\.$", status) and len(lines[2]) <= 100
    assert ("not gradable: " + error).startswith(status[:-3])
    assert lines[3].endswith("graded") and lines[4].endswith("no submission")
    wide = class_table(run, width=1000).splitlines()[2]
    assert wide.endswith("word39")  # it fits: whole


def test_the_class_table_gives_the_score_after_the_late_policy_as_the_exports_do():
    """A red team saw 'ada 2.0 100.0%' on the terminal while gradebook.csv gave her 0."""
    from grader.classgrade.exports.grades import Lateness
    from grader.core.results import CaseResult, TaskResult
    passed = tuple(TaskResult(name, "grade", (CaseResult(0, "ok", ""),)) for name in POINTS)
    run = ClassRun(students=(Student("ada"), Student("ben")), points=POINTS,
                   results={name: SubmissionResult(name, "h", passed) for name in ("ada", "ben")},
                   late={"ada": Lateness("2026-12-13T08:05:00+00:00", "2026-12-11T22:59:00+00:00",
                                         2, 0.8, "handed in 2 days late: 10%/day, -20%")})
    ada, ben = class_table(run, width=200).splitlines()[2:]
    assert "1.6" in ada and "80.0%" in ada and ada.endswith("graded; handed in 2 days late: "
                                                          "10%/day, -20%")
    assert "2.0" in ben and "100.0%" in ben and ben.endswith("graded")


def test_plain_lines_say_what_finished_what_runs_elapsed_and_eta():
    stream = io.StringIO()
    bar = ProgressBar(3, stream=stream, queue=["ada", "ben", "cy"], workers=2)
    bar.step("ada (1.0 s)", finished="ada")
    bar.step("cy (2.0 s)", finished="cy")
    bar.step("ben (3.0 s)", finished="ben")
    bar.close()
    lines = stream.getvalue().splitlines()
    pattern = r"\[(\d)/3\] (\w+) \(\d\.0 s\); elapsed \d\d:\d\d, ETA \d\d:\d\d; (.*)"
    assert [re.fullmatch(pattern, line).groups() for line in lines] == [
        ("1", "ada", "now: ben, cy"), ("2", "cy", "now: ben"), ("3", "ben", "done")]


def test_on_a_terminal_tqdm_draws_the_bar():
    stream = Terminal()
    bar = ProgressBar(2, stream=stream, queue=["ada", "eve\x1b[2J"], workers=1)
    bar.step("ada (1.0 s)", finished="ada")
    shown = stream.getvalue()
    assert "grading 1/2" in shown and "elapsed 00:00, ETA" in shown
    assert "last: ada (1.0 s) | now: eve\\x1b[2J" in shown and "\x1b[2J" not in shown
    bar.step("eve (1.0 s)", finished="eve\x1b[2J")
    bar.close()
    assert stream.getvalue().endswith("last: eve (1.0 s) | done\n")


def test_nothing_to_grade_draws_nothing():
    stream = Terminal()
    ProgressBar(0, stream=stream).close()
    assert stream.getvalue() == ""
