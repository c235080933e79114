"""The class report's tables: one row per task, one row per student, sortable in place.

Every cell's text and every ``title`` (shown on hover) is escaped with
:func:`html.escape`; what a student wrote (a name, an exception's message) goes
through :func:`printable` first, so it stays on its lines. Sorting is a few
lines of inline JavaScript (:data:`SORT_SCRIPT`): a click on a column's heading
sorts by that column (again: the other way), by each cell's ``data-sort`` key.
Without JavaScript the table stays as written, by username.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path
from urllib.parse import quote

from grader.classgrade.console import printable
from grader.classgrade.exports.feedback import explain, task_label
from grader.classgrade.exports.grades import NO_SUBMISSION, Grade, number, student_file
from grader.classgrade.submissions import NOTEBOOK_NOTE

MAX_TITLE = 600
_MARKS = {True: ("pass", "&#10003;", 2), False: ("fail", "&#10007;", 0),
          None: ("none", "&#8211;", 1)}
_STATUS_ORDER = {"graded": 0, "not gradable": 1, NO_SUBMISSION: 2}

SORT_SCRIPT = """
(function () {
  "use strict";
  function key(cell) {
    var value = cell.getAttribute("data-sort");
    if (value === null) { value = cell.textContent.trim().toLowerCase(); }
    var n = Number(value);
    return value !== "" && !isNaN(n) ? n : value;
  }
  function compare(a, b) {
    if (typeof a !== typeof b) { return typeof a === "number" ? -1 : 1; }
    return a < b ? -1 : (a > b ? 1 : 0);
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th button").forEach(function (button) {
      button.addEventListener("click", function () {
        var th = button.parentNode, column = th.cellIndex, body = table.tBodies[0];
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach(function (other) {
          other.removeAttribute("aria-sort");
        });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (x, y) {
          var order = compare(key(x.cells[column]), key(y.cells[column]));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
}());
"""


def attribute(text: str) -> str:
    """``text`` (lines) as an attribute value: each line printable, at most MAX_TITLE long."""
    lines = [printable(line) for line in str(text).split("\n")]
    joined = "\n".join(lines)
    if len(joined) > MAX_TITLE:
        joined = joined[:MAX_TITLE - 3].rsplit(" ", 1)[0] + "..."
    return html.escape(joined, quote=True)


def task_result(grade: Grade, name: str):
    return grade.result.task(name) if grade.result is not None else None


def passed(grade: Grade, name: str) -> bool | None:
    """True or False for a task with a result, None when there is none."""
    result = task_result(grade, name)
    return None if result is None else result.passed


def mistake_counts(grades, name: str) -> str:
    """``"3 x true convolution (kernel flipped), 1 x padding fixed at 1"``, most frequent first."""
    counts = Counter(result.mistake.partition(": ")[0] for grade in grades
                     if (result := task_result(grade, name)) is not None and result.mistake
                     and not result.passed)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{count} x {mistake}" for mistake, count in ordered)


def tasks_table(grades, task_names: list[str]) -> str:
    """Per task: passed, failed, not attempted, pass rate, and the recognised mistakes."""
    submitted = [grade for grade in grades if grade.scored]
    head = ["task", "passed", "failed", "not attempted", "pass rate", "recognised mistakes"]
    lines = ['<table id="tasks" class="sortable">', "<thead><tr>" + "".join(
        f"<th><button type=\"button\">{html.escape(text)}</button></th>" for text in head)
        + "</tr></thead>", "<tbody>"]
    for name in task_names:
        results = [task_result(grade, name) for grade in submitted]
        n_passed = sum(1 for r in results if r is not None and r.passed)
        n_idle = sum(1 for r in results if r is None or r.not_implemented)
        n_failed = len(results) - n_passed - n_idle
        rate = 100.0 * n_passed / len(submitted) if submitted else 0.0
        lines.append(f'<tr data-task="{html.escape(name, quote=True)}">'
                     f'<td title="{html.escape(task_label(name), quote=True)}">{html.escape(name)}</td>'
                     f'<td class="num">{n_passed}</td><td class="num">{n_failed}</td>'
                     f'<td class="num">{n_idle}</td><td class="num" data-sort="{rate:.1f}">'
                     f"{rate:.0f}%</td><td>{html.escape(mistake_counts(submitted, name))}</td></tr>")
    return "\n".join(lines + ["</tbody>", "</table>"])


def students_table(grades, task_names: list[str], feedback: str | None = "feedback") -> str:
    """One row per student: links to the feedback, score, status, a mark per task.

    Args:
        grades: ``exports.Grade`` lines.
        task_names: the task columns, in order.
        feedback: the feedback folder relative to the page (None: no links).
    """
    head = "".join(f'<th class="{css}"><button type="button">{text}</button></th>' for css, text in
                   [("who", "student"), ("who", "name"), ("num", "score"), ("num", "%"),
                    ("status", "status")])
    head += "".join(f'<th class="task" title="{html.escape(task_label(name), quote=True)}">'
                    f'<button type="button">{html.escape(name)}</button></th>'
                    for name in task_names)
    lines = ['<div class="scroll" tabindex="0" role="region" aria-label="Students">',
             '<table id="students" class="sortable">', f"<thead><tr>{head}</tr></thead>",
             "<tbody>"]
    for grade in grades:
        cells = _who(grade, feedback) + _score(grade)
        cells += [_task_cell(grade, name) for name in task_names]
        lines.append(f'<tr data-username="{html.escape(grade.student.username, quote=True)}">'
                     f"{''.join(cells)}</tr>")
    return "\n".join(lines + ["</tbody>", "</table>", "</div>"])


def _why_id(grade: Grade, name: str) -> str:
    """The id of the reason a mark failed (usernames and task names are safe in an id)."""
    return html.escape(f"why-{quote(grade.student.username)}-{name}", quote=True)


def failures_section(grades, task_names: list[str]) -> str:
    """"Why each mark failed": per student, each failed task's explanation, the feedback's
    words; each failed mark of the students table links to its own (a click, no hover)."""
    parts = ['<h2 id="failures">Why each mark failed</h2>']
    for grade in grades:
        failed = [name for name in task_names
                  if (grade.scored or not grade.submitted) and passed(grade, name) is False]
        for name in failed:
            lines = [printable(line) for line in explain(task_result(grade, name))]
            parts.append(f'<div class="why" id="{_why_id(grade, name)}"><h3>'
                         f"{html.escape(grade.student.username)}: {html.escape(task_label(name))}"
                         f"</h3><pre>{html.escape(chr(10).join(lines))}</pre></div>")
    if len(parts) == 1:
        parts.append('<p class="hint">No mark failed.</p>')
    return "\n".join(parts)


def _who(grade: Grade, feedback: str | None) -> list[str]:
    student = grade.student
    username = html.escape(student.username)
    link = (student_file(Path(feedback), student.username, ".html") if feedback is not None
            else None)
    if link is not None:
        href = html.escape(f"{quote(feedback)}/{quote(student.username)}.html", quote=True)
        username = f'<a href="{href}" title="feedback of {username}">{username}</a>'
    name = printable(student.name)
    return [f'<td class="who" data-sort="{html.escape(student.username.casefold(), quote=True)}">'
            f"{username}</td>",
            f'<td class="who" title="{attribute(student.email)}" '
            f'data-sort="{html.escape(name.casefold(), quote=True)}">{html.escape(name)}</td>']


def _score(grade: Grade) -> list[str]:
    kind = grade.status.partition(":")[0]
    reason = grade.status.partition(": ")[2]
    title = f' title="{attribute(reason)}"' if reason else ""
    if grade.submitted and not grade.scored:  # not graded: no number, not even 0
        return ['<td class="num" data-sort="-1"></td>', '<td class="num" data-sort="-1"></td>',
                f'<td class="status" data-sort="3"{title}>{html.escape(kind)}</td>']
    return [f'<td class="num" data-sort="{grade.score:g}">{number(grade.score)}</td>',
            f'<td class="num" data-sort="{grade.percent:.1f}">{grade.percent:.1f}</td>',
            f'<td class="status" data-sort="{_STATUS_ORDER.get(kind, 3)}"{title}>'
            f"{html.escape(kind)}</td>"]


def _task_cell(grade: Grade, name: str) -> str:
    verdict = passed(grade, name) if grade.scored or not grade.submitted else None
    css, mark, key = _MARKS[verdict]
    if verdict is None:
        title = (f"{name}: no submission" if not grade.submitted else f"{name}: no result"
                 if grade.scored else f"{name}: not graded (the grader failed)")
    elif verdict:
        title = f"{name}: passed ({len(task_result(grade, name).cases)} cases)"
    else:
        title = "\n".join([f"{name} failed:"] + explain(task_result(grade, name)))
    if verdict is False:
        mark = f'<a href="#{_why_id(grade, name)}" aria-label="why {html.escape(name)} failed">{mark}</a>'
    return (f'<td class="{css}" data-task="{html.escape(name, quote=True)}" data-sort="{key}" '
            f'title="{attribute(title)}">{mark}</td>')


def handed_in_section(grades, handed_in, intake_notes) -> str:
    """"Files and entries not graded": every file or LMS entry not graded as handed in, and
    for each student who handed in several notebooks, which one was graded.

    Args:
        grades: ``exports.Grade`` lines.
        handed_in: the run's ignored lines (already one line each, names :func:`printable`).
        intake_notes: ``{username: notes}``, what each student's feedback says about it.
    """
    chosen = [(grade.student.username, note[len(NOTEBOOK_NOTE):])
              for grade in grades if grade.result is not None
              for note in grade.result.notes if note.startswith(NOTEBOOK_NOTE)]
    told = sorted(username for username, notes in intake_notes.items() if notes)
    if not handed_in and not chosen:
        return ('<h2 id="handed-in">Files and entries not graded</h2>\n<p class="hint">Every file '
                "handed in was graded.</p>")
    parts = ['<h2 id="handed-in">Files and entries not graded</h2>',
             '<p class="hint">Each line is also in the feedback of the student it concerns'
             + (f" ({html.escape(', '.join(told))})" if told else "") + ".</p>"]
    if handed_in:
        parts.append('<ul id="not-graded">' + "".join(
            f"<li>{html.escape(printable(line))}</li>" for line in handed_in) + "</ul>")
    if chosen:
        parts += ["<h3>Several notebooks: the one graded</h3>", '<ul id="notebooks">' + "".join(
            f"<li>{html.escape(username)}: {html.escape(printable(note))}</li>"
            for username, note in chosen) + "</ul>"]
    return "\n".join(parts)
