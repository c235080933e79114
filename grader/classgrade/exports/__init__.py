"""What grading writes from the gradebook: imports core, client, classgrade's records; never the run.

CSV, feedback, progress tables, HTML, Gradescope, LMS; classgrade's records are its console's
``printable``, failures, submission and submissions (what a result and a submission are).

    grades        one line per student (:class:`Grade`) and the points of every task
    table         gradebook.csv
    feedback      feedback/<user>.md and progress/<user>.txt
    feedback_html feedback/<user>.html: the Markdown rendered as a page
    report_html   report.html (its tables, sortable: report_tables)
    gradescope    gradescope/<user>/results.json
    lms           lms/canvas.csv, lms/moodle.csv, lms/brightspace.csv: grade imports
    markdown      student text in Markdown, shown as text (feedback, Gradescope)
    files         every file replaced whole (atomically); the output folder's lock
"""

from grader.classgrade.exports.feedback import (
                                                closing_line,
                                                explain,
                                                feedback_text,
                                                task_label,
                                                write_feedback,
                                                write_progress_tables,
)
from grader.classgrade.exports.files import DiskFullError, locked_folder, write_atomically
from grader.classgrade.exports.grades import (
                                                GRADED,
                                                NO_SUBMISSION,
                                                NOT_GRADABLE,
                                                NOT_GRADED,
                                                Grade,
                                                everyone,
                                                grades,
                                                number,
                                                points_for,
)
from grader.classgrade.exports.gradescope import gradescope_results, write_gradescope_json
from grader.classgrade.exports.lms import known_ids, lms_problems, write_lms_imports
from grader.classgrade.exports.report_html import class_report, write_class_report
from grader.classgrade.exports.table import write_gradebook_csv

__all__ = ["GRADED", "NO_SUBMISSION", "NOT_GRADABLE", "NOT_GRADED", "DiskFullError", "Grade", "class_report",
           "closing_line", "everyone", "explain", "feedback_text", "gradescope_results", "grades",
           "known_ids", "lms_problems", "locked_folder", "number", "points_for", "task_label",
           "write_atomically",
           "write_class_report", "write_feedback", "write_gradebook_csv", "write_gradescope_json",
           "write_lms_imports", "write_progress_tables"]
