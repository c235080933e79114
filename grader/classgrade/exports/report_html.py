"""The class report: one self-contained HTML page an instructor works from.

:func:`class_report` takes the gradebook's lines (``exports.Grade``) and returns
the page; ``exports.write_class_report`` writes it. It holds a summary, the pass
rate per task and the score distribution (PNG plots embedded as base64, numbers
on the bars), a table per task (recognised mistakes counted) and a sortable
table of students in a box of its own that scrolls sideways on a phone
(:mod:`.report_tables`: each linked to their feedback page, each failed mark a
link to why it failed, also on hover), and the run's settings. Nothing is
fetched from elsewhere: the page works offline, and its Content-Security-Policy
allows only its own script (by hash), its own style and embedded images. Every
string that comes from a student or a roster file is escaped with
:func:`html.escape`.
"""

from __future__ import annotations

import base64
import hashlib
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
from grader.classgrade.exports.grades import grades as grade_lines
from grader.classgrade.exports.report_tables import (
    SORT_SCRIPT,
    failures_section,
    handed_in_section,
    passed,
    students_table,
    tasks_table,
)
from grader.core import tasks
from grader.core.results import SubmissionResult

_MANDATORY_COLOUR = "#2f6db5"
_OPTIONAL_COLOUR = "#9bbbe0"
_STYLE = """
html { -webkit-text-size-adjust: 100%; }
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 80em;
       overflow-wrap: anywhere; }
.scroll { overflow-x: auto; max-width: 100%; margin-bottom: 1em; }
.scroll table { margin-bottom: 0; }
#students th:first-child, #students td:first-child { position: sticky; left: 0; z-index: 1;
                                                     background: #fff; }
table { border-collapse: collapse; font-size: 0.85em; margin-bottom: 1em; overflow-wrap: normal; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.4em; text-align: left; }
th button { font: inherit; font-weight: bold; border: 0; background: none; padding: 0;
            cursor: pointer; color: inherit; text-align: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
th.task { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; }
td.who, td.status { max-width: 12em; overflow: hidden; text-overflow: ellipsis;
                    white-space: nowrap; }
td.pass { color: #1a7f37; text-align: center; }
td.fail { color: #c62828; text-align: center; cursor: help; background: #fdecea; padding: 0; }
td.fail a { color: inherit; text-decoration: none; display: block; padding: 0.2em 0.4em; }
.why { border-left: 3px solid #c62828; padding-left: 0.6em; margin-bottom: 0.8em; }
.why h3 { font-size: 0.95em; margin: 0.2em 0; }
.why pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: 0.85em; }
.why:target { background: #fff6d6; }
@media (max-width: 40em) { body { margin: 0.6em; } }
td.none { color: #888; text-align: center; }
td.num { text-align: right; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dl.summary dt { font-weight: bold; }
img { max-width: 100%; }
.hint { color: #555; font-size: 0.9em; }
"""


def class_report(grades, *, task_names: list[str], title: str = "Class report", run=None,
                 feedback: str | None = "feedback", handed_in=(), intake_notes=None,
                 similarity_html: str = "", late=None) -> str:
    """The HTML page of a class.

    Args:
        grades: ``exports.Grade`` lines, one per student.
        task_names: the graded tasks, in the order of the columns.
        title: the page's heading.
        run: the run's ``RunInfo``: date, grader version, sandbox, tasks, limits, points.
        feedback: the folder of ``<username>.md`` feedback files, relative to the page
            (None: no links).
        handed_in: one line per file or LMS entry not graded as handed in (the run's
            ignored lines), for the section "Files and entries not graded".
        intake_notes: ``{username: notes}``; with the notebook each student was graded on
            (when they handed in several), listed by student in the same section.
        similarity_html: the section "Similar code", as
            :func:`grader.classgrade.similarity.report.similarity_section` renders it (escaped
            there; exports never import the comparison), or "" for none.
        late: ``{username: Lateness}`` of a run with a deadline: the section "Late hand-ins"
            (scores are already what the late policy left of them).

    Returns:
        The page, as one string with no external assets.
    """
    submitted = [grade for grade in grades if grade.scored]  # not graded: no verdict to count
    counts = [sum(1 for grade in submitted if passed(grade, name)) for name in task_names]
    percents = [grade.percent for grade in submitted]
    pass_plot = _png(_pass_rate_figure(task_names, counts, len(submitted)))
    score_plot = _png(_histogram_figure(percents))
    script_hash = base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode()).digest()).decode()
    policy = (f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
              f"script-src 'sha256-{script_hash}'")
    parts = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">',
        f"<title>{html.escape(title)}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>",
        f"<h1>{html.escape(title)}</h1>",
        _summary(grades, percents),
        "<h2>Pass rate per task</h2>",
        _image(pass_plot, "Bar chart: percentage of submissions passing each task"),
        "<h2>Score distribution</h2>",
        _image(score_plot, "Histogram of the submissions' scores in percent"),
        "<h2>Tasks</h2>",
        f'<div class="scroll">{tasks_table(grades, task_names)}</div>',
        "<h2>Students</h2>",
        '<p class="hint">Click a heading to sort by it (again for the other way); click a '
        "&#10007; for why it failed (or hover over a mark); a username opens the student's "
        "feedback. On a narrow screen the table scrolls sideways in its box.</p>",
        "<noscript><p class=\"hint\">Sorting needs JavaScript: the table is by username."
        "</p></noscript>",
        students_table(grades, task_names, feedback),
        failures_section(grades, task_names),
        handed_in_section(grades, handed_in, intake_notes or {}),
        _late_section(late),
        similarity_html,
        _settings(run),
        f"<script>{SORT_SCRIPT}</script>",
        "</body>", "</html>", ""]
    return "\n".join(parts)


