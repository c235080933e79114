"""Similar code between students: imports core, client, notebooks, magics, intake, exports.files.

Per graded function, with the course's code left out. Reads submissions as grading takes
them in (:mod:`grader.classgrade.class_folder`, the LMS's names from
:mod:`grader.classgrade.lms_downloads`) and notebooks through
:mod:`grader.notebooks`; the graded functions are :data:`grader.core.tasks.TASKS`. Nothing
is run and nothing leaves the machine: the code is parsed, never executed.
"""
