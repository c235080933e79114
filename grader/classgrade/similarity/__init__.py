"""Similar code between students, per graded function, with the course's code left out.

Reads submissions through :mod:`grader.classgrade.submissions` and notebooks through
:mod:`grader.notebooks`; the graded functions are :data:`grader.core.tasks.TASKS`. Nothing
is run and nothing leaves the machine: the code is parsed, never executed.
"""