def _late_section(late) -> str:
    """One line per student handed in late (or whose time is unknown), by username."""
    if late is None:
        return ""
    rows = [f"<li>{html.escape(username)}: {html.escape(entry.words)}"
            + (f" (handed in {html.escape(entry.handed_in)}, deadline "
               f"{html.escape(entry.deadline)}, UTC)" if entry.handed_in else "") + "</li>"
            for username, entry in sorted(late.items()) if entry.words]
    return ('<h2>Late hand-ins</h2>\n<ul id="late">' + "".join(rows) + "</ul>" if rows else
            '<h2>Late hand-ins</h2>\n<p id="late">None: every submission was on time.</p>')


def _settings(run) -> str:
    if run is None:
        return ""
    points = ", ".join(f"{name} {_number(value)}" for name, value in run.points.items())
    items = run.describe() + [f"Points: {points}"]
    return '<h2>How this was graded</h2>\n<ul id="settings">' + "".join(
        f"<li>{html.escape(item)}</li>" for item in items) + "</ul>"


def _summary(grades, percents: list[float]) -> str:
    statuses = [grade.status for grade in grades]
    graded = statuses.count("graded")
    missing = statuses.count("no submission")
    failed = sum(1 for grade in grades if grade.submitted and not grade.scored)
    rows = [("Students", len(grades)), ("Submissions", len(percents) + failed), ("Graded", graded),
            ("Not gradable", len(percents) - graded), ("No submission", missing)]
    if failed:
        rows.append(("Not graded (the grader failed; the next run grades them)", failed))
    if percents:
        rows += [("Mean percent (submissions)", f"{statistics.fmean(percents):.1f}"),
                 ("Median percent (submissions)", f"{statistics.median(percents):.1f}")]
    else:
        rows += [("Mean percent (submissions)", "n/a"), ("Median percent (submissions)", "n/a")]
    items = "".join(f"<dt>{html.escape(str(key))}</dt><dd>{html.escape(str(value))}</dd>"
                    for key, value in rows)
    return f'<dl class="summary">{items}</dl>'


def _label(name: str) -> str:
    task = tasks.find_task(name)
    return task.label if task else name


def _number(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".") or "0"


def _pass_rate_figure(task_names: list[str], counts: list[int], n_submitted: int) -> Figure:
    """A bar per task, labelled ``73% (11/15)``."""
    figure = Figure(figsize=(7, 0.3 * len(task_names) + 1.2), dpi=100)
    axes = figure.add_subplot()
    positions = np.arange(len(task_names))
    rates = [100.0 * count / n_submitted if n_submitted else 0.0 for count in counts]
    colours = [_OPTIONAL_COLOUR if _label(name).startswith("[OPT]") else _MANDATORY_COLOUR
               for name in task_names]
    bars = axes.barh(positions, rates, color=colours)
    axes.bar_label(bars, labels=[f"{rate:.0f}% ({count}/{n_submitted})"
                                 for rate, count in zip(rates, counts)], padding=3, fontsize=8)
    axes.set_yticks(positions, [_label(name) for name in task_names], fontsize=8)
    axes.invert_yaxis()
    axes.set_xlim(0, 125)
    axes.set_xticks(range(0, 101, 20))
    axes.set_xlabel("submissions passing (%)")
    figure.tight_layout()
    return figure


def _histogram_figure(percents: list[float]) -> Figure:
    figure = Figure(figsize=(7, 3), dpi=100)
    axes = figure.add_subplot()
    heights, _, bars = axes.hist(percents, bins=np.linspace(0, 100, 11), color=_MANDATORY_COLOUR,
                                 edgecolor="white")
    axes.bar_label(bars, labels=[f"{height:.0f}" if height else "" for height in heights],
                   fontsize=8)
    axes.margins(y=0.15)
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
                       points: Mapping[str, float], run=None,
                       feedback: str | None = "feedback", handed_in=(), intake_notes=None,
                       similarity_html: str = "", worth=None, late=None) -> Path:
    """One self-contained HTML page: summary, plots, tasks, students, settings.

    Args:
        feedback: where the students' feedback files are, relative to ``path``.
        worth, late: a late policy's shares (``grades(worth=...)``) and its words per student.

    Returns:
        The path written (replaced whole: :func:`write_atomically`).
    """
    page = class_report(grade_lines(students=students, results=results, points=points,
                                    worth=worth),
                        task_names=list(points), run=run, feedback=feedback,
                        handed_in=handed_in, intake_notes=intake_notes,
                        similarity_html=similarity_html, late=late)
    return write_atomically(path, page)
