"""AutoMark-compatible grader: imports point down, cli > server, release > classgrade > client > core.

The folders show who runs what:

    core/         ships to students; imports only the standard library, NumPy and core
        tasks, inputs   what is graded: one declaration per function, input generators
        cases           which inputs a student gets (seeded per user, task and phase)
        hidden          hidden cases: a family on which no known shortcut or mistake passes
        calling         THE call path: AutoMark's convention, limits, the student's line
                        (copied into the sandbox as it is, beside the worker)
        wire            THE wire format: cases in .npz, answers as framed records
                        (copied into the sandbox too)
        compare         strict, safe comparison with the reference's output
        checking        judge outcomes -> results; the notebook's whole check
        results         frozen result records
        vectors         the student kit's precomputed test vectors
        mistakes        THE rule that recognises a known mistake from wrong answers
    client/       ships to students: what the notebook calls
        automark_api    test_student_function / get_progress (``import automark``)
        messages        AutoMark's printed lines; THE explanation of a failed task
        progress, roster, paths   progress files, the class roster, where files live
    classgrade/   one class run (instructors): ``python -m grader grade``
        class_folder    a class's folder taken in: the kit's layout, or an LMS download
                        (lms_downloads, lms_layouts: Canvas, Moodle, Brightspace)
        submissions, intake   what a submission is; one student's files, copied privately
        submission      one submission: sandbox run, judged here, named mistakes
        mistakes        known wrong variants
        run, runinfo    a whole class: parallel, resumable; the settings it records
        distributed     where it runs: the local process pool or a Dask cluster
        console         the progress bar and the class table
        gradebook       the SQLite store of record (gradebook_schema: its SQL)
        exports/        CSV, feedback, progress tables, report.html, Gradescope JSON, LMS imports
        sandbox/        the trusted side: modes (bubblewrap or plain), staging, warm, runner
            inside/     what runs in the sandbox: the zygote, the supervisor, each
                        function's child, the executor (copied into its bin/)
    server/       the AutoMark-compatible server (``python -m grader serve``)
    release/      the student kit (``make release``): build, leak check, vectors, README
    cli           ``python -m grader``
    references    the bridge to solutions/ (instructor kit only)
    notebooks     reading notebooks, bounded; loading a student's definitions
    magics        IPython magics commented out, in one linear pass
    syntax        ast.parse safe from any thread (CPython 3.11 shares its converter's state)
    docstrings    a settings class's ``Attributes:``, the help of the CLI's flags
    task_cells    a task's notebook cells from its declaration (``new-task-cells``)

Each package's ``__init__.py`` says in its first line what it may import;
tests/grader/test_layout.py holds it to that, tests/test_import_graph.py to no circle.
"""
