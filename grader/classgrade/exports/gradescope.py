"""Gradescope's autograder ``results.json``, one per submission.

Its ``output`` fields are declared Markdown (``output_format``, ``test_output_format``)
and written as the feedback files are: what the student controls is escaped or
fenced (:mod:`.markdown`), so Gradescope shows it as text, never as HTML.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from grader.classgrade.exports.feedback import closing_line, explanation, task_label
from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import grades, number
from grader.classgrade.exports.markdown import code_block, inline
from grader.core.results import SubmissionResult


def gradescope_results(result: SubmissionResult, *, points: Mapping[str, float], run=None,
                       worth: Mapping[str, float] | None = None, late_words: str = "") -> dict:
    """Gradescope's autograder ``results.json`` for one submission.

    One test per task of ``points`` (named by its ``[MAN]``/``[OPT]`` label); the
    top-level score is the sum of the tests' scores. ``worth`` (``{task: fraction}``) and
    ``late_words``: a late policy's share of each passed task, and what it says.
    """
    grade = grades(students=[], results={result.username: result}, points=points,
                   worth={result.username: worth} if worth else None)[0]
    tests = []
    for name, earned in grade.earned:
        task_result = result.task(name)
        passed = task_result is not None and task_result.passed
        tests.append({"name": task_label(name), "score": earned, "max_score": float(points[name]),
                      "status": "passed" if passed else "failed",
                      "output": "\n".join(explanation(task_result, result)),
                      "visibility": "visible"})
    output = [f"Score: {number(grade.score)} / {number(grade.possible)} points "
              f"({grade.percent:.1f}%)", ""]
    if late_words:
        output += [f"{inline(late_words[0].upper() + late_words[1:])}.", ""]
    if result.error:
        output += ["Your submission could not be graded:", "", *code_block([result.error]), ""]
    output += [f"- {inline(note)}" for note in result.notes] + ([""] if result.notes else [])
    output += [closing_line(run)]
    return {"score": grade.score, "output": "\n".join(output).strip() + "\n",
            "output_format": "md", "test_output_format": "md", "test_name_format": "text",
            "visibility": "after_due_date", "stdout_visibility": "hidden", "tests": tests}


def write_gradescope_json(path, *, result: SubmissionResult,
                          points: Mapping[str, float], run=None,
                          worth: Mapping[str, float] | None = None, late_words: str = "") -> Path:
    """Write :func:`gradescope_results` to ``path`` (e.g. ``/autograder/results/results.json``)."""
    text = json.dumps(gradescope_results(result, points=points, run=run, worth=worth,
                                         late_words=late_words), indent=2, ensure_ascii=False)
    return write_atomically(path, text + "\n")
