"""Compare a class: take in its submissions, fingerprint them, write ``similarity/pairs.csv``.

The submissions are taken in as ``grade`` takes them (:func:`~grader.classgrade.class_folder.
take_in`: the same layouts, the same LMS downloads); earlier classes come from their
submission folders or from archives (:mod:`~grader.classgrade.similarity.archive`).
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, replace
from pathlib import Path

from grader.classgrade.class_folder import take_in
from grader.classgrade.exports.files import write_atomically
from grader.classgrade.similarity import archive
from grader.classgrade.similarity.boilerplate import KitCode, kit_code
from grader.classgrade.similarity.collect import from_submission
from grader.classgrade.similarity.compare import THRESHOLD, Pair, Student, own_code, score_pairs
from grader.classgrade.similarity.evidence import write_pages

HEADER = ("function", "student_a", "student_b", "similarity", "flagged")


@dataclass(frozen=True)
class SimilarityRun:
    """What one comparison found.

    Attributes:
        pairs: every pair reported, per function then by similarity, highest first.
        students: the class's students, with their code (for the evidence).
        n_archived: how many students of earlier classes were compared with them.
        problems: one line per file that could not be read.
        seconds: how long it took.
        threshold: the similarity from which a pair is flagged.
        compared: everyone compared (the class and the archived students) as
            :func:`~grader.classgrade.similarity.compare.own_code` left them, for the pages.
    """

    pairs: tuple[Pair, ...]
    students: tuple[Student, ...]
    n_archived: int
    problems: tuple[str, ...]
    seconds: float
    threshold: float
    compared: tuple[Student, ...] = ()

    @property
    def flagged(self) -> tuple[Pair, ...]:
        """The flagged pairs."""
        return tuple(pair for pair in self.pairs if pair.flagged)


def compare_class(submissions, *, archived=(), kit: KitCode | None = None, task_names=None,
                  threshold: float = THRESHOLD) -> SimilarityRun:
    """Compare a class's taken-in submissions with each other and with archived students.

    Args:
        submissions: :class:`~grader.classgrade.submissions.Submission` s of the class.
        archived: :class:`Student` s of earlier classes (:func:`archive.load_archive`,
            :func:`archived_folder`), each with its cohort's label.
        kit: the course's code (default: the kit's notebook and ``Blocks.py``).
        task_names: the functions compared (default: every graded function).
        threshold: flag from this similarity.
    """
    start = time.perf_counter()
    kit = kit or kit_code()
    students, problems = [], []
    for submission in submissions:
        student, lines = from_submission(submission, kit=kit, task_names=task_names)
        students.append(student)
        problems += lines
    archived = list(archived)
    compared = own_code(students + archived)
    pairs = score_pairs(compared, threshold=threshold)
    return SimilarityRun(tuple(pairs), tuple(students), len(archived), tuple(problems),
                         time.perf_counter() - start, threshold, tuple(compared))


def archived_folder(folder, label: str, *, kit: KitCode, task_names=None) -> tuple[list, list]:
    """The students of an earlier class's submissions folder, labelled ``label``, and problems."""
    intake = take_in(folder)
    students, problems = [], list(intake.ignored)
    for submission in intake.submissions:
        student, lines = from_submission(submission, cohort=label, kit=kit, task_names=task_names)
        students.append(student)
        problems += lines
    return students, problems


def load_archives(paths, *, kit: KitCode, task_names=None) -> tuple[list, list]:
    """The students of each ``--archive``: a submissions folder (its name is its label) or a
    file written by ``--save-archive``."""
    students, problems = [], []
    for path in map(Path, paths):
        if path.is_dir():
            found, lines = archived_folder(path, archive.check_label(path.name), kit=kit,
                                           task_names=task_names)
        else:
            found, lines = archive.load_archive(path), []
        students += found
        problems += lines
    return students, problems


def pairs_csv(pairs) -> str:
    """``pairs.csv``'s text: :data:`HEADER`, then one row per pair."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for pair in pairs:
        writer.writerow((pair.function, pair.student_a, pair.student_b, f"{pair.similarity:.4f}",
                         int(pair.flagged)))
    return out.getvalue()


def write_pairs(out_dir, run: SimilarityRun) -> Path:
    """Write ``out_dir/similarity/pairs.csv`` (whole or not at all) and a page per flagged
    pair (:mod:`~grader.classgrade.similarity.evidence`); the CSV's path."""
    folder = Path(out_dir) / "similarity"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_atomically(folder / "pairs.csv", pairs_csv(run.pairs))
    write_pages(folder, run.pairs, run.compared, threshold=run.threshold)
    return path


def similarity_report(*, submissions_dir, out_dir, lms: str | None = None, roster_path=None,
                      archives=(), save_archive=None, label: str | None = None,
                      threshold: float = THRESHOLD, task_names=None) -> SimilarityRun:
    """Compare a class and write ``out_dir/similarity/pairs.csv``; optionally keep an archive.

    Args:
        submissions_dir: as for ``grade``: ``<username>/`` folders, ``<username>.ipynb``
            files, or with ``lms`` that LMS's unzipped download.
        out_dir: the folder of ``similarity/`` (created if needed).
        lms: ``"canvas"``, ``"moodle"`` or ``"brightspace"`` (mapped through the roster).
        roster_path: ``students.csv`` (default: ``submissions_dir/students.csv``).
        archives: earlier classes: submission folders (labelled by their names) or files
            written with ``save_archive``.
        save_archive: write this class's fingerprints to this file, labelled ``label``.
        label: the class's label in the archive (default: this year).
        threshold: flag from this similarity.
        task_names: the functions compared (default: every graded function).

    Raises:
        FileNotFoundError, ValueError: as ``grade`` for the submissions; ArchiveError.
    """
    from grader.client.roster import load_roster
    roster = load_roster(roster_path or Path(submissions_dir) / "students.csv") if lms else None
    intake = take_in(submissions_dir, lms=lms, roster=roster)
    if not intake.submissions:
        raise ValueError(f"{submissions_dir} holds no submission to compare"
                         + (f" ({'; '.join(intake.ignored)})" if intake.ignored else ""))
    kit = kit_code()
    archived, problems = load_archives(archives, kit=kit, task_names=task_names)
    run = compare_class(intake.submissions, archived=archived, kit=kit, task_names=task_names,
                        threshold=threshold)
    run = replace(run, problems=tuple(problems) + run.problems)
    write_pairs(out_dir, run)
    if save_archive:
        archive.save_archive(save_archive, run.students, label or time.strftime("%Y"))
    return run
