"""Section 8: finding copies, the kit's fingerprint index vs ``copydetect``, on a labelled class.

The labelled class is the tests' (:mod:`bench.similarity_labels`): notebooks with known copies,
each in one disguise, honest independent solutions, short code the task forces and code from
an older template. Each tool scores every pair of students per graded function:

- the kit: :func:`grader.classgrade.similarity.run.compare_class` (normalised tokens,
  winnowing, the course's and the class's shared code left out), flagged at its default
  threshold;
- ``copydetect`` (requirements-bench.txt): each function's code extracted the way the kit
  extracts it (the function and the student's helpers it calls), fingerprinted by
  ``copydetect.CodeFingerprint`` with its defaults (k = 25 filtered characters, every k-gram
  kept) and the stub notebook plus ``Blocks.py`` as its boilerplate; a pair's score is
  ``copydetect``'s larger share of either code found in the other, flagged above 0.33, its
  report's default.

Rows: ROC AUC, precision, recall and false flags at each tool's threshold per function, over
all functions, and per disguise (precision, recall and false flags over the pairs with that
disguise's copier in them; the AUC ranks its copies against every pair of the class that is
not a copy); their times are the whole labelled class's, both tools. Then seconds per 1,000
submissions, measured on copies of the class (each student :data:`SCALE` times): the copies
make the timing set, never the labels. Dolos, when installed (:mod:`bench.similarity_dolos`),
is scored on the same pairs in the rows' notes; it is not timed against the others (it runs
in node, started once per run).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import time
from itertools import combinations
from pathlib import Path

from bench import similarity_dolos
from bench.rows import Row, seconds_below
from bench.settings import Settings
from bench.similarity_labels import Judged, cases, judge, labelled_pairs
from bench.timing import measure_pair

SECTION = "similarity"
SCALE, QUICK_SCALE = 42, 2           # copies of the 24-student class timed (1,008; 48 in --quick)
COPYDETECT_K = 25                    # copydetect's default noise threshold (characters)
COPYDETECT_WINDOW = 1                # guarantee threshold 25 - noise threshold 25 + 1
COPYDETECT_FLAG = 0.33               # copydetect's default display threshold
PER_THOUSAND_TARGET = 60.0           # issue 21: 1,000 submissions in under 60 s


def write_labelled(folder: Path) -> tuple[dict, dict]:
    """The labelled class as ``folder/<student>/assignment.ipynb``; (students, disguises)."""
    students, disguises = cases().labelled_class()
    cases().write_class(folder, students)
    return students, disguises


def write_scaled(labelled: Path, folder: Path, copies: int) -> Path:
    """``copies`` copies of every student of ``labelled``, as ``<student>_<i>`` folders."""
    for student in sorted(p for p in labelled.iterdir() if p.is_dir()):
        for index in range(copies):
            shutil.copytree(student, folder / f"{student.name}_{index}")
    return folder


def kit_run(submissions, functions):
    """The kit's comparison of ``submissions``: :class:`SimilarityRun`."""
    from grader.classgrade.similarity.run import compare_class
    return compare_class(submissions, task_names=functions)


def kit_scores(run) -> dict:
    """``{(function, pair): similarity}`` of every pair sharing a fingerprint (none left out)."""
    from grader.classgrade.similarity.compare import own_code, score_pairs
    return {(p.function, frozenset((p.student_a, p.student_b))): p.similarity
            for p in score_pairs(own_code(list(run.students)), threshold=run.threshold,
                                 reported_from=0.0)}


def extracted_code(submissions, functions) -> dict:
    """``{who: {function: code}}`` as the kit extracts it, for ``copydetect``."""
    from grader.classgrade.similarity.boilerplate import kit_code
    from grader.classgrade.similarity.extract import graded_code, read_definitions
    kit_names = kit_code().names - set(functions)
    code = {}
    for submission in submissions:
        definitions, _ = read_definitions(submission.notebook, submission.py_files)
        code[submission.username] = graded_code(definitions, functions, kit_names=kit_names)
    return code


def course_source() -> str:
    """The course's code as one text: the stub notebook's code cells and ``Blocks.py``."""
    from grader.classgrade.similarity.boilerplate import KIT_BLOCKS, KIT_NOTEBOOK
    from grader.notebooks import code_cells, load_notebook
    sources = [source for _, source in code_cells(load_notebook(KIT_NOTEBOOK))]
    return "\n\n".join(sources + [KIT_BLOCKS.read_text(encoding="utf-8")])


def copydetect_boilerplate() -> list[int]:
    """``copydetect``'s hashes of the course's code (:func:`course_source`)."""
    from copydetect import CodeFingerprint
    course = CodeFingerprint("course.py", COPYDETECT_K, COPYDETECT_WINDOW,
                             fp=io.StringIO(course_source()))
    return sorted(course.hashes)


