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
    references         the bridge to solutions/ (instructor kit only)
    vectors, release   precomputed test vectors; the student kit (make release)
    submissions        finding a class's submissions
    sandbox/           running untrusted code: staging, the worker, bubblewrap or plain
    grading, mistakes  one submission: sandbox run, trusted comparison, named mistakes
    classroom          a whole class: parallel, resumable, exports
    gradebook, exports, report_html   the SQLite store of record and what is written from it
    cli                ``python -m grader``
"""
