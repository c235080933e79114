"""The class report: one self-contained HTML page (plots embedded as base64 PNG).

:func:`class_report` takes the gradebook's lines (``exports.Grade``) and returns
the page; ``exports.write_class_report`` writes it. Every string that comes from
a student or a roster file is escaped with :func:`html.escape`.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from grader.classgrade.exports.files import write_atomically
from grader.classgrade.exports.grades import grades
from grader.core import tasks
from grader.core.results import SubmissionResult

_MANDATORY_COLOUR = "#2f6db5"
_OPTIONAL_COLOUR = "#9bbbe0"
_MARKS = {True: ("pass", "&#10003;"), False: ("fail", "&#10007;"), None: ("none", "&#8211;")}
_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.4em; text-align: left; }
th.task { writing-mode: vertical-rl; transform: rotate(180deg); }
td.pass { color: #1a7f37; text-align: center; }
td.fail { color: #c62828; text-align: center; }
td.none { color: #888; text-align: center; }
td.num { text-align: right; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.summary dt { font-weight: bold; }
img { max-width: 100%; }
"""


def class_report(grades, *, task_names: list[str], title: str = "Class report", run=None) -> str:
    """The HTML page of a class.

    Args:
        grades: ``exports.Grade`` lines, one per student.
        task_names: the graded tasks, in the order of the columns.
        title: the page's heading.
        run: the run's ``RunInfo``: date, grader version, sandbox, tasks, limits.

    Returns:
        The page, as one string with no external assets.
    """
    submitted = [grade for grade in grades if grade.submitted]
    rates = [_pass_rate(submitted, name) for name in task_names]
    percents = [grade.percent for grade in submitted]
    pass_plot = _png(_pass_rate_figure(task_names, rates))
    score_plot = _png(_histogram_figure(percents))
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>",
        _summary(grades, percents),
        "<h2>Pass rate per task</h2>",
        _image(pass_plot, "Bar chart: percentage of submissions passing each task"),
        "<h2>Score distribution</h2>",
        _image(score_plot, "Histogram of the submissions' scores in percent"),
        "<h2>Students</h2>",
        _table(grades, task_names),
        _settings(run, task_names),
        "</body>", "</html>", ""]
    return "\n".join(parts)


def _settings(run, task_names) -> str:
    if run is None:
        return ""
    points = ", ".join(f"{name} {_number(value)}" for name, value in run.points.items())
    items = run.describe() + [f"Points: {points}"]
    return "<h2>How this was graded</h2>\n<ul>" + "".join(
        f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _pass_rate(submitted, name: str) -> float:
    if not submitted:
        return 0.0
    passed = sum(1 for grade in submitted if _passed(grade, name))
    return 100.0 * passed / len(submitted)


def _passed(grade, name: str) -> bool | None:
    """True or False for a task with a result, None when there is none."""
    task_result = grade.result.task(name) if grade.result is not None else None
    return None if task_result is None else task_result.passed


def _summary(grades, percents: list[float]) -> str:
    statuses = [grade.status for grade in grades]
    graded = statuses.count("graded")
    missing = statuses.count("no submission")
    rows = [("Students", len(grades)), ("Submissions", len(percents)), ("Graded", graded),
            ("Not gradable", len(percents) - graded), ("No submission", missing)]
    if percents:
        rows += [("Mean percent (submissions)", f"{statistics.fmean(percents):.1f}"),
                 ("Median percent (submissions)", f"{statistics.median(percents):.1f}")]
    else:
        rows += [("Mean percent (submissions)", "n/a"), ("Median percent (submissions)", "n/a")]
    items = "".join(f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(str(value))}</dd>"
                    for key, value in rows)
    return f'<dl class="summary">{items}</dl>'


def _table(grades, task_names: list[str]) -> str:
    head = ["username", "name", "email", "score", "possible", "percent", "status"]
    header = "".join(f"<th>{html.escape(text)}</th>" for text in head)
    header += "".join(f'<th class="task" title="{html.escape(_label(name), quote=True)}">'
                      f"{html.escape(name)}</th>" for name in task_names)
    lines = ["<table>", f"<thead><tr>{header}</tr></thead>", "<tbody>"]
    for grade in grades:
        student = grade.student
        cells = [f"<td>{html.escape(text)}</td>"
                 for text in (student.username, student.name, student.email)]
        cells += [f'<td class="num">{value}</td>'
                  for value in (_number(grade.score), _number(grade.possible),
                                f"{grade.percent:.1f}")]
        cells.append(f"<td>{html.escape(grade.status)}</td>")
        for name in task_names:
            css, mark = _MARKS[_passed(grade, name)]
            cells.append(f'<td class="{css}">{mark}</td>')
        lines.append(f"<tr>{''.join(cells)}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _label(name: str) -> str:
    task = tasks.find_task(name)
    return task.label if task else name


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _pass_rate_figure(task_names: list[str], rates: list[float]) -> Figure:
    figure = Figure(figsize=(7, 0.3 * len(task_names) + 1.2), dpi=100)
    axes = figure.add_subplot()
    positions = np.arange(len(task_names))
    colours = [_OPTIONAL_COLOUR if _label(name).startswith("[OPT]") else _MANDATORY_COLOUR
               for name in task_names]
    axes.barh(positions, rates, color=colours)
    axes.set_yticks(positions, [_label(name) for name in task_names], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel("submissions passing (%)")
    figure.tight_layout()
    return figure


def _histogram_figure(percents: list[float]) -> Figure:
    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.add_subplot()
    axes.hist(percents, bins=np.linspace(0, 100, 11), color=_MANDATORY_COLOUR, edgecolor="white")
    axes.set_xlim(0, 100)
    axes.set_xlabel("score (%)")
    axes.set_ylabel("submissions")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    return figure


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}">'


def write_class_report(path, *, students, results: Mapping[str, SubmissionResult],
                       points: Mapping[str, float], run=None) -> Path:
    """One self-contained HTML page: summary, pass rate per task, score histogram, table.

    Returns:
        The path written (replaced whole: :func:`write_atomically`).
    """
    page = class_report(grades(students=students, results=results, points=points),
                        task_names=list(points), run=run)
    return write_atomically(path, page)