def copydetect_scores(code: dict, functions, boilerplate) -> dict:
    """``{(function, pair): similarity}`` for every pair of students who wrote the function.

    Args:
        code: ``{who: {function: code}}`` (:func:`extracted_code`).
        functions: the graded functions compared.
        boilerplate: :func:`copydetect_boilerplate`.
    """
    from copydetect import CodeFingerprint, compare_files
    scores = {}
    for function in functions:
        prints = {who: CodeFingerprint(f"{who}.py", COPYDETECT_K, COPYDETECT_WINDOW, boilerplate,
                                       fp=io.StringIO(texts[function]))
                  for who, texts in code.items() if function in texts}
        for a, b in combinations(sorted(prints), 2):
            _, (first, second), _ = compare_files(prints[a], prints[b])
            scores[(function, frozenset((a, b)))] = float(max(first, second))
    return scores


def copydetect_run(submissions, functions, boilerplate) -> dict:
    """``copydetect``'s scores of ``submissions``, the code extracted as the kit does."""
    return copydetect_scores(extracted_code(submissions, functions), functions, boilerplate)


def run(settings: Settings) -> list[Row]:
    from grader.classgrade.class_folder import discover
    from grader.classgrade.run import default_task_names
    from grader.classgrade.similarity.compare import THRESHOLD

    try:
        import copydetect
    except ImportError:
        settings.skip(SECTION, "section", "copydetect is not installed (requirements-bench.txt)")
        return []
    functions = tuple(default_task_names())
    repeats = 1 if settings.quick else 3
    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as scratch:
        folder = Path(scratch)
        students, disguises = write_labelled(folder / "labelled")
        submissions = discover(folder / "labelled")[0]
        boilerplate = copydetect_boilerplate()
        found = {}

        def ours():
            found["kit"] = kit_run(submissions, functions)

        def theirs():
            found["copydetect"] = copydetect_run(submissions, functions, boilerplate)

        kit_time, cd_time = measure_pair(ours, theirs, repeats=repeats)
        started = time.perf_counter()
        dolos = similarity_dolos.scores(folder / "labelled", students, functions, settings)
        dolos_seconds = time.perf_counter() - started
        scaled = write_scaled(folder / "labelled", folder / "scaled",
                              QUICK_SCALE if settings.quick else SCALE)
        many = discover(scaled)[0]
        big_kit, big_cd = measure_pair(lambda: found.setdefault("big", kit_run(many, functions)),
                                       lambda: copydetect_run(many, functions, boilerplate),
                                       repeats=1, warmups=(ours, theirs))
    labelled = labelled_pairs(students, disguises, functions)
    tools = {"kit": (kit_scores(found["kit"]), lambda s: s >= THRESHOLD),
             "copydetect": (found["copydetect"], lambda s: s > COPYDETECT_FLAG)}
    if dolos is not None:
        tools["dolos"] = dolos
    baseline = f"copydetect {copydetect.__version__} per function" \
        if hasattr(copydetect, "__version__") else "copydetect per function"
    rows = []
    groups = [(f"{function}", [i for i in labelled if i.function == function], None)
              for function in functions]
    groups.append(("all functions", labelled, None))
    groups += [(f"disguise {d} (the copier's pairs)", [i for i in labelled if i.disguise == d],
                labelled)
               for d in sorted(set(disguises.values()))]
    for name, items, against in groups:
        judged = {tool: judge(items, scores, flag, auc_against=against)
                  for tool, (scores, flag) in tools.items()}
        rows.append(_quality_row(name, judged, kit_time.seconds, cd_time.seconds, baseline,
                                 len(students)))
    if dolos is not None:
        settings.say(f"  {SECTION}: dolos on the labelled class {dolos_seconds:.1f} s "
                     "(node start-up and files included)")
    n = len(many)
    rows.append(Row(SECTION, f"seconds per 1,000 submissions (measured on {n:,}, x1000/{n})",
                    big_kit.seconds * 1000 / n, baseline, big_cd.seconds * 1000 / n,
                    seconds_below(PER_THOUSAND_TARGET),
                    check=f"kit: {len(found['big'].pairs)} pairs reported of {n} students",
                    note="notebooks read + extracted by both; copydetect compares all pairs"
                         + (" (quadratic: scaled up from fewer, it looks faster than it is)"
                            if n < 1000 else ""),
                    extra={"submissions": n, "kit_seconds": big_kit.seconds,
                           "copydetect_seconds": big_cd.seconds}))
    settings.say(f"  {SECTION}: {n} submissions, kit {big_kit.seconds:.2f} s, "
                 f"copydetect {big_cd.seconds:.2f} s")
    return rows


def _quality_row(name: str, judged: dict[str, Judged], kit_seconds: float, cd_seconds: float,
                 baseline: str, n_students: int) -> Row:
    kit = judged["kit"]
    note = f"copydetect {judged['copydetect'].text()}"
    if "dolos" in judged:
        note += f"; dolos (flag >= {similarity_dolos.FLAG}) {judged['dolos'].text()}"
    return Row(SECTION, f"{name}: {kit.copies} copies / {kit.others} other pairs", kit_seconds,
               baseline, cd_seconds, None, check=f"kit {kit.text()}", note=note,
               extra={"students": n_students, "time": "whole labelled class, both tools",
                      **{f"{tool}_{key}": value for tool, j in judged.items()
                         for key, value in j.to_dict().items()}})

