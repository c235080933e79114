"""AutoMark-compatible grader for the CNN assignment.

Layout:
    tasks, inputs      what is graded: one declaration per function, input generators
    cases              which inputs a student gets (seeded per user, task and phase)
    calling, compare   call untrusted code once; compare its answer strictly and safely
    checking           a phase of cases -> TaskResult; both phases -> CheckResult
    results            frozen result records
    progress, roster   per-student progress files; the class roster
    messages           AutoMark's printed messages and progress table
    automark_api       test_student_function / get_progress (``import automark``)
    notebook, loading  reading notebooks and student files
    cli                ``python -m grader``
"""
