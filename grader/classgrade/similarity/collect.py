"""One submission's fingerprints per graded function, the course's code taken out."""

from __future__ import annotations

from grader.classgrade.similarity.boilerplate import KitCode
from grader.classgrade.similarity.compare import Student
from grader.classgrade.similarity.extract import graded_code, read_definitions
from grader.classgrade.similarity.fingerprint import fingerprint
from grader.classgrade.similarity.normalize import tokens
from grader.core.tasks import task_names as all_task_names


def student_code(who: str, cohort: str, *, notebook, py_files=(), kit: KitCode,
                 task_names=None) -> tuple[Student, list[str]]:
    """A :class:`Student` from a submission's files, and a line per file that could not be read.

    Args:
        who: how the pairs name the student (``label/username`` for an archived class).
        cohort: ``""`` for the class compared, else the archive's label.
        notebook: the notebook graded, or None.
        py_files: the student's ``.py`` files (``Blocks.py`` holds last week's functions).
        kit: the course's code (:func:`~grader.classgrade.similarity.boilerplate.kit_code`).
        task_names: the functions compared (default: every graded function).
    """
    names = tuple(task_names or all_task_names())
    definitions, problems = read_definitions(notebook, py_files)
    code = graded_code(definitions, names, kit_names=kit.names - set(names))
    functions = {name: fingerprint(tokens(text)).without(kit.hashes) for name, text in code.items()}
    return Student(who, cohort, functions, code), [f"{who}: {line}" for line in problems]


def from_submission(submission, *, cohort: str = "", kit: KitCode, task_names=None):
    """:func:`student_code` of a taken-in :class:`~grader.classgrade.submissions.Submission`."""
    who = f"{cohort}/{submission.username}" if cohort else submission.username
    return student_code(who, cohort, notebook=submission.notebook, py_files=submission.py_files,
                        kit=kit, task_names=task_names)
